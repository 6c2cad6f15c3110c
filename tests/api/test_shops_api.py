import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from naviyam.api.app import create_app
from naviyam.config import Settings


def test_health_reports_database_and_shop_count(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["shops"] == 3


def test_shop_detail_has_menus_and_derived_figures(client):
    r = client.get("/shops/1")
    assert r.status_code == 200
    shop = r.json()
    assert shop["name"] == "행복분식" and shop["accepts_meal_card"] and shop["is_good_shop"]
    assert [m["name"] for m in shop["menus"]] == ["떡볶이", "김밥"]
    f = shop["figures"]
    assert f == {"avg_menu_price": 3500.0, "min_menu_price": 3000, "max_menu_price": 4000, "menu_count": 2,
                 "rating": 4.5, "review_count": 2, "order_count": 1}
    assert shop["hours"] == "10:00~21:00, 월요일 휴무"


def test_shop_without_menus_or_reviews_has_empty_figures(client):
    f = client.get("/shops/3").json()["figures"]
    assert f["menu_count"] == 0 and f["rating"] is None and f["avg_menu_price"] is None


def test_unknown_shop_is_404_with_korean_message(client):
    r = client.get("/shops/999")
    assert r.status_code == 404
    assert "찾을 수 없어요" in r.json()["detail"]


@pytest.mark.parametrize("path", ["/shops/abc", "/shops/0", "/shops/99999999999999999999"])
def test_malformed_shop_id_is_422(client, path):
    r = client.get(path)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("요청 값이 올바르지 않아요")


def test_shop_list_filters_by_district_and_category(client):
    r = client.get("/shops", params={"district": "관악구"})
    assert r.status_code == 200
    assert [s["id"] for s in r.json()["shops"]] == [1, 2] and r.json()["total"] == 2
    r = client.get("/shops", params={"district": "관악구", "category": "치킨"})
    assert [s["name"] for s in r.json()["shops"]] == ["한밤치킨"]
    assert client.get("/shops").json()["total"] == 3


def test_shop_list_pages(client):
    body = client.get("/shops", params={"limit": 1, "offset": 1}).json()
    assert [s["id"] for s in body["shops"]] == [2] and body["total"] == 3


@pytest.mark.parametrize("params", [{"district": "부산"}, {"category": "우주음식"}, {"limit": 0}, {"offset": -1}])
def test_shop_list_rejects_bad_filters_with_a_message(client, params):
    r = client.get("/shops", params=params)
    assert r.status_code == 422
    assert isinstance(r.json()["detail"], str) and r.json()["detail"]


@pytest.mark.parametrize("url", ["postgresql+psycopg://postgres@127.0.0.1:1/none", "sqlite:////proc/no/such/dir/x.db"])
def test_unreachable_database_is_503_with_a_message(url):
    connect_args = {"connect_timeout": 2} if url.startswith("postgresql") else {}
    engine = create_engine(url, connect_args=connect_args)
    app = create_app(Settings(environment="test"), engine=engine)
    with TestClient(app) as c:
        health = c.get("/health")
        assert health.status_code == 503 and health.json()["database"] == "unavailable"
        r = c.get("/shops/1")
        assert r.status_code == 503 and "다시 시도" in r.json()["detail"]


def test_health_says_warming_with_progress_while_models_are_built_in_the_background(client, monkeypatch):
    """`naviyam serve --build-models`: the background build's progress file makes /health answer `warming`."""
    import json
    import os

    from naviyam.service.warming import warming_path

    settings = client.app.state.settings
    path = warming_path(settings)
    monkeypatch.setattr("naviyam.api.routes.health.wall_seconds", lambda: 1_000_012.5)  # the build began 12.5 s ago
    path.write_text(json.dumps({"pid": os.getpid(), "todo": ["nlu", "index", "ranker"], "done": ["nlu"],
                                "building": "index", "started": 1_000_000.0}), encoding="utf-8")
    try:
        r = client.get("/health")
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "warming" and body["shops"] == 3
        w = body["warming"]
        assert w["done"] == ["nlu"] and w["building"] == "index" and w["todo"] == ["index", "ranker"]
        assert w["progress"] == "1/3" and w["seconds"] == 12.5 and "모델을 준비하고 있어요" in w["message"]
        # a finished build, or one whose process is gone, is no longer warming
        path.write_text(json.dumps({"pid": os.getpid(), "todo": ["nlu"], "done": ["nlu"], "finished": True,
                                    "started": 1_000_010.0}), encoding="utf-8")
        assert client.get("/health").json()["status"] == "ok"
    finally:
        path.unlink(missing_ok=True)
