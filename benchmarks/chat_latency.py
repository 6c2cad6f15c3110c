"""End-to-end chat latency: one ChatService.chat call (NLU → Layer 1 → ranker → NLG → interaction committed).

Runs against the configured database and its production models (what `make run` built), e.g.

    NAVIYAM_VAR_DIR=var .venv/bin/python benchmarks/chat_latency.py --turns 300

Prints per-path p50/p95/p99 in milliseconds as JSON. Realistic messages of children, teens and parents are
sent in short multi-turn sessions by known users and anonymous users, with and without a location.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

MESSAGES = [
    "급식카드 되는 떡볶이집 추천해줘", "만원으로 뭐 먹지?", "학교 근처 분식집", "배고파ㅠㅠ 치킨 먹고 싶어",
    "엄마랑 갈만한 한식당 알려주세요", "신림역 근처 돈까스", "착한가게 중에 지금 문 연 곳", "중국집 말고 다른 거",
    "5천원으로 먹을 수 있는 거", "야식으로 족발 어때", "친구들이랑 피자 먹을 곳", "안 매운 거 추천해줘",
    "더 싼 데는?", "가까운 순으로", "안녕", "고마워",
]
COORDS = [(37.4842, 126.9297), (37.4813, 126.9527), (37.5133, 126.9426), (37.5665, 126.9780), None]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--turns", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from sqlalchemy import func, select

    from naviyam.config import get_settings
    from naviyam.db.models import User
    from naviyam.db.session import get_engine, session_scope
    from naviyam.service.chat import ChatRequest
    from naviyam.service.runtime import Runtime

    engine = get_engine()
    t0 = time.perf_counter()
    runtime = Runtime.load(engine, get_settings())
    load_s = time.perf_counter() - t0
    service = runtime.chat_service()
    with session_scope(engine) as s:
        n_users = s.scalar(select(func.count(User.id))) or 1
    rng = random.Random(args.seed)
    by_path: dict[str, list[float]] = {}
    session, turns_left = None, 0
    for _ in range(args.turns):
        if turns_left == 0:
            session, turns_left = None, rng.randint(1, 4)
            user = rng.choice([None, rng.randint(1, n_users)])
            where = rng.choice(COORDS)
        turns_left -= 1
        lat, lon = where if where else (None, None)
        t = time.perf_counter()
        reply = service.chat(ChatRequest(message=rng.choice(MESSAGES), user_id=user, session_id=session,
                                         lat=lat, lon=lon))
        ms = (time.perf_counter() - t) * 1000
        session = reply.session_id
        by_path.setdefault(reply.path or "other", []).append(ms)
        by_path.setdefault("ALL", []).append(ms)

    def summary(v: list[float]) -> dict[str, float]:
        v = sorted(v)
        q = lambda p: round(v[min(len(v) - 1, int(p * len(v)))], 1)  # noqa: E731
        return {"n": len(v), "p50_ms": q(0.5), "p95_ms": q(0.95), "p99_ms": q(0.99), "mean_ms": round(statistics.fmean(v), 1)}

    print(json.dumps({"load_s": round(load_s, 1), "versions": runtime.model_versions(),
                      "paths": {k: summary(v) for k, v in sorted(by_path.items())}}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
