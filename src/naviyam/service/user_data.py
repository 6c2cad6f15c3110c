"""Everything held about one user, as JSON a guardian can be given (Korea's PIPA, Art. 35: the right to see).

``GET /users/{id}/data`` and ``naviyam maintenance export-user ID`` return the same document: the
operator's record of the user (profile, guardian consent, orders, favourites, reviews), and what the
service itself keeps (conversations, feedback, dialogue states), with shop names beside shop ids and
times in the service's time zone. A ``guide`` section says in Korean what each part is and how long it
is kept. Each export is written to the privacy log (counts only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from naviyam.core.clock import local_today, now, zone
from naviyam.core.privacy import CONSENT_AGE, age_on, has_guardian_consent, must_minimise
from naviyam.db.models import (
    ChatSession,
    FeedbackEvent,
    Interaction,
    PrivacyEvent,
    ProductOrder,
    Review,
    Shop,
    User,
    UserFavorite,
)
from naviyam.db.session import session_scope
from naviyam.service.privacy import log_privacy_event

GUIDE = {
    "profile": "운영사(급식카드 가맹 서비스)가 등록한 사용자 정보예요. 나이는 서울 시간 기준 오늘 날짜로 계산해요.",
    "guardian_consent": "만 14세 미만 어린이는 보호자가 동의해야 대화 내용과 정확한 위치를 저장해요. 동의가 없으면 "
                        "추천은 똑같이 하지만 쓴 말과 정확한 위치는 저장하지 않고, 학습에도 쓰지 않아요.",
    "conversations": "챗봇과 나눈 대화예요. 보호자 동의 없이 저장된 대화(minimised: true)는 쓴 말 없이 "
                     "챗봇이 이해한 내용과 보여 준 가게만 남아 있어요. 시각은 서울 시간이에요.",
    "feedback": "추천받은 가게에 누른 '가 볼래요', '즐겨찾기', 만족도 같은 반응이에요.",
    "sessions": "대화를 이어 가기 위해 기억하는 내용(찾던 음식, 보여 준 가게 등)이에요.",
    "orders": "운영사 기록의 주문 내역이에요.",
    "favorites": "운영사 기록의 찜한 가게예요.",
    "reviews": "운영사 기록의 리뷰예요.",
    "privacy_log": "이 사용자의 정보에 대해 한 일(동의, 동의 철회, 열람, 삭제)의 기록이에요. 내용은 담지 않아요.",
    "retention_days": "대화·대화 상태·피드백을 보관하는 날짜 수예요. 이보다 오래된 것은 매일 밤 지워요 "
                      "(0이면 기간 제한 없음).",
}


def _local(t: dt.datetime | None) -> str | None:
    """A stored naive-UTC time as local ISO time with its offset."""
    if t is None:
        return None
    return t.replace(tzinfo=dt.UTC).astimezone(zone()).isoformat(timespec="seconds")


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _shop_names(s: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    names: dict[int, str] = {}
    ordered = sorted(ids)
    for i in range(0, len(ordered), 1000):
        names.update(dict(s.execute(select(Shop.id, Shop.name).where(Shop.id.in_(ordered[i:i + 1000]))).all()))
    return names


def _profile(user: User | None, today: dt.date) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    if user is None:
        return None, {"date": None, "needed": None, "status": "운영 DB에 등록되지 않은 사용자예요."}
    age = age_on(user.birthday, today)
    profile = {"id": user.id, "birthday": _iso(user.birthday), "age": age, "gender": user.gender,
               "district": user.district, "dong": user.dong, "is_meal_card_holder": bool(user.is_meal_card_holder),
               "created_at": _iso(user.created_at)}
    needed = age is not None and age < CONSENT_AGE
    if has_guardian_consent(user.guardian_consent, today):
        status = f"보호자가 {user.guardian_consent.isoformat()}에 동의했어요."
    elif must_minimise(user.birthday, user.guardian_consent, today):
        status = "보호자 동의가 없어서 쓴 말과 정확한 위치는 저장하지 않고, 학습에도 쓰지 않아요."
    else:
        status = f"만 {CONSENT_AGE}세 이상이라 보호자 동의가 필요하지 않아요."
    return profile, {"date": _iso(user.guardian_consent), "needed": needed, "status": status}


def export_user_data(engine: Engine, user_id: int, *, retention_days: int, source: str = "api") -> dict[str, Any] | None:
    """The whole document for ``user_id``; None when nothing at all is held about them."""
    today = local_today()
    with session_scope(engine) as s:
        user = s.get(User, user_id)
        held = _Held.load(s, user_id)
        if user is None and not (held.sessions or held.interactions or held.feedback or held.log_rows):
            return None
        profile, consent = _profile(user, today)
        doc: dict[str, Any] = {
            "user_id": user_id,
            "exported_at": now().astimezone(zone()).isoformat(timespec="seconds"),
            "profile": profile,
            "guardian_consent": consent,
            **held.sections(_shop_names(s, held.shop_ids())),
            "retention_days": retention_days,
            "guide": GUIDE,
        }
        counts = {k: len(doc[k]) for k in ("conversations", "feedback", "sessions", "orders", "favorites", "reviews")}
        log_privacy_event(s, "export", user_id, counts, source)
    return doc


@dataclass
class _Held:
    """Every row held about one user (or their chat sessions), oldest first."""

    sessions: list[ChatSession]
    interactions: list[Interaction]
    feedback: list[FeedbackEvent]
    orders: list[ProductOrder]
    favorites: list[UserFavorite]
    reviews: list[Review]
    log_rows: list[PrivacyEvent]

    @classmethod
    def load(cls, s, user_id: int) -> _Held:
        sessions = list(s.scalars(select(ChatSession).where(ChatSession.user_id == user_id)
                                  .order_by(ChatSession.created_at, ChatSession.id)))
        where = Interaction.user_id == user_id
        session_ids = [c.id for c in sessions]
        if session_ids:
            where = or_(where, Interaction.session_id.in_(session_ids))
        return cls(
            sessions=sessions,
            interactions=list(s.scalars(select(Interaction).where(where).order_by(Interaction.created_at,
                                                                                  Interaction.id))),
            feedback=list(s.scalars(select(FeedbackEvent).where(FeedbackEvent.user_id == user_id)
                                    .order_by(FeedbackEvent.created_at, FeedbackEvent.id))),
            orders=list(s.scalars(select(ProductOrder).where(ProductOrder.user_id == user_id)
                                  .order_by(ProductOrder.ordered_at, ProductOrder.id))),
            favorites=list(s.scalars(select(UserFavorite).where(UserFavorite.user_id == user_id)
                                     .order_by(UserFavorite.created_at, UserFavorite.id))),
            reviews=list(s.scalars(select(Review).where(Review.user_id == user_id)
                                   .order_by(Review.created_at, Review.id))),
            log_rows=list(s.scalars(select(PrivacyEvent).where(PrivacyEvent.user_id == user_id)
                                    .order_by(PrivacyEvent.created_at, PrivacyEvent.id))),
        )

    def shop_ids(self) -> set[int]:
        """The shops the rows name (shown, given feedback, ordered, kept, reviewed)."""
        ids = {int(r["shop_id"]) for it in self.interactions for r in (it.recommendations or [])
               if isinstance(r, dict) and isinstance(r.get("shop_id"), int)}
        return ids | {x.shop_id for x in (*self.feedback, *self.orders, *self.favorites, *self.reviews)}

    def sections(self, names: dict[int, str]) -> dict[str, list[dict[str, Any]]]:
        """The document's sections, shop names filled in from ``names``."""
        return {
            "conversations": [{
                "id": it.id, "session_id": it.session_id, "time": _local(it.created_at), "message": it.message,
                "response": it.response, "intent": it.intent, "understood": it.nlu,
                "shown_shops": [{"shop_id": r.get("shop_id"), "name": names.get(r.get("shop_id")),
                                 "rank": r.get("rank")} for r in (it.recommendations or []) if isinstance(r, dict)],
                "location": it.location, "minimised": bool(it.minimised),
            } for it in self.interactions],
            "feedback": [{
                "id": fb.id, "time": _local(fb.created_at), "shop_id": fb.shop_id, "shop_name": names.get(fb.shop_id),
                "type": fb.feedback_type, "satisfaction_score": fb.satisfaction_score,
                "interaction_id": fb.interaction_id, "minimised": bool(fb.minimised),
            } for fb in self.feedback],
            "sessions": [{"id": c.id, "started": _local(c.created_at), "last_used": _local(c.updated_at),
                          "turns": c.turns, "state": c.state} for c in self.sessions],
            "orders": [{"id": o.id, "time": _iso(o.ordered_at), "shop_id": o.shop_id, "shop_name": names.get(o.shop_id),
                        "menu_id": o.menu_id, "quantity": o.quantity, "amount": o.amount,
                        "payment_method": o.payment_method} for o in self.orders],
            "favorites": [{"id": f.id, "time": _iso(f.created_at), "shop_id": f.shop_id,
                           "shop_name": names.get(f.shop_id)} for f in self.favorites],
            "reviews": [{"id": r.id, "time": _iso(r.created_at), "shop_id": r.shop_id, "shop_name": names.get(r.shop_id),
                         "rating": r.rating, "text": r.text} for r in self.reviews],
            "privacy_log": [{"action": e.action, "time": _local(e.created_at), "details": e.details,
                             "source": e.source} for e in self.log_rows],
        }
