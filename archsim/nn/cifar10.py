"""CIFAR-10 loader for the standard "python version" batches (`cifar-10-batches-py`).

The directory is named by the user (config key, ``--data-dir``, or the ``ARCHSIM_CIFAR10_DIR``
environment variable); it may be the ``cifar-10-batches-py`` folder itself or its parent.
Each batch is a pickled dict with ``data`` (uint8 [N, 3072], CHW order) and ``labels``
(N ints in 0..9). Every file is validated: keys, shapes, dtypes and label range; a missing,
corrupt or malformed file raises `DataError` naming it.

The pickles are read by a restricted unpickler that only admits the numpy globals needed to
rebuild an ndarray, so a hostile batch file cannot execute code.

In this environment the batches come from ``../shared/data/cifar10/to_batches.py OUT``: the
pixels are JPEG-decoded, so they differ slightly (about 4.5-8/255 on average) from the official
archive, and absolute accuracies differ slightly from published ones.
"""
from __future__ import annotations

import os
import pickle
from enum import Enum
from pathlib import Path

import numpy as np

from archsim.errors import DataError

ENV_VAR = "ARCHSIM_CIFAR10_DIR"
BATCH_DIR = "cifar-10-batches-py"
IMAGE_SHAPE = (3, 32, 32)
NUM_CLASSES = 10
CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck")
_PIXELS = 3 * 32 * 32

# Globals a numpy-pickled array may reference (numpy 1.x and 2.x module names); protocol-2
# pickles written by Python 3 rebuild bytes objects through _codecs.encode.
_ALLOWED_GLOBALS = {
    ("_codecs", "encode"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
}


class Split(Enum):
    """Which part of the data set: the 50,000 training or the 10,000 test images."""

    TRAIN = "train"
    TEST = "test"


_FILES = {Split.TRAIN: tuple(f"data_batch_{i}" for i in range(1, 6)), Split.TEST: ("test_batch",)}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global except the numpy array constructors."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}")
        return super().find_class(module, name)


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The directory holding the batch files, found from `data_dir` or ``$ARCHSIM_CIFAR10_DIR``.

    Looked for in `data_dir`, `data_dir/cifar-10-batches-py`, `data_dir/cifar10` and
    `data_dir/cifar10/cifar-10-batches-py` (the project's data-directory rule: a root may hold
    one sub-directory per data set).
    """
    if data_dir is None:
        data_dir = os.environ.get(ENV_VAR)
        if not data_dir:
            raise DataError(f"CIFAR-10: no data directory given (pass data_dir or set {ENV_VAR})")
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: CIFAR-10 data directory not found")
    for path in (root / BATCH_DIR, root, root / "cifar10" / BATCH_DIR, root / "cifar10"):
        if any((path / name).is_file() for name in ("batches.meta", "test_batch", "data_batch_1")):
            return path
    raise DataError(f"{root}: no CIFAR-10 batches ({BATCH_DIR}/test_batch, ...) found; "
                    "make them with shared/data/cifar10/to_batches.py OUT")


def _get(d: dict, key: str, path: Path):
    for k in (key.encode(), key):  # official pickles use bytes keys; accept str too
        if k in d:
            return d[k]
    raise DataError(f"{path}: CIFAR-10 batch has no '{key}' entry")


def read_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read and validate one batch file: (images uint8 [N,3,32,32], labels int64 [N])."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            d = _NumpyOnlyUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise DataError(f"{path}: CIFAR-10 batch file missing") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, OSError) as exc:
        raise DataError(f"{path}: corrupt CIFAR-10 batch ({type(exc).__name__}: {exc})") from None
    if not isinstance(d, dict):
        raise DataError(f"{path}: CIFAR-10 batch is a {type(d).__name__}, expected a dict")
    data, labels = _get(d, "data", path), _get(d, "labels", path)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        raise DataError(f"{path}: field 'data' must be a uint8 array, got "
                        f"{getattr(data, 'dtype', type(data).__name__)}")
    if data.ndim != 2 or data.shape[1] != _PIXELS or data.shape[0] == 0:
        raise DataError(f"{path}: field 'data' has shape {data.shape}, expected (N, {_PIXELS})")
    try:
        y = np.asarray(labels)
    except (TypeError, ValueError):
        raise DataError(f"{path}: field 'labels' is not a list of integers") from None
    if y.shape != (data.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{path}: field 'labels' must be {data.shape[0]} integers, "
                        f"got shape {y.shape} dtype {y.dtype}")
    if y.min() < 0 or y.max() >= NUM_CLASSES:
        raise DataError(f"{path}: field 'labels' outside 0..{NUM_CLASSES - 1} "
                        f"(min {y.min()}, max {y.max()})")
    return data.reshape(-1, *IMAGE_SHAPE), y.astype(np.int64)


def load_cifar10_uint8(data_dir: str | os.PathLike | None = None, split: Split | str = Split.TEST,
                       limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load a split as raw pixels: (uint8 [N,3,32,32], int64 labels [N]); `limit` keeps the first N."""
    split = Split(split)
    root = resolve_data_dir(data_dir)
    if limit is not None and limit <= 0:
        raise DataError(f"{root}: limit must be positive, got {limit}")
    xs, ys, count = [], [], 0
    for name in _FILES[split]:
        if limit is not None and count >= limit:
            break
        x, y = read_batch(root / name)
        xs.append(x)
        ys.append(y)
        count += len(y)
    x, y = np.concatenate(xs), np.concatenate(ys)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return x, y


def load_cifar10(data_dir: str | os.PathLike | None = None, split: Split | str = Split.TEST,
                 limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load a split as network inputs: (float32 pixels/255 in [0,1], [N,3,32,32]; int64 labels)."""
    x, y = load_cifar10_uint8(data_dir, split, limit)
    return x.astype(np.float32) / np.float32(255.0), y
