"""`make run` end to end, small: `naviyam setup` on an empty var dir, then `naviyam serve` answers."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    port = _free_port()
    env = {**os.environ, "NAVIYAM_VAR_DIR": str(var), "NAVIYAM_DATABASE_URL": "", "NAVIYAM_PORT": str(port),
           "NAVIYAM_SAMPLE_SHOPS": "80", "NAVIYAM_SAMPLE_USERS": "120", "NAVIYAM_SAMPLE_DAYS": "20",
           # small models: this checks the wiring of `make run`, not model quality
           "NAVIYAM_NLU_TRAIN_EXAMPLES": "1200", "NAVIYAM_NLU_EPOCHS": "2", "NAVIYAM_RANKER_EPOCHS": "1"}
    setup = subprocess.run([BIN / "naviyam", "setup"], env=env, capture_output=True, text=True, timeout=600)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert (var / "naviyam.db").exists()
    log_path = var / "serve.log"
    log_file = log_path.open("w")
    proc = subprocess.Popen([BIN / "naviyam", "serve"], env=env, stdout=log_file, stderr=subprocess.STDOUT)
    env["_SERVE_LOG"] = str(log_path)
    env["_SERVE_PID"] = str(proc.pid)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # loading the models takes a while on a busy 2-core machine
        while True:
            assert proc.poll() is None, log_path.read_text(encoding="utf-8", errors="replace")
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server not healthy:\n" + log_path.read_text(errors="replace")
            time.sleep(0.2)
        yield base, env, setup.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log_file.close()


def test_the_serving_process_runs_the_app_without_the_cli_and_torch(served):
    """`naviyam serve` becomes (same pid) a process that imports the app, not every command with the training
    code: a worker does not carry torch (about 200 MB)."""
    base, env, _ = served
    assert httpx.get(base + "/health").headers["X-Naviyam-Worker"] == env["_SERVE_PID"]
    maps = Path(f"/proc/{env['_SERVE_PID']}/maps").read_text()
    assert "libtorch" not in maps


def test_setup_fills_the_empty_database_and_the_service_serves_real_shops(served):
    base, _env, out = served
    health = httpx.get(base + "/health").json()
    assert health["status"] == "ok" and health["shops"] == 80
    shop = httpx.get(base + "/shops/1").json()
    assert shop["id"] == 1 and shop["menus"] and shop["figures"]["menu_count"] == len(shop["menus"])
    listing = httpx.get(base + "/shops", params={"district": shop["district"]}).json()
    assert 1 in [s["id"] for s in listing["shops"]]
    assert set(health["models"]) == {"nlu", "index", "ranker"}


def test_the_served_chat_recommends_real_shops(served):
    base, _env, _ = served
    r = httpx.post(base + "/chat", json={"message": "분식 먹고 싶어"}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["recommendations"] and body["model_versions"]["ranker"] != "layer1_fallback"


def test_setup_is_idempotent(served):
    base, env, _ = served
    again = subprocess.run([BIN / "naviyam", "setup"], env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "이미 가게가 있어 샘플 세계를 만들지 않았어요" in again.stdout
    assert httpx.get(base + "/health").json()["shops"] == 80


def test_a_hundred_requests_leave_no_logging_error_or_traceback_in_the_server_log(served):
    """uvicorn's access log goes through the redaction filter: every line formats, nothing breaks."""
    base, env, _ = served
    codes = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(100):
            kind = i % 5
            if kind == 0:
                r = client.get("/health")
            elif kind == 1:
                r = client.get(f"/shops/{1 + i % 80}")
            elif kind == 2:
                r = client.post("/chat", json={"message": "떡볶이 먹고 싶어", "user_id": 1 + i % 50})
            elif kind == 3:
                r = client.get("/shops/999999")  # 404
            else:
                r = client.post("/chat", json={"message": ""})  # 422
            codes.append(r.status_code)
    assert set(codes) == {200, 404, 422}
    time.sleep(0.5)
    log = Path(env["_SERVE_LOG"]).read_text(encoding="utf-8", errors="replace")
    assert "Logging error" not in log and "Traceback" not in log, log[-3000:]
    assert log.count('"GET /health HTTP/1.1" 200') >= 20  # the access lines themselves are written
