"""The ranker's promotion gate: a worse candidate is refused and production keeps serving."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from naviyam.core.registry import ModelRegistry
from naviyam.db.session import make_engine, migrate
from naviyam.learning.ranker_gate import gate_ranker
from naviyam.recommend.features import NUM_COLUMNS, WIDE_COLUMNS
from naviyam.recommend.ranker.pipeline import train_and_register
from naviyam.recommend.ranker.serving import load_production
from naviyam.recommend.ranker.trainer import RANKING_FILE, TRAIN_FILE, VAL_FILE, RankerTrainConfig

CATS = ["한식", "분식", "치킨", "카페"]


def _lists(n_lists: int, seed: int, size: int = 8) -> pd.DataFrame:
    """Requests of ``size`` shops; the one positive is the shop in the user's hidden favourite category."""
    rng = np.random.default_rng(seed)
    rows = []
    for q in range(n_lists):
        user = int(rng.integers(1, 40))
        fav = user % 4
        shops = rng.choice(np.arange(1, 80), size, replace=False)
        pos = next((s for s in shops if s % 4 == fav), None)
        if pos is None:
            shops[0] = fav + 4 * int(rng.integers(1, 19))
            pos = shops[0]
        for rank, s in enumerate(shops):
            rows.append({"user_id": user, "shop_id": int(s), "label": float(s == pos), "brand_id": -1,
                         "category": CATS[int(s) % 4], "semantic_query": "", "query_id": q, "layer1_rank": rank})
    df = pd.DataFrame(rows)
    for c in WIDE_COLUMNS:
        df[c] = 0.0
    df["wide_feat_0"] = np.clip(df["label"] * 0.5 + rng.normal(0.25, 0.2, len(df)), 0, 1)
    for c in NUM_COLUMNS:
        df[c] = rng.random(len(df))
    return df


@pytest.fixture
def setup(tmp_path):
    data = tmp_path / "dataset"
    data.mkdir()
    _lists(300, 1).to_csv(data / TRAIN_FILE, index=False)
    _lists(80, 2).to_csv(data / VAL_FILE, index=False)
    _lists(60, 3).to_csv(data / RANKING_FILE, index=False)
    engine = make_engine(f"sqlite:///{tmp_path / 'naviyam.db'}")
    migrate(engine)
    yield ModelRegistry(engine, tmp_path / "models"), data
    engine.dispose()


def _train(registry, data, **kw):
    cfg = RankerTrainConfig(**{"epochs": 4, "batch_size": 64, "lr": 3e-3, "hidden": [16], "query_buckets": 256, "seed": 0,
                         **kw})
    return train_and_register(data, registry, cfg, status="candidate")


def test_first_ranker_is_promoted(setup):
    registry, data = setup
    mv, result = _train(registry, data)
    gate = gate_ranker(registry, mv, result.metrics, data, production_mv=None)
    assert gate.promoted and registry.current("ranker").version == mv.version


def test_worse_candidate_is_refused_and_production_keeps_serving(setup):
    registry, data = setup
    good, good_result = _train(registry, data)
    assert gate_ranker(registry, good, good_result.metrics, data, production_mv=None).promoted
    bad, bad_result = _train(registry, data, lr=0.0)  # never learns: the network as initialised
    gate = gate_ranker(registry, bad, bad_result.metrics, data, production_mv=registry.current("ranker"))
    assert not gate.promoted
    assert gate.table["candidate"]["val_ndcg@10"] < gate.table["production"]["val_ndcg@10"]
    assert any("유지" in r for r in gate.reasons)
    assert registry.current("ranker").version == good.version
    assert load_production(registry).version == good.version
    assert registry.get(bad.version).status == "candidate"


def test_force_promotes_a_worse_candidate_and_says_so(setup):
    registry, data = setup
    good, good_result = _train(registry, data)
    gate_ranker(registry, good, good_result.metrics, data, production_mv=None)
    bad, bad_result = _train(registry, data, lr=0.0)
    gate = gate_ranker(registry, bad, bad_result.metrics, data, production_mv=registry.current("ranker"), force=True)
    assert gate.promoted and registry.current("ranker").version == bad.version
    assert any("--force" in r for r in gate.reasons)
