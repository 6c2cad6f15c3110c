"""The recommendation engine: Layer 1 → ranker → diversity → contract with Korean reasons; fallback and reload."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from naviyam.core.registry import ModelRegistry
from naviyam.data.generate import generate_world
from naviyam.db.session import make_engine, migrate
from naviyam.recommend.engine import RANKING_FALLBACK, RANKING_WIDE_DEEP, RecommendationEngine, diversify
from naviyam.recommend.features import NUM_COLUMNS, WIDE_COLUMNS, InteractionState
from naviyam.recommend.layer1 import CandidateGenerator, RequestContext, UserDirectory, fit_layer1
from naviyam.recommend.ranker.pipeline import train_and_register
from naviyam.recommend.ranker.trainer import RankerTrainConfig, load_training_set
from naviyam.recommend.training_data import TrainingDataConfig, build_training_set
from naviyam.retrieval.catalog import ShopCatalog
from naviyam.retrieval.embedding import HashingEmbedder

CONTRACT = {"shop_id", "name", "category", "district", "distance_m", "price_range", "signature_menus", "rating",
            "is_good_shop", "accepts_meal_card", "open_now", "score", "funnels", "reason"}
HANGUL = re.compile(r"[가-힣]")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny world, its training set, a trained ranker in a registry, and Layer 1 fitted at the cut-off."""
    folder = tmp_path_factory.mktemp("engine")
    engine = make_engine(f"sqlite:///{folder / 'naviyam.db'}")
    migrate(engine)
    generate_world(engine, seed=11, shops=80, users=150, days=30)
    emb = HashingEmbedder()
    report = build_training_set(engine, folder / "data", TrainingDataConfig(
        max_positives=500, ranking_lists=20, candidates_k=40, window_days=7), embedder=emb)
    registry = ModelRegistry(engine, folder / "models")
    mv, _result = train_and_register(folder / "data", registry, RankerTrainConfig(epochs=2, batch_size=64))
    catalog = ShopCatalog.load(engine)
    arts = fit_layer1(engine, embedder=emb, until=report.cutoff, catalog=catalog)
    gen = CandidateGenerator(arts, users=UserDirectory.load(engine), engine=None)
    yield {"engine": engine, "folder": folder, "report": report, "registry": registry, "version": mv, "gen": gen,
           "catalog": catalog}
    engine.dispose()


def _user_with_orders(world) -> int:
    state = InteractionState.load(world["engine"], world["catalog"])
    return max(state.user_orders, key=state.user_orders.get)


def test_diversify_keeps_at_most_two_per_category_in_the_top_five():
    cats = ["치킨", "치킨", "치킨", "분식", "치킨", "한식", "피자"]
    order = diversify(cats, top_k=6)
    assert order == [0, 1, 3, 5, 6, 2]
    assert max(pd.Series([cats[i] for i in order[:5]]).value_counts()) <= 2
    # only one category available: the window is filled in rank order
    assert diversify(["치킨"] * 4, top_k=3) == [0, 1, 2]
    assert diversify(["치킨", "치킨", "치킨", "분식"], top_k=3) == [0, 1, 3]


def test_engine_without_a_trained_ranker_falls_back_to_the_layer1_order(world):
    rec = RecommendationEngine(world["gen"], InteractionState.load(world["engine"], world["catalog"]), None)
    nlu = {"semantic_query": "치킨", "filters": {"category": "치킨"}}
    when = dt.datetime(2026, 10, 30, 19, 0)
    out = rec.recommend(None, nlu, {"now": when}, top_k=5)
    assert out.ranking == RANKING_FALLBACK and out.metadata["ranking"] == RANKING_FALLBACK
    assert out.ranker_version is None
    # the same request at the same moment → the same Layer 1 order
    l1 = world["gen"].candidates(None, nlu, RequestContext(now=when)).candidates
    assert [r["shop_id"] for r in out.recommendations] == [c.shop_id for c in l1[:5]]


def test_empty_registry_means_fallback(world, tmp_path):
    empty = ModelRegistry(world["engine"], tmp_path / "models")
    rec = RecommendationEngine(world["gen"], InteractionState.load(world["engine"], world["catalog"]), None,
                               registry=empty)
    assert rec.reload_ranker() in (False, True)  # the shared DB may hold the module's ranker
    rec2 = RecommendationEngine(world["gen"], InteractionState.load(world["engine"], world["catalog"]), None)
    assert rec2.reload_ranker() is False and rec2.ranking_path == RANKING_FALLBACK


def test_engine_with_the_production_ranker_returns_the_contract(world):
    rec = RecommendationEngine.load(world["engine"], world["registry"], generator=world["gen"])
    assert rec.ranking_path == RANKING_WIDE_DEEP
    user = _user_with_orders(world)
    out = rec.recommend(user, {"text": "저녁 뭐 먹지", "semantic_query": "저녁 맛집", "filters": {}},
                        {"now": dt.datetime(2026, 10, 30, 19, 0)}, top_k=5)
    assert out.ranking == RANKING_WIDE_DEEP and out.ranker_version == world["version"].version
    assert len(out.recommendations) == 5
    for r in out.recommendations:
        assert set(r) == CONTRACT
        assert len(r["signature_menus"]) <= 3 and all({"name", "price"} <= set(m) for m in r["signature_menus"])
        assert 0.0 <= r["score"] <= 1.0 and r["funnels"]
        assert HANGUL.search(r["reason"]) and r["reason"].endswith("요.") and r["reason"].count(".") == 1
        assert r["distance_m"] is not None  # the user's home area is known
    cats = pd.Series([r["category"] for r in out.recommendations])
    assert cats.value_counts().max() <= 2  # diversity
    payload = json.dumps(out.to_dict(), ensure_ascii=False)
    assert "relaxed_filters" in payload


def test_reasons_built_later_for_the_shops_shown_are_the_ones_built_at_once(world):
    """``reasons=False`` leaves every reason to :meth:`add_reasons`, which builds the same sentence for the shops a
    caller keeps (copied and re-ordered, as the chat's annotate and arrange do) and keeps a reason set since."""
    rec = RecommendationEngine.load(world["engine"], world["registry"], generator=world["gen"])
    user = _user_with_orders(world)
    nlu = {"text": "저녁 뭐 먹지", "semantic_query": "저녁 맛집", "filters": {"budget_filter": 9000}}
    ctx = {"now": dt.datetime(2026, 10, 30, 19, 0)}
    eager = rec.recommend(user, nlu, ctx, top_k=12)
    lazy = rec.recommend(user, nlu, ctx, top_k=12, reasons=False)
    assert len(eager.recommendations) >= 5
    assert all(r["reason"] is None for r in lazy.recommendations)
    assert [{**r, "reason": None} for r in eager.recommendations] == lazy.recommendations
    shown = [dict(r) for r in reversed(lazy.recommendations)][:4]
    shown[0]["reason"] = "이번 주엔 다른 것도 먹어 봐요."
    assert lazy.add_reasons(shown) is shown
    built = {r["shop_id"]: r["reason"] for r in eager.recommendations}
    assert shown[0]["reason"] == "이번 주엔 다른 것도 먹어 봐요."
    assert [r["reason"] for r in shown[1:]] == [built[r["shop_id"]] for r in shown[1:]]
    assert all(HANGUL.search(r["reason"]) for r in shown)
    assert all(r["reason"] is None for r in lazy.recommendations)  # the engine's own list is left alone


def test_asking_for_a_category_turns_diversity_off(world):
    rec = RecommendationEngine.load(world["engine"], world["registry"], generator=world["gen"])
    cat = pd.Series(world["catalog"].categories).value_counts().index[0]
    out = rec.recommend(None, {"semantic_query": cat, "filters": {"category": cat}}, None, top_k=5)
    assert out.metadata["diversity_applied"] is False
    assert all(r["category"] == cat for r in out.recommendations)


def test_relaxed_filters_come_from_layer1(world):
    rec = RecommendationEngine(world["gen"], InteractionState.load(world["engine"], world["catalog"]), None)
    nlu = {"semantic_query": "피자", "filters": {"category": "피자", "good_shop": True, "budget_filter": 1000}}
    out = rec.recommend(None, nlu, None, top_k=3)
    l1 = world["gen"].candidates(None, nlu, None)
    assert out.relaxed_filters == l1.relaxed_filters and out.relaxed_filters
    assert out.explanations and all(HANGUL.search(e) for e in out.explanations)


def test_serving_computes_the_training_features_for_the_same_request(world):
    """A held-out example is rebuilt through the engine (state as of its request, Layer 1 at the cut-off)."""
    _train, val, _ranking, _ = load_training_set(world["folder"] / "data")
    cutoff = world["report"].cutoff
    # the first validation window is asked at the cut-off, with Layer 1 fitted there
    positives = val[(val["label"] == 1) & (pd.to_datetime(val["request_time"]) == pd.Timestamp(cutoff))]
    sample = positives.head(4)
    assert len(sample) > 0
    checked = 0
    for _, row in sample.iterrows():
        when = dt.datetime.fromisoformat(row["request_time"])
        state = InteractionState.load(world["engine"], world["catalog"], until=when)
        rec = RecommendationEngine(world["gen"], state, None)
        nlu = {"semantic_query": row["semantic_query"], "filters": json.loads(row["filters"])}
        _l1, _q, rows = rec.candidate_features(int(row["user_id"]), nlu, {"now": when})
        group = val[val["query_id"] == row["query_id"]]
        for _, ex in group.iterrows():
            hit = np.flatnonzero(rows.shop_id == int(ex["shop_id"]))
            if hit.size == 0:
                continue  # a negative drawn from the catalogue outside Layer 1's list
            i = int(hit[0])
            np.testing.assert_allclose(rows.wide[i], ex[WIDE_COLUMNS].to_numpy(np.float32), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(rows.numerical[i], ex[NUM_COLUMNS].to_numpy(np.float32), rtol=1e-5,
                                       atol=1e-6)
            assert rows.category[i] == ex["category"] and rows.semantic_query[i] == ex["semantic_query"]
            checked += 1
    assert checked >= 3


def test_a_broken_new_checkpoint_is_refused_and_the_old_ranker_keeps_serving(world, tmp_path):
    engine = world["engine"]
    registry = world["registry"]
    rec = RecommendationEngine.load(engine, registry, generator=world["gen"])
    serving = rec.ranker.version
    # register a corrupt version as production
    alloc = registry.allocate("ranker")
    src = Path(registry.current("ranker").path)
    for name in ("ranker.json", "weights.pt"):
        (alloc.path / name).write_bytes((src / name).read_bytes())
    (alloc.path / "weights.pt").write_bytes(b"not a checkpoint")
    registry.register(alloc, metrics={}, config={})
    try:
        assert rec.reload_ranker() is False
        assert rec.ranker.version == serving and rec.ranking_path == RANKING_WIDE_DEEP
        out = rec.recommend(None, {"semantic_query": "분식"}, None, top_k=3)
        assert out.ranking == RANKING_WIDE_DEEP and out.ranker_version == serving
        # a fresh engine cannot load it either: it falls back and says so
        fresh = RecommendationEngine.load(engine, registry, generator=world["gen"])
        assert fresh.ranking_path == RANKING_FALLBACK
    finally:
        from naviyam.db.models import ModelVersion
        from naviyam.db.session import session_scope

        with session_scope(engine) as s:  # restore the good version for the other tests
            s.query(ModelVersion).filter(ModelVersion.version == alloc.version).update({"status": "failed"})
            s.query(ModelVersion).filter(ModelVersion.version == serving).update({"status": "production"})


def test_training_registers_a_version_with_metrics_curves_and_data_window(world):
    mv = world["version"]
    folder = Path(mv.path)
    assert (folder / "weights.pt").exists() and (folder / "ranker.json").exists()
    assert (folder / "training_curves.png").stat().st_size > 1000
    for key in ("val_auc", "val_logloss", "val_ndcg@5", "val_ndcg@10", "val_hit_rate@5", "val_hit_rate@10",
                "val_mrr", "layer1_ndcg@10", "popularity_ndcg@10"):
        assert key in mv.metrics
    assert mv.data_window_start is not None and mv.data_window_end is not None
    assert mv.config["train"]["batch_size"] == 64 and mv.config["model"]["hidden"] == [128, 64, 32]
    current = world["registry"].current("ranker")
    assert current is not None and current.kind == "ranker"


def test_ranker_scores_only_the_candidates_it_is_given(world):
    rec = RecommendationEngine.load(world["engine"], world["registry"], generator=world["gen"])
    l1, query, rows = rec.candidate_features(None, {"semantic_query": "분식"}, None)
    ranker = rec.ranker.attach(rec.builder(), rec.state)
    some = l1.candidates[:3]
    scores = ranker.score(query, some)
    assert scores.shape == (3,)
    np.testing.assert_allclose(scores, ranker.score_rows(rows)[:3], rtol=1e-6)
    assert ranker.score(query, []).shape == (0,)
