"""Public response schemas (kept apart from the ORM tables)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HealthPublic(BaseModel):
    status: str = Field(description="ok or degraded")
    database: str
    shops: int
    models: dict[str, str]
    version: str


class MenuPublic(BaseModel):
    id: int
    name: str
    price: int
    dish: str | None
    is_signature: bool


class ShopFiguresPublic(BaseModel):
    avg_menu_price: float | None
    min_menu_price: int | None
    max_menu_price: int | None
    menu_count: int
    rating: float | None
    review_count: int
    order_count: int


class ShopBase(BaseModel):
    id: int
    name: str
    category: str
    district: str
    dong: str | None
    address: str | None
    lat: float
    lon: float
    hours: str = Field(description="Opening hours in Korean, e.g. '10:00~21:00, 월요일 휴무'")
    open_now: bool
    is_good_shop: bool
    accepts_meal_card: bool
    figures: ShopFiguresPublic


class ShopPublic(ShopBase):
    brand_id: int | None
    open_time: str
    close_time: str
    closed_days: str | None
    phone: str | None
    description: str | None
    menus: list[MenuPublic]


class ShopListPublic(BaseModel):
    shops: list[ShopBase]
    total: int
    limit: int
    offset: int


class ErrorPublic(BaseModel):
    detail: str


FEEDBACK_TYPE_PATTERN = "^(clicked|ordered|favorited|rated|dismissed)$"


class FeedbackCreate(BaseModel):
    user_id: int | None = Field(None, ge=1, le=2**31 - 1, description="The user, or null for an anonymous user")
    shop_id: int = Field(ge=1, le=2**31 - 1)
    feedback_type: str = Field(pattern=FEEDBACK_TYPE_PATTERN,
                               description="clicked | ordered | favorited | rated | dismissed")
    interaction_id: int | None = Field(None, ge=1, le=2**63 - 1,
                                       description="The /chat or /recommendations answer this refers to")
    satisfaction_score: float | None = Field(None, ge=1, le=5, description="1-5, for 'rated'")


class FeedbackAccepted(BaseModel):
    id: int = Field(description="The stored event's id")
    status: str = "accepted"
