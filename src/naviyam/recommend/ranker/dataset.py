"""From feature rows to tensors: id vocabularies (with an unknown slot) and query token hashing.

Ids seen too rarely in training share index 0 ("unknown") with ids never
seen, so the unknown embedding is trained on rare users and shops and a new
user or shop at serving time gets a sensible vector (cold start). Query
tokens are hashed with CRC32 (stable across processes, unlike ``hash()``)
into a fixed number of buckets; index 0 is padding.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from naviyam.recommend.features import NUM_COLUMNS, WIDE_COLUMNS, FeatureRows

if TYPE_CHECKING:
    import torch

#: Query tokens kept per request (words first, then character bigrams).
MAX_QUERY_TOKENS = 24
DEFAULT_QUERY_BUCKETS = 8192


def query_tokens(text: str) -> list[str]:
    """Whitespace words plus the character bigrams of each longer word ("치킨집" → 치킨집, 치킨, 킨집)."""
    words = [w for w in (text or "").lower().split() if w]
    tokens = list(words)
    for w in words:
        if len(w) > 2:
            tokens.extend(w[i:i + 2] for i in range(len(w) - 1))
    return tokens[:MAX_QUERY_TOKENS]


@lru_cache(maxsize=65536)
def _hash_query(text: str, buckets: int) -> tuple[int, ...]:
    ids = [1 + zlib.crc32(t.encode("utf-8")) % (buckets - 1) for t in query_tokens(text)]
    return tuple(ids + [0] * (MAX_QUERY_TOKENS - len(ids)))


def hash_queries(texts: Sequence[str], buckets: int) -> np.ndarray:
    """(n, MAX_QUERY_TOKENS) int64 bucket ids, 0-padded (each distinct text hashed once: a request's rows share
    one query)."""
    slot: dict[str, int] = {}
    which = [slot.setdefault(t, len(slot)) for t in texts]
    table = np.array([_hash_query(t or "", buckets) for t in slot], dtype=np.int64).reshape(len(slot), MAX_QUERY_TOKENS)
    return table[np.array(which, dtype=np.int64)] if len(slot) > 1 else np.repeat(table, len(which), axis=0)


@dataclass
class Vocab:
    """Maps raw keys to 1..n; anything else → 0 (unknown)."""

    keys: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index = {k: i + 1 for i, k in enumerate(self.keys)}

    @classmethod
    def fit(cls, values: Iterable[Any], min_count: int = 1, exclude: Iterable[Any] = ()) -> Vocab:
        counts = Counter(values)
        skip = set(exclude)
        return cls(sorted(k for k, n in counts.items() if n >= min_count and k not in skip))

    def __len__(self) -> int:  # rows of the embedding table, unknown slot included
        return len(self.keys) + 1

    def encode(self, values: Iterable[Any]) -> np.ndarray:
        return np.fromiter(map(self._index.get, values, repeat(0)), dtype=np.int64)


@dataclass
class Encoders:
    """The fitted vocabularies and query hashing of one ranker; saved in its JSON config."""

    users: Vocab
    shops: Vocab
    brands: Vocab
    categories: Vocab
    query_buckets: int = DEFAULT_QUERY_BUCKETS

    @classmethod
    def fit(cls, train: pd.DataFrame, *, min_user_positives: int = 2, min_shop_rows: int = 1,
            categories: Iterable[str] = (), query_buckets: int = DEFAULT_QUERY_BUCKETS) -> Encoders:
        """Users with at least ``min_user_positives`` positives and shops seen in training get their own slot."""
        pos = train[train["label"] > 0.5]
        users = Vocab.fit(pos["user_id"].astype(int).tolist(), min_user_positives, exclude=(-1,))
        shops = Vocab.fit(train["shop_id"].astype(int).tolist(), min_shop_rows)
        brand_col = train["brand_id"] if "brand_id" in train else pd.Series([], dtype=int)
        brands = Vocab.fit(brand_col.fillna(-1).astype(int).tolist(), 1, exclude=(-1,))
        cats = Vocab(sorted(set(categories) | set(train["category"].astype(str))))
        return cls(users, shops, brands, cats, query_buckets)

    def to_json(self) -> dict[str, Any]:
        return {"users": self.users.keys, "shops": self.shops.keys, "brands": self.brands.keys,
                "categories": self.categories.keys, "query_buckets": self.query_buckets}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Encoders:
        return cls(Vocab([int(x) for x in d["users"]]), Vocab([int(x) for x in d["shops"]]),
                   Vocab([int(x) for x in d["brands"]]), Vocab([str(x) for x in d["categories"]]),
                   int(d["query_buckets"]))

    def encode_arrays(self, rows: FeatureRows) -> dict[str, np.ndarray]:
        """What the model takes, as numpy arrays: wide, numerical, user, shop, brand, category, query."""
        return {
            "wide": np.ascontiguousarray(rows.wide, dtype=np.float32),
            "numerical": np.ascontiguousarray(rows.numerical, dtype=np.float32),
            "user": self.users.encode(rows.user_id.tolist()),
            "shop": self.shops.encode(rows.shop_id.tolist()),
            "brand": self.brands.encode(rows.brand_id.tolist()),
            "category": self.categories.encode(rows.category),
            "query": hash_queries(rows.semantic_query, self.query_buckets),
        }

    def encode(self, rows: FeatureRows) -> dict[str, torch.Tensor]:
        """Tensors the model takes: wide, numerical, user, shop, brand, category, query."""
        import torch  # lazy: training only; a serving process scores with numpy (encode_arrays) and never loads torch

        return {k: torch.from_numpy(v) for k, v in self.encode_arrays(rows).items()}

    def encode_frame(self, df: pd.DataFrame) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Inputs and labels of a training CSV frame."""
        import torch  # lazy: training only (see encode)

        return self.encode(FeatureRows.from_frame(df)), torch.tensor(df["label"].to_numpy(np.float32))


def slice_batch(batch: dict[str, torch.Tensor], idx: torch.Tensor) -> dict[str, torch.Tensor]:
    return {k: v[idx] for k, v in batch.items()}


def required_columns() -> list[str]:
    return ["user_id", "shop_id", "label", *WIDE_COLUMNS, *NUM_COLUMNS, "category", "semantic_query"]
