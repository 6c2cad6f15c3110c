"""The NLU contract (``contracts/nlu.md`` in the shared design) as types every part shares.

The NLU produces :class:`NLUOutput`; the recommender, the service and the
API take it, and the API serves :class:`Recommendation` objects and a
:class:`RecommendationMetadata` block. The enums are the contract's own
values as ``Literal`` types, so the OpenAPI page lists them. Categories,
dishes and districts are data (``resources/taxonomy.json``, the gazetteer),
so they are plain strings here and checked against the data by
:mod:`naviyam.nlu.contract`.

The internal code still passes plain dicts of this shape (``model_dump()``
gives one); these models are where the shape is written down once.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

Intent = Literal[
    "FOOD_RECOMMENDATION", "BUDGET_FOOD_INQUIRY", "MENU_INQUIRY", "SHOP_INFO", "COUPON_INQUIRY",
    "GREETING", "GOODBYE", "HELP", "FEEDBACK", "OUT_OF_SCOPE", "SAFETY",
]
#: The contract's eleven intents, in the contract's order.
INTENTS: tuple[str, ...] = get_args(Intent)
#: Intents the trained classifier learns; SAFETY is decided by rules (naviyam.core.safety) before it.
LEARNED_INTENTS: tuple[str, ...] = INTENTS[:-1]

Companion = Literal["alone", "friends", "family", "date", "group"]
TimeOfDay = Literal["breakfast", "lunch", "dinner", "late_night", "snack"]
PaymentMethod = Literal["meal_card", "coupon"]
Sort = Literal["price", "rating", "distance", "popularity"]
Dietary = Literal["healthy", "vegetarian", "not_spicy", "spicy", "light", "hearty"]
Near = Literal["school", "home", "current"]

#: The enum-valued filter keys and their allowed values.
ENUMS: dict[str, set[str]] = {
    "companion": set(get_args(Companion)),
    "time_of_day": set(get_args(TimeOfDay)),
    "payment_method": set(get_args(PaymentMethod)),
    "sort": set(get_args(Sort)),
}
#: The Korean word of each time of day (what a child says, what the reasons write).
TIME_OF_DAY_KO: dict[str, str] = {"breakfast": "아침", "lunch": "점심", "snack": "간식", "dinner": "저녁",
                                  "late_night": "야식"}
DIETARY: set[str] = set(get_args(Dietary))
NEAR: set[str] = set(get_args(Near))


class _OnlyGiven(BaseModel):
    """A contract object serialises only the keys it has: the contract allows no nulls."""

    @model_serializer(mode="wrap")
    def _drop_none(self, handler: SerializerFunctionWrapHandler):
        data = handler(self)
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class Entity(_OnlyGiven):
    """One span of the message the NLU recognised; ``start``/``end`` are character offsets (end exclusive)."""

    model_config = ConfigDict(extra="allow")

    entity: str = Field(examples=["companion"])
    value: str | int | float | bool | list | dict | None = Field(examples=["family"])
    text: str | None = Field(None, examples=["아이랑"])
    start: int = Field(ge=0, examples=[0])
    end: int = Field(ge=0, examples=[3])


class LocationFilter(_OnlyGiven):
    district: str | None = Field(None, description="A Seoul 구", examples=["관악구"])
    dong: str | None = Field(None, description="A 동", examples=["신림동"])
    landmark: str | None = Field(None, description="A named place as written, particles removed",
                                 examples=["서울대입구역"])
    near: Near | None = None


class Filters(_OnlyGiven):
    """The search state after the turn: only the keys the user expressed (no nulls, no empty lists)."""

    category: str | None = Field(None, description="A category of the food taxonomy", examples=["분식"])
    menu: str | None = Field(None, description="A dish of the food taxonomy", examples=["떡볶이"])
    budget_filter: int | None = Field(None, gt=0, description="The most the user will pay, in won",
                                      examples=[8000])
    companion: Companion | None = None
    party_size: int | None = Field(None, gt=0)
    time_of_day: TimeOfDay | None = None
    dietary_preferences: list[Dietary] | None = None
    payment_method: PaymentMethod | None = None
    good_shop: Literal[True] | None = None
    location_filter: LocationFilter | None = None
    open_now: Literal[True] | None = None
    sort: Sort | None = None
    exclude_categories: list[str] | None = None
    exclude_menus: list[str] | None = None
    shop_name: str | None = Field(None, examples=["행복분식"])


#: The filter keys of the contract.
FILTER_KEYS: set[str] = set(Filters.model_fields)


class NLUOutput(BaseModel):
    """What the understanding step returns for one message."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "text": "급식카드 되는 떡볶이집 추천해줘", "intent": "FOOD_RECOMMENDATION", "confidence": 0.97,
        "entities": [{"entity": "payment_method", "value": "meal_card", "text": "급식카드", "start": 0, "end": 4},
                     {"entity": "menu", "value": "떡볶이", "text": "떡볶이", "start": 8, "end": 11}],
        "semantic_query": "떡볶이 분식", "filters": {"payment_method": "meal_card", "menu": "떡볶이"}}]})

    text: str
    intent: Intent
    confidence: float = Field(ge=0.0, le=1.0)
    entities: list[Entity]
    semantic_query: str
    filters: Filters


class ChatbotOutput(BaseModel):
    """``/recommendations``' input: the NLU object a caller already has.

    At least ``filters``. The original design's form is read too: ``budget_filter`` and
    ``location_filter`` beside ``filters``, ``original_query`` for ``text``, Korean names for the enums.
    The filters are checked against the contract and the taxonomy by the route (422 with the reasons).
    """

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "text": "급식카드 되는 분식집", "intent": "FOOD_RECOMMENDATION", "semantic_query": "분식",
        "filters": {"category": "분식", "payment_method": "meal_card"}}]})

    text: str | None = None
    intent: str | None = Field(None, description="One of the contract's intents", examples=["FOOD_RECOMMENDATION"])
    confidence: float | None = None
    entities: list[dict] | None = None
    semantic_query: str | None = None
    filters: dict = Field(default_factory=dict, description="The contract's filters (see NLUOutput.filters)")
    original_query: str | None = Field(None, description="Original API: the message")
    budget_filter: int | None = Field(None, description="Original API: the budget beside filters")
    location_filter: dict | None = Field(None, description="Original API: the place beside filters")


class PriceRange(BaseModel):
    min: int
    max: int
    text: str = Field(examples=["4,000원~9,000원"])


class SignatureMenu(BaseModel):
    name: str
    price: int


class Recommendation(BaseModel):
    """One recommended shop, with the reason a child can read."""

    model_config = ConfigDict(extra="allow")

    shop_id: int
    name: str
    category: str
    district: str | None = None
    distance_m: float | None = Field(None, description="From the user's position or the place asked for")
    price_range: PriceRange | None = None
    signature_menus: list[SignatureMenu] = Field(default_factory=list)
    rating: float | None = None
    is_good_shop: bool = Field(False, description="착한가게")
    accepts_meal_card: bool = Field(False, description="Takes the children's meal card")
    open_now: bool = False
    score: float | None = None
    funnels: dict[str, float] = Field(default_factory=dict, description="Layer 1 funnel scores that found it")
    reason: str = Field("", description="Why, in Korean a child understands")


class RecommendationMetadata(BaseModel):
    """How the list was made."""

    model_config = ConfigDict(extra="allow")

    ranking: str | None = Field(None, description="wide_deep or the fallback used")
    ranker_version: str | None = None
    index_version: str | None = None
    n_candidates: int | None = None
    funnels: dict | list | None = None
    cold_start_user: bool | None = None
    diversity_applied: bool | None = None
    timings_ms: dict[str, float] | None = None
    relaxed_filters: list = Field(default_factory=list, description="Filters dropped to find enough shops")
    interaction_id: int | None = None
