"""Image-range parts of a robustness run, the per-image data file, and the merge.

A full-size evaluation does not fit one session, so `archsim robustness CONFIG --part K/N`
runs, for every selected experiment, only range K of N contiguous, disjoint ranges of its
image subset (the first `images` test images after `offset`): range K is subset positions
[floor((K-1) * images / N), floor(K * images / N)). Every run (split or not) saves the
per-image outcomes its tables are built from in `per_image.npz`, and the experiment's rows,
curves and summary are built from those arrays by one function per experiment
(`experiments.BUILDERS`). `archsim robustness-merge RUN...` concatenates the parts' arrays in
image order and calls the same builders, so the merged tables equal those of one unsplit run
wherever an attack's result on an image does not depend on the other images of its batch
(deterministic attacks; random starts and JSMA's random targets are drawn per batch).

per_image.npz is a zip of .npy members with fixed timestamps (same input, same bytes): member
`layout.npy` holds the data tree as JSON (uint8), in which every per-image array is replaced
by {"__array__": "aN"}, the member `aN.npy`; axis 0 of every array is the image axis.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np

from archsim.errors import ConfigError

PER_IMAGE = "per_image.npz"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_PART = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_part(text: str) -> tuple[int, int]:
    """(K, N) of `--part K/N`; ConfigError naming the option unless 1 <= K <= N."""
    m = _PART.fullmatch(str(text))
    if not m:
        raise ConfigError(f"--part: expected K/N (e.g. 2/5), got {text!r}")
    k, n = int(m.group(1)), int(m.group(2))
    if n < 1:
        raise ConfigError(f"--part: N must be >= 1, got {text!r}")
    if not 1 <= k <= n:
        raise ConfigError(f"--part: K must be in 1..{n}, got {text!r}")
    return k, n


def span(images: int, part: tuple[int, int] | None) -> tuple[int, int]:
    """Positions [lo, hi) of range K of N within a subset of `images` images."""
    if part is None:
        return 0, images
    k, n = part
    return (k - 1) * images // n, k * images // n


def check_part(config, part: tuple[int, int] | None) -> None:
    """ConfigError if N exceeds the images of a selected experiment (an empty range)."""
    if part is None:
        return
    for exp in config.experiments:
        if part[1] > exp.images:
            raise ConfigError(f"--part: N={part[1]} exceeds the {exp.images} images of "
                              f"experiments.{exp.kind}")


# ------------------------------------------------------------------ per-image data file

def _flatten(tree, arrays: list):
    if isinstance(tree, np.ndarray):
        arrays.append(tree)
        return {"__array__": f"a{len(arrays) - 1}"}
    if isinstance(tree, dict):
        return {str(k): _flatten(v, arrays) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_flatten(v, arrays) for v in tree]
    if isinstance(tree, np.generic):
        return tree.item()
    return tree


def _unflatten(tree, arrays: dict):
    if isinstance(tree, dict):
        if set(tree) == {"__array__"}:
            return arrays[tree["__array__"]]
        return {k: _unflatten(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_unflatten(v, arrays) for v in tree]
    return tree


def save_per_image(path: Path, data: dict) -> Path:
    """Write the data tree (dicts, lists, scalars, per-image numpy arrays) as a zip of .npy
    members with fixed timestamps: byte-identical for identical data."""
    arrays: list[np.ndarray] = []
    layout = json.dumps(_flatten(data, arrays), sort_keys=False, allow_nan=True)
    members = [("layout", np.frombuffer(layout.encode("utf-8"), np.uint8))] + \
        [(f"a{i}", a) for i, a in enumerate(arrays)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, arr in members:
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
    return path


def load_per_image(path: Path) -> dict:
    """The data tree of a per_image.npz (ConfigError naming the file if unreadable)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        layout = json.loads(bytes(arrays.pop("layout")).decode("utf-8"))
        return _unflatten(layout, arrays)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable archsim per-image file ({exc})") from None


def concat(trees: list, where: str = "per-image data"):
    """Parts' data trees joined: arrays concatenated along the image axis (in the given
    order), every other leaf required equal across parts (ConfigError naming the path)."""
    first = trees[0]
    if isinstance(first, np.ndarray):
        if not all(isinstance(t, np.ndarray) and t.shape[1:] == first.shape[1:] for t in trees):
            raise ConfigError(f"{where}: parts disagree")
        return np.concatenate(trees, axis=0)
    if isinstance(first, dict):
        if not all(isinstance(t, dict) and list(t) == list(first) for t in trees):
            raise ConfigError(f"{where}: parts disagree on keys")
        return {k: concat([t[k] for t in trees], f"{where}.{k}") for k in first}
    if isinstance(first, list):
        if not all(isinstance(t, list) and len(t) == len(first) for t in trees):
            raise ConfigError(f"{where}: parts disagree on lengths")
        return [concat([t[i] for t in trees], f"{where}[{i}]") for i in range(len(first))]
    if not all(_same(t, first) for t in trees):
        raise ConfigError(f"{where}: parts disagree ({first!r} vs others)")
    return first


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return type(a) is type(b) and a == b
