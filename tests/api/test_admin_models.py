"""Admin model routes and hot swap: promotion under concurrent /chat traffic, corrupt files, rollback.

A real uvicorn server runs in a thread on a small generated world (hashing
embedder, tiny ranker, rules NLU); client threads hammer /chat while models
are promoted, reloaded and rolled back.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from naviyam.db.models import Alert
from naviyam.db.session import session_scope

KEY = {"X-API-Key": "test-admin-key"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from naviyam.api.app import create_app
    from naviyam.config import Settings
    from naviyam.core.registry import ModelRegistry
    from naviyam.data.generate import generate_world
    from naviyam.db.session import make_engine, migrate
    from naviyam.nlu import rules_parser
    from naviyam.recommend.layer1 import Layer1Config
    from naviyam.recommend.layer1_build import build_layer1
    from naviyam.recommend.ranker.pipeline import train_and_register
    from naviyam.recommend.ranker.trainer import RankerTrainConfig
    from naviyam.recommend.training_data import TrainingDataConfig, build_training_set
    from naviyam.retrieval.embedding import HashingEmbedder
    from naviyam.service.runtime import Runtime

    var = tmp_path_factory.mktemp("admin-world")
    settings = Settings(var_dir=var, environment="test", admin_api_key="test-admin-key", database_url=None,
                        reload_interval_s=0.3, rate_limit_per_minute_user=0, rate_limit_per_minute_ip=0,
                        _env_file=None)  # the hammering threads are one user: no rate limit here
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    generate_world(engine, seed=5, shops=60, users=60, days=30)
    registry = ModelRegistry(engine, settings.models_dir)
    emb = HashingEmbedder()
    build_layer1(engine, registry, config=Layer1Config(embedder=emb.name), embedder=emb)
    build_training_set(engine, var / "ds", TrainingDataConfig(max_positives=200, ranking_lists=10, window_days=7),
                       embedder=emb)
    train_and_register(var / "ds", registry, RankerTrainConfig(epochs=1, hidden=[8], batch_size=64))
    runtime = Runtime.load(engine, settings, parser=rules_parser(engine))
    app = create_app(settings, engine=engine, runtime=runtime)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}", engine, registry, runtime
    srv.should_exit = True
    thread.join(10)
    engine.dispose()


def _copy_version(registry, status: str = "candidate"):
    """A new, valid ranker version: a copy of the production files under a new version name."""
    prod = registry.current("ranker")
    alloc = registry.allocate("ranker")
    shutil.copytree(prod.path, alloc.path, dirs_exist_ok=True)
    registry.register(alloc, status=status, parent=prod.version,
                      metrics={"promotion": {"promote": True, "reasons": []}})
    return alloc.version


class Hammer:
    """Threads sending /chat until stopped; every response is recorded (status, ranker version, time sent)."""

    def __init__(self, url: str, threads: int = 4):
        self.url, self.stop, self.results = url, threading.Event(), []
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def _run(self, i: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as c:
            n = 0
            while not self.stop.is_set():
                n += 1
                sent = time.monotonic()
                try:
                    r = c.post("/chat", json={"user_id": 1 + (i * 7 + n) % 50, "message": "떡볶이 먹고 싶어"})
                    row = (r.status_code, r.json().get("model_versions", {}).get("ranker"), sent)
                except Exception as exc:  # noqa: BLE001 - a transport error is a failed request too
                    row = (type(exc).__name__, None, sent)
                with self._lock:
                    self.results.append(row)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)


def test_admin_routes_need_the_key(server):
    url, *_ = server
    with httpx.Client(base_url=url) as c:
        assert c.get("/admin/models").status_code == 401
        assert c.post("/admin/reload", headers={"X-API-Key": "wrong"}).status_code == 401
        r = c.get("/admin/models", headers=KEY)
        assert r.status_code == 200
        body = r.json()
        assert {m["kind"] for m in body["models"]} >= {"index", "ranker"}
        assert body["serving"]["ranker"] == next(m["version"] for m in body["models"]
                                                 if m["kind"] == "ranker" and m["status"] == "production")


def test_promotion_under_load_swaps_without_a_failed_request(server):
    url, engine, registry, runtime = server
    old = registry.current("ranker").version
    new = _copy_version(registry)
    with httpx.Client(base_url=url, timeout=60) as admin, Hammer(url) as hammer:
        time.sleep(1.0)
        r = admin.post(f"/admin/models/{new}/promote", headers=KEY)
        assert r.status_code == 200, r.text
        # (the server's own periodic check may have swapped first: what counts is what it serves now)
        assert r.json()["previous"] == old and r.json()["reload"]["serving"]["ranker"] == new
        swapped_at = time.monotonic()
        time.sleep(1.0)
    statuses = [s for s, _v, _t in hammer.results]
    assert len(statuses) > 20 and all(s == 200 for s in statuses), {s for s in statuses if s != 200}
    # requests sent well before the swap saw the old model; every request sent after it sees the new one
    before = {v for _s, v, t in hammer.results if t < swapped_at - 0.5}
    after = [v for _s, v, t in hammer.results if t > swapped_at]
    assert before == {old} and after and set(after) == {new}
    assert runtime.model_versions()["ranker"] == new


def test_a_corrupt_promoted_model_keeps_the_previous_one_and_alerts(server):
    url, engine, registry, runtime = server
    # A good production with a predecessor (whatever other tests did first), so rollback has two steps to take.
    serving = _copy_version(registry, status="production")
    with httpx.Client(base_url=url, timeout=60) as c:
        assert c.post("/admin/reload", headers=KEY).json()["serving"]["ranker"] == serving
    bad = _copy_version(registry, status="production")  # promoted behind the gate's back …
    Path(registry.get(bad).path, "weights.pt").write_bytes(b"\0" * 64)  # … and its weights corrupt
    with httpx.Client(base_url=url, timeout=60) as c:
        r = c.post("/admin/reload", headers=KEY)
        assert r.status_code == 200
        assert "ranker" in r.json()["failed"] and r.json()["serving"]["ranker"] == serving
        chat = c.post("/chat", json={"user_id": 3, "message": "치킨 추천해줘"})
        assert chat.status_code == 200 and chat.json()["model_versions"]["ranker"] == serving
        c.post("/admin/reload", headers=KEY)  # a second check does not repeat the alert
    with session_scope(engine) as s:
        alerts = list(s.scalars(select(Alert).where(Alert.kind == "model_load_failed")))
    assert len(alerts) == 1 and alerts[0].details["version"] == bad
    # rolling back the broken version restores a loadable production
    with httpx.Client(base_url=url, timeout=60) as c:
        r = c.post("/admin/models/ranker/rollback", headers=KEY)
        assert r.status_code == 200, r.text
        assert r.json()["previous"] == bad and r.json()["version"] == serving
        assert c.post("/admin/models/ranker/rollback", headers=KEY).status_code == 200
        assert c.post("/admin/models/nonsense/rollback", headers=KEY).status_code == 404
        assert c.post("/admin/models/ranker-unknown/promote", headers=KEY).status_code == 404


def test_the_server_notices_a_promotion_by_itself(server):
    url, engine, registry, runtime = server
    new = _copy_version(registry)
    registry.promote(new)  # e.g. `naviyam models promote` on another machine
    deadline = time.monotonic() + 15
    seen = None
    with httpx.Client(base_url=url, timeout=30) as c:
        while time.monotonic() < deadline:
            seen = c.post("/chat", json={"user_id": 5, "message": "분식 먹고 싶어"}).json()["model_versions"]["ranker"]
            if seen == new:
                break
            time.sleep(0.2)
    assert seen == new
