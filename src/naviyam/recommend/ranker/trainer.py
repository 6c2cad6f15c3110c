"""The training loop: mini-batch Adam on BCE, validation every epoch, early stopping, best weights kept.

:func:`fit_wide_deep` is pure in-memory training (frames in, fitted network
out); :func:`train_and_register` reads a training-set folder, trains,
saves the best checkpoint into a registry allocation with its training
curves, and registers it as a new ``ranker`` version.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from naviyam.recommend.features import WIDE_NAMES, FeatureRows
from naviyam.recommend.metrics import log_loss, ranking_metrics, roc_auc
from naviyam.recommend.ranker.dataset import Encoders, slice_batch
from naviyam.recommend.ranker.model import WideDeepConfig, WideDeepNet

log = logging.getLogger(__name__)

#: Files of a training-set folder written by ``naviyam train data``.
TRAIN_FILE = "recommendation_train.csv"
VAL_FILE = "recommendation_val.csv"
RANKING_FILE = "recommendation_val_ranking.csv"
MANIFEST_FILE = "manifest.json"

#: Steps tried for the Layer 1 blend (added to the logit per unit of Layer 1's merged score, which is 1 for its
#: first candidate and falls with the rank); 0 keeps the network as trained, the last is ~Layer 1's order.
LAYER1_BLEND_GRID = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 20.0, 50.0)


@dataclass
class RankerTrainConfig:
    epochs: int = 10
    #: measured on MovieLens-100k and the sample world: 256 rows at 3e-3 beat 32 at 1e-3 and run ~8x faster
    batch_size: int = 256
    lr: float = 3e-3
    #: the wide (linear) part learns this many times faster: the paper trains it with its own optimiser
    #: (FTRL), and a few large weights on the cross features must grow before the deep part overfits
    wide_lr_multiplier: float = 10.0
    #: L2 on the deep part (embeddings and MLP); the wide part is not decayed
    weight_decay: float = 1e-5
    #: epochs without improvement of the monitored metric before stopping
    patience: int = 3
    #: "auc" (validation AUC, higher is better), "logloss" (lower is better) or "ndcg" (NDCG@10 of the
    #: held-out ranking lists when the training set has them, else AUC)
    monitor: str = "ndcg"
    #: "bce": each row on its own (pointwise); "softmax": each request's positive against the negatives
    #: drawn for it (sampled softmax over the request's rows, listwise), which ranks rather than classifies
    loss: str = "bce"
    #: L2 on the id embeddings (user, shop, brand, category, query) of each batch: sum of squares / batch
    embedding_l2: float = 1e-3
    seed: int = 0
    hidden: list[int] = field(default_factory=lambda: [128, 64, 32])
    dropout: float = 0.3
    min_user_positives: int = 2
    query_buckets: int = 8192
    #: torch intra-op threads while training; 1 is fastest for this small model and robust on a busy machine
    num_threads: int = 1
    #: after training, the wide weight of Layer 1's merged score is raised by the step of this grid that gives
    #: the best NDCG@10 on the held-out ranking lists (:func:`fit_layer1_blend`); empty = no blend
    layer1_blend_grid: list[float] = field(default_factory=lambda: list(LAYER1_BLEND_GRID))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EpochStats:
    epoch: int
    train_loss: float
    val_loss: float
    val_auc: float
    ranking: dict[str, float]
    seconds: float


@dataclass
class TrainResult:
    net: WideDeepNet
    encoders: Encoders
    history: list[EpochStats]
    best_epoch: int
    metrics: dict[str, float]
    seconds: float


def predict(net: WideDeepNet, batch: dict[str, torch.Tensor], chunk: int = 8192) -> np.ndarray:
    """Probabilities for a whole encoded batch (eval mode, in chunks)."""
    n = len(batch["wide"])
    out = np.empty(n, dtype=np.float32)
    was = net.training
    net.eval()
    with torch.no_grad():
        for start in range(0, n, chunk):
            idx = torch.arange(start, min(n, start + chunk))
            out[start:start + len(idx)] = torch.sigmoid(net(slice_batch(batch, idx))).numpy()
    net.train(was)
    return out


def ranking_lists(df: pd.DataFrame, scores: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(labels, scores) per ``query_id`` of a ranking frame."""
    labels = df["label"].to_numpy(np.float64)
    out = []
    for idx in df.groupby("query_id", sort=False).indices.values():
        out.append((labels[idx], np.asarray(scores)[idx]))
    return out


def baseline_scores(df: pd.DataFrame, method: str) -> np.ndarray:
    """Scores of the reference orders on a ranking frame: ``layer1`` (merge order) or ``popularity``."""
    if method == "layer1":
        return -df["layer1_rank"].to_numpy(np.float64)
    if method == "popularity":
        # shop order count as of the request (num_feat_8), Layer 1 order breaking ties
        return df["num_feat_8"].to_numpy(np.float64) - 1e-6 * df["layer1_rank"].to_numpy(np.float64)
    raise ValueError(f"unknown baseline {method!r}")


def fit_wide_deep(
    train: pd.DataFrame,
    val: pd.DataFrame,
    ranking: pd.DataFrame | None = None,
    config: RankerTrainConfig | None = None,
    *,
    categories: list[str] | None = None,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> TrainResult:
    """Train on ``train``, validate on ``val`` every epoch, keep the best weights (by ``config.monitor``)."""
    cfg = config or RankerTrainConfig()
    with training_math(cfg.num_threads):
        return _fit(train, val, ranking, cfg, categories, on_epoch)


@contextmanager
def training_math(num_threads: int) -> Iterator[None]:
    """torch as a ranker trains (the first training and the nightly fine-tune): ``num_threads`` intra-op threads and
    subnormal floats flushed to zero; both restored after.

    Adam's moment estimates of rarely-seen embedding rows decay into subnormal floats after a few epochs, and every
    operation on a subnormal takes a slow microcode path: epochs 4-6 took 3-7 times as long as the first three.
    Flushed to zero, they cost the same as any other number (the same metrics to four decimals).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, num_threads))
    flushed = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        if flushed:
            torch.set_flush_denormal(False)


def _fit(train, val, ranking, cfg: RankerTrainConfig, categories, on_epoch) -> TrainResult:
    """Train on ``train``, keep the epoch best on ``val`` (and ``ranking``), then fit the Layer 1 blend."""
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    enc = Encoders.fit(train, min_user_positives=cfg.min_user_positives, categories=categories or [],
                       query_buckets=cfg.query_buckets)
    net = WideDeepNet(WideDeepConfig(
        n_users=len(enc.users), n_shops=len(enc.shops), n_brands=len(enc.brands),
        n_categories=len(enc.categories), query_buckets=enc.query_buckets,
        hidden=list(cfg.hidden), dropout=cfg.dropout,
    ))
    xb, yb = enc.encode_frame(train)
    xv, yv = enc.encode_frame(val)
    xr = enc.encode(FeatureRows.from_frame(ranking)) if ranking is not None and len(ranking) else None
    opt = _optimizer(net, cfg)
    loss_fn = nn.BCEWithLogitsLoss()
    n = len(yb)
    groups = _groups(train) if cfg.loss == "softmax" else None
    history: list[EpochStats] = []
    best_state, best_value, best_epoch, bad = None, -math.inf, 0, 0
    for epoch in range(1, cfg.epochs + 1):
        e0 = time.perf_counter()
        net.train()
        if groups is not None:
            total = _softmax_epoch(net, opt, xb, groups, cfg, rng) * n
        else:
            total = _pointwise_epoch(net, opt, loss_fn, xb, yb, cfg, rng)
        pv = predict(net, xv)
        stats = EpochStats(
            epoch=epoch, train_loss=total / max(n, 1), val_loss=log_loss(yv.numpy(), pv),
            val_auc=roc_auc(yv.numpy(), pv),
            ranking=ranking_metrics(ranking_lists(ranking, predict(net, xr))) if xr is not None else {},
            seconds=time.perf_counter() - e0,
        )
        history.append(stats)
        log.debug("epoch %d: train loss %.4f, val loss %.4f, val AUC %.4f, NDCG@10 %s (%.1fs)", epoch,
                 stats.train_loss, stats.val_loss, stats.val_auc,
                 f"{stats.ranking.get('ndcg@10', float('nan')):.4f}", stats.seconds)
        if on_epoch:
            on_epoch(stats)
        value = _monitored(stats, cfg)
        if best_state is None or value > best_value:
            best_state, best_value, best_epoch, bad = copy.deepcopy(net.state_dict()), value, epoch, 0
        else:
            bad += 1
            if bad >= cfg.patience:
                log.info("early stopping after epoch %d (best %d)", epoch, best_epoch)
                break
    assert best_state is not None
    net.load_state_dict(best_state)
    net.eval()
    blend = fit_layer1_blend(net, xr, ranking, cfg.layer1_blend_grid) if xr is not None else None
    metrics = _fit_metrics(train, val, ranking, history, best_epoch, blend)
    seconds = time.perf_counter() - t0
    metrics["train_seconds"] = seconds
    return TrainResult(net, enc, history, best_epoch, metrics, seconds)


def _optimizer(net: WideDeepNet, cfg: RankerTrainConfig) -> torch.optim.Optimizer:
    """Adam with the wide part at its own learning rate and without weight decay."""
    wide_params = list(net.wide.parameters())
    wide_ids = {id(p) for p in wide_params}
    deep_params = [p for p in net.parameters() if id(p) not in wide_ids]
    return torch.optim.Adam([
        {"params": wide_params, "lr": cfg.lr * cfg.wide_lr_multiplier, "weight_decay": 0.0},
        {"params": deep_params, "lr": cfg.lr, "weight_decay": cfg.weight_decay},
    ])


def _pointwise_epoch(net: WideDeepNet, opt, loss_fn, xb, yb, cfg: RankerTrainConfig, rng: np.random.Generator) -> float:
    """One epoch of shuffled mini-batches with the logistic loss; the summed loss over the rows."""
    n = len(yb)
    total = 0.0
    perm = torch.from_numpy(rng.permutation(n))
    for start in range(0, n, cfg.batch_size):
        idx = perm[start:start + cfg.batch_size]
        opt.zero_grad(set_to_none=True)
        batch = slice_batch(xb, idx)
        loss = loss_fn(net(batch), yb[idx]) + _embedding_penalty(net, batch, cfg.embedding_l2)
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(idx)
    return total


def _monitored(stats: EpochStats, cfg: RankerTrainConfig) -> float:
    """The value early stopping maximises: NDCG@10 of the ranking lists, minus the log loss, or the AUC."""
    if cfg.monitor == "ndcg" and "ndcg@10" in stats.ranking:
        value = stats.ranking["ndcg@10"]
    else:
        sign = -1.0 if cfg.monitor == "logloss" else 1.0
        value = sign * (stats.val_loss if cfg.monitor == "logloss" else stats.val_auc)
    return -math.inf if math.isnan(value) else value


def _fit_metrics(train, val, ranking, history: list[EpochStats], best_epoch: int, blend) -> dict[str, float]:
    """The best epoch's metrics, the blend's, and the Layer 1 and popularity orders' on the same lists."""
    best = history[best_epoch - 1]
    metrics: dict[str, float] = {"val_auc": best.val_auc, "val_logloss": best.val_loss,
                                 "train_loss": best.train_loss, "best_epoch": float(best_epoch),
                                 "epochs_run": float(len(history)),
                                 "n_train": float(len(train)), "n_val": float(len(val))}
    for key, value in best.ranking.items():
        metrics[f"val_{key}"] = value
    if blend is not None:
        metrics["layer1_blend"] = blend.step
        metrics["val_ndcg@10_before_blend"] = blend.ndcg_before
        for key, value in blend.ranking.items():
            metrics[f"val_{key}"] = value
    if ranking is not None and len(ranking):
        for method in ("layer1", "popularity"):
            base = ranking_metrics(ranking_lists(ranking, baseline_scores(ranking, method)))
            for key in ("ndcg@5", "ndcg@10", "hit_rate@5", "hit_rate@10", "mrr"):
                metrics[f"{method}_{key}"] = base[key]
    return metrics


@dataclass
class LayerOneBlend:
    step: float
    ndcg_before: float
    #: ranking metrics of the held-out lists with the chosen step
    ranking: dict[str, float]
    #: NDCG@10 per step tried
    tried: dict[float, float]


def fit_layer1_blend(net: WideDeepNet, xr: dict[str, torch.Tensor], ranking: pd.DataFrame,
                     grid: list[float] | tuple[float, ...]) -> LayerOneBlend | None:
    """Raise the wide weight of Layer 1's merged score by the grid step with the best held-out NDCG@10.

    The network is trained pointwise (each row on its own, with negatives from
    the whole catalogue as well as from Layer 1's list), so the weight it gives
    Layer 1's merged score is fitted to tell chosen from not chosen shops
    anywhere in the catalogue, not to order one request's candidate list. The
    list order is what is served: this one extra parameter is fitted on the
    held-out ranking lists (the last 20 % of the time line, ranked as served),
    so that the served order starts from Layer 1's and keeps what the network
    adds only where it helps on the operator's own data. Step 0 (the network
    as trained) wins ties. Changes ``net`` in place; None when there is nothing
    to fit on.
    """
    if not grid or ranking is None or not len(ranking):
        return None
    slot = WIDE_NAMES.index("layer1_score")
    was = net.training
    net.eval()
    with torch.no_grad():
        logits = torch.cat([net(slice_batch(xr, torch.arange(s, min(len(ranking), s + 8192))))
                            for s in range(0, len(ranking), 8192)]).double().numpy()
    net.train(was)
    l1 = xr["wide"][:, slot].double().numpy()
    tried: dict[float, float] = {}
    results: dict[float, dict[str, float]] = {}
    for step in sorted(set(float(g) for g in grid) | {0.0}):
        rm = ranking_metrics(ranking_lists(ranking, logits + step * l1))
        tried[step], results[step] = rm["ndcg@10"], rm
    best = max(tried, key=lambda st: (tried[st], -st))
    if best:
        with torch.no_grad():
            net.wide.weight[0, slot] += best
    log.info("Layer 1 blend: step %.2f (held-out NDCG@10 %.4f → %.4f)", best, tried[0.0], tried[best])
    return LayerOneBlend(best, tried[0.0], results[best], tried)


def _groups(df: pd.DataFrame) -> np.ndarray:
    """(requests, width) row indices, the request's positive first, -1 padding; requests without one dropped."""
    labels = df["label"].to_numpy(np.float64)
    out = []
    for idx in df.groupby("query_id", sort=True).indices.values():
        pos = idx[labels[idx] > 0.5]
        if len(pos) == 1 and len(idx) > 1:
            out.append([int(pos[0]), *(int(i) for i in idx if labels[i] <= 0.5)])
    width = max((len(g) for g in out), default=1)
    arr = np.full((len(out), width), -1, dtype=np.int64)
    for i, g in enumerate(out):
        arr[i, :len(g)] = g
    return arr


def _embedding_penalty(net: WideDeepNet, batch: dict[str, torch.Tensor], l2: float) -> torch.Tensor:
    """l2 * mean over the batch of the squared norms of the id embeddings it looks up."""
    if l2 <= 0:
        return torch.zeros(())
    sq = (net.user_emb(batch["user"]).pow(2).sum(1) + net.shop_emb(batch["shop"]).pow(2).sum(1)
          + net.brand_emb(batch["brand"]).pow(2).sum(1) + net.category_emb(batch["category"]).pow(2).sum(1))
    return l2 * sq.mean()


def _softmax_epoch(net, opt, xb, groups: np.ndarray, cfg: RankerTrainConfig, rng: np.random.Generator) -> float:
    """One pass of sampled-softmax training over request groups; mean loss per request."""
    per_batch = max(1, cfg.batch_size // max(1, groups.shape[1]))
    order = rng.permutation(len(groups))
    total, count = 0.0, 0
    for start in range(0, len(order), per_batch):
        g = torch.from_numpy(groups[order[start:start + per_batch]])
        mask = g >= 0
        flat = g[mask]
        opt.zero_grad(set_to_none=True)
        batch = slice_batch(xb, flat)
        logits = torch.full(g.shape, -1e9)
        logits[mask] = net(batch)
        loss = (torch.logsumexp(logits, dim=1) - logits[:, 0]).mean() + _embedding_penalty(net, batch,
                                                                                           cfg.embedding_l2)
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(g)
        count += len(g)
    return total / max(1, count)


def plot_curves(history: list[EpochStats], path: Path, best_epoch: int | None = None) -> Path:
    """Training curves (loss, validation AUC and NDCG@10 per epoch) as a PNG; labels in English."""
    import matplotlib  # lazy: charts only; matplotlib takes about a second to import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: charts only; matplotlib takes about a second to import

    epochs = [h.epoch for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].plot(epochs, [h.train_loss for h in history], marker="o", label="train BCE")
    axes[0].plot(epochs, [h.val_loss for h in history], marker="o", label="validation BCE")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("log loss")
    axes[0].legend()
    axes[1].plot(epochs, [h.val_auc for h in history], marker="o", label="validation AUC")
    if history and "ndcg@10" in history[0].ranking:
        axes[1].plot(epochs, [h.ranking["ndcg@10"] for h in history], marker="s", label="held-out NDCG@10")
        axes[1].plot(epochs, [h.ranking["hit_rate@10"] for h in history], marker="^", label="held-out HitRate@10")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylim(0, 1)
    axes[1].legend()
    from matplotlib.ticker import MaxNLocator  # lazy: charts only; matplotlib takes about a second to import

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if best_epoch:
            ax.axvline(best_epoch, color="grey", linestyle=":", linewidth=1, label=None)
    fig.suptitle("Wide & Deep ranker training")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def load_training_set(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, dict[str, Any]]:
    """The frames and manifest that ``naviyam train data`` wrote into ``folder``."""
    folder = Path(folder)
    for name in (TRAIN_FILE, VAL_FILE):
        if not (folder / name).exists():
            raise FileNotFoundError(f"{folder / name} is missing; run `naviyam train data` first")
    train = pd.read_csv(folder / TRAIN_FILE)
    val = pd.read_csv(folder / VAL_FILE)
    ranking = pd.read_csv(folder / RANKING_FILE) if (folder / RANKING_FILE).exists() else None
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8")) \
        if (folder / MANIFEST_FILE).exists() else {}
    for df in (train, val, ranking):
        if df is not None:
            df["semantic_query"] = df["semantic_query"].astype(object).fillna("").astype(str)  # all-NaN reads as float64
            df["category"] = df["category"].astype(str)
    return train, val, ranking, manifest
