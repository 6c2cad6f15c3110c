"""The serving wrapper: a fitted Wide & Deep ranker that scores the candidates it is given.

Shape of scikit-learn / implicit: ``__init__`` stores hyper-parameters,
:meth:`WideDeepRanker.fit` sets the learned state (``net_``, ``encoders_``),
:meth:`score` scores only the candidates passed in. A checkpoint is a folder
with ``weights.pt`` (a state dict, loaded with ``weights_only=True``) and
``ranker.json`` (config, vocabularies, feature version, SHA-256 of the
weights). :meth:`load` refuses a corrupt or mismatched checkpoint with
:class:`RankerLoadError`, so the caller can keep serving its previous model.

Serving never imports torch: :meth:`load` reads the state dict with
:mod:`naviyam.recommend.ranker.weights` and scores with the numpy forward
pass; the torch network (``net_``) is built from those weights only when
something asks for it (fine-tuning, ``score_rows_torch``). Training imports
torch as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from naviyam.recommend.features import (
    FEATURE_VERSION,
    NUM_DIM,
    WIDE_DIM,
    CandidateLike,
    FeatureBuilder,
    FeatureRows,
    InteractionState,
    RankingQuery,
)
from naviyam.recommend.ranker.dataset import Encoders
from naviyam.recommend.ranker.numpy_forward import NumpyWideDeep
from naviyam.recommend.ranker.spec import WideDeepConfig, state_shapes
from naviyam.recommend.ranker.weights import UnsupportedCheckpoint, read_state_dict

if TYPE_CHECKING:
    import pandas as pd

    from naviyam.recommend.ranker.model import WideDeepNet

log = logging.getLogger(__name__)

WEIGHTS_FILE = "weights.pt"
CONFIG_FILE = "ranker.json"
FORMAT = "naviyam-wide-deep/1"


class RankerLoadError(RuntimeError):
    """A checkpoint that cannot be served: missing, corrupt or built for other features."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class WideDeepRanker:
    name = "wide_deep"

    def __init__(self, *, epochs: int = 10, batch_size: int = 32, lr: float = 1e-3, patience: int = 3,
                 seed: int = 0, hidden: Sequence[int] = (128, 64, 32), dropout: float = 0.3,
                 min_user_positives: int = 2, query_buckets: int = 8192):
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.seed = seed
        self.hidden = list(hidden)
        self.dropout = dropout
        self.min_user_positives = min_user_positives
        self.query_buckets = query_buckets
        self.version: str | None = None
        self._builder: FeatureBuilder | None = None
        self._state: InteractionState | None = None

    # ------------------------------------------------------------------ training
    def train_config(self):
        from naviyam.recommend.ranker.trainer import RankerTrainConfig  # lazy: torch, for training only

        return RankerTrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, patience=self.patience,
                           seed=self.seed, hidden=list(self.hidden), dropout=self.dropout,
                           min_user_positives=self.min_user_positives, query_buckets=self.query_buckets)

    def fit(self, train: pd.DataFrame, val: pd.DataFrame, ranking: pd.DataFrame | None = None,
            categories: list[str] | None = None) -> WideDeepRanker:
        from naviyam.recommend.ranker.trainer import fit_wide_deep  # lazy: torch, for training only

        result = fit_wide_deep(train, val, ranking, self.train_config(), categories=categories)
        self._set_learned(result.net, result.encoders, result.metrics)
        self.history_ = result.history
        return self

    @classmethod
    def from_training(cls, result, config) -> WideDeepRanker:
        r = cls(epochs=config.epochs, batch_size=config.batch_size, lr=config.lr, patience=config.patience,
                seed=config.seed, hidden=config.hidden, dropout=config.dropout,
                min_user_positives=config.min_user_positives, query_buckets=config.query_buckets)
        r._set_learned(result.net, result.encoders, result.metrics)
        r.history_ = result.history
        return r

    def _set_learned(self, net: WideDeepNet, encoders: Encoders, metrics: dict[str, float]) -> None:
        net.eval()
        self._net = net
        self._loaded = None
        self.__dict__.pop("_numpy", None)
        self.config_ = net.config
        self.encoders_ = encoders
        self.metrics_ = dict(metrics)

    def _set_loaded(self, state: dict[str, np.ndarray], config: WideDeepConfig, encoders: Encoders,
                    metrics: dict[str, float]) -> None:
        """A checkpoint's weights as numpy arrays; the torch network is built from them only on demand."""
        self._net = None
        self._loaded = NumpyWideDeep(state)
        self._state_arrays = state
        self.__dict__.pop("_numpy", None)
        self.config_ = config
        self.encoders_ = encoders
        self.metrics_ = dict(metrics)

    @property
    def net_(self) -> WideDeepNet:
        """The torch network (built from the loaded weights the first time it is asked for; imports torch)."""
        net = self.__dict__.get("_net")
        if net is None:
            state = self.__dict__.get("_state_arrays")
            if state is None:
                raise AttributeError("net_")
            import torch  # lazy: only fine-tuning and tests need the torch network of a loaded ranker

            from naviyam.recommend.ranker.model import WideDeepNet  # lazy: imports torch

            with torch.inference_mode(False):  # real parameters even when first asked for inside inference mode
                net = WideDeepNet(self.config_)
                net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()}, strict=True)
            net.eval()
            self._net = net
        return net

    def _check_fitted(self) -> None:
        if not hasattr(self, "encoders_"):
            raise RuntimeError("the ranker is not fitted; call fit() or load() first")

    def wide_weights(self) -> np.ndarray:
        """The wide layer's weight per wide slot (float64), as served."""
        self._check_fitted()
        return self._forward().wide_w.astype(np.float64).copy()

    # ------------------------------------------------------------------ scoring
    def attach(self, builder: FeatureBuilder, state: InteractionState) -> WideDeepRanker:
        """Bind the catalog's feature builder and the live interaction state used by :meth:`score`."""
        self._builder, self._state = builder, state
        return self

    def score_rows(self, rows: FeatureRows) -> np.ndarray:
        """Probabilities (float64) for already-built feature rows."""
        self._check_fitted()
        if len(rows) == 0:
            return np.zeros(0)
        # The numpy forward pass (exported weights): no torch dispatch or intra-op thread pool per request,
        # so request threads never contend for torch's threads (naviyam.recommend.ranker.numpy_forward).
        return self._forward().proba(self.encoders_.encode_arrays(rows))

    def _forward(self) -> NumpyWideDeep:
        """The numpy weights that score: a loaded checkpoint's, or a copy of ``net_``'s, exported again if the
        network's parameters were replaced or changed in place."""
        net = self.__dict__.get("_net")
        if net is None:
            return self._loaded
        fwd, key = self.__dict__.get("_numpy"), self._weights_key(net)
        if fwd is None or fwd[0] != key:
            fwd = (key, NumpyWideDeep.from_net(net))
            self._numpy = fwd
        return fwd[1]

    @staticmethod
    def _weights_key(net) -> tuple:
        # Tensor versions change on every in-place update (an optimiser step, a weight nudged by hand).
        return tuple((id(p), p._version) for p in net.parameters())

    def score_rows_torch(self, rows: FeatureRows) -> np.ndarray:
        """The same probabilities through the torch network (tests compare the two)."""
        import torch  # lazy: a test's comparison, never on the serving path

        self._check_fitted()
        if len(rows) == 0:
            return np.zeros(0)
        with torch.inference_mode():
            return torch.sigmoid(self.net_(self.encoders_.encode(rows))).double().numpy()

    def score(self, query: RankingQuery, candidates: Sequence[CandidateLike]) -> np.ndarray:
        """One probability per candidate, in the given order; nothing else is scored."""
        if self._builder is None or self._state is None:
            raise RuntimeError("attach(builder, state) before score()")
        if not candidates:
            return np.zeros(0)
        return self.score_rows(self._builder.build(query, candidates, self._state))

    # ------------------------------------------------------------------ persistence
    def config_json(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "format": FORMAT,
            "feature_version": FEATURE_VERSION,
            "wide_dim": WIDE_DIM,
            "num_dim": NUM_DIM,
            "hyper_parameters": {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
                                 "patience": self.patience, "seed": self.seed, "hidden": self.hidden,
                                 "dropout": self.dropout, "min_user_positives": self.min_user_positives,
                                 "query_buckets": self.query_buckets},
            "model": self.config_.to_json(),
            "encoders": self.encoders_.to_json(),
            "metrics": {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in self.metrics_.items()},
        }

    def save(self, folder: Path) -> Path:
        """Write ``weights.pt`` and ``ranker.json`` into ``folder`` (a registry allocation)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        import torch  # lazy: saving happens after training, which has torch loaded already

        cfg = self.config_json()
        torch.save(self.net_.state_dict(), folder / WEIGHTS_FILE)
        cfg["weights_sha256"] = _sha256(folder / WEIGHTS_FILE)
        (folder / CONFIG_FILE).write_text(json.dumps(cfg, ensure_ascii=False), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: Path, version: str | None = None) -> WideDeepRanker:
        """Load a checkpoint; :class:`RankerLoadError` says why one cannot be served."""
        folder = Path(folder)
        cfg_path, w_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
        if not cfg_path.is_file() or not w_path.is_file():
            raise RankerLoadError(f"{folder}: {CONFIG_FILE} or {WEIGHTS_FILE} is missing")
        try:
            cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RankerLoadError(f"{cfg_path}: unreadable config ({exc})") from exc
        if cfg.get("format") != FORMAT:
            raise RankerLoadError(f"{folder}: format {cfg.get('format')!r}, expected {FORMAT!r}")
        found = (cfg.get("feature_version"), cfg.get("wide_dim"), cfg.get("num_dim"))
        if found != (FEATURE_VERSION, WIDE_DIM, NUM_DIM):
            raise RankerLoadError(
                f"{folder}: built for features v{cfg.get('feature_version')} "
                f"({cfg.get('wide_dim')} wide, {cfg.get('num_dim')} numerical); this code computes "
                f"v{FEATURE_VERSION} ({WIDE_DIM}, {NUM_DIM})")
        expected = cfg.get("weights_sha256")
        if not expected or _sha256(w_path) != expected:
            raise RankerLoadError(f"{w_path}: checksum mismatch (corrupt or replaced weights)")
        try:
            hp = cfg.get("hyper_parameters", {})
            r = cls(**{k: v for k, v in hp.items() if k in cls.__init__.__code__.co_varnames})
            enc = Encoders.from_json(cfg["encoders"])
            mcfg = WideDeepConfig.from_json(cfg["model"])
            if (mcfg.n_users, mcfg.n_shops, mcfg.n_brands, mcfg.n_categories, mcfg.query_buckets) != (
                    len(enc.users), len(enc.shops), len(enc.brands), len(enc.categories), enc.query_buckets):
                raise RankerLoadError(f"{folder}: vocabularies do not match the network's tables")
            state = _read_weights(w_path)
            expected = state_shapes(mcfg)
            found_shapes = {k: tuple(v.shape) for k, v in state.items()}
            if found_shapes != expected:
                wrong = sorted(k for k in expected.keys() | found_shapes.keys()
                               if expected.get(k) != found_shapes.get(k))
                raise ValueError(f"weights do not fit the network: {', '.join(wrong[:5])}")
        except RankerLoadError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure here means "cannot serve this"
            raise RankerLoadError(f"{folder}: cannot build the network ({type(exc).__name__}: {exc})") from exc
        r._set_loaded(state, mcfg, enc, cfg.get("metrics") or {})
        r.version = version or folder.name
        return r


def _read_weights(path: Path) -> dict[str, np.ndarray]:
    """The checkpoint's state dict as float arrays: read without torch, or by torch for a layout the reader
    does not know."""
    try:
        return read_state_dict(path)
    except UnsupportedCheckpoint as exc:
        log.info("%s: %s; reading it with torch", path, exc)
    import torch  # lazy: only for a checkpoint layout the torch-free reader does not know

    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v.detach().cpu().numpy() for k, v in state.items()}


def load_production(registry) -> WideDeepRanker | None:
    """The registry's production ranker, or None when there is none (RankerLoadError when it is broken)."""
    mv = registry.current("ranker")
    if mv is None:
        return None
    return WideDeepRanker.load(Path(mv.path), version=mv.version)
