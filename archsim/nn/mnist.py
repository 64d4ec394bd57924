"""MNIST from the standard IDX files (gzip or raw), verified against the official MD5 sums.

The MD5 sums are those of the decompressed files published with the data set (LeCun et al.);
a file that does not match, has the wrong magic number or is truncated raises `DataError`
naming it. Images come back as float32 [N, 1, 28, 28] = pixel / 255, labels as int64.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from archsim.errors import DataError
from archsim.nn.datasets import Split, find_file

FILES = {
    ("train", "images"): ("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb"),
    ("train", "labels"): ("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624"),
    ("test", "images"): ("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea"),
    ("test", "labels"): ("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637"),
}
MAGIC = {"images": 0x00000803, "labels": 0x00000801}
MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None


def parse_idx(raw: bytes, kind: str, path: Path) -> np.ndarray:
    """Decode an IDX byte string (big-endian header, uint8 payload), checking magic and size."""
    ndim = 3 if kind == "images" else 1
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != MAGIC[kind]:
        raise DataError(f"{path}: bad magic number 0x{magic:08x}, expected 0x{MAGIC[kind]:08x} "
                        f"({kind})")
    dims = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(dims))
    if len(raw) != header + size:
        raise DataError(f"{path}: truncated or oversized: {len(raw) - header} payload bytes, "
                        f"header dims {dims} need {size}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def read_idx(data_dir: Path, split: str, kind: str, verify: bool = True) -> np.ndarray:
    """One IDX array of MNIST (`split` train/test, `kind` images/labels), MD5-checked."""
    stem, md5 = FILES[(split, kind)]
    path = find_file(Path(data_dir), "mnist", (stem + ".gz", stem))
    raw = _read_bytes(path)
    arr = parse_idx(raw, kind, path)
    if verify:
        digest = hashlib.md5(raw).hexdigest()
        if digest != md5:
            raise DataError(f"{path}: MD5 of the decompressed file is {digest}, "
                            f"the official {stem} has {md5}")
    return arr


def load_mnist(data_dir: str | os.PathLike, split: str, verify: bool = True) -> Split:
    """MNIST `split` ('train' 60k / 'test' 10k) from `data_dir` (or `data_dir/mnist`)."""
    images = read_idx(Path(data_dir), split, "images", verify)
    labels = read_idx(Path(data_dir), split, "labels", verify)
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise DataError(f"{data_dir}: MNIST {split} images {images.shape} / labels "
                        f"{labels.shape} do not match")
    x = (images.astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)
    return Split(f"mnist-{split}", x, labels.astype(np.int64), 10)


def download_mnist(data_dir: str | os.PathLike, timeout_s: float = 30.0) -> list[Path]:
    """Fetch the four gzip files into `data_dir` (DataError with the URL when offline)."""
    target = Path(data_dir)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, _ in FILES.values():
        url = MIRROR + stem + ".gz"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as resp:
                payload = resp.read()
        except (urllib.error.URLError, OSError) as exc:
            raise DataError(f"cannot download {url} ({exc}); copy the MNIST IDX files into "
                            f"{target} by hand") from None
        (target / (stem + ".gz")).write_bytes(payload)
        written.append(target / (stem + ".gz"))
    for split in ("train", "test"):
        load_mnist(target, split)  # verifies the MD5 sums of what was fetched
    return written
