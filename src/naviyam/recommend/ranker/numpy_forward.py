"""The Wide & Deep network's eval-mode forward pass in numpy, for serving.

Training stays in torch (:mod:`naviyam.recommend.ranker.model`); a request
scores a few dozen candidates, where torch's per-call dispatch and its
intra-op thread pool cost more than the arithmetic (and several request
threads calling into torch at once fight over that pool). The weights are
taken from the state dict (a checkpoint read without torch, or a trained
network's); :meth:`NumpyWideDeep.logits` computes exactly
``WideDeepNet.forward`` in eval mode (no dropout), in float32. This module
does not import torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

#: The query EmbeddingBag's padding index (WideDeepNet: 0).
QUERY_PADDING = 0


class NumpyWideDeep:
    """The weights of one ``WideDeepNet`` state dict: embeddings, the wide layer, the deep MLP."""

    def __init__(self, state: Mapping[str, np.ndarray], query_padding: int | None = QUERY_PADDING):
        def arr(name: str) -> np.ndarray:
            return np.ascontiguousarray(state[name], dtype=np.float32).copy()

        self.user = arr("user_emb.weight")
        self.shop = arr("shop_emb.weight")
        self.brand = arr("brand_emb.weight")
        self.category = arr("category_emb.weight")
        self.query = arr("query_emb.weight")
        self.query_padding = query_padding
        self.wide_w = arr("wide.weight")[0]
        self.wide_b = float(arr("wide.bias")[0])
        deep = sorted({int(k.split(".")[1]) for k in state if k.startswith("deep.") and k.endswith(".weight")})
        self.layers = [(np.ascontiguousarray(arr(f"deep.{i}.weight").T), arr(f"deep.{i}.bias")) for i in deep]
        self.out_w = arr("deep_out.weight")[0]
        self.out_b = float(arr("deep_out.bias")[0])

    @classmethod
    def from_net(cls, net: Any) -> NumpyWideDeep:
        """The weights of a torch ``WideDeepNet`` as they are now."""
        state = {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}
        return cls(state, net.query_emb.padding_idx)

    def _query_mean(self, ids: np.ndarray) -> np.ndarray:
        """EmbeddingBag(mode="mean", padding_idx): the mean over the non-padding ids (zeros when none)."""
        if len(ids) > 1 and (ids == ids[0]).all():  # one request's rows share its query: its mean once, repeated
            return np.repeat(self._query_mean(ids[:1]), len(ids), axis=0)
        vecs = self.query[ids]  # (n, tokens, dim)
        if self.query_padding is None:
            return vecs.mean(axis=1)
        keep = (ids != self.query_padding).astype(np.float32)
        count = keep.sum(axis=1, keepdims=True)
        total = np.einsum("nt,ntd->nd", keep, vecs)
        return total / np.maximum(count, 1.0)

    def logits(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """The logit (float64) per row of :meth:`Encoders.encode_arrays`'s output."""
        deep = np.concatenate([
            self.user[arrays["user"]], self.shop[arrays["shop"]], self.brand[arrays["brand"]],
            self.category[arrays["category"]], self._query_mean(arrays["query"]), arrays["numerical"],
        ], axis=1)
        for weight, bias in self.layers:
            deep = deep @ weight
            deep += bias
            np.maximum(deep, 0.0, out=deep)
        out = arrays["wide"] @ self.wide_w + self.wide_b + deep @ self.out_w + self.out_b
        return out.astype(np.float64)

    def proba(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        z = self.logits(arrays)
        return 1.0 / (1.0 + np.exp(-z))
