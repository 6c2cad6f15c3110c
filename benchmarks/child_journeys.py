"""Issue 15's child-journey check on the configured database (the default sample world that `make run` built).

For a sample of card-holding children (13 or younger), one first message each
(cycling through naviyam.service.journeys.FIRST_MESSAGES), then "더 싼 데는?"
and "다른 데는?" in the same session; every broken promise is counted. E.g.

    NAVIYAM_VAR_DIR=var .venv/bin/python benchmarks/child_journeys.py --children 200

Prints a JSON summary (journeys, passed, failed, examples of failures). Exit status 1 if any journey failed.
The clock is the service clock (NAVIYAM_CLOCK pins it); the sample is seeded.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time

from sqlalchemy import select

from naviyam.config import get_settings
from naviyam.core.clock import local_now, local_today
from naviyam.db.models import User
from naviyam.db.session import get_engine, migrate, session_scope
from naviyam.service.journeys import FIRST_MESSAGES, check_journey, summarise
from naviyam.service.policy import per_meal_amount
from naviyam.service.runtime import Runtime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--children", type=int, default=200)
    ap.add_argument("--seed", type=int, default=15)
    args = ap.parse_args()
    settings = get_settings()
    engine = get_engine()
    migrate(engine)
    today = local_today()
    with session_scope(engine) as s:
        kids = [(u.id, u.district) for u in s.scalars(select(User).where(User.is_meal_card_holder.is_(True))
                                                      .order_by(User.id))
                if u.birthday and (today - u.birthday).days // 365 <= 13]
        sample = random.Random(args.seed).sample(kids, min(args.children, len(kids)))
        amounts = {uid: per_meal_amount(s, d, settings.meal_card_per_meal) for uid, d in sample}
    service = Runtime.load(engine, settings).chat_service()
    now = local_now()
    t0 = time.perf_counter()
    results = [check_journey(service, uid, FIRST_MESSAGES[i % len(FIRST_MESSAGES)], amounts[uid], now=now)
               for i, (uid, _d) in enumerate(sample)]
    summary = {"now": now.isoformat(), "card_children_available": len(kids), **summarise(results),
               "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
