import datetime as dt
import json

from naviyam.core.clock import utcnow
from naviyam.db.models import FeedbackEvent
from naviyam.db.session import session_factory
from naviyam.learning.store import export_learning_data, store_interaction


def test_interactions_and_feedback_export_as_seed_jsonl(engine, tmp_path):
    s = session_factory(engine)()
    nlu = {"intent": "FOOD_RECOMMENDATION", "filters": {"category": "분식"}, "semantic_query": "분식"}
    iid = store_interaction(s, session_id="abc", user_id=7, message="떡볶이 먹고 싶어", intent="FOOD_RECOMMENDATION",
                            nlu=nlu, recommendations=[{"shop_id": 3, "rank": 1, "score": 0.9}], response="행복분식 어때요?",
                            latency_ms=12.5, model_versions={"nlu": "nlu-1"}, ab_arm="production")
    s.add(FeedbackEvent(interaction_id=iid, user_id=7, shop_id=3, feedback_type="ordered", satisfaction_score=None))
    s.add(FeedbackEvent(interaction_id=iid, user_id=7, shop_id=3, feedback_type="rated", satisfaction_score=4.5))
    s.commit()
    s.close()
    now = utcnow()
    res = export_learning_data(engine, tmp_path / "out", now - dt.timedelta(days=1), now + dt.timedelta(days=1))
    assert res.n_conversations == 1 and res.n_feedbacks == 2
    assert res.conversations.name.startswith("conversations_") and res.feedbacks.name.startswith("feedbacks_")
    conv = json.loads(res.conversations.read_text(encoding="utf-8").splitlines()[0])
    assert conv["type"] == "conversation" and conv["user_input"] == "떡볶이 먹고 싶어"
    assert conv["chatbot_output"] == nlu and conv["recommendations_shown"][0]["shop_id"] == 3
    assert conv["user_feedback"] == {"satisfaction_score": 4.5, "selected_shops": [3],
                                     "interaction_types": ["ordered", "rated"]}
    fbs = [json.loads(x) for x in res.feedbacks.read_text(encoding="utf-8").splitlines()]
    assert [f["feedback_type"] for f in fbs] == ["ordered", "rated"] and fbs[0]["context"]["interaction_id"] == iid
    # outside the window: nothing
    past = export_learning_data(engine, tmp_path / "old", now - dt.timedelta(days=30), now - dt.timedelta(days=20))
    assert past.n_conversations == 0 and past.n_feedbacks == 0
