"""Every API schema in one place (kept apart from the ORM tables).

One naming scheme: a request body is ``*Create`` (POST) or ``*Update`` (PUT), a response is ``*Public``;
parts of them are plain nouns (``ChatContext``, ``UserProfile``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import BaseModel, BeforeValidator, Field, field_validator

from naviyam.api.identity import UserRef
from naviyam.core.contract import ChatbotOutput, NLUOutput, Recommendation, RecommendationMetadata
from naviyam.service.chat import MAX_MESSAGE_CHARS


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


# --------------------------------------------------------------------------- chat and recommendations

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text_only(kind: type, message: str) -> BeforeValidator:
    """Accept ISO text (or a ``kind`` object) only: pydantic would read a number as seconds since 1970
    (found by fuzzing the API)."""

    def check(v: Any) -> Any:
        if v is not None and not isinstance(v, (str, kind)):
            raise ValueError(message)
        return v

    return BeforeValidator(check)


#: A day sent as ISO text (``YYYY-MM-DD``); a number is refused instead of read as a Unix time.
IsoDate = Annotated[dt.date, _text_only(dt.date, "YYYY-MM-DD 형식의 날짜 문자열이어야 해요 (예: 2015-03-01)")]
#: An instant sent as ISO 8601 text, likewise.
IsoDateTime = Annotated[dt.datetime, _text_only(dt.datetime,
                                                "ISO 8601 시각 문자열이어야 해요 (예: 2026-11-02T12:30:00)")]


class ChatContext(BaseModel):
    lat: float | None = Field(None, ge=33.0, le=39.0, strict=True, description="Latitude of the user (Korea)")
    lon: float | None = Field(None, ge=124.0, le=132.0, strict=True, description="Longitude of the user (Korea)")
    now: IsoDateTime | None = Field(None, description="Request time, ISO 8601 (default: the server's clock)")


class ChatTurnCreate(BaseModel):
    user_id: UserRef = Field(None, description="A database user (863, \"863\" or \"user_863\"), any other string "
                             "for an app user without history (remembered by that string), or null (cold start)",
                             examples=["user_863"])
    message: Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE_CHARS, examples=["급식카드 되는 떡볶이집 추천해줘"])]
    session_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    context: ChatContext | None = None

    @field_validator("message")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        # Control characters carry no meaning in a chat message, and PostgreSQL cannot store NUL in text
        # (found by fuzzing the API: a 500 on PostgreSQL).
        v = _CONTROL.sub("", v)
        if not v.strip():
            raise ValueError("메시지가 비어 있어요")
        return v


class ChatTurnPublic(BaseModel):
    session_id: str
    interaction_id: int
    response: str
    intent: str
    nlu: NLUOutput
    recommendations: list[Recommendation]
    follow_up_questions: list[str]
    model_versions: dict[str, str]
    minimised: bool = Field(False, description="Present (true) when this turn was stored minimised: a child "
                            "under 14 without a guardian's consent (no message text, no precise location, never "
                            "trained on)")
    privacy_notice: str | None = Field(None, description="With minimised: one line for the page to show "
                                       "(Korean, in a child's words)")
    debug: dict[str, Any] | None = Field(
        None, description="With ?debug=true: the original API's block (chatbot_analysis, recommendation_metadata)")


class RecommendationContext(ChatContext):
    """Where and when; the original API's keys are read too (``current_time``, ``user_location``)."""

    current_time: str | None = Field(None, max_length=40, description="Original API: request time, ISO 8601")
    user_location: str | None = Field(None, max_length=40, description="Original API: the user's 구, e.g. 관악구")


class UserProfile(BaseModel):
    """The original API's ``user_profile``: used for a user the database does not know (a database user's
    own record always wins)."""

    id: int | str | None = None
    birthday: IsoDate | None = Field(None, description="YYYY-MM-DD: the age the safety rules use")
    location: dict[str, Any] | None = Field(None, description="e.g. {\"city\": \"서울특별시\", \"district\": \"관악구\"}")


class RecommendationsCreate(BaseModel):
    user_id: UserRef = Field(None, description="A database user (863, \"863\", \"user_863\"), another string for an "
                             "app user without history, or null (cold start)", examples=["user_863"])
    user_profile: UserProfile | None = Field(None, description="Original API: fills age and 구 of an unknown user")
    chatbot_output: ChatbotOutput = Field(
        description="The NLU contract object: at least `filters`; `text`, `intent`, `semantic_query` when known")
    context: RecommendationContext | None = None
    top_k: int = Field(10, ge=1, le=50)


class RecommendationsPublic(BaseModel):
    user_id: int | str | None
    original_query: str
    recommendations: list[Recommendation]
    explanations: list[str]
    metadata: RecommendationMetadata


class UserDataErasedPublic(BaseModel):
    user_id: int
    interactions: int = Field(description="Conversation turns deleted")
    chat_sessions: int = Field(description="Dialogue states deleted")
    feedback_events: int = Field(description="Feedback events deleted")


class ConsentUpdate(BaseModel):
    date: IsoDate | None = Field(None, description="The day the guardian consented, YYYY-MM-DD (default: today)")


class ConsentPublic(BaseModel):
    user_id: int
    guardian_consent: dt.date | None = Field(description="The consent date now (null: none)")
    previous: dt.date | None = Field(description="The consent date before this change")
    interactions: int = Field(0, description="Conversation turns minimised by a withdrawal")
    chat_sessions: int = Field(0, description="Dialogue states minimised by a withdrawal")
    feedback_events: int = Field(0, description="Feedback events marked never to be trained on by a withdrawal")


class ModelVersionPublic(BaseModel):
    kind: str
    version: str
    status: str
    metrics: dict[str, Any] | None
    data_window_start: dt.datetime | None
    data_window_end: dt.datetime | None
    parent: str | None
    created_at: dt.datetime | None
    promoted_at: dt.datetime | None

    @field_validator("data_window_start", "data_window_end", "created_at", "promoted_at")
    @classmethod
    def _utc(cls, v: dt.datetime | None) -> dt.datetime | None:
        """Stored timestamps are naive UTC; the API says so (RFC 3339 needs an offset)."""
        return v.replace(tzinfo=dt.UTC) if v is not None and v.tzinfo is None else v


class ModelsPublic(BaseModel):
    models: list[ModelVersionPublic]
    serving: dict[str, str]
    candidate_serving: dict[str, str] | None
    ab_share: float


class ReloadPublic(BaseModel):
    changed: dict[str, list[str | None]]
    failed: dict[str, str]
    serving: dict[str, str]
    candidate_serving: dict[str, str] | None


class PromotionPublic(BaseModel):
    kind: str
    version: str
    previous: str | None
    reload: ReloadPublic
