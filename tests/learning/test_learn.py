"""``naviyam learn``: feedback → incremental data → candidate ranker and NLU → comparison → promotion."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
from sqlalchemy import select

from naviyam.core.clock import local_today
from naviyam.db.models import LearningRun
from naviyam.db.session import session_scope
from naviyam.learning.incremental import FEEDBACK_WEIGHTS, IncrementalDataConfig, build_incremental_data
from naviyam.learning.learn import LearnConfig, last_watermark, run_learning
from naviyam.recommend.ranker.finetune import FineTuneConfig

#: Tiny models; the gate's latency limits are far above any machine load (timing targets live in benchmarks,
#: and a busy machine must not turn a better candidate into a rejected one).
TINY = dict(finetune=FineTuneConfig(epochs=3, lr=5e-4), replay_rows=300, nlu_examples=300, nlu_epochs=1,
            max_ranker_latency_ms=10_000.0, max_nlu_latency_ms=10_000.0)


def test_learn_without_feedback_says_so_and_exits_zero(tmp_path, naviyam):
    res = naviyam(tmp_path / "var", "learn")
    assert res.exit_code == 0, res.output
    assert "새로운 피드백이 없어요" in res.output


def test_incremental_rows_weight_feedback_and_hard_negatives(loop_world):
    from naviyam.core.clock import utcnow
    from naviyam.recommend.layer1 import CandidateGenerator

    gen = CandidateGenerator.load(loop_world.engine, loop_world.registry)
    data = build_incremental_data(loop_world.engine, gen, utcnow(), IncrementalDataConfig(hard_negative_weight=2.0))
    assert 0 < data.n_interactions == loop_world.n_trainable < loop_world.n_feedback  # no child without consent
    frame = data.train
    pos, neg = frame[frame["label"] == 1.0], frame[frame["label"] == 0.0]
    # every positive carries the weight of its feedback (ordered 2, favorited 1.5, clicked 1) times the inverse
    # of its rank's examination propensity (rank ** -1): a choice low in the list says more
    assert set(pos["kind"]) <= set(FEEDBACK_WEIGHTS)
    assert (pos["propensity"] == pos["layer1_rank"].astype(float) ** -1.0).all()
    assert np.allclose(pos["weight"].astype(float),
                       pos["kind"].map(FEEDBACK_WEIGHTS).astype(float) / pos["propensity"].astype(float))
    assert set(neg["kind"]) <= {"negative", "hard_negative"} and (neg["weight"] <= 2.0).all()
    for _qid, g in frame.groupby("query_id"):
        chosen_rank = g.loc[g["label"] == 1.0, "layer1_rank"].min()
        below = g[(g["label"] == 0.0) & (g["layer1_rank"] > chosen_rank)]
        # perhaps never looked at: less evidence than a shop passed over above the choice
        base = below["kind"].map({"hard_negative": 2.0, "negative": 1.0}).astype(float)
        assert np.allclose(below["weight"].astype(float), base * chosen_rank / below["layer1_rank"].astype(float))
    # a shop shown above the chosen one is a hard negative
    for _qid, g in frame.groupby("query_id"):
        chosen_rank = g.loc[g["label"] == 1.0, "layer1_rank"].min()
        assert (g.loc[(g["label"] == 0.0) & (g["layer1_rank"] < chosen_rank), "kind"] == "hard_negative").all()
    # held out by time: every held-out interaction is newer than every training one
    assert data.holdout["event_time"].min() >= frame["event_time"].max()
    # without position-bias correction the weights are the feedback's own
    plain = build_incremental_data(loop_world.engine, gen, utcnow(), IncrementalDataConfig(position_eta=0.0)).train
    plain_pos = plain[plain["label"] == 1.0]
    assert (plain_pos["weight"] == plain_pos["kind"].map(FEEDBACK_WEIGHTS)).all()
    assert set(plain.loc[plain["label"] == 0.0, "weight"]) <= {1.0, 2.0}
    assert data.nlu_rows and all(r["intent"] in ("FOOD_RECOMMENDATION", "BUDGET_FOOD_INQUIRY") for r in data.nlu_rows)


def test_learn_trains_compares_on_the_same_data_and_promotes_only_a_better_ranker(loop_world, monkeypatch):
    reg = loop_world.registry
    before_nlu, before_ranker = reg.current("nlu").version, reg.current("ranker").version
    report = run_learning(loop_world.engine, reg, LearnConfig(**TINY), say=lambda m: None)
    assert report.status == "trained", report.message
    ranker, nlu = report.models
    assert ranker.kind == "ranker" and nlu.kind == "nlu"
    # the same held-out lists were scored by both models
    assert ranker.candidate_metrics["recent_lists"] == ranker.production_metrics["recent_lists"] > 10
    assert ranker.candidate_metrics["val_rows"] == ranker.production_metrics["val_rows"]
    # the production ranker never saw the users' rule; the fine-tuned candidate learnt it
    assert ranker.candidate_metrics["recent_mrr"] > ranker.production_metrics["recent_mrr"] + 0.005
    assert ranker.status == "promoted", ranker.message
    mv = reg.current("ranker")
    assert mv.version == ranker.version and mv.data_window_end is not None
    assert {m.id: m.version for m in reg.list()}[mv.parent_id] == before_ranker
    assert mv.metrics["promotion"]["promote"] is True and mv.metrics["promotion"]["sanity"]["ok"] is True
    # the NLU candidate was compared on production's held-out set and either promoted or archived
    cand_nlu = reg.get(nlu.version)
    assert cand_nlu.metrics["comparison"]["exact_mean"] is not None
    assert (nlu.status, cand_nlu.status) in {("promoted", "production"), ("rejected", "archived")}
    if nlu.status == "rejected":
        assert reg.current("nlu").version == before_nlu
    # the watermark is kept in the database: nothing new → skipped, exit 0
    assert last_watermark(loop_world.engine) == report.watermark > 0
    again = run_learning(loop_world.engine, reg, LearnConfig(**TINY), say=lambda m: None)
    assert again.status == "skipped" and again.models == []
    with session_scope(loop_world.engine) as s:
        runs = list(s.scalars(select(LearningRun).order_by(LearningRun.id)))
    assert [r.status for r in runs][-2:] == ["trained", "skipped"]
    assert json.dumps(runs[-2].summary)  # plain JSON


def test_an_ab_test_keeps_a_passing_candidate_unpromoted(loop_world):
    reg = loop_world.registry
    prod = reg.current("ranker").version
    cfg = LearnConfig(**{**TINY, "finetune": FineTuneConfig(epochs=1, lr=1e-4)}, train_nlu=False, ab_share=0.3,
                      margin=-1.0, guard_tolerance=1.0, force=True)
    report = run_learning(loop_world.engine, reg, cfg, say=lambda m: None)
    (ranker,) = report.models
    assert ranker.status == "candidate" and "A/B" in ranker.message
    assert reg.current("ranker").version == prod
    assert reg.latest("ranker", "candidate").version == ranker.version


def test_export_cli_writes_the_seed_jsonl_files(loop_world, tmp_path, naviyam):
    import datetime as dt

    today = local_today()
    res = naviyam(loop_world.var, "learning", "export", "--start", (today - dt.timedelta(days=2)).isoformat(),
                  "--end", (today + dt.timedelta(days=1)).isoformat(), "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    conv = next((tmp_path / "out").glob("conversations_*.jsonl")).read_text(encoding="utf-8").splitlines()
    fbs = next((tmp_path / "out").glob("feedbacks_*.jsonl")).read_text(encoding="utf-8").splitlines()
    assert len(fbs) >= loop_world.n_trainable and len(conv) >= loop_world.n_trainable
    first = json.loads(conv[0])
    assert {"recommendations_shown", "model_versions", "ab_arm", "user_feedback"} <= set(first)


def test_feedback_a_fine_tuned_production_already_saw_is_replayed_not_trained_on_again():
    import datetime as dt
    from types import SimpleNamespace

    import pandas as pd

    from naviyam.learning.learn import _new_and_replayed_feedback

    # 10 old lists (before production's window end, 09:00 UTC = 18:00 in Seoul) and 3 new ones, 3 rows each
    times = [f"2026-11-0{1 + (q >= 10)}T12:00:00" for q in range(13)]
    frame = pd.DataFrame({"query_id": [q for q in range(13) for _ in range(3)],
                          "event_time": [t for t in times for _ in range(3)], "label": [1.0, 0.0, 0.0] * 13})
    learnt = SimpleNamespace(config={"source": "learn"}, data_window_end=dt.datetime(2026, 11, 1, 9))
    out = _new_and_replayed_feedback(frame, learnt, seed=0)
    assert out.attrs["new_rows"] == 9 and set(range(10, 13)) <= set(out["query_id"])
    assert len(out) == 18 and out.groupby("query_id").size().eq(3).all()  # whole old lists, as many rows as new
    trained_from_scratch = SimpleNamespace(config={"source": "train"}, data_window_end=dt.datetime(2026, 11, 1, 9))
    assert len(_new_and_replayed_feedback(frame, trained_from_scratch, seed=0)) == len(frame)


def test_the_held_out_lists_are_ones_production_was_not_trained_on(loop_world):
    from naviyam.core.clock import utcnow
    from naviyam.learning.incremental import collect_labelled
    from naviyam.recommend.layer1 import CandidateGenerator

    gen = CandidateGenerator.load(loop_world.engine, loop_world.registry)
    now = utcnow()
    labelled = sorted(collect_labelled(loop_world.engine, now - dt.timedelta(days=28), now),
                      key=lambda li: (li.created_at, li.interaction_id))
    seen_until = labelled[len(labelled) * 3 // 4].created_at  # production saw the first three quarters
    data = build_incremental_data(loop_world.engine, gen, now, IncrementalDataConfig(), seen_until=seen_until)
    unseen = [li for li in labelled if li.created_at >= seen_until]
    assert data.n_holdout_interactions == round(len(unseen) * 0.2) > 0
    held = set(data.holdout["query_id"])
    assert held <= {li.interaction_id for li in unseen}
