import pytest
from fastapi.testclient import TestClient

from naviyam.api.app import create_app


@pytest.fixture(scope="module")
def chat_client(trained_world, runtime):
    app = create_app(trained_world.settings, engine=trained_world.engine, runtime=runtime)
    with TestClient(app) as c:
        yield c


def test_chat_returns_the_contract_fields(chat_client, trained_world):
    r = chat_client.post("/chat", json={"user_id": 3, "message": "급식카드 되는 분식집 추천해줘",
                                        "context": {"lat": 37.4842, "lon": 126.9297, "now": "2026-11-02T12:30:00"}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"session_id", "interaction_id", "response", "intent", "nlu", "recommendations",
                         "follow_up_questions", "model_versions"}
    assert body["intent"] == "FOOD_RECOMMENDATION" and body["recommendations"]
    rec = body["recommendations"][0]
    for key in ("shop_id", "name", "category", "district", "distance_m", "price_range", "signature_menus", "rating",
                "is_good_shop", "accepts_meal_card", "open_now", "score", "funnels", "reason"):
        assert key in rec
    assert body["model_versions"]["nlu"] == trained_world.nlu_version
    # the page's feedback button posts this
    fb = chat_client.post("/feedback", json={"user_id": 3, "shop_id": rec["shop_id"], "feedback_type": "clicked",
                                             "interaction_id": body["interaction_id"]})
    assert fb.status_code == 202


def test_session_continues_over_http(chat_client):
    first = chat_client.post("/chat", json={"message": "치킨 먹고 싶어"}).json()
    second = chat_client.post("/chat", json={"message": "만원 이하로", "session_id": first["session_id"]}).json()
    assert second["session_id"] == first["session_id"] and second["nlu"]["filters"].get("category") == "치킨"


@pytest.mark.parametrize("body,needle", [
    ({"message": ""}, "message"),
    ({"message": "   "}, "비어 있어요"),
    ({"message": "가" * 501}, "message"),
    ({"message": "안녕", "session_id": "../../etc"}, "session_id"),
    ({"message": "안녕", "user_id": -1}, "user_id"),
    ({"message": "안녕", "context": {"lat": 95, "lon": 126.9}}, "lat"),
    ({"user_id": 1}, "message"),
])
def test_bad_chat_requests_are_422_with_a_message(chat_client, body, needle):
    r = chat_client.post("/chat", json=body)
    assert r.status_code == 422 and needle in r.json()["detail"]


def test_chat_turns_are_counted_in_metrics(chat_client):
    chat_client.post("/chat", json={"message": "안녕"})
    text = chat_client.get("/metrics").text
    assert 'naviyam_chat_intents_total{intent="GREETING"}' in text
    assert "naviyam_model_version_info" in text


def test_unknown_user_is_served_as_cold_start(chat_client):
    r = chat_client.post("/chat", json={"user_id": 999_999, "message": "떡볶이 먹고 싶어"})
    assert r.status_code == 200 and r.json()["recommendations"]


def test_recommendations_endpoint_takes_an_nlu_object(chat_client, trained_world):
    body = {"user_id": 3, "top_k": 4, "context": {"lat": 37.4842, "lon": 126.9297, "now": "2026-11-02T12:30:00"},
            "chatbot_output": {"text": "급식카드 되는 분식집", "intent": "FOOD_RECOMMENDATION",
                               "semantic_query": "분식", "filters": {"category": "분식", "payment_method": "meal_card"}}}
    r = chat_client.post("/recommendations", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["original_query"] == "급식카드 되는 분식집" and 1 <= len(out["recommendations"]) <= 4
    assert all(x["category"] == "분식" and x["accepts_meal_card"] for x in out["recommendations"])
    assert isinstance(out["metadata"]["relaxed_filters"], list) and out["metadata"]["interaction_id"] > 0
    fb = chat_client.post("/feedback", json={"user_id": 3, "shop_id": out["recommendations"][0]["shop_id"],
                                             "feedback_type": "ordered",
                                             "interaction_id": out["metadata"]["interaction_id"]})
    assert fb.status_code == 202


@pytest.mark.parametrize("chatbot_output", [{"filters": {"category": "우주음식"}}, {"filters": {"budget_filter": "많이"}},
                                            {"filters": []}, {"filters": {}, "text": 5}])
def test_recommendations_rejects_objects_outside_the_contract(chat_client, chatbot_output):
    r = chat_client.post("/recommendations", json={"chatbot_output": chatbot_output})
    assert r.status_code == 422 and r.json()["detail"]


def _schema_of(spec: dict, ref_or_schema: dict) -> dict:
    """Follow one $ref (or anyOf with a $ref) to the named component schema."""
    node = ref_or_schema
    for option in node.get("anyOf", []):
        if "$ref" in option:
            node = option
    if "$ref" in node:
        return spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_openapi_types_the_contract_objects(chat_client):
    spec = chat_client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    chat_out = schemas["ChatTurnPublic"]["properties"]
    nlu = _schema_of(spec, chat_out["nlu"])
    assert {"text", "intent", "confidence", "entities", "semantic_query", "filters"} <= set(nlu["properties"])
    assert "SAFETY" in nlu["properties"]["intent"]["enum"] and len(nlu["properties"]["intent"]["enum"]) == 11
    filters = _schema_of(spec, nlu["properties"]["filters"])
    assert "payment_method" in filters["properties"] and "location_filter" in filters["properties"]
    rec = _schema_of(spec, chat_out["recommendations"]["items"])
    assert {"shop_id", "name", "reason", "accepts_meal_card", "is_good_shop"} <= set(rec["properties"])
    rec_in = schemas["RecommendationsCreate"]["properties"]
    assert "filters" in _schema_of(spec, rec_in["chatbot_output"])["properties"]
    rec_out = schemas["RecommendationsPublic"]["properties"]
    assert "relaxed_filters" in _schema_of(spec, rec_out["metadata"])["properties"]
    assert _schema_of(spec, rec_out["recommendations"]["items"]) == rec


def test_served_nlu_has_no_null_filters_and_keeps_every_recommendation_field(chat_client):
    r = chat_client.post("/chat", json={"user_id": 3, "message": "급식카드 되는 분식집 추천해줘",
                                        "context": {"lat": 37.4842, "lon": 126.9297, "now": "2026-11-02T12:30:00"}})
    body = r.json()
    assert body["nlu"]["filters"] and all(v is not None for v in body["nlu"]["filters"].values())
    assert body["nlu"]["filters"].get("payment_method") == "meal_card"
    for rec in body["recommendations"]:
        assert {"shop_id", "name", "category", "reason", "price_range", "funnels"} <= set(rec)


def test_validation_errors_speak_korean(chat_client):
    r = chat_client.post("/recommendations", json={"chatbot_output": {"text": 3, "filters": {}}, "top_k": 99})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "chatbot_output.text: 문자열이어야 해요" in detail and "top_k: 50 이하여야 해요" in detail
