"""Issue 17's A/B figures: how often each way of reading an online test says "significant" when it should not.

Simulated tests, no database: users arrive day by day (``--arrivals`` per arm and day), each with a hidden
CTR drawn from Beta(m·c, (1-m)·c) (c = ``--concentration``; small c: a user's turns are much alike), and
every active user chats Poisson(``--turns``) times a day, clicking each turn with their CTR. The report is
read every day, as an operator might. Per way of reading, the share of tests that ended in "the candidate
is better" (or worse):

* ``per_turn_z``: two-proportion z-test over turns at the end (the old report);
* ``per_user_peek``: per-user Welch test, stopping at the first day with p < α (peeking);
* ``per_user_planned``: :mod:`naviyam.learning.ab_report`'s rule: no verdict before both arms reach the
  planned sample, then the per-user Welch test once.

With ``--effect 0`` (A/A) these are false-positive rates (α = 0.05 is the target); with an effect they are
the power.

    .venv/bin/python benchmarks/ab_calibration.py --runs 400
    .venv/bin/python benchmarks/ab_calibration.py --runs 400 --effect 0.1
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from naviyam.learning.ab import CANDIDATE, PRODUCTION, two_proportion_test
from naviyam.learning.ab_report import ABDesign, summarise


def one_test(rng, args, design: ABDesign) -> dict[str, bool]:
    hidden = {CANDIDATE: np.empty(0), PRODUCTION: np.empty(0)}
    counts = {CANDIDATE: np.zeros((0, 3), int), PRODUCTION: np.zeros((0, 3), int)}
    peek = planned = None
    for _day in range(args.days):
        for arm, mean in ((CANDIDATE, args.base + args.effect), (PRODUCTION, args.base)):
            new = rng.beta(mean * args.concentration, (1 - mean) * args.concentration, size=args.arrivals)
            hidden[arm] = np.concatenate([hidden[arm], new])
            counts[arm] = np.vstack([counts[arm], np.zeros((args.arrivals, 3), int)])
            turns = rng.poisson(args.turns, size=hidden[arm].size)
            clicks = rng.binomial(turns, hidden[arm])
            counts[arm][:, 0] += turns
            counts[arm][:, 1] += clicks
        per_user = {arm: {i: list(c) for i, c in enumerate(counts[arm]) if c[0] > 0} for arm in counts}
        arms, comps, plan, _ = summarise(per_user, design)
        if not comps:
            continue
        if peek is None and comps[0].significant:
            peek = True
        if planned is None and min(arms[a].users for a in arms) >= plan:
            planned = comps[0].significant  # the one decision, at the planned sample
    c, p = counts[CANDIDATE], counts[PRODUCTION]
    z_p = two_proportion_test(int(c[:, 1].sum()), int(c[:, 0].sum()), int(p[:, 1].sum()), int(p[:, 0].sum()))[1]
    return {"per_turn_z": z_p < design.alpha, "per_user_peek": bool(peek), "per_user_planned": bool(planned),
            "plan_reached": planned is not None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=400)
    ap.add_argument("--days", type=int, default=20)
    ap.add_argument("--arrivals", type=int, default=20, help="new users per arm and day")
    ap.add_argument("--turns", type=float, default=2.0, help="mean chat turns per active user and day")
    ap.add_argument("--base", type=float, default=0.3, help="mean per-user CTR of production")
    ap.add_argument("--effect", type=float, default=0.0, help="true difference of mean per-user CTR")
    ap.add_argument("--concentration", type=float, default=0.5)
    ap.add_argument("--mde", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args()
    design = ABDesign(mde=args.mde, min_users=50)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    results = [one_test(rng, args, design) for _ in range(args.runs)]
    out = {k: float(np.mean([r[k] for r in results])) for k in results[0]}
    out.update({"runs": args.runs, "effect": args.effect, "mde": args.mde, "concentration": args.concentration,
                "seconds": round(time.perf_counter() - t0, 1)})
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
