"""The Wide & Deep network (its JSON config, :class:`WideDeepConfig`, lives in :mod:`.spec`).

wide:  Linear(50 → 1) over the wide cross/compatibility vector.
deep:  [user 64 | shop 64 | brand 16 | category 16 | query 128 (EmbeddingBag, mean) | 10 numerical]
       → 298 → 128 → 64 → 32 (ReLU, dropout 0.3) → Linear(32 → 1).
output: sigmoid(wide + deep). The seed's 144-wide input was user + shop + category
(64 + 64 + 16); the input width here follows from what is concatenated.

``forward`` returns the logit (trained with ``BCEWithLogitsLoss``, the
numerically stable form of sigmoid + BCE); :meth:`WideDeepNet.predict_proba`
applies the sigmoid.
"""

from __future__ import annotations

import torch
from torch import nn

from naviyam.recommend.ranker.spec import WideDeepConfig

__all__ = ["WideDeepConfig", "WideDeepNet"]


class WideDeepNet(nn.Module):
    def __init__(self, config: WideDeepConfig):
        super().__init__()
        self.config = config
        c = config
        self.user_emb = nn.Embedding(c.n_users, c.user_dim)
        self.shop_emb = nn.Embedding(c.n_shops, c.shop_dim)
        self.brand_emb = nn.Embedding(c.n_brands, c.brand_dim)
        self.category_emb = nn.Embedding(c.n_categories, c.category_dim)
        self.query_emb = nn.EmbeddingBag(c.query_buckets, c.query_dim, mode="mean", padding_idx=0)
        self.wide = nn.Linear(c.wide_dim, 1)
        layers: list[nn.Module] = []
        width = c.deep_input_dim
        for h in c.hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(c.dropout)]
            width = h
        self.deep = nn.Sequential(*layers)
        self.deep_out = nn.Linear(width, 1)
        for emb in (self.user_emb, self.shop_emb, self.brand_emb, self.category_emb, self.query_emb):
            nn.init.normal_(emb.weight, std=0.05)
        with torch.no_grad():
            self.query_emb.weight[0].zero_()

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        deep_in = torch.cat([
            self.user_emb(batch["user"]),
            self.shop_emb(batch["shop"]),
            self.brand_emb(batch["brand"]),
            self.category_emb(batch["category"]),
            self.query_emb(batch["query"]),
            batch["numerical"],
        ], dim=1)
        return (self.wide(batch["wide"]) + self.deep_out(self.deep(deep_in))).squeeze(1)

    @torch.no_grad()
    def predict_proba(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        was_training = self.training
        self.eval()
        try:
            return torch.sigmoid(self.forward(batch))
        finally:
            self.train(was_training)
