"""The Wide & Deep network's eval-mode forward pass in numpy, for serving.

Training stays in torch (:mod:`naviyam.recommend.ranker.model`); a request
scores a few dozen candidates, where torch's per-call dispatch and its
intra-op thread pool cost more than the arithmetic (and several request
threads calling into torch at once fight over that pool). The weights are
exported once from the state dict; :meth:`NumpyWideDeep.logits` computes
exactly ``WideDeepNet.forward`` in eval mode (no dropout), in float32.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from naviyam.recommend.ranker.model import WideDeepNet


class NumpyWideDeep:
    """Exported weights of one :class:`WideDeepNet`: embeddings, the wide layer, the deep MLP."""

    def __init__(self, net: WideDeepNet):
        def arr(t) -> np.ndarray:
            return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32).copy()

        self.user = arr(net.user_emb.weight)
        self.shop = arr(net.shop_emb.weight)
        self.brand = arr(net.brand_emb.weight)
        self.category = arr(net.category_emb.weight)
        self.query = arr(net.query_emb.weight)
        self.query_padding = net.query_emb.padding_idx
        self.wide_w = arr(net.wide.weight)[0]
        self.wide_b = float(net.wide.bias.detach()[0])
        self.layers = [(np.ascontiguousarray(arr(m.weight).T), arr(m.bias))
                       for m in net.deep if isinstance(m, nn.Linear)]
        self.out_w = arr(net.deep_out.weight)[0]
        self.out_b = float(net.deep_out.bias.detach()[0])

    def _query_mean(self, ids: np.ndarray) -> np.ndarray:
        """EmbeddingBag(mode="mean", padding_idx): the mean over the non-padding ids (zeros when none)."""
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
