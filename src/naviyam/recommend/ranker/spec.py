"""The Wide & Deep network's shape as data: its JSON config and the arrays of its state dict.

Torch-free, so a serving process can check a checkpoint and score it with
numpy (:mod:`naviyam.recommend.ranker.numpy_forward`) without importing
torch; the torch module itself is :class:`naviyam.recommend.ranker.model.WideDeepNet`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from naviyam.recommend.features import NUM_DIM, WIDE_DIM


@dataclass
class WideDeepConfig:
    n_users: int
    n_shops: int
    n_brands: int
    n_categories: int
    query_buckets: int
    wide_dim: int = WIDE_DIM
    num_dim: int = NUM_DIM
    user_dim: int = 64
    shop_dim: int = 64
    brand_dim: int = 16
    category_dim: int = 16
    query_dim: int = 128
    hidden: list[int] = field(default_factory=lambda: [128, 64, 32])
    dropout: float = 0.3

    @property
    def deep_input_dim(self) -> int:
        return (self.user_dim + self.shop_dim + self.brand_dim + self.category_dim + self.query_dim
                + self.num_dim)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> WideDeepConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def state_shapes(config: WideDeepConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every array in ``WideDeepNet(config).state_dict()``."""
    c = config
    shapes: dict[str, tuple[int, ...]] = {
        "user_emb.weight": (c.n_users, c.user_dim), "shop_emb.weight": (c.n_shops, c.shop_dim),
        "brand_emb.weight": (c.n_brands, c.brand_dim), "category_emb.weight": (c.n_categories, c.category_dim),
        "query_emb.weight": (c.query_buckets, c.query_dim), "wide.weight": (1, c.wide_dim), "wide.bias": (1,),
    }
    width = c.deep_input_dim
    for i, h in enumerate(c.hidden):  # deep = [Linear, ReLU, Dropout] per hidden layer
        shapes[f"deep.{3 * i}.weight"], shapes[f"deep.{3 * i}.bias"] = (h, width), (h,)
        width = h
    shapes["deep_out.weight"], shapes["deep_out.bias"] = (1, width), (1,)
    return shapes
