"""Issue 17: how much of the ranker's original training data the nightly fine-tune should replay.

Each variant runs the real nightly learning (:func:`naviyam.learning.learn.run_learning`) once on its own
copy of an arm of a ``naviyam simulate`` run (``copy_world``: the source is only read), at 03:00 after the
copy's last interaction, with ``promote="never"`` and ``force=True``, and prints what the gate compared:
the held-out lists' position-corrected MRR and the standard validation AUC and NDCG@10, candidate and
production.

    NAVIYAM_VAR_DIR=var/p14a/learning NAVIYAM_SAMPLE_SHOPS=400 NAVIYAM_SAMPLE_USERS=1500 \\
        .venv/bin/python benchmarks/simulate_replay_experiment.py \\
        '[{}, {"replay_rows": 30000, "replay_ratio": 4}, {"replay_rows": 30000, "replay_ratio": 4, "epochs": 1}]'

A variant is a JSON object of :class:`~naviyam.learning.learn.LearnConfig` fields plus ``epochs`` and ``lr``
of the fine-tune. Copies go to ``--out`` (default ``var/replay_experiment``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

from sqlalchemy import func, select

from naviyam.config import get_settings
from naviyam.core import clock
from naviyam.db.models import Interaction
from naviyam.db.session import session_scope
from naviyam.learning.learn import LearnConfig, run_learning
from naviyam.recommend.ranker.finetune import FineTuneConfig
from naviyam.service.simulate import copy_world, open_arm


def run_variant(source, variant: dict, dest: Path) -> str:
    settings = copy_world(source, dest)
    env = open_arm("learning", settings)
    with session_scope(env.engine) as s:
        last = s.scalar(select(func.max(Interaction.created_at)))
    day = clock.to_local(last.replace(tzinfo=dt.UTC)).date() + dt.timedelta(days=1)
    night = dt.datetime.combine(day, dt.time(3), tzinfo=clock.zone())
    knobs = dict(variant)
    finetune = FineTuneConfig(epochs=int(knobs.pop("epochs", 2)), lr=float(knobs.pop("lr", 5e-4)))
    cfg = LearnConfig.from_settings(settings, finetune=finetune, train_nlu=False, promote="never", force=True,
                                    **knobs)
    t0 = time.perf_counter()
    with clock.pinned(night):
        report = run_learning(env.engine, env.runtime.registry, cfg, now=night.astimezone(dt.UTC).replace(tzinfo=None),
                              say=lambda m: None)
    env.engine.dispose()
    for m in report.models:
        if m.kind == "ranker":
            figures = "; ".join(f"{name} {m.candidate_metrics.get(key) or 0:.4f} / {m.production_metrics.get(key) or 0:.4f}"
                                for name, key in (("ips-MRR", "recent_ips_mrr"), ("val AUC", "val_auc"),
                                                  ("val NDCG@10", "val_ndcg@10")))
            return f"{json.dumps(variant)}: {m.status}; {figures}; {time.perf_counter() - t0:.0f} s"
    return f"{json.dumps(variant)}: no ranker step ({report.status}: {report.message})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", help="a JSON list of variants (see the module doc)")
    ap.add_argument("--out", type=Path, default=Path("var/replay_experiment"))
    args = ap.parse_args()
    source = get_settings()
    for i, variant in enumerate(json.loads(args.variants)):
        print(run_variant(source, variant, args.out / str(i)), flush=True)


if __name__ == "__main__":
    main()
