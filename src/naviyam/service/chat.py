"""Chat orchestration: one service object behind ``POST /chat`` and ``naviyam chat``.

message → safety check → NLU with the session's dialogue state → per intent
(recommend, shop info, menu, coupons, greeting, help, feedback, out of scope)
→ answer text (child-friendly for under-14s) → interaction committed.

The dialogue state lives in the ``chat_session`` table, so any worker can
continue any conversation.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine, Executable, bindparam, func, insert, select, update
from sqlalchemy.orm import Session as DBSession

from naviyam.core.clock import local_now, utcnow
from naviyam.core.privacy import age_on
from naviyam.db.models import ChatSession, FeedbackEvent, Shop, User
from naviyam.db.session import session_factory
from naviyam.learning.ab import CANDIDATE, assign_arm
from naviyam.nlg.responses import ResponseWriter
from naviyam.nlg.safety import (
    RequestRisk,
    classify_request,
    is_alcohol_shop,
    may_see_alcohol_shops,
)
from naviyam.nlu.canonical import SEARCH_INTENTS
from naviyam.nlu.state import NLUSession
from naviyam.service.alerts import alert_safety
from naviyam.service.balance import BalanceRule, nudge, recent_meals
from naviyam.service.balance import applies as balance_applies
from naviyam.service.minimise import (
    CHILD_NOTICE,
    CHILD_SESSION_KEY,
    minimise_state,
    minimise_turn,
)
from naviyam.service.policy import (
    DEFAULT_CLOSING_SOON_MINUTES,
    DEFAULT_PER_MEAL,
    Asker,
    ShopFactsCache,
    annotate,
    arrange,
    is_hungry_talk,
    is_refinement,
    per_meal_amount,
    plan_search,
    wants_a_meal,
)
from naviyam.service.recommendations import log_turn
from naviyam.shops import get_shop

log = logging.getLogger(__name__)

#: Below this NLU confidence a search request gets a clarifying question instead of a guess.
CLARIFY_CONFIDENCE = 0.40
MAX_MESSAGE_CHARS = 500
_NEGATIVE_FEEDBACK = re.compile(r"문\s*닫|별로|맛없|불친절|비싸|더럽|최악|실망|안\s*받|안\s*돼|없던데|틀렸")
_VAGUE_SUGGESTIONS = ["분식 먹고 싶어", "급식카드 되는 곳", "만원으로 뭐 먹지?", "가까운 곳 추천해줘"]
_FOLLOW_UPS = ["더 싼 데는?", "더 가까운 곳은?", "급식카드 되는 곳만", "다른 거 찾아줘"]


#: "The caller did not read the user": :meth:`ChatService._asker` reads them itself.
_UNREAD: Any = object()


class Recommender(Protocol):
    """naviyam.recommend.engine.RecommendationEngine's shape."""

    def recommend(self, user: int | None, nlu_output: dict[str, Any] | None, context: Any = None,
                  top_k: int = 5, *, reasons: bool = True) -> Any:
        ...


def _relaxes_more_than_place(recommender: Recommender, user_id: int | None, filters: dict[str, Any],
                             context: dict[str, Any]) -> bool:
    """Whether ``recommender`` would relax more than the place for ``filters`` (False when it cannot say before
    recommending: the engine's ``relaxed_filters`` runs only the hard-filter step, not the whole pipeline)."""
    relaxed_filters = getattr(recommender, "relaxed_filters", None)
    if relaxed_filters is None:
        return False
    return any(not k.startswith("location_filter") for k in relaxed_filters(user_id, filters, context))


class Parser(Protocol):
    version: str

    def parse(self, text: Any, session: NLUSession | None = None) -> Any:
        ...


@dataclass
class ChatRequest:
    message: str
    user_id: int | None = None
    session_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    now: dt.datetime | None = None
    app_user: str | None = None  # the string an app user (not a database user) is known by


@dataclass
class ChatReply:
    session_id: str
    interaction_id: int
    response: str
    intent: str
    nlu: dict[str, Any]
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    follow_up_questions: list[str] = field(default_factory=list)
    model_versions: dict[str, str] = field(default_factory=dict)
    relaxed_filters: list[str] = field(default_factory=list)
    path: str = ""
    #: The turn was stored minimised (a child without a guardian's consent); ``privacy_notice`` says so.
    minimised: bool = False
    privacy_notice: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Turn:
    """What one intent handler decided; the service stores and returns it."""

    response: str
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)
    relaxed: list[str] = field(default_factory=list)
    path: str = ""
    answer_backend: str = "template"


class ChatService:
    """Stateless between calls: every piece of conversation state is read from and written to the database."""

    def __init__(self, engine: Engine, parser: Parser, recommender: Recommender | None,
                 writer: ResponseWriter | None = None, *, top_k: int = 3,
                 model_versions: dict[str, str] | None = None, answerer: Any | None = None,
                 candidate_recommender: Recommender | None = None,
                 candidate_versions: dict[str, str] | None = None, ab_share: float = 0.0,
                 ab_salt: str = "naviyam-ab", settings: Any | None = None):
        self.engine = engine
        self.sessions = session_factory(engine)
        self.parser = parser
        self.recommender = recommender
        self.writer = writer or ResponseWriter()
        self.top_k = top_k
        self.model_versions = dict(model_versions or {})
        self.answerer = answerer
        # Online A/B: users whose hash falls in ``ab_share`` are served by the candidate recommender.
        self.candidate_recommender = candidate_recommender
        self.candidate_versions = dict(candidate_versions or self.model_versions)
        self.ab_share = ab_share if candidate_recommender is not None else 0.0
        self.ab_salt = ab_salt
        self.settings = settings
        # Balanced meals: the rule, and where a user's recent meals come from (a simulation may swap it).
        self.balance = BalanceRule.from_settings(settings)
        self.meal_history = recent_meals
        # Shop hours, menus and order counts for the answers, kept while the operator's data stays the same.
        self.shop_facts = ShopFactsCache()
        self.alert_webhook_url = getattr(settings, "alert_webhook_url", None)

    def arm_of(self, user_id: int | None) -> str | None:
        """The A/B arm of a user while a test runs (None when none runs)."""
        if self.ab_share <= 0:
            return None
        return assign_arm(user_id, self.ab_share, self.ab_salt)

    # ------------------------------------------------------------------ public
    def chat(self, req: ChatRequest) -> ChatReply:
        t0 = time.perf_counter()
        message = (req.message or "")[:MAX_MESSAGE_CHARS]
        now = req.now or local_now()
        # No autoflush: a query after the first change (chat feedback, a safety alert) would otherwise flush it
        # and start the write transaction there, holding SQLite's one writer lock through NLU and ranking.
        # Everything this turn writes (session state, interaction, feedback) goes in one short transaction
        # at the end (log_turn, through store_interaction's commit). The chat session row is read and written
        # with one Core statement each; the object the turn works on is not in the ORM session.
        with self.sessions() as db, db.no_autoflush:
            chat_session, is_new = self._load_session(db, req.session_id, req.user_id)
            user = read_user(db, req.user_id)
            age = age_on(user.birthday, now.date()) if user else None
            minimise = self.must_minimise(user, chat_session, message)
            nlu_session = NLUSession.from_dict((chat_session.state or {}).get("nlu"))
            result = self.parser.parse(message, nlu_session)
            nlu = result.to_dict()
            if classify_request(message) is RequestRisk.SAFETY and nlu["intent"] != "SAFETY":
                # Whatever parser is serving (a trained model, the LLM), danger is never a search.
                nlu = {**nlu, "intent": "SAFETY", "entities": [], "filters": {}, "semantic_query": ""}
            intent = nlu["intent"]
            rng = random.Random(f"{chat_session.id}:{chat_session.turns}")
            arm = self.arm_of(req.user_id)
            recommender = self.candidate_recommender if arm == CANDIDATE else self.recommender
            turn = self._answer(db, req, nlu, float(result.confidence), age, now, rng, chat_session, recommender,
                                user=user)
            served = self.candidate_versions if arm == CANDIDATE else self.model_versions
            versions = {**served, "nlu_backend": getattr(result, "backend", "trained"),
                        "answer_backend": turn.answer_backend}
            state = dict(chat_session.state or {})  # _answer may have added to it (shown shops, card choice)
            state["nlu"] = nlu_session.to_dict()
            if turn.recommendations:
                state["last_shown"] = [r["shop_id"] for r in turn.recommendations]
            if minimise:
                state = minimise_state(state)
                if user is None:
                    state[CHILD_SESSION_KEY] = True  # the rest of this conversation is a child's too
            chat_session.state = state
            chat_session.turns += 1
            chat_session.updated_at = utcnow()
            if req.user_id is not None and chat_session.user_id is None:
                chat_session.user_id = req.user_id
            latency_ms = (time.perf_counter() - t0) * 1000
            interaction_id = log_turn(
                db, session_id=chat_session.id, user_id=req.user_id, message=message, intent=intent, nlu=nlu,
                recommendations=turn.recommendations, response=turn.response, latency_ms=latency_ms,
                model_versions=versions, app_user=req.app_user, lat=req.lat, lon=req.lon, minimise=minimise,
                ab_arm=arm, before=[_session_write(chat_session, is_new)])
        return ChatReply(
            session_id=chat_session.id, interaction_id=interaction_id, response=turn.response, intent=intent, nlu=nlu,
            recommendations=turn.recommendations, follow_up_questions=turn.follow_ups,
            model_versions=versions, relaxed_filters=turn.relaxed, path=turn.path, minimised=minimise,
            privacy_notice=CHILD_NOTICE if minimise else None,
        )

    @staticmethod
    def must_minimise(user: User | None, chat_session: ChatSession, message: str) -> bool:
        """Keep the least of this turn (naviyam.service.minimise.minimise_turn); an unknown user who said
        they are a child stays one for the rest of the conversation."""
        return minimise_turn(user, said_child=bool((chat_session.state or {}).get(CHILD_SESSION_KEY)),
                             message=message)

    def recommend_for(self, user_id: int | None, nlu: dict[str, Any], *, now: dt.datetime,
                      lat: float | None = None, lon: float | None = None, top_k: int = 10,
                      profile_birthday: dt.date | None = None) -> Any:
        """``POST /recommendations``: the engine's answer for a caller's NLU object under the rules chat follows:
        alcohol shops only for users known to be adults (inside retrieval), ``sort`` honoured over a wider pool,
        open shops before closed ones unless a time of day is asked, hours and dishes on every shop.

        ``profile_birthday`` (the original API's ``user_profile``) gives the age of a user the database
        does not know; a database user's own birthday always wins."""
        filters = dict(nlu.get("filters") or {})
        with self.sessions() as db:
            user = read_user(db, user_id)
            birthday = user.birthday if user is not None else profile_birthday
            age = age_on(birthday, now.date()) if birthday is not None else None
            if may_see_alcohol_shops(age):
                filters["_allow_alcohol"] = True
            # The card rules /chat follows: a card holder (or a request for the meal card) gets card shops with a
            # main dish within their 구's per-meal amount, unless the caller set a budget or said cash.
            plan = plan_search(str(nlu.get("text") or ""), filters, self._asker(db, user_id, age, user),
                               per_meal=self._per_meal(db, user.district if user is not None else None))
            filters = plan.filters
            pool = max(top_k * 3, top_k + 10)
            res = self.recommender.recommend(user_id, {**nlu, "filters": filters}, {"now": now, "lat": lat, "lon": lon},
                                             pool, reasons=False)
            budget = filters.get("budget_filter") if "budget_filter" not in res.relaxed_filters else None
            recs = annotate(db, res.recommendations, now=now, asked_menu=filters.get("menu"), budget=budget,
                            closing_soon_minutes=self._closing_minutes(), facts_cache=self.shop_facts)
            recs = self._balanced(db, user_id if user is not None else None, recs, filters, now, budget)
        # Reasons only for the shops shown (the engine's pool is three times longer).
        res.recommendations = res.add_reasons(arrange(recs, sort=filters.get("sort"),
                                                      now_request=not filters.get("time_of_day"), top_k=top_k,
                                                      meal=wants_a_meal(filters)))
        res.metadata = {**(res.metadata or {}), "meal_card_budget": plan.card_budget,
                        "applied_filters": {k: v for k, v in filters.items() if not k.startswith("_")}}
        return res

    # ------------------------------------------------------------------ internals
    def _load_session(self, db: DBSession, session_id: str | None, user_id: int | None) -> tuple[ChatSession, bool]:
        """The conversation's row as an object outside the ORM session (stored by :func:`_session_write`), and
        whether it is new: a new row for an unknown id, or when the id belongs to another user."""
        found = db.connection().execute(_READ_SESSION, {"session_id": session_id}).first() if session_id else None
        if found is None or (found.user_id is not None and user_id is not None and found.user_id != user_id):
            row = ChatSession(id=session_id if session_id and found is None else uuid.uuid4().hex, user_id=user_id,
                              state={}, turns=0)
            return row, True
        return ChatSession(id=session_id, user_id=found.user_id, state=found.state, turns=found.turns), False

    def _asker(self, db, user_id: int | None, age: int | None, user: Any = _UNREAD) -> Asker:
        """Who asks; ``user``: their row when the caller has read it (:func:`read_user`)."""
        if user is _UNREAD:
            user = read_user(db, user_id)
        if user is None:
            return Asker(user_id=user_id, age=age)
        return Asker(user_id=user_id, age=age, district=user.district, card_holder=bool(user.is_meal_card_holder),
                     known=True)

    def _answer(self, db, req, nlu, confidence, age, now, rng, chat_session, recommender=None, *,
                user: Any = _UNREAD) -> _Turn:
        intent = nlu["intent"]
        risk = classify_request(req.message)
        if intent == "SAFETY" or risk is RequestRisk.SAFETY:
            # Self-harm, abuse or danger: who to call, no restaurants, and the operator is told (no text).
            alert_safety(db, channel="chat", webhook_url=self.alert_webhook_url)
            return _Turn(self.writer.safety(age), path="safety")
        if risk in (RequestRisk.ALCOHOL, RequestRisk.TOBACCO, RequestRisk.ADULT):
            return _Turn(self.writer.refusal(risk, age), follow_ups=_VAGUE_SUGGESTIONS[:2], path="safety")
        asker = self._asker(db, req.user_id, age, user)
        state = dict(chat_session.state or {})  # a copy: the ORM sees the new object as a change
        chat_session.state = state
        if risk is RequestRisk.CRISIS:
            filters = {"payment_method": "meal_card", "open_now": True, "sort": "distance"}
            return self._recommend(db, req, {**nlu, "filters": filters, "semantic_query": "급식카드 착한가게 식사"},
                                   asker, now, rng, state, crisis=True, recommender=recommender)
        shown_before = bool(state.get("shown_all"))
        if intent not in SEARCH_INTENTS and "shop_name" not in nlu["filters"] and (
                intent in ("OUT_OF_SCOPE", "GREETING", "HELP", "SHOP_INFO", "MENU_INQUIRY")
                and is_hungry_talk(req.message)
                or intent != "FEEDBACK" and shown_before and is_refinement(req.message)):
            # "배고파", "뭐 먹지", "다른 데는?": food, whatever the intent model guessed.
            intent = "FOOD_RECOMMENDATION"
            nlu["intent"] = intent
        if intent in SEARCH_INTENTS:
            personal = asker.known or (req.lat is not None and req.lon is not None)
            vague = not nlu["filters"] or confidence < CLARIFY_CONFIDENCE
            if vague and not personal and not (shown_before and is_refinement(req.message)):
                # Nothing to go on: no words, no history, no place.
                return _Turn(self.writer.clarify("어떤 음식이 먹고 싶어요? 가진 돈이나 동네를 알려 줘도 좋아요.", age),
                             follow_ups=_VAGUE_SUGGESTIONS, path="clarify")
            if vague and confidence < CLARIFY_CONFIDENCE and not is_hungry_talk(req.message) \
                    and not is_refinement(req.message):
                return _Turn(self.writer.clarify("어떤 음식이 먹고 싶어요? 가진 돈이나 동네를 알려 줘도 좋아요.", age),
                             follow_ups=_VAGUE_SUGGESTIONS, path="clarify")
            return self._recommend(db, req, nlu, asker, now, rng, state, recommender=recommender,
                                   vague=not nlu["filters"])
        if intent in ("SHOP_INFO", "MENU_INQUIRY"):
            name = nlu["filters"].get("shop_name")
            shop_id = find_shop_id(db, name) if name else None
            if shop_id is None:
                return _Turn(self.writer.shop_not_found(name, age, rng), path="shop")
            record = get_shop(db, shop_id, now).to_dict()
            if intent == "MENU_INQUIRY":
                return _Turn(self.writer.menu(record, nlu["filters"].get("budget_filter"), age), path="menu")
            return _Turn(self.writer.shop_info(record, nlu["filters"], age), path="shop")
        if intent == "COUPON_INQUIRY":
            return _Turn(self.writer.coupon(age, rng), path="coupon")
        if intent == "GREETING":
            return _Turn(self.writer.greeting(age, rng), follow_ups=_VAGUE_SUGGESTIONS[:3], path="greeting")
        if intent == "GOODBYE":
            return _Turn(self.writer.goodbye(age, rng), path="goodbye")
        if intent == "HELP":
            return _Turn(self.writer.help(age, rng), follow_ups=_VAGUE_SUGGESTIONS, path="help")
        if intent == "FEEDBACK":
            negative = bool(_NEGATIVE_FEEDBACK.search(req.message))
            self._store_chat_feedback(db, req, nlu, chat_session, negative)
            return _Turn(self.writer.feedback(negative, age, rng), path="feedback")
        return _Turn(self.writer.out_of_scope(age, rng), follow_ups=_VAGUE_SUGGESTIONS[:2], path="out_of_scope")

    def _balanced(self, db, user_id: int | None, recs: list[dict[str, Any]], filters: dict[str, Any],
                  now: dt.datetime, budget: int | None, *, refinement: bool = False) -> list[dict[str, Any]]:
        """The gentle balanced-meal nudge (naviyam.service.balance) for a known user who asked nothing specific."""
        if user_id is None or not self.balance.active or not balance_applies(filters, refinement=refinement):
            return recs
        week = self.meal_history(db, user_id, now=now, days=self.balance.window_days)
        return nudge(db, recs, week, self.balance, budget=budget)

    def _per_meal(self, db, district: str | None) -> int:
        return per_meal_amount(db, district, getattr(self.settings, "meal_card_per_meal", DEFAULT_PER_MEAL))

    def _closing_minutes(self) -> int:
        return int(getattr(self.settings, "closing_soon_minutes", DEFAULT_CLOSING_SOON_MINUTES))

    def _recommend(self, db, req, nlu, asker: Asker, now, rng, state: dict[str, Any], crisis: bool = False,
                   recommender=None, vague: bool = False) -> _Turn:
        recommender = recommender or self.recommender
        age = asker.age
        if recommender is None:
            return _Turn("지금은 추천을 준비하고 있어요. 조금 뒤에 다시 물어봐 줘요.", path="unavailable")
        plan = plan_search(req.message, nlu["filters"], asker, per_meal=self._per_meal(db, asker.district),
                           state=state)
        filters = dict(plan.filters)
        implicit_location = "location_filter" not in filters and (req.lat is not None or req.user_id is not None)
        if implicit_location:
            # Nobody asked for a place: a child still needs somewhere near, so search near them first
            # (Layer 1 widens the radius, then drops it, when too few shops are there).
            filters["location_filter"] = {"near": "current" if req.lat is not None and req.lon is not None
                                          else "home"}
        # Spare candidates so that sorting and 'open first' choose from more than the list shown.
        pool = self.top_k * 4 + 10
        context = {"now": now, "lat": req.lat, "lon": req.lon}
        searched = filters
        if implicit_location and _relaxes_more_than_place(recommender, req.user_id, filters, context):
            # What the user asked for matters more than the nearness they did not ask for.
            searched = plan.filters
        out = recommender.recommend(req.user_id, {**nlu, "filters": searched}, context, pool, reasons=False)
        if implicit_location and searched is filters \
                and any(not k.startswith("location_filter") for k in out.relaxed_filters):
            # The same, for a recommender that cannot say beforehand what it would relax.
            out = recommender.recommend(req.user_id, {**nlu, "filters": plan.filters}, context, pool, reasons=False)
        recs = out.recommendations
        if not may_see_alcohol_shops(age):  # retrieval already left them out; a last guard
            recs = [r for r in recs if not is_alcohol_shop(r.get("name", ""), r.get("category"))]
        budget = filters.get("budget_filter") if "budget_filter" not in out.relaxed_filters else None
        recs = annotate(db, recs, now=now, asked_menu=filters.get("menu"), budget=budget,
                        closing_soon_minutes=self._closing_minutes(), facts_cache=self.shop_facts)
        if not crisis:
            recs = self._balanced(db, asker.user_id if asker.known else None, recs, filters, now, budget,
                                  refinement=is_refinement(req.message))
        recs = arrange(recs, sort=filters.get("sort"), now_request=plan.now_request, top_k=self.top_k,
                       meal=wants_a_meal(filters))
        out.add_reasons(recs)  # built only for the shops shown (the pool is ~22 long, 3 are shown)
        relaxed = [k for k in out.relaxed_filters if not (implicit_location and k.startswith("location_filter"))]
        if recs:
            state["shown_all"] = list(dict.fromkeys([*(state.get("shown_all") or []),
                                                     *(r["shop_id"] for r in recs)]))
            prices = [r["cheapest_main"] for r in recs if r.get("cheapest_main") is not None]
            if prices:
                state["last_prices"] = prices
            distances = [r["distance_m"] for r in recs if r.get("distance_m") is not None]
            if distances:
                state["last_distances"] = distances
        text = self.writer.recommendations(recs, {**nlu["filters"], **plan.filters}, relaxed=relaxed, age=age,
                                           rng=rng, crisis=crisis, plan=plan)
        backend = "template"
        if self.answerer is not None and recs and not crisis and not relaxed:
            # The grounded LLM answer names only these shops with their real prices, or the template stays.
            text, backend = self.answerer.answer(req.message, recs, text, age)
        follow = _FOLLOW_UPS[:3] if recs else _VAGUE_SUGGESTIONS[:2]
        if vague and recs:
            text += "\n" + self.writer.hungry_follow_up(age)
            follow = _VAGUE_SUGGESTIONS[:2] + _FOLLOW_UPS[:1]
        return _Turn(text, recs, follow, relaxed, path=out.ranking, answer_backend=backend)

    def _store_chat_feedback(self, db, req, nlu, chat_session, negative: bool) -> None:
        name = nlu["filters"].get("shop_name")
        shop_id = find_shop_id(db, name) if name else None
        if shop_id is None:
            shown = (chat_session.state or {}).get("last_shown") or []
            shop_id = shown[0] if shown else None
        if shop_id is None:
            return
        user = read_user(db, req.user_id)
        db.add(FeedbackEvent(user_id=req.user_id, shop_id=shop_id, feedback_type="rated",
                             satisfaction_score=2.0 if negative else 4.5, app_user=req.app_user,
                             minimised=self.must_minimise(user, chat_session, req.message)))


_SESSION = ChatSession.__table__
_READ_USER = select(User.__table__).where(User.__table__.c.id == bindparam("user_id"))


def read_user(db: DBSession, user_id: int | None) -> Any:
    """A user's row (every column as an attribute, as on a ``User``) with one Core statement, or None: a turn
    only reads its user, and the ORM's identity map costs more than the query."""
    if user_id is None:
        return None
    return db.connection().execute(_READ_USER, {"user_id": user_id}).first()


_READ_SESSION = select(_SESSION.c.user_id, _SESSION.c.state, _SESSION.c.turns).where(
    _SESSION.c.id == bindparam("session_id"))
_INSERT_SESSION = insert(_SESSION)
_UPDATE_SESSION = update(_SESSION).where(_SESSION.c.id == bindparam("session_id"))


def _session_write(row: ChatSession, is_new: bool) -> tuple[Executable, dict[str, Any]]:
    """The prepared statement and parameters that store a turn's chat session row (inserted when new, else its
    state, turns, user and time updated)."""
    values = {"user_id": row.user_id, "state": row.state, "turns": row.turns, "updated_at": row.updated_at}
    if is_new:
        return _INSERT_SESSION, {"id": row.id, "created_at": row.updated_at, **values}
    return _UPDATE_SESSION, {"session_id": row.id, **values}


def find_shop_id(db: DBSession, name: str) -> int | None:
    """A shop by its name as the user wrote it: exact, then without spaces, then a unique partial match."""
    name = (name or "").strip()
    if not name:
        return None
    exact = db.scalar(select(Shop.id).where(Shop.name == name).order_by(Shop.id).limit(1))
    if exact is not None:
        return exact
    squashed = name.replace(" ", "")
    exact = db.scalar(select(Shop.id).where(func.replace(Shop.name, " ", "") == squashed).order_by(Shop.id).limit(1))
    if exact is not None:
        return exact
    like = list(db.scalars(select(Shop.id).where(Shop.name.contains(name, autoescape=True)).limit(2)))
    return like[0] if len(like) == 1 else None
