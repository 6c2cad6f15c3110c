"""What a build reads besides the events (the menus' dishes) and what it writes (the CSVs, the manifest)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from naviyam.db.models import ShopMenu
from naviyam.recommend.features import (
    FeatureRows,
)
from naviyam.recommend.ranker.trainer import MANIFEST_FILE, RANKING_FILE, TRAIN_FILE, VAL_FILE

log = logging.getLogger(__name__)


def dish_of_menus(engine: Engine) -> dict[int, tuple[str | None, int]]:
    with engine.connect() as conn:
        return {int(i): (d, int(p)) for i, d, p in conn.execute(select(ShopMenu.id, ShopMenu.dish, ShopMenu.price))}


class _Parts:
    """Feature rows and their metadata, accumulated per example and turned into one frame at the end."""

    def __init__(self) -> None:
        self.rows: list[FeatureRows] = []
        self.meta: dict[str, list[Any]] = {"label": [], "filters": [], "event_time": [], "request_time": [],
                                           "event_kind": [], "query_id": [], "layer1_rank": []}

    def add(self, rows: FeatureRows, ev, qid: int, labels: list[float], layer1_rank: list[int],
            filters: dict[str, Any], request_time: dt.datetime) -> None:
        n = len(rows)
        self.rows.append(rows)
        m = self.meta
        m["label"].extend(labels)
        m["filters"].extend([json.dumps(filters, ensure_ascii=False, sort_keys=True)] * n)
        m["event_time"].extend([ev.when.isoformat()] * n)
        m["request_time"].extend([request_time.isoformat()] * n)
        m["event_kind"].extend([ev.kind] * n)
        m["query_id"].extend([qid] * n)
        m["layer1_rank"].extend(layer1_rank)

    def frame(self) -> pd.DataFrame:
        rows = FeatureRows(
            user_id=np.concatenate([r.user_id for r in self.rows]),
            shop_id=np.concatenate([r.shop_id for r in self.rows]),
            brand_id=np.concatenate([r.brand_id for r in self.rows]),
            category=[c for r in self.rows for c in r.category],
            semantic_query=[q for r in self.rows for q in r.semantic_query],
            wide=np.concatenate([r.wide for r in self.rows]),
            numerical=np.concatenate([r.numerical for r in self.rows]),
        )
        df = rows.to_frame()
        df.insert(2, "label", np.asarray(self.meta["label"], dtype=np.float64))
        for key in ("filters", "event_time", "request_time", "event_kind", "query_id", "layer1_rank"):
            df[key] = self.meta[key]
        return df



def write_frames(out_dir: Path, parts: dict[str, _Parts]) -> tuple[int, int, int, int]:
    """The train, val and ranking CSVs; (train rows, val rows, ranking rows, ranking lists)."""
    if not parts["train"].rows or not parts["val"].rows:
        raise ValueError("too little data for a time split: no training or no validation examples")
    train = parts["train"].frame()
    val = parts["val"].frame()
    train.to_csv(out_dir / TRAIN_FILE, index=False)
    val.to_csv(out_dir / VAL_FILE, index=False)
    n_rank_rows = 0
    n_rank_lists = len(parts["ranking"].rows)
    if parts["ranking"].rows:
        ranking = parts["ranking"].frame()
        ranking.to_csv(out_dir / RANKING_FILE, index=False)
        n_rank_rows = len(ranking)
    elif (out_dir / RANKING_FILE).exists():
        (out_dir / RANKING_FILE).unlink()
    return len(train), len(val), n_rank_rows, n_rank_lists


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
