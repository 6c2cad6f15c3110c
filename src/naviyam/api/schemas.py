"""Public response schemas (kept apart from the ORM tables)."""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import BaseModel, BeforeValidator, Field

from naviyam.api.identity import UserRef

class HealthPublic(BaseModel):
    status: str = Field(description="ok, warming (models are still being built in the background; answers come "
                                    "from the fallbacks meanwhile) or degraded")
    database: str
    shops: int
    models: dict[str, str]
    version: str
    stale_models: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Production models older than the data they read: kind → data that changed since "
                    "(naviyam setup or naviyam train all rebuilds them)")
    warming: dict[str, Any] | None = Field(
        None, description="While warming: the model kinds built (done), the one building now, those still to "
                          "build (todo), seconds so far, and a Korean line for the operator (message)")


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


def _number_not_bool_or_text(value: Any) -> Any:
    """An id is a JSON number (5 or 5.0); pydantic would also take true as 1 and "5" as 5."""
    if isinstance(value, (bool, str, bytes)):
        raise ValueError("숫자여야 해요")
    return value


#: A 32-bit id column's value (found by fuzzing the API: 7683712728 was a 500 on PostgreSQL, true was 1).
DbId = Annotated[int, Ge(1), Le(2**31 - 1), BeforeValidator(_number_not_bool_or_text)]


class FeedbackCreate(BaseModel):
    user_id: UserRef = Field(None, description="The user (a number, \"user_863\", or an app user's string), or null")
    shop_id: DbId
    feedback_type: str = Field(pattern=FEEDBACK_TYPE_PATTERN,
                               description="clicked | ordered | favorited | rated | dismissed")
    interaction_id: DbId | None = Field(None, description="The /chat or /recommendations answer this refers to")
    satisfaction_score: float | None = Field(None, ge=1, le=5, strict=True, description="1-5, for 'rated'")


class FeedbackAccepted(BaseModel):
    id: int = Field(description="The stored event's id")
    status: str = "accepted"
