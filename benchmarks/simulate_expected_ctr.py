"""Issue 17: what a ``naviyam simulate`` run's lists were worth to its users, without the clicks' luck.

For every turn in ``<out>/ab/naviyam.db`` (the run's exposure log) the choice model of
:mod:`naviyam.service.sim_users` gives the chance of a click on the list as shown (top-down scan,
examination by rank, no noise draw) and on the same shops put in the user's own utility order. Per arm
and half of the run: the mean of both and their gap (what reordering alone could still win). A learning
arm that learns should move towards its ordering ceiling faster than the control arm.

    NAVIYAM_SAMPLE_SHOPS=400 NAVIYAM_SAMPLE_USERS=1500 NAVIYAM_SAMPLE_DAYS=120 \\
        .venv/bin/python benchmarks/simulate_expected_ctr.py var/sim14

The ``NAVIYAM_SAMPLE_*`` settings must be those of the world the run copied (hidden tastes).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections import defaultdict
from pathlib import Path

from naviyam.config import get_settings
from naviyam.core.clock import zone
from naviyam.db.session import make_engine
from naviyam.service.sim_users import CLICK_BIAS, World, examine_probability, hidden_users, sigmoid, utility


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="the --out folder of a naviyam simulate run")
    args = ap.parse_args()
    settings = get_settings()
    arm_dir = next(p for p in (args.out / "control", args.out / "learning") if p.is_dir())
    engine = make_engine(f"sqlite:///{arm_dir / 'naviyam.db'}")
    world = World.load(engine)
    users = hidden_users(engine, world, seed=settings.sample_seed, n_users=settings.sample_users,
                         days=settings.sample_days)

    def p_click(u, shops):
        p_none = 1.0
        for k, s in enumerate(shops):
            p_none *= 1 - examine_probability(k + 1) * sigmoid(CLICK_BIAS + utility(u, world.shops[s]))
        return 1 - p_none

    con = sqlite3.connect(args.out / "ab" / "naviyam.db")
    rows = list(con.execute("select user_id, recommendations, ab_arm, created_at from interaction"))
    import datetime as dt

    days = sorted({dt.datetime.fromisoformat(r[3]).replace(tzinfo=dt.UTC).astimezone(zone()).date() for r in rows})
    middle = days[len(days) // 2] if days else None
    acc: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for uid, recs, arm, at in rows:
        u = users[uid]
        shops = [r["shop_id"] for r in json.loads(recs)]
        day = dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC).astimezone(zone()).date()
        a = acc[("learning" if arm == "candidate" else "control", "first half" if day < middle else "second half")]
        a[0] += p_click(u, shops)
        a[1] += p_click(u, sorted(shops, key=lambda s: -utility(u, world.shops[s])))
        a[2] += 1
    print("| arm | half | turns | expected CTR as shown | same shops, user's order | gap |")
    print("|---|---|---|---|---|---|")
    for (arm, half), (shown, best, n) in sorted(acc.items()):
        print(f"| {arm} | {half} | {int(n)} | {shown / n:.4f} | {best / n:.4f} | {(best - shown) / n:+.4f} |")


if __name__ == "__main__":
    main()
