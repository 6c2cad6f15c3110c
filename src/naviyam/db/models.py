"""SQLAlchemy 2 models: the operator's tables and the service's own tables.

The operator's tables mirror the sheets of their Excel export (see
README, section 4); ids are the operator's ids.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from naviyam.core.clock import utcnow  # every service timestamp is stored in naive UTC

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Payment methods accepted in product_order.payment_method.
PAYMENT_METHODS = ("meal_card", "card", "cash", "coupon")
#: Feedback types accepted by /feedback and stored in feedback_event.
FEEDBACK_TYPES = ("clicked", "ordered", "favorited", "rated", "dismissed")
#: Kinds of versioned models in the registry.
MODEL_KINDS = ("nlu", "index", "ranker", "lora", "normalizer")
MODEL_STATUSES = ("candidate", "production", "archived", "failed")
#: What the privacy log records (naviyam.service.privacy): consent set or withdrawn, data exported or erased.
PRIVACY_ACTIONS = ("consent", "withdraw", "export", "erase")




class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


# --------------------------------------------------------------------------- operator's tables


class Brand(Base):
    __tablename__ = "brand"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))

    shops: Mapped[list[Shop]] = relationship(back_populates="brand")


class Shop(Base):
    __tablename__ = "shop"
    __table_args__ = (
        CheckConstraint("lat BETWEEN -90 AND 90", name="lat_range"),
        CheckConstraint("lon BETWEEN -180 AND 180", name="lon_range"),
        Index("ix_shop_district_category", "district", "category"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(50), index=True)
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brand.id"), nullable=True)
    district: Mapped[str] = mapped_column(String(20))
    dong: Mapped[str | None] = mapped_column(String(40), nullable=True)
    address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    open_time: Mapped[dt.time] = mapped_column(Time)
    #: A close_time earlier than open_time means the shop closes after midnight.
    close_time: Mapped[dt.time] = mapped_column(Time)
    #: Comma-separated Korean weekday letters, e.g. "월" or "토,일"; empty = open every day.
    closed_days: Mapped[str | None] = mapped_column(String(40), nullable=True)
    is_good_shop: Mapped[bool] = mapped_column(Boolean, default=False)
    accepts_meal_card: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    brand: Mapped[Brand | None] = relationship(back_populates="shops")
    menus: Mapped[list[ShopMenu]] = relationship(back_populates="shop", order_by="ShopMenu.id")


class ShopMenu(Base):
    __tablename__ = "shop_menu"
    __table_args__ = (CheckConstraint("price >= 0", name="price_non_negative"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    price: Mapped[int] = mapped_column(Integer)
    #: Canonical dish from taxonomy.json when the menu is one (e.g. "떡볶이").
    dish: Mapped[str | None] = mapped_column(String(50), nullable=True, index=True)
    is_signature: Mapped[bool] = mapped_column(Boolean, default=False)

    shop: Mapped[Shop] = relationship(back_populates="menus")


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    birthday: Mapped[dt.date] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(10), nullable=True)
    district: Mapped[str] = mapped_column(String(20))
    dong: Mapped[str | None] = mapped_column(String(40), nullable=True)
    is_meal_card_holder: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    #: The day a legal guardian consented to the service processing this child's data (PIPA Art. 22-2);
    #: empty: no consent. Under 14 without it, the service minimises what it keeps (naviyam.core.privacy).
    guardian_consent: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class ProductOrder(Base):
    __tablename__ = "product_order"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        Index("ix_product_order_user_time", "user_id", "ordered_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    menu_id: Mapped[int | None] = mapped_column(ForeignKey("shop_menu.id"), nullable=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    amount: Mapped[int] = mapped_column(Integer)
    payment_method: Mapped[str] = mapped_column(String(20))
    ordered_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class UserFavorite(Base):
    __tablename__ = "userfavorite"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Review(Base):
    __tablename__ = "review"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class MealCardLimit(Base):
    """The meal card's amount per meal (and per day) in one 구, maintained by the operator.

    A 구 without a row uses the ``meal_card_per_meal`` setting (9,000원).
    """

    __tablename__ = "meal_card_limit"

    district: Mapped[str] = mapped_column(String(20), primary_key=True)
    per_meal: Mapped[int] = mapped_column(Integer)
    per_day: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (CheckConstraint("per_meal > 0", name="per_meal_positive"),)


#: The operator's tables in dependency order (parents first): import and export use it.
OPERATOR_TABLES = (Brand, Shop, ShopMenu, User, ProductOrder, UserFavorite, Review)


# --------------------------------------------------------------------------- service tables


class Interaction(Base):
    """One chat turn or recommendation call: what was asked, understood and shown."""

    __tablename__ = "interaction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    #: Not a foreign key: unknown (cold-start) users are served too.
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    #: Empty when the turn was minimised (a child under 14 without a guardian's consent).
    message: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(40), nullable=True)
    nlu: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: [{shop_id, rank, score, funnels}, ...] as shown to the user.
    recommendations: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    response: Mapped[str | None] = mapped_column(Text, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    model_versions: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    ab_arm: Mapped[str | None] = mapped_column(String(20), nullable=True)
    #: A user the original API's clients name by a string that is not a database user ("kakao_1234").
    app_user: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    #: Where the request was made: {lat, lon, precision: "exact" | "1km", district, dong}; null without coordinates.
    location: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: Stored minimised (no free text, coarse location) and never used for training (naviyam.service.minimise).
    minimised: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now(), index=True)


class ChatSession(Base):
    """Dialogue state of one conversation, kept in the database so any worker can continue it."""

    __tablename__ = "chat_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    #: The NLU session state (serialised search state, last intent, …).
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    turns: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now(), index=True)


class DataVersion(Base):
    """A counter per aspect of the operator's data, bumped by every import (see naviyam.db.data_versions)."""

    __tablename__ = "data_version"

    aspect: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(40))


class FeedbackEvent(Base):
    __tablename__ = "feedback_event"
    __table_args__ = (
        CheckConstraint(
            "feedback_type IN ('clicked', 'ordered', 'favorited', 'rated', 'dismissed')",
            name="feedback_type_known",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interaction.id"), nullable=True, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    shop_id: Mapped[int] = mapped_column(Integer)
    feedback_type: Mapped[str] = mapped_column(String(20))
    satisfaction_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    app_user: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    #: A minimised user's event: kept for the service, never used for training.
    minimised: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now(), index=True)


class ModelVersion(Base):
    """A trained artefact in the registry (nlu, index, ranker, lora, normalizer)."""

    __tablename__ = "model_version"
    __table_args__ = (Index("ix_model_version_kind_status", "kind", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    version: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="candidate")
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    data_window_start: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    data_window_end: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_version.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now())
    promoted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Alert(Base):
    __tablename__ = "alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    severity: Mapped[str] = mapped_column(String(20), default="warning")
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class LearningRun(Base):
    """One run of ``naviyam learn``: the feedback watermark it consumed and what it did."""

    __tablename__ = "learning_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    #: trained | skipped | failed
    status: Mapped[str] = mapped_column(String(20))
    #: The highest feedback_event.id this run had seen: the next run starts after it.
    feedback_watermark: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class DailyMetric(Base):
    """One monitored figure of one day (``naviyam monitor daily``)."""

    __tablename__ = "daily_metric"
    __table_args__ = (Index("ix_daily_metric_day_name", "day", "name", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[dt.date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(50))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now())


class PrivacyEvent(Base):
    """The operator's record of what was done with one person's data: consent set or withdrawn, data exported
    or erased, with counts only (never the data itself)."""

    __tablename__ = "privacy_event"
    __table_args__ = (
        CheckConstraint("action IN ('consent', 'withdraw', 'export', 'erase')", name="action_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(20), index=True)
    #: Not a foreign key: the log outlives the user's rows.
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    #: Counts of what was touched ({"interactions": 3, ...}) and the consent date, never content.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: api | cli | import
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now(), index=True)
