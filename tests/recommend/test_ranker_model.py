"""The Wide & Deep ranker on synthetic data with a known answer: it learns, saves, reloads, refuses bad files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from naviyam.recommend.features import NUM_COLUMNS, WIDE_COLUMNS, WIDE_DIM, WIDE_NAMES, FeatureRows
from naviyam.recommend.ranker import RankerLoadError, WideDeepRanker
from naviyam.recommend.ranker.dataset import Encoders, hash_queries, query_tokens
from naviyam.recommend.ranker.model import WideDeepConfig, WideDeepNet
from naviyam.recommend.ranker.spec import state_shapes
from naviyam.recommend.ranker.trainer import RankerTrainConfig, fit_wide_deep
from naviyam.recommend.ranker.weights import UnsupportedCheckpoint, read_state_dict

CATS = ["한식", "분식", "치킨", "카페"]


def synthetic(n: int, seed: int, t0: int = 0) -> pd.DataFrame:
    """Label = the user's hidden favourite category, helped by a noisy wide signal."""
    rng = np.random.default_rng(seed)
    users = rng.integers(1, 40, n)
    shops = rng.integers(1, 60, n)
    shop_cat = np.array([CATS[s % 4] for s in shops])
    fav = np.array([CATS[u % 4] for u in users])
    label = (shop_cat == fav).astype(float)
    df = pd.DataFrame({"user_id": users, "shop_id": shops, "label": label,
                       "brand_id": np.where(shops % 3 == 0, shops % 5, -1),
                       "category": shop_cat, "semantic_query": np.where(label > 0, "맛있는 " + fav, "아무거나")})
    for c in WIDE_COLUMNS:
        df[c] = 0.0
    df["wide_feat_0"] = np.clip(label * 0.6 + rng.normal(0.2, 0.2, n), 0, 1)
    for c in NUM_COLUMNS:
        df[c] = rng.random(n)
    df["event_time"] = t0 + np.arange(n)
    return df


def small_config(**kw) -> RankerTrainConfig:
    base = dict(epochs=6, batch_size=64, lr=3e-3, patience=3, hidden=[32, 16], query_buckets=512)
    base.update(kw)
    return RankerTrainConfig(**base)


def test_query_tokens_include_words_and_bigrams():
    assert query_tokens("매운 치킨집") == ["매운", "치킨집", "치킨", "킨집"]
    ids = hash_queries(["매운 치킨집", ""], 512)
    assert ids.shape[0] == 2 and (ids[1] == 0).all() and (ids[0, :4] > 0).all()
    assert (hash_queries(["매운 치킨집"], 512) == ids[:1]).all()  # stable


def test_unknown_ids_map_to_the_shared_slot():
    train = synthetic(200, 0)
    enc = Encoders.fit(train, min_user_positives=1)
    assert enc.users.encode([10_000])[0] == 0 and enc.shops.encode([10_000])[0] == 0
    assert enc.users.encode([int(train.user_id[train.label > 0].iloc[0])])[0] > 0


def test_deep_input_width_follows_the_concatenated_embeddings():
    cfg = WideDeepConfig(n_users=5, n_shops=5, n_brands=2, n_categories=3, query_buckets=64)
    assert cfg.deep_input_dim == 64 + 64 + 16 + 16 + 128 + 10
    net = WideDeepNet(cfg)
    assert net.deep[0].in_features == cfg.deep_input_dim
    assert [m.out_features for m in net.deep if isinstance(m, torch.nn.Linear)] == [128, 64, 32]
    assert any(isinstance(m, torch.nn.Dropout) and m.p == 0.3 for m in net.deep)


def test_training_reduces_loss_and_separates_a_separable_set():
    train, val = synthetic(3000, 1), synthetic(800, 2)
    result = fit_wide_deep(train, val, config=small_config())
    losses = [h.train_loss for h in result.history]
    assert losses[-1] < losses[0]
    assert result.metrics["val_auc"] > 0.9
    # better than the untrained network
    untrained = fit_wide_deep(train, val, config=small_config(epochs=1, lr=1e-9))
    assert result.metrics["val_auc"] > untrained.metrics["val_auc"] + 0.1


def test_early_stopping_keeps_the_best_epoch():
    train, val = synthetic(600, 3), synthetic(300, 4)
    result = fit_wide_deep(train, val, config=small_config(epochs=30, patience=2, lr=2e-2))
    aucs = [h.val_auc for h in result.history]
    assert result.best_epoch == int(np.argmax(aucs)) + 1
    assert len(result.history) <= 30
    assert result.metrics["val_auc"] == pytest.approx(max(aucs))


def test_numpy_serving_forward_equals_the_torch_network():
    train, val = synthetic(600, 7), synthetic(200, 8)
    val.loc[val.index[:5], "semantic_query"] = ""  # a query of padding only: the mean bag is zeros
    ranker = WideDeepRanker(epochs=1, batch_size=64, hidden=(32, 16), query_buckets=512).fit(train, val)
    rows = FeatureRows.from_frame(val)
    np.testing.assert_allclose(ranker.score_rows(rows), ranker.score_rows_torch(rows), rtol=1e-5, atol=1e-6)
    with torch.no_grad():  # weights changed in place (as the Layer 1 blend does) are seen by the next call
        ranker.net_.wide.weight[0, 0] += 1.5
    np.testing.assert_allclose(ranker.score_rows(rows), ranker.score_rows_torch(rows), rtol=1e-5, atol=1e-6)


def test_one_requests_query_bag_is_computed_once_and_equals_the_bag_of_each_row():
    """Serving scores one query's candidates at once: the mean bag of the query is computed once and repeated,
    exactly the values each row gets among rows of other queries."""
    train, val = synthetic(600, 7), synthetic(200, 8)
    ranker = WideDeepRanker(epochs=1, batch_size=64, hidden=(32, 16), query_buckets=512).fit(train, val)
    fwd = ranker._forward()
    other = hash_queries(["짜장면 맛집"], 512)
    for query in ["떡볶이 먹고 싶어", "급식카드 되는 분식집 추천해줘", ""]:
        ids = hash_queries([query] * 40, 512)
        once = fwd._query_mean(ids)
        each = fwd._query_mean(np.vstack([ids, other]))[:40]  # mixed rows: the bag of every row
        assert np.array_equal(once, each)
    rows = FeatureRows.from_frame(val.assign(semantic_query="떡볶이 먹고 싶어"))
    np.testing.assert_allclose(ranker.score_rows(rows), ranker.score_rows_torch(rows), rtol=1e-5, atol=1e-6)


def test_hashed_queries_are_one_row_per_text():
    texts = ["떡볶이 먹고 싶어", "", "떡볶이 먹고 싶어", "짜장면"]
    out = hash_queries(texts, 512)
    assert out.dtype == np.int64 and out.shape[0] == 4
    assert np.array_equal(out[0], out[2]) and not out[1].any() and not np.array_equal(out[0], out[3])
    assert hash_queries([], 512).shape == (0, out.shape[1])


def test_save_and_load_round_trip_gives_identical_scores(tmp_path):
    train, val = synthetic(800, 5), synthetic(200, 6)
    ranker = WideDeepRanker(epochs=2, batch_size=64, hidden=(32, 16), query_buckets=512).fit(train, val)
    rows = FeatureRows.from_frame(val)
    before = ranker.score_rows(rows)
    ranker.save(tmp_path / "v1")
    loaded = WideDeepRanker.load(tmp_path / "v1")
    np.testing.assert_array_equal(before, loaded.score_rows(rows))
    cfg = json.loads((tmp_path / "v1" / "ranker.json").read_text(encoding="utf-8"))
    assert cfg["wide_dim"] == WIDE_DIM and "weights_sha256" in cfg


def test_a_corrupt_or_mismatched_checkpoint_is_refused(tmp_path):
    train, val = synthetic(400, 7), synthetic(100, 8)
    ranker = WideDeepRanker(epochs=1, batch_size=64, hidden=(16,), query_buckets=256).fit(train, val)
    folder = ranker.save(tmp_path / "v1")
    weights = folder / "weights.pt"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(RankerLoadError, match="checksum"):
        WideDeepRanker.load(folder)

    folder2 = ranker.save(tmp_path / "v2")
    cfg = json.loads((folder2 / "ranker.json").read_text(encoding="utf-8"))
    cfg["feature_version"] = 999
    (folder2 / "ranker.json").write_text(json.dumps(cfg), encoding="utf-8")
    with pytest.raises(RankerLoadError, match="features"):
        WideDeepRanker.load(folder2)

    with pytest.raises(RankerLoadError, match="missing"):
        WideDeepRanker.load(tmp_path / "nothing")


def _ranking_lists_frame(seed: int, lists: int = 60, width: int = 12, layer1_knows: bool = True) -> pd.DataFrame:
    """Request lists of one positive each; Layer 1's merged score ranks it first when ``layer1_knows``."""
    rng = np.random.default_rng(seed)
    frames = []
    for q in range(lists):
        df = synthetic(width, seed * 1000 + q)
        df["label"] = 0.0
        pos = int(rng.integers(width))
        df.loc[pos, "label"] = 1.0
        l1_rank = rng.permutation(width)
        if layer1_knows:  # the positive is Layer 1's first candidate
            l1_rank[l1_rank == 0] = l1_rank[pos]
            l1_rank[pos] = 0
        df["layer1_rank"] = l1_rank
        df[f"wide_feat_{WIDE_NAMES.index('layer1_score')}"] = 1.0 / (1.0 + l1_rank)
        df["query_id"] = q
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def test_layer1_blend_takes_layer1_order_where_it_is_better_and_is_served(tmp_path):
    from naviyam.recommend.ranker.trainer import fit_layer1_blend, predict

    train, val = synthetic(800, 11), synthetic(200, 12)
    ranking = _ranking_lists_frame(13, layer1_knows=True)
    result = fit_wide_deep(train, val, ranking, config=small_config(epochs=2, layer1_blend_grid=[]))
    assert "layer1_blend" not in result.metrics
    enc, net = result.encoders, result.net
    xr = enc.encode(FeatureRows.from_frame(ranking))
    slot = WIDE_NAMES.index("layer1_score")
    weight_before = float(net.wide.weight[0, slot].detach())
    blend = fit_layer1_blend(net, xr, ranking, [0.0, 1.0, 50.0])
    assert blend.step == 50.0  # Layer 1 ranks every positive first here; the network does not
    assert blend.ranking["ndcg@10"] == pytest.approx(1.0)
    assert blend.ranking["ndcg@10"] > blend.ndcg_before
    # the step lives in the network's wide weight, so every scorer (engine, gate, eval) serves the blend
    assert float(net.wide.weight[0, slot].detach()) == pytest.approx(weight_before + 50.0)
    ranker = WideDeepRanker.from_training(result, small_config())
    ranker.save(tmp_path / "v1")
    scores = WideDeepRanker.load(tmp_path / "v1").score_rows(FeatureRows.from_frame(ranking))
    np.testing.assert_allclose(scores, predict(net, xr), rtol=1e-6)


def test_layer1_blend_keeps_the_network_when_layer1_order_is_noise():
    from naviyam.recommend.ranker.trainer import fit_layer1_blend

    train, val = synthetic(3000, 1), synthetic(800, 2)
    ranking = synthetic(600, 14)
    ranking["query_id"] = np.arange(600) // 12
    ranking["layer1_rank"] = np.random.default_rng(15).permutation(600) % 12  # unrelated to the label
    ranking[f"wide_feat_{WIDE_NAMES.index('layer1_score')}"] = 1.0 / (1.0 + ranking["layer1_rank"])
    result = fit_wide_deep(train, val, ranking, config=small_config())
    assert result.metrics["layer1_blend"] <= 1.0
    assert result.metrics["val_ndcg@10"] >= result.metrics["val_ndcg@10_before_blend"]
    assert result.metrics["val_ndcg@10"] > result.metrics["layer1_ndcg@10"]
    assert fit_layer1_blend(result.net, {}, None, [0.0, 1.0]) is None


# --------------------------------------------------------------------------- serving without torch


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    train, val = synthetic(600, 21), synthetic(200, 22)
    ranker = WideDeepRanker(epochs=1, batch_size=64, hidden=(32, 16), query_buckets=512).fit(train, val)
    folder = ranker.save(tmp_path_factory.mktemp("ranker") / "v1")
    return ranker, folder, FeatureRows.from_frame(val)


def test_the_reader_gives_exactly_the_arrays_torch_loads(tmp_path):
    torch.manual_seed(3)
    net = WideDeepNet(WideDeepConfig(n_users=7, n_shops=9, n_brands=3, n_categories=4, query_buckets=32,
                                     hidden=[8, 4]))
    state = dict(net.state_dict())
    state["a_view"] = torch.arange(24, dtype=torch.float32).reshape(4, 6).t()[1:]  # strided, offset storage
    state["counts"] = torch.arange(5, dtype=torch.int64)
    torch.save(state, tmp_path / "w.pt")
    read = read_state_dict(tmp_path / "w.pt")
    by_torch = torch.load(tmp_path / "w.pt", weights_only=True)
    assert set(read) == set(by_torch)
    for name, tensor in by_torch.items():
        assert read[name].dtype == tensor.numpy().dtype, name
        np.testing.assert_array_equal(read[name], tensor.numpy(), err_msg=name)
    assert {k: v.shape for k, v in read.items() if k in net.state_dict()} == state_shapes(net.config)


def test_the_reader_refuses_a_pickle_that_names_anything_else(tmp_path):
    torch.save({"w": torch.zeros(2), "extra": {"not": "a tensor"}}, tmp_path / "w.pt")
    with pytest.raises(UnsupportedCheckpoint):
        read_state_dict(tmp_path / "w.pt")
    torch.save({"w": torch.zeros(2)}, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(UnsupportedCheckpoint):
        read_state_dict(tmp_path / "old.pt")


def test_a_loaded_ranker_scores_with_numpy_and_builds_the_torch_network_only_when_asked(saved):
    trained, folder, rows = saved
    loaded = WideDeepRanker.load(folder)
    scores = loaded.score_rows(rows)
    assert loaded.__dict__.get("_net") is None  # served without the torch network
    np.testing.assert_array_equal(scores, trained.score_rows(rows))
    np.testing.assert_allclose(loaded.score_rows_torch(rows), scores, rtol=1e-5, atol=1e-6)  # builds net_
    np.testing.assert_array_equal(loaded.wide_weights(), trained.net_.wide.weight.detach().numpy()[0])
    with torch.no_grad():  # the built network is the one that scores from then on
        loaded.net_.wide.weight[0, 0] += 1.5
    np.testing.assert_allclose(loaded.score_rows(rows), loaded.score_rows_torch(rows), rtol=1e-5, atol=1e-6)


def test_weights_that_do_not_fit_the_config_are_refused(saved, tmp_path):
    _trained, folder, _rows = saved
    cfg = json.loads((folder / "ranker.json").read_text(encoding="utf-8"))
    cfg["model"]["hidden"] = [32, 8]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "weights.pt").write_bytes((folder / "weights.pt").read_bytes())
    (bad / "ranker.json").write_text(json.dumps(cfg), encoding="utf-8")
    with pytest.raises(RankerLoadError, match="deep.3.weight"):
        WideDeepRanker.load(bad)


def test_the_server_and_a_loaded_ranker_never_import_torch(saved):
    _trained, folder, _rows = saved
    code = ("import sys; import naviyam.api.app; from naviyam.recommend.ranker import WideDeepRanker; "
            "from naviyam.core.threads import limit_math_threads; limit_math_threads(1); "
            f"r = WideDeepRanker.load({str(folder)!r}); r.wide_weights(); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "False"
