"""The operator's privacy commands: guardian consent (also through the user sheet), export, erasure, the log."""

import datetime as dt
import json

import openpyxl
import pytest
from sqlalchemy import select

from naviyam.db.models import ChatSession, FeedbackEvent, Interaction, PrivacyEvent, Shop, User
from naviyam.db.session import make_engine, migrate, session_scope

HERE = {"lat": 37.48423, "lon": 126.92971, "precision": "exact", "district": "관악구", "dong": "서원동"}


@pytest.fixture
def var(tmp_path):
    """A var folder whose SQLite database holds a consenting 10-year-old (1), an adult (2) and one chat each."""
    var = tmp_path / "var"
    var.mkdir()
    engine = make_engine(f"sqlite:///{var / 'naviyam.db'}")
    migrate(engine)
    with session_scope(engine) as s:
        s.add_all([
            User(id=1, birthday=dt.date(2016, 5, 1), district="관악구", guardian_consent=dt.date(2026, 1, 10)),
            User(id=2, birthday=dt.date(1985, 5, 1), district="관악구"),
            Shop(id=1, name="행복분식", category="분식", district="관악구", lat=37.484, lon=126.929,
                 open_time=dt.time(10), close_time=dt.time(21), is_good_shop=True, accepts_meal_card=True),
            ChatSession(id="s1", user_id=1, state={"nlu": {"search": {"location_filter": {"landmark": "신림역"}}},
                                                   "last_distances": [120.0, 340.5, 800.2]}, turns=1),
        ])
        s.flush()
        s.add(Interaction(id=1, session_id="s1", user_id=1, message="신림역 근처 떡볶이", response="행복분식 어때요?",
                          intent="FOOD_RECOMMENDATION", location=HERE,
                          nlu={"text": "신림역 근처 떡볶이", "intent": "FOOD_RECOMMENDATION", "confidence": 0.9,
                               "semantic_query": "신림역 떡볶이",
                               "entities": [{"entity": "landmark", "value": "신림역", "text": "신림역", "start": 0,
                                             "end": 3}],
                               "filters": {"menu": "떡볶이", "location_filter": {"landmark": "신림역"}}},
                          recommendations=[{"shop_id": 1, "rank": 1, "score": 0.9, "funnels": ["content"]}]))
        s.flush()
        s.add(FeedbackEvent(interaction_id=1, user_id=1, shop_id=1, feedback_type="clicked"))
    yield var, engine
    engine.dispose()


def test_consent_export_and_the_privacy_log_from_the_shell(var, naviyam, tmp_path):
    folder, engine = var
    res = naviyam(folder, "maintenance", "consent", 2, "--date", "2026-11-01")
    assert res.exit_code == 0 and "2026-11-01" in res.output, res.output
    for args, words in [(("consent", 1, "--date", "2099-01-01"), "오늘"), (("consent", 999), "없어요"),
                        (("withdraw-consent", 999), "없어요"), (("export-user", 424242), "없어요")]:
        res = naviyam(folder, "maintenance", *args)
        assert res.exit_code == 1 and words in res.output and "Traceback" not in res.output, (args, res.output)
    bad = naviyam(folder, "maintenance", "consent", 1, "--date", "11/01/2026")
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output

    out = tmp_path / "guardian" / "user-1.json"
    res = naviyam(folder, "maintenance", "export-user", 1, "--out", out)
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["profile"]["age"] == 10 and doc["guardian_consent"]["date"] == "2026-01-10"
    assert [c["message"] for c in doc["conversations"]] == ["신림역 근처 떡볶이"]
    assert doc["conversations"][0]["shown_shops"] == [{"shop_id": 1, "name": "행복분식", "rank": 1}]
    assert [f["type"] for f in doc["feedback"]] == ["clicked"] and [x["id"] for x in doc["sessions"]] == ["s1"]
    printed = naviyam(folder, "maintenance", "export-user", 1)
    assert json.loads(printed.output)["conversations"] == doc["conversations"]

    res = naviyam(folder, "maintenance", "privacy-log")
    assert res.exit_code == 0 and "보호자 동의" in res.output and "정보 내보내기" in res.output, res.output
    with session_scope(engine) as s:
        actions = [(e.action, e.user_id, e.source) for e in s.scalars(select(PrivacyEvent).order_by(PrivacyEvent.id))]
    assert actions == [("consent", 2, "cli"), ("export", 1, "cli"), ("export", 1, "cli")]


def test_emptying_consent_in_the_user_sheet_withdraws_it_and_minimises_what_was_kept(var, naviyam, tmp_path):
    folder, engine = var
    book = tmp_path / "운영DB.xlsx"
    assert naviyam(folder, "data", "export", book).exit_code == 0
    wb = openpyxl.load_workbook(book)
    users = wb["user"]
    col = [c.value for c in users[1]].index("guardian_consent") + 1
    assert users.cell(row=2, column=col).value == "2026-01-10"
    users.cell(row=2, column=col).value = None  # the guardian withdrew: the operator empties the cell
    users.cell(row=3, column=col, value="2026-11-02")  # and the adult's record gets a date (logged, harmless)
    wb.save(book)
    res = naviyam(folder, "data", "import", book)
    assert res.exit_code == 0, res.output
    assert "새로 기록 1명, 거둠 1명" in res.output
    with session_scope(engine) as s:
        assert s.get(User, 1).guardian_consent is None
        it = s.get(Interaction, 1)
        assert it.minimised and it.message == "" and it.response is None
        assert it.nlu == {"intent": "FOOD_RECOMMENDATION", "confidence": 0.9, "entities": [],
                          "filters": {"menu": "떡볶이", "location_filter": {"district": "관악구", "dong": it.nlu[
                              "filters"]["location_filter"]["dong"]}}, "minimised": True}
        assert it.location["precision"] == "1km" and it.location["lat"] == 37.48
        state = s.get(ChatSession, "s1").state
        assert state["last_distances"] == [120.0] and "landmark" not in state["nlu"]["search"]["location_filter"]
        assert all(f.minimised for f in s.scalars(select(FeedbackEvent)))
        log = [(e.action, e.user_id, e.source) for e in s.scalars(select(PrivacyEvent).order_by(PrivacyEvent.id))]
    assert log == [("consent", 2, "import"), ("withdraw", 1, "import")]
    again = naviyam(folder, "data", "import", book)  # the same file again: no change, nothing logged
    assert again.exit_code == 0 and "보호자 동의" not in again.output


def test_erase_user_from_the_shell_is_logged_with_counts_only(var, naviyam):
    folder, engine = var
    res = naviyam(folder, "maintenance", "erase-user", 1)
    assert res.exit_code == 0 and "학습 데이터에 들어가지 않아요" in res.output, res.output
    with session_scope(engine) as s:
        (event,) = s.scalars(select(PrivacyEvent))
        assert (event.action, event.user_id, event.source) == ("erase", 1, "cli")
        assert event.details == {"interactions": 1, "chat_sessions": 1, "feedback_events": 1}
        assert s.scalar(select(Interaction.id)) is None
