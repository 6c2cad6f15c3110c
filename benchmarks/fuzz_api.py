"""Fuzz the whole API from its own OpenAPI schema with schemathesis (thousands of cases).

Every operation gets ``--examples`` generated requests in each generation mode
(positive: valid by the schema; negative: invalid), sent in-process through
ASGI, and each response goes through schemathesis' checks: no 5xx, status
code, content type, headers and body as documented, invalid data refused.
``positive_data_acceptance`` is left out: a well-formed request for a shop
that does not exist is rightly a 404/422.

    .venv/bin/python benchmarks/fuzz_api.py --examples 300
    NAVIYAM_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/naviyam NAVIYAM_VAR_DIR=var/prod \\
        .venv/bin/python benchmarks/fuzz_api.py --use-settings --examples 300

Without ``--use-settings`` it fuzzes a generated 40-shop world on a temporary
SQLite file with a Layer 1 index and the rules NLU (fast); with it, the configured database and
its production models. Exit status 1 when any operation failed.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

ADMIN_KEY = "fuzz-admin-key"


def build_app(use_settings: bool):
    from naviyam.api.app import create_app
    from naviyam.config import Settings, get_settings
    from naviyam.db.session import make_engine, migrate

    if use_settings:
        base = get_settings()
        settings = base.model_copy(update={"admin_api_key": ADMIN_KEY, "rate_limit_per_minute_ip": 0,
                                           "rate_limit_per_minute_user": 0, "redis_url": None})
        return create_app(settings)
    from naviyam.data.generate import generate_world
    from naviyam.service.runtime import Runtime

    var = Path(tempfile.mkdtemp(prefix="naviyam-fuzz-"))
    settings = Settings(environment="test", admin_api_key=ADMIN_KEY, var_dir=var, database_url=None,
                        rate_limit_per_minute_ip=0, rate_limit_per_minute_user=0, _env_file=None)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    generate_world(engine, seed=5, shops=40, users=40, days=10)
    from naviyam.core.registry import ModelRegistry
    from naviyam.recommend.layer1_build import build_layer1

    build_layer1(engine, ModelRegistry(engine, settings.models_dir))
    return create_app(settings, engine=engine, runtime=Runtime.load(engine, settings, parser=_rules()))


def _rules():
    from naviyam.nlu import rules_parser

    return rules_parser()


def _runner(op, mode, examples: int, counter: collections.Counter, excluded):
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call_and_validate(headers={"X-API-Key": ADMIN_KEY}, excluded_checks=[excluded])
        counter[response.status_code] += 1

    return run


def _describe(exc: BaseException) -> str:
    text = str(exc)
    for sub in getattr(exc, "exceptions", ()):
        text += "\n" + str(sub)
    return text


def fuzz(app, examples: int, seed: int | None) -> tuple[dict, dict]:
    import schemathesis
    from fastapi.testclient import TestClient
    from hypothesis import seed as hseed
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import positive_data_acceptance

    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    failures: dict[str, str] = {}
    with TestClient(app):
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        for result in schema.get_all_operations():
            op = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                label = f"{op.label} [{mode.value}]"

                run = _runner(op, mode, examples, counts[label], positive_data_acceptance)
                if seed is not None:
                    run = hseed(seed)(run)
                t0 = time.perf_counter()
                try:
                    run()
                except Unsatisfiable:
                    print(f"n/a  {label:55} (nothing to make invalid)")
                    continue
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - report every operation's failure
                    failures[label] = f"{exc.__class__.__name__}: {_describe(exc)}"
                n = sum(counts[label].values())
                status = "FAIL" if label in failures else "ok"
                print(f"{status:4} {label:55} {n:5} cases  {dict(sorted(counts[label].items()))}  "
                      f"{time.perf_counter() - t0:.1f}s", flush=True)
    return counts, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=300, help="Generated requests per operation and mode.")
    parser.add_argument("--use-settings", action="store_true", help="Fuzz the configured database and models.")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="Write the counts and failures here.")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)
    app = build_app(args.use_settings)
    t0 = time.perf_counter()
    counts, failures = fuzz(app, args.examples, args.seed)
    total = sum(sum(c.values()) for c in counts.values())
    server_errors = sum(n for c in counts.values() for code, n in c.items() if code >= 500)
    print(f"\n{total} cases over {len(counts)} operation/mode pairs in {time.perf_counter() - t0:.0f}s; "
          f"5xx: {server_errors}; failing operations: {len(failures)}")
    for label, text in failures.items():
        print(f"\n--- {label}\n{text[:4000]}")
    if args.json:
        args.json.write_text(json.dumps({"cases": total, "server_errors": server_errors,
                                         "counts": {k: dict(v) for k, v in counts.items()},
                                         "failures": failures}, ensure_ascii=False, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
