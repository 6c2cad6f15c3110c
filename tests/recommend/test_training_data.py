"""The ranker's training set from a tiny generated world: columns, labels, time split, no look-ahead."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from naviyam.data.generate import generate_world
from naviyam.db.session import make_engine, migrate
from naviyam.recommend.features import NUM_COLUMNS, WIDE_COLUMNS, InteractionState, load_events
from naviyam.recommend.ranker.trainer import RANKING_FILE, TRAIN_FILE, VAL_FILE, load_training_set
from naviyam.recommend.training_data import TrainingDataConfig, build_training_set, simulate_nlu
from naviyam.retrieval.catalog import ShopCatalog
from naviyam.retrieval.embedding import HashingEmbedder


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("world")
    engine = make_engine(f"sqlite:///{folder / 'naviyam.db'}")
    migrate(engine)
    generate_world(engine, seed=7, shops=80, users=150, days=30)
    cfg = TrainingDataConfig(max_positives=600, ranking_lists=40, candidates_k=40, window_days=7)
    report = build_training_set(engine, folder / "data", cfg, embedder=HashingEmbedder())
    yield engine, folder / "data", report
    engine.dispose()


def test_csv_files_have_the_seed_columns(world):
    _engine, folder, report = world
    for name in (TRAIN_FILE, VAL_FILE, RANKING_FILE):
        assert (folder / name).exists()
    train = pd.read_csv(folder / TRAIN_FILE)
    assert list(train.columns[:3]) == ["user_id", "shop_id", "label"]
    for col in [*WIDE_COLUMNS, *NUM_COLUMNS, "category", "semantic_query", "brand_id", "event_time"]:
        assert col in train.columns
    assert train["semantic_query"].fillna("").str.len().gt(0).all()  # the query features are filled
    assert set(train["label"].unique()) <= {0.0, 1.0}
    assert report.n_train == len(train) and report.positives["order"] > 0
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["cutoff"] and manifest["positives"] == report.positives


def test_split_is_by_time(world):
    _engine, folder, report = world
    train, val, ranking, _ = load_training_set(folder)
    t_train = pd.to_datetime(train["event_time"])
    t_val = pd.to_datetime(val["event_time"])
    assert t_train.max() < t_val.min()
    assert t_val.min() >= pd.Timestamp(report.cutoff) > t_train.max()
    assert pd.to_datetime(ranking["event_time"]).min() >= t_val.min()
    # roughly 8:2 by positives
    n_pos_train, n_pos_val = (train.label == 1).sum(), (val.label == 1).sum()
    assert 0.1 < n_pos_val / (n_pos_train + n_pos_val) < 0.4


def test_each_positive_has_layer1_and_catalogue_negatives_from_its_own_request(world):
    _engine, folder, _ = world
    train, val, _ranking, _ = load_training_set(folder)
    cfg = TrainingDataConfig()
    for df in (train, val):
        groups = df.groupby("query_id")
        assert (groups["label"].sum() == 1).all()
        assert groups.size().max() <= 1 + cfg.negatives_per_positive + cfg.catalogue_negatives
        assert (groups["user_id"].nunique() == 1).all() and (groups["event_time"].nunique() == 1).all()
        assert (groups["request_time"].nunique() == 1).all()
        assert (groups["shop_id"].nunique() == groups.size()).all()  # the chosen shop is never its own negative
        assert (pd.to_datetime(df["request_time"]) <= pd.to_datetime(df["event_time"])).all()
    # most negatives come from Layer 1 (they carry a funnel flag); the rest from the whole catalogue
    neg = train[train.label == 0]
    flags = neg[[f"wide_feat_{i}" for i in (9, 10, 11, 12, 17)]].to_numpy()
    assert 0.6 < (flags.sum(axis=1) >= 1).mean() < 1.0
    # one negative per request is hard (same category as the chosen shop when Layer 1 has one): together
    # with the random ones that share the category, well above one in nine
    pos_cat = train[train.label == 1].set_index("query_id")["category"]
    assert (neg["category"].to_numpy() == pos_cat.loc[neg["query_id"]].to_numpy()).mean() > 0.15


def test_ranking_lists_hold_the_chosen_shop_among_layer1_candidates(world):
    _engine, folder, _ = world
    _train, _val, ranking, _ = load_training_set(folder)
    g = ranking.groupby("query_id")
    assert (g["label"].sum() >= 1).all()  # the chosen shop, and the user's other choices of the same window
    assert g.size().min() > 3
    assert (g["layer1_rank"].min() == 0).all()


def test_positive_features_never_see_their_own_event(world):
    engine, folder, _ = world
    train, _val, _r, _ = load_training_set(folder)
    first = train[train.label == 1].sort_values("event_time").iloc[-1]
    # replaying only events strictly before the request gives the shop order count stored in the row
    catalog = ShopCatalog.load(engine)
    state = InteractionState.load(engine, catalog, until=dt.datetime.fromisoformat(first["request_time"]))
    assert first["num_feat_8"] == pytest.approx(min(1.0, state.shop_orders.get(int(first["shop_id"]), 0) / 1000))


def test_simulated_requests_stay_consistent_with_the_choice():
    rng = np.random.default_rng(0)
    for _ in range(200):
        nlu = simulate_nlu(rng, category="분식", when=dt.datetime(2024, 5, 1, 18, 30), dish="떡볶이", price=4500,
                           paid_with_meal_card=True, shop_accepts_meal_card=False)
        f = nlu["filters"]
        assert f.get("category", "분식") == "분식" and f.get("menu", "떡볶이") == "떡볶이"
        assert f.get("budget_filter", 5000) >= 4500
        assert "payment_method" not in f  # the shop does not take the card
        assert f.get("time_of_day", "dinner") == "dinner"
        assert nlu["semantic_query"]


def test_events_load_the_same_on_both_backends(engine):
    generate_world(engine, seed=3, shops=20, users=30, days=7)
    events = load_events(engine)
    assert events and all(a.when <= b.when for a, b in zip(events, events[1:], strict=False))
    state = InteractionState.load(engine, ShopCatalog.load(engine))
    assert sum(state.shop_orders.values()) == sum(1 for e in events if e.kind == "order")
