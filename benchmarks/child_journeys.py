"""Issue 15's child-journey check on the configured database (the default sample world that `make run` built).

For a sample of card-holding children (13 or younger), one first message each
(cycling through naviyam.service.journeys.FIRST_MESSAGES), then "더 싼 데는?"
and "다른 데는?" in the same session; every broken promise is counted. E.g.

    NAVIYAM_VAR_DIR=var .venv/bin/python benchmarks/child_journeys.py --children 200

With ``--url http://127.0.0.1:8000`` the same journeys go over HTTP to a running
server (``make run`` / ``naviyam serve`` on the same database; the sample and the
per-meal amounts are read from the database, every answer from the server's
``POST /chat?debug=true``). Run the server with NAVIYAM_RATE_LIMIT_PER_MINUTE_IP=0
(and _USER=0): the check sends some 800 requests from one address.

Prints a JSON summary (journeys, passed, failed, problems by kind, examples of failures). Exit status 1 if
any journey failed. The clock is the service clock (NAVIYAM_CLOCK pins it); the sample is seeded.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import urllib.request
from types import SimpleNamespace

from sqlalchemy import select

from naviyam.config import get_settings
from naviyam.core.clock import local_now, local_today
from naviyam.db.models import User
from naviyam.db.session import get_engine, migrate, session_scope
from naviyam.service.journeys import FIRST_MESSAGES, check_journey, summarise
from naviyam.service.policy import per_meal_amount
from naviyam.service.runtime import Runtime


def http_asker(url: str, user_id: int, now):
    """One child's turns through a running server's ``POST /chat`` (with the debug block for relaxed filters)."""

    def ask(text: str, session_id: str | None = None):
        body = {"user_id": user_id, "message": text, "context": {"now": now.isoformat()}}
        if session_id:
            body["session_id"] = session_id
        req = urllib.request.Request(f"{url.rstrip('/')}/chat?debug=true", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as res:
            out = json.loads(res.read())
        meta = (out.get("debug") or {}).get("recommendation_metadata") or {}
        return SimpleNamespace(session_id=out["session_id"], response=out["response"], nlu=out["nlu"],
                               recommendations=out["recommendations"],
                               relaxed_filters=meta.get("relaxed_filters", []), path=meta.get("path", ""))
    return ask


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--children", type=int, default=200)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--url", help="a running server (e.g. http://127.0.0.1:8000) instead of the service in-process")
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
    now = local_now()
    service = None if args.url else Runtime.load(engine, settings).chat_service()
    t0 = time.perf_counter()
    results = [check_journey(service, uid, FIRST_MESSAGES[i % len(FIRST_MESSAGES)], amounts[uid], now=now,
                             ask=http_asker(args.url, uid, now) if args.url else None)
               for i, (uid, _d) in enumerate(sample)]
    summary = {"via": args.url or "in-process", "now": now.isoformat(), "card_children_available": len(kids),
               **summarise(results),
               "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
