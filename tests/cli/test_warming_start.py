"""`make run` on a fresh folder: `naviyam setup --no-models` then `naviyam serve --build-models` answers at once
(from the fallbacks) and swaps every model in as the background build finishes it, without a restart."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_while_the_models_build_and_swaps_them_in(tmp_path):
    port = _free_port()
    env = {**os.environ, "NAVIYAM_VAR_DIR": str(tmp_path), "NAVIYAM_DATABASE_URL": "", "NAVIYAM_PORT": str(port),
           "NAVIYAM_SAMPLE_SHOPS": "60", "NAVIYAM_SAMPLE_USERS": "100", "NAVIYAM_SAMPLE_DAYS": "20",
           "NAVIYAM_NLU_TRAIN_EXAMPLES": "800", "NAVIYAM_NLU_EPOCHS": "1", "NAVIYAM_RANKER_EPOCHS": "1",
           "NAVIYAM_RELOAD_INTERVAL_S": "1"}
    setup = subprocess.run([BIN / "naviyam", "setup", "--no-models"], env=env, capture_output=True, text=True,
                           timeout=600)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen([BIN / "naviyam", "serve", "--build-models"], env=env, stdout=log_file,
                                stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        statuses, first_chat = [], None
        try:
            deadline = time.monotonic() + 420
            while True:
                assert proc.poll() is None, log_path.read_text(errors="replace")
                assert time.monotonic() < deadline, f"{statuses[-3:]}\n" + log_path.read_text(errors="replace")[-3000:]
                try:
                    health = httpx.get(base + "/health", timeout=5).json()
                except httpx.TransportError:
                    time.sleep(0.3)
                    continue
                statuses.append(health)
                if first_chat is None:
                    # the service answers from the first moment, models or not
                    first_chat = httpx.post(base + "/chat", json={"message": "분식 먹고 싶어"}, timeout=30)
                    assert first_chat.status_code == 200, first_chat.text
                if health["status"] == "ok" and set(health["models"]) == {"nlu", "index", "ranker"}:
                    chat = httpx.post(base + "/chat", json={"message": "분식 먹고 싶어"}, timeout=30).json()
                    if chat["model_versions"].get("ranker") == health["models"]["ranker"]:
                        break  # the running server swapped the built ranker in
                time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    assert chat["recommendations"] and chat["model_versions"]["nlu"] == health["models"]["nlu"]
    warming = [h for h in statuses if h["status"] == "warming"]
    for h in warming:  # whatever moment the build was caught at, its progress adds up
        w = h["warming"]
        assert w["progress"] == f"{len(w['done'])}/{len(w['done']) + len(w['todo'])}" and w["message"]
    final = json.loads((tmp_path / "warming.json").read_text(encoding="utf-8"))
    assert final["finished"] and final["done"] == ["nlu", "index", "ranker"]
