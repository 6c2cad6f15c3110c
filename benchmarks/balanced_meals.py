"""Issue 15's balanced-meal figures: a simulated week of card-holding children, with and without the nudge.

Each sampled child (card holder, 13 or younger) asks three times a day for a week,
mostly vaguely ("배고파", "뭐 먹지"), sometimes their usual food by name, and
"orders" one of the shops shown by a seeded choice model (see
naviyam.service.meal_week). Reported per arm: the average share of a child's meals
in their most eaten kind and the share of meals with a rice, soup or vegetable dish.

    NAVIYAM_VAR_DIR=var nice .venv/bin/python benchmarks/balanced_meals.py --children 60

The conversations are stored like any chat turn; no order is written. The week
starts the day after the service clock's today (NAVIYAM_CLOCK pins it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time

from sqlalchemy import select

from naviyam.config import get_settings
from naviyam.core.clock import local_today
from naviyam.db.models import User
from naviyam.db.session import get_engine, migrate, session_scope
from naviyam.service.meal_week import simulate_week
from naviyam.service.runtime import Runtime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--children", type=int, default=60)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--per-child", action="store_true", help="also print each child's figures")
    args = ap.parse_args()
    settings = get_settings()
    engine = get_engine()
    migrate(engine)
    today = local_today()
    with session_scope(engine) as s:
        kids = [u.id for u in s.scalars(select(User).where(User.is_meal_card_holder.is_(True)).order_by(User.id))
                if u.birthday and (today - u.birthday).days // 365 <= 13]
    sample = sorted(random.Random(args.seed).sample(kids, min(args.children, len(kids))))
    service = Runtime.load(engine, settings).chat_service()
    t0 = time.perf_counter()
    arms = simulate_week(service, sample, start=today + dt.timedelta(days=1), days=args.days, seed=args.seed)
    out = {"children": len(sample), "days": args.days, "asks_per_day": 3,
           "rule": {"min_meals": service.balance.min_meals, "boost": service.balance.boost},
           **{arm: res.summary() for arm, res in arms.items()}, "seconds": round(time.perf_counter() - t0, 1)}
    if args.per_child:
        out["per_child"] = {arm: res.per_child for arm, res in arms.items()}
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
