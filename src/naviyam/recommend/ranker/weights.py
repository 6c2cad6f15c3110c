"""Reading a ranker's ``weights.pt`` (a torch state dict) into numpy arrays without importing torch.

Serving scores with numpy (:mod:`naviyam.recommend.ranker.numpy_forward`), so
the server process needs torch only to read the checkpoint; importing torch
costs a worker about 200 MB of memory. ``torch.save`` writes a zip file: a
pickle (``<name>/data.pkl``) that rebuilds each tensor from a storage, and one
raw little-endian file per storage (``<name>/data/<key>``). This module reads
exactly that for a state dict of dense CPU tensors, refusing any other
object the pickle names (like ``torch.load(..., weights_only=True)``), and
says where the layout is not one it knows, so the caller can fall back to torch.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

#: torch's storage classes and the dtypes they hold.
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class UnsupportedCheckpoint(ValueError):
    """A checkpoint this reader does not understand (torch itself may still read it)."""


class _StorageType:
    def __init__(self, name: str):
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


def _rebuild_tensor(storage: np.ndarray, offset: int, size, stride, *_rest) -> np.ndarray:
    """``torch._utils._rebuild_tensor_v2``: a (copied, contiguous) view of the storage."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if not size:
        return storage[offset:offset + 1].reshape(()).copy()
    if offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True)) >= len(storage):
        raise UnsupportedCheckpoint("a tensor reaches past the end of its storage")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=size, strides=[s * item for s in stride])
    return np.ascontiguousarray(view).copy()


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str, byteorder: str):
        super().__init__(io.BytesIO(data))
        self._archive, self._prefix, self._byteorder = archive, prefix, byteorder
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise UnsupportedCheckpoint(f"the checkpoint names {module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise UnsupportedCheckpoint(f"unknown persistent id {pid!r}")
        _kind, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise UnsupportedCheckpoint(f"unknown storage type {storage_type!r}")
        arr = self._storages.get(key)
        if arr is None:
            raw = self._archive.read(f"{self._prefix}data/{key}")
            dtype = storage_type.dtype.newbyteorder("<" if self._byteorder == "little" else ">")
            arr = np.frombuffer(raw, dtype=dtype, count=int(numel)).astype(storage_type.dtype, copy=False)
            self._storages[key] = arr
        return arr


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a state dict saved with ``torch.save`` (name -> array), read without torch.

    Raises :class:`UnsupportedCheckpoint` for a file that is not such a state dict (the legacy
    non-zip format included); ``KeyError``, ``OSError`` or ``zipfile.BadZipFile`` for a damaged one.
    """
    if not zipfile.is_zipfile(path):
        raise UnsupportedCheckpoint("not a zip checkpoint (torch's legacy format?)")
    with zipfile.ZipFile(Path(path)) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise UnsupportedCheckpoint("no single data.pkl in the archive")
        prefix = pickles[0][: -len("data.pkl")]
        try:
            byteorder = archive.read(prefix + "byteorder").decode().strip()
        except KeyError:
            byteorder = "little"
        state = _Unpickler(archive.read(pickles[0]), archive, prefix, byteorder).load()
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise UnsupportedCheckpoint("the checkpoint is not a state dict of tensors")
    return dict(state)
