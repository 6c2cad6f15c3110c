"""First start of `make run` on a fresh folder: seconds until /health answers, and until every model serves.

Runs what `make run` runs after the install, on an empty var folder (the
install itself is measured apart: the virtual environment is shared here):

    naviyam setup --no-models        # schema + sample world
    naviyam serve --build-models     # serves at once; models build in the background

and records, from the moment ``setup`` starts: when ``/health`` first
answers (``warming``), when each model kind reaches production, and when the
running server answers /chat with every model (the hot swap happened). The
background build's own seconds (wall and CPU) per kind come from its progress file.

    .venv/bin/python benchmarks/first_start.py --out benchmarks/results/load_18/first_start.json

Environment variables (``NAVIYAM_SAMPLE_SHOPS`` …) pass through, so a smaller
world can be timed too. The machine's load average is recorded with the run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--var-dir", type=Path, default=None, help="Default: a fresh temporary folder.")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="Keep the var folder.")
    args = parser.parse_args()

    var = args.var_dir or Path(tempfile.mkdtemp(prefix="naviyam-first-start-"))
    if var.exists() and any(var.iterdir()):
        raise SystemExit(f"{var} is not empty: a first start needs an empty folder")
    port = _free_port()
    env = {**os.environ, "NAVIYAM_VAR_DIR": str(var), "NAVIYAM_DATABASE_URL": "", "NAVIYAM_PORT": str(port),
           "NAVIYAM_LOG_LEVEL": "WARNING"}
    base = f"http://127.0.0.1:{port}"
    marks: dict[str, float] = {}
    load_before = os.getloadavg()
    t0 = time.monotonic()
    setup = subprocess.run([BIN / "naviyam", "setup", "--no-models"], env=env, capture_output=True, text=True)
    if setup.returncode != 0:
        raise SystemExit(setup.stdout + setup.stderr)
    marks["setup_no_models"] = time.monotonic() - t0
    log_path = var / "first-start-serve.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen([BIN / "naviyam", "serve", "--build-models", "--no-access-log"], env=env,
                                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            while time.monotonic() - t0 < args.timeout:
                if proc.poll() is not None:
                    raise SystemExit(log_path.read_text(errors="replace")[-3000:])
                try:
                    health = httpx.get(base + "/health", timeout=5).json()
                except httpx.TransportError:
                    time.sleep(0.2)
                    continue
                now = time.monotonic() - t0
                marks.setdefault(f"health_{health['status']}", now)
                for kind in health.get("models", {}):
                    marks.setdefault(f"production_{kind}", now)
                if set(health.get("models", {})) >= {"nlu", "index", "ranker"}:
                    chat = httpx.post(base + "/chat", json={"message": "분식 먹고 싶어"}, timeout=30).json()
                    if chat["model_versions"].get("ranker") == health["models"]["ranker"] \
                            and chat["model_versions"].get("nlu") == health["models"]["nlu"]:
                        marks["all_models_serving"] = time.monotonic() - t0
                        break
                time.sleep(0.5)
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=60)
    warming = json.loads((var / "warming.json").read_text(encoding="utf-8")) if (var / "warming.json").exists() else {}
    result = {"seconds_from_start": {k: round(v, 1) for k, v in marks.items()},
              "build_seconds_per_kind": warming.get("seconds", {}),
              "build_cpu_seconds_per_kind": warming.get("cpu_seconds", {}),
              "load_avg_before": [round(x, 2) for x in load_before],
              "load_avg_after": [round(x, 2) for x in os.getloadavg()],
              "cpus": os.cpu_count(), "command": " ".join(sys.argv)}
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))
    if not args.keep and args.var_dir is None:
        shutil.rmtree(var, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
