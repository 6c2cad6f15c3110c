"""The chat service on a real (small) world with trained models: intents, state, safety, storage."""

import datetime as dt

import pytest
from sqlalchemy import select

from naviyam.db.models import ChatSession, FeedbackEvent, Interaction, Shop, User
from naviyam.db.session import session_scope
from naviyam.nlg.normalizer import _EMOJI
from naviyam.service.chat import ChatRequest, ChatService

NOON = dt.datetime(2026, 11, 2, 12, 30)  # a Monday lunch time


@pytest.fixture(scope="module")
def service(runtime):
    return runtime.chat_service()


@pytest.fixture(scope="module")
def people(trained_world):
    """A child, a teen and an adult from the generated world (by birthday)."""
    with session_scope(trained_world.engine) as s:
        users = list(s.scalars(select(User)))
    def age(u):
        return (NOON.date() - u.birthday).days // 365
    child = next(u for u in users if 8 <= age(u) <= 12)
    teen = next(u for u in users if 15 <= age(u) <= 17)
    adult = next(u for u in users if 30 <= age(u) <= 50)
    return {"child": child.id, "teen": teen.id, "adult": adult.id}


def say(service, text, **kw):
    kw.setdefault("now", NOON)
    return service.chat(ChatRequest(message=text, **kw))


def test_greeting_is_answered_without_recommendations(service):
    from naviyam.nlg.responses import _GREETINGS

    r = say(service, "안녕하세요")
    assert r.intent == "GREETING" and not r.recommendations and r.response in _GREETINGS


def test_search_returns_matching_shops_and_stores_what_was_shown(service, trained_world, people):
    r = say(service, "급식카드 되는 분식집 추천해줘", user_id=people["teen"])
    assert r.intent == "FOOD_RECOMMENDATION"
    assert r.nlu["filters"]["payment_method"] == "meal_card" and r.nlu["filters"]["category"] == "분식"
    assert 1 <= len(r.recommendations) <= 3
    assert all(x["accepts_meal_card"] for x in r.recommendations)
    assert all(x["reason"] for x in r.recommendations)
    with session_scope(trained_world.engine) as s:
        it = s.get(Interaction, r.interaction_id)
        assert [x["shop_id"] for x in it.recommendations] == [x["shop_id"] for x in r.recommendations]
        assert it.response == r.response and it.nlu["intent"] == "FOOD_RECOMMENDATION"
        assert it.model_versions["nlu"] == trained_world.nlu_version and it.latency_ms > 0


class _EagerReasons:
    """The serving recommender, made to build every candidate's reason at once (as before reasons were lazy)."""

    def __init__(self, inner):
        self.inner = inner

    def recommend(self, *args, reasons=True, **kw):
        return self.inner.recommend(*args, reasons=True, **kw)


@pytest.mark.parametrize("text", ["급식카드 되는 분식집 추천해줘", "만원 이하로 떡볶이", "치킨 말고 다른 거"])
def test_the_shops_shown_get_the_reasons_every_candidate_used_to_get(runtime, trained_world, people, text):
    """The engine builds reasons only for the shops a turn shows; they are the ones it built for every candidate."""
    lazy = ChatService(trained_world.engine, runtime.parser, runtime.recommender)
    eager = ChatService(trained_world.engine, runtime.parser, _EagerReasons(runtime.recommender))
    for user in (None, people["child"], people["adult"]):
        a = say(lazy, text, user_id=user)
        b = say(eager, text, user_id=user)
        assert a.recommendations and a.recommendations == b.recommendations
        assert all(r["reason"] for r in a.recommendations)


class _Counting:
    """The serving recommender, counting its whole-pipeline calls; ``precheck=False`` hides ``relaxed_filters``."""

    def __init__(self, inner, precheck: bool = True):
        self.inner, self.calls = inner, []
        if precheck:
            self.relaxed_filters = inner.relaxed_filters

    def recommend(self, user, nlu, *args, **kw):
        self.calls.append(dict(nlu["filters"]))
        return self.inner.recommend(user, nlu, *args, **kw)


def test_a_wish_the_home_area_cannot_meet_is_searched_once_without_the_place(runtime, trained_world, people):
    """A known user who names no place is searched near home; when that would relax what they did ask for
    (here a 2,000 won budget), the engine's first step says so and the one search goes without the place:
    the same answer as searching twice, in one search."""
    counted, twice = _Counting(runtime.recommender), _Counting(runtime.recommender, precheck=False)
    once_service = ChatService(trained_world.engine, runtime.parser, counted)
    twice_service = ChatService(trained_world.engine, runtime.parser, twice)
    a = say(once_service, "2천원 이하 치킨 추천해줘", user_id=people["adult"])
    b = say(twice_service, "2천원 이하 치킨 추천해줘", user_id=people["adult"])
    assert len(counted.calls) == 1 and "location_filter" not in counted.calls[0]
    assert len(twice.calls) == 2 and twice.calls[0]["location_filter"] == {"near": "home"}
    assert a.recommendations and a.recommendations == b.recommendations  # (the wording follows the session id)
    assert a.relaxed_filters == b.relaxed_filters and a.relaxed_filters
    near = say(once_service, "배고파", user_id=people["adult"])  # nothing asked that the home area cannot meet
    assert near.recommendations and counted.calls[-1]["location_filter"] == {"near": "home"}
    assert len(counted.calls) == 2


def test_a_turn_reads_first_and_writes_its_two_rows_at_the_end_in_one_transaction(service, trained_world, people):
    """Session row and interaction: one statement each, after every read, then one commit (SQLite's writer lock
    is held only for those)."""
    from sqlalchemy import event

    first = say(service, "떡볶이 먹고 싶어", user_id=people["teen"])
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement.split()[0] + " " + statement.split()[2 if statement.startswith("INSERT") else 1])

    def committed(_conn):
        statements.append("COMMIT")

    event.listen(trained_world.engine, "before_cursor_execute", seen)
    event.listen(trained_world.engine, "commit", committed)
    try:
        second = say(service, "더 싼 데는?", user_id=people["teen"], session_id=first.session_id)
    finally:
        event.remove(trained_world.engine, "before_cursor_execute", seen)
        event.remove(trained_world.engine, "commit", committed)
    writes = [i for i, st in enumerate(statements) if not st.startswith("SELECT")]
    assert [statements[i] for i in writes] == ["UPDATE chat_session", "INSERT interaction", "COMMIT"]
    assert writes == list(range(len(statements) - 3, len(statements)))  # nothing read once writing began
    assert len(statements) <= 8
    with session_scope(trained_world.engine) as s:
        row = s.get(ChatSession, first.session_id)
        assert row.turns == 2 and row.user_id == people["teen"]
        assert row.state["last_shown"] == [r["shop_id"] for r in second.recommendations]
        assert s.get(Interaction, second.interaction_id).session_id == first.session_id


def test_follow_up_refines_the_search_in_the_same_session(service):
    first = say(service, "급식카드 되는 분식집 추천해줘")
    second = say(service, "더 싼 데는?", session_id=first.session_id)
    assert second.session_id == first.session_id
    assert second.nlu["filters"].get("sort") == "price"
    assert second.nlu["filters"].get("payment_method") == "meal_card"


def test_a_conversation_continues_in_another_service_instance(runtime, trained_world):
    """Two workers share nothing but the database."""
    a = ChatService(trained_world.engine, runtime.parser, runtime.recommender)
    b = ChatService(trained_world.engine, runtime.parser, runtime.recommender)
    first = a.chat(ChatRequest(message="치킨 먹고 싶어", now=NOON))
    second = b.chat(ChatRequest(message="만원 이하로", session_id=first.session_id, now=NOON))
    assert second.nlu["filters"].get("category") == "치킨"
    assert second.nlu["filters"].get("budget_filter") == 10000
    with session_scope(trained_world.engine) as s:
        assert s.get(ChatSession, first.session_id).turns == 2


def test_child_answers_are_gentle_and_short_on_emoji(service, people):
    r = say(service, "떡볶이 먹고 싶어", user_id=people["child"])
    assert len(_EMOJI.findall(r.response)) <= 2
    assert "습니다" not in r.response and "하십시오" not in r.response


def test_crisis_gets_open_meal_card_places_and_the_helpline(service, people):
    r = say(service, "돈이 없어서 어제부터 굶었어", user_id=people["child"])
    assert "1388" in r.response
    assert r.recommendations and all(x["accepts_meal_card"] for x in r.recommendations)
    assert all(x["open_now"] for x in r.recommendations)


@pytest.mark.parametrize("text,needle", [("맥주 파는 데 알려줘", "19살"), ("담배 어디서 사?", "담배")])
def test_alcohol_and_tobacco_requests_are_declined_kindly(service, people, text, needle):
    r = say(service, text, user_id=people["teen"])
    assert not r.recommendations and needle in r.response


def _alcohol_ids(recs):
    return {x["shop_id"] for x in recs if x["shop_id"] >= 90_001}


def test_minors_and_unknown_ages_never_get_alcohol_shops(service, people, alcohol_spot):
    for user in (people["child"], people["teen"], None):
        r = say(service, "치킨집 추천해줘", user_id=user, lat=alcohol_spot[0], lon=alcohol_spot[1])
        assert r.recommendations and not _alcohol_ids(r.recommendations), user


def test_adults_may_get_alcohol_shops(service, people, alcohol_spot):
    r = say(service, "치킨집 추천해줘", user_id=people["adult"], lat=alcohol_spot[0], lon=alcohol_spot[1])
    assert _alcohol_ids(r.recommendations)


def test_vague_request_gets_one_clarifying_question_with_suggestions(service):
    r = say(service, "추천해줘")
    assert not r.recommendations and r.follow_up_questions and "?" in r.response


def test_shop_info_answers_from_the_database(service, trained_world):
    with session_scope(trained_world.engine) as s:
        shop = s.get(Shop, 1)
    r = say(service, f"{shop.name} 몇 시까지 해?")
    assert r.intent == "SHOP_INFO" and r.nlu["filters"]["shop_name"] == shop.name
    assert f"{shop.open_time:%H:%M}" in r.response


def test_menu_question_lists_real_prices(service, trained_world):
    with session_scope(trained_world.engine) as s:
        shop = s.get(Shop, 2)
        price = min(m.price for m in shop.menus)
    r = say(service, f"{shop.name} 메뉴 뭐 있어?")
    assert r.intent == "MENU_INQUIRY" and f"{price:,}원" in r.response


def test_feedback_in_chat_is_stored_for_the_shop_just_shown(service, trained_world):
    first = say(service, "분식집 추천해줘")
    top = first.recommendations[0]["shop_id"]
    second = say(service, "거기 진짜 맛있었어", session_id=first.session_id)
    assert second.intent == "FEEDBACK"
    with session_scope(trained_world.engine) as s:
        ev = s.scalars(select(FeedbackEvent).order_by(FeedbackEvent.id.desc())).first()
        assert ev.shop_id == top and ev.satisfaction_score >= 4


def test_out_of_scope_is_redirected_kindly(service):
    r = say(service, "내일 날씨 어때?")
    assert r.intent == "OUT_OF_SCOPE" and not r.recommendations and r.response


@pytest.mark.parametrize("text", ["", "   ", "ㅋ" * 5000, "🍕🍕🍕", "\x00\x1f", "SELECT * FROM shop;"])
def test_any_string_gets_an_answer(service, text):
    r = say(service, text)
    assert isinstance(r.response, str) and r.response and r.interaction_id > 0


def test_a_turn_writes_in_one_short_transaction_at_its_end(service, trained_world, people):
    """Nothing is written before the last read of a turn: SQLite's one writer lock is held only for the commit,
    never through NLU and ranking (new session and follow-up turn alike)."""
    from sqlalchemy import event

    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(trained_world.engine, "before_cursor_execute", record)
    try:
        first = say(service, "급식카드 되는 분식집 추천해줘", user_id=people["teen"])
        say(service, "더 싼 데는?", user_id=people["teen"], session_id=first.session_id)
    finally:
        event.remove(trained_world.engine, "before_cursor_execute", record)
    writes = [i for i, s in enumerate(statements) if s in ("INSERT", "UPDATE", "DELETE")]
    reads = [i for i, s in enumerate(statements) if s == "SELECT"]
    assert writes, statements
    # each turn's writes come after all of that turn's reads: one block of writes per turn, two blocks in all
    blocks = 1 + sum(1 for a, b in zip(writes, writes[1:], strict=False) if any(a < r < b for r in reads))
    assert blocks == 2, statements
