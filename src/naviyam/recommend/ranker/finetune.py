"""Incremental training: fine-tune a copy of a fitted ranker on new, weighted examples.

Warm start: the candidate begins with the production network's weights and
vocabularies. Users and shops first seen in the new data get their own
embedding rows, initialised from the shared "unknown" row (what the
production model used for them until now), so nothing already learned moves
at the start. A few epochs with a small learning rate follow (the seed's
incremental step: 2 epochs, lr 0.0005), on a weighted binary cross-entropy:

    loss = sum_i w_i * BCE(sigmoid(logit_i), y_i) / sum_i w_i

The production ranker object is never modified.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from naviyam.recommend.metrics import log_loss, roc_auc
from naviyam.recommend.ranker.dataset import Encoders, Vocab, slice_batch
from naviyam.recommend.ranker.model import WideDeepConfig, WideDeepNet
from naviyam.recommend.ranker.serving import WideDeepRanker
from naviyam.recommend.ranker.trainer import predict, training_math

log = logging.getLogger(__name__)

#: Column of a fine-tuning frame with the example weight (1.0 when absent).
WEIGHT_COLUMN = "weight"


@dataclass
class FineTuneConfig:
    epochs: int = 2
    lr: float = 5e-4
    batch_size: int = 64
    #: the wide part learns this many times faster, as in the full training
    wide_lr_multiplier: float = 5.0
    weight_decay: float = 1e-5
    #: give new users (with a positive) and new shops their own embedding rows
    grow_vocabularies: bool = True
    seed: int = 0
    num_threads: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FineTuneResult:
    ranker: WideDeepRanker
    epochs: list[dict[str, float]]
    new_users: int
    new_shops: int
    seconds: float


def _grown(vocab: Vocab, new_keys: list[Any]) -> Vocab:
    known = set(vocab.keys)
    return Vocab([*vocab.keys, *[k for k in new_keys if k not in known]])


def _grow_embedding(old: torch.Tensor, rows: int) -> torch.Tensor:
    """``old`` with rows appended, each a copy of row 0 (the unknown slot)."""
    if rows <= old.shape[0]:
        return old.clone()
    extra = old[0:1].repeat(rows - old.shape[0], 1)
    return torch.cat([old, extra], dim=0)


def warm_start(base: WideDeepRanker, train: pd.DataFrame, grow: bool = True) -> tuple[WideDeepNet, Encoders, int, int]:
    """A copy of ``base``'s network and encoders, grown for the ids new in ``train``."""
    enc = base.encoders_
    users, shops = enc.users, enc.shops
    if grow and len(train):
        pos = train[train["label"] > 0.5]
        new_u = sorted({int(u) for u in pos["user_id"]} - set(users.keys) - {-1})
        new_s = sorted({int(s) for s in train["shop_id"]} - set(shops.keys))
        users, shops = _grown(users, new_u), _grown(shops, new_s)
    enc2 = Encoders(users, shops, enc.brands, enc.categories, enc.query_buckets)
    cfg: WideDeepConfig = copy.deepcopy(base.net_.config)
    n_new_users, n_new_shops = len(users) - cfg.n_users, len(shops) - cfg.n_shops
    cfg.n_users, cfg.n_shops = len(users), len(shops)
    net = WideDeepNet(cfg)
    state = {k: v.detach().clone() for k, v in base.net_.state_dict().items()}
    state["user_emb.weight"] = _grow_embedding(state["user_emb.weight"], cfg.n_users)
    state["shop_emb.weight"] = _grow_embedding(state["shop_emb.weight"], cfg.n_shops)
    net.load_state_dict(state, strict=True)
    return net, enc2, n_new_users, n_new_shops


def fine_tune(base: WideDeepRanker, train: pd.DataFrame, config: FineTuneConfig | None = None,
              val: pd.DataFrame | None = None) -> FineTuneResult:
    """A new ranker: ``base`` warm-started and trained a few epochs on ``train`` (weighted rows)."""
    cfg = config or FineTuneConfig()
    t0 = time.perf_counter()
    with training_math(cfg.num_threads):
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        net, enc, new_users, new_shops = warm_start(base, train, cfg.grow_vocabularies)
        xb, yb = enc.encode_frame(train)
        wb = torch.tensor(train[WEIGHT_COLUMN].to_numpy(np.float32) if WEIGHT_COLUMN in train
                          else np.ones(len(train), dtype=np.float32))
        wide_ids = {id(p) for p in net.wide.parameters()}
        opt = torch.optim.Adam([
            {"params": list(net.wide.parameters()), "lr": cfg.lr * cfg.wide_lr_multiplier, "weight_decay": 0.0},
            {"params": [p for p in net.parameters() if id(p) not in wide_ids], "lr": cfg.lr,
             "weight_decay": cfg.weight_decay},
        ])
        loss_fn = nn.BCEWithLogitsLoss(reduction="none")
        n = len(yb)
        history: list[dict[str, float]] = []
        for epoch in range(1, cfg.epochs + 1):
            net.train()
            perm = torch.from_numpy(rng.permutation(n))
            total, weight_sum = 0.0, 0.0
            for start in range(0, n, cfg.batch_size):
                idx = perm[start:start + cfg.batch_size]
                w = wb[idx]
                opt.zero_grad(set_to_none=True)
                loss = (loss_fn(net(slice_batch(xb, idx)), yb[idx]) * w).sum() / w.sum().clamp_min(1e-9)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * float(w.sum())
                weight_sum += float(w.sum())
            row: dict[str, float] = {"epoch": float(epoch), "train_loss": total / max(weight_sum, 1e-9)}
            if val is not None and len(val):
                xv, yv = enc.encode_frame(val)
                pv = predict(net, xv)
                row["val_auc"], row["val_logloss"] = roc_auc(yv.numpy(), pv), log_loss(yv.numpy(), pv)
            history.append(row)
            log.info("fine-tune epoch %d: %s", epoch, {k: round(v, 4) for k, v in row.items()})
        net.eval()
    ranker = WideDeepRanker(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, patience=base.patience,
                            seed=cfg.seed, hidden=base.hidden, dropout=base.dropout,
                            min_user_positives=base.min_user_positives, query_buckets=base.query_buckets)
    last = history[-1] if history else {}
    metrics = {"fine_tune_loss": last.get("train_loss", math.nan), "n_fine_tune": float(n),
               "new_users": float(new_users), "new_shops": float(new_shops)}
    ranker._set_learned(net, enc, metrics)
    return FineTuneResult(ranker, history, new_users, new_shops, time.perf_counter() - t0)
