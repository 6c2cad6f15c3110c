"""What children's privacy costs (#19): the per-turn minimisation, the training exclusions, a withdrawal.

Builds a generated world in a temporary SQLite file (no models needed), then times

* ``minimise``: what a minimised turn adds to ``/chat`` (the NLU result without the message, the 동 and
  ~1 km cell of a position, the coarse dialogue state), per turn;
* ``exclusions``: :func:`naviyam.core.privacy.training_exclusions` (every training set and fit reads it once);
* ``withdrawal``: minimising everything stored about one user with ``--turns`` conversation turns.

    .venv/bin/python benchmarks/privacy_overhead.py --users 6000 --turns 200

Prints one JSON object (milliseconds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path


def _ms(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"p50": round(statistics.median(s), 4), "p95": round(s[int(0.95 * (len(s) - 1))], 4),
            "max": round(s[-1], 4), "n": len(s)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--users", type=int, default=6000)
    ap.add_argument("--shops", type=int, default=300)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--turns", type=int, default=200, help="stored turns of the user whose consent is withdrawn")
    ap.add_argument("--repeat", type=int, default=2000, help="minimised turns timed")
    args = ap.parse_args()

    from sqlalchemy import select

    from naviyam.core.privacy import children_without_consent, training_exclusions
    from naviyam.data.generate import generate_world
    from naviyam.db.models import ChatSession, Interaction, User
    from naviyam.db.session import make_engine, migrate, session_scope
    from naviyam.service.minimise import minimise_nlu, minimise_state, request_location
    from naviyam.service.privacy import set_guardian_consent, withdraw_guardian_consent

    folder = Path(tempfile.mkdtemp(prefix="naviyam-privacy-bench-"))
    engine = make_engine(f"sqlite:///{folder / 'naviyam.db'}")
    migrate(engine)
    generate_world(engine, seed=42, shops=args.shops, users=args.users, days=args.days)

    nlu = {"text": "신림역 근처 급식카드 되는 떡볶이집 추천해줘", "intent": "FOOD_RECOMMENDATION", "confidence": 0.93,
           "entities": [{"entity": "landmark", "value": "신림역", "text": "신림역", "start": 0, "end": 3},
                        {"entity": "menu", "value": "떡볶이", "text": "떡볶이", "start": 15, "end": 18}],
           "semantic_query": "신림역 떡볶이", "filters": {"menu": "떡볶이", "category": "분식",
                                                      "payment_method": "meal_card",
                                                      "location_filter": {"landmark": "신림역"}}}
    state = {"nlu": {"v": 1, "search": dict(nlu["filters"]), "turns": 3}, "last_distances": [120.5, 340.0, 812.3],
             "shown_all": [1, 2, 3]}
    request_location(37.4842, 126.9297, minimise=True)  # warm the 동 table
    per_turn = []
    for i in range(args.repeat):
        t = time.perf_counter()
        minimise_nlu(nlu)
        request_location(37.4842 + i * 1e-5, 126.9297, minimise=True)
        minimise_state(state)
        per_turn.append((time.perf_counter() - t) * 1000)

    exclusions = []
    for _ in range(20):
        t = time.perf_counter()
        excluded = training_exclusions(engine)
        exclusions.append((time.perf_counter() - t) * 1000)

    with session_scope(engine) as s:
        child = min(u for u in s.scalars(select(User.id)) if u not in excluded)
        s.add(ChatSession(id="bench", user_id=child, state=state, turns=args.turns))
        for _ in range(args.turns):
            s.add(Interaction(session_id="bench", user_id=child, message=nlu["text"], nlu=nlu, response="추천이에요",
                              location={"lat": 37.4842, "lon": 126.9297, "precision": "exact"},
                              recommendations=[{"shop_id": 1, "rank": 1}]))
    set_guardian_consent(engine, child)
    t = time.perf_counter()
    change = withdraw_guardian_consent(engine, child, source="cli")
    withdrawal_ms = (time.perf_counter() - t) * 1000

    print(json.dumps({
        "users": args.users, "children_without_consent": len(children_without_consent(engine)),
        "excluded_from_training": len(excluded),
        "minimise_per_turn_ms": _ms(per_turn),
        "training_exclusions_ms": _ms(exclusions),
        "withdrawal": {"turns": change.interactions, "ms": round(withdrawal_ms, 2)},
    }, ensure_ascii=False))
    engine.dispose()


if __name__ == "__main__":
    main()
