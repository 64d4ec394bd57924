"""Data sets as frozen arrays, the data-directory rule, and the registry of named loaders.

The data directory comes from (first set wins) the command line (`--data-dir`), the config
(`dataset.data_dir`), or the environment variable ARCHSIM_DATA_DIR. A loader looks in that
directory and in its sub-directory named after the data set (so ARCHSIM_DATA_DIR may point at
a root holding `mnist/`, `cifar10/`, ...).
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archsim.errors import ConfigError, DataError

ENV_DATA_DIR = "ARCHSIM_DATA_DIR"

# name -> ("module:function(data_dir, split) -> Split or (x, y)", number of classes); lazy
LOADERS = {
    "mnist": ("archsim.nn.mnist:load_mnist", 10),
    "cifar10": ("archsim.nn.cifar10:load_cifar10", 10),
}


@dataclass(frozen=True, eq=False)
class Split:
    """One split of a labelled image data set: x float32 [N, C, H, W] in [0, 1], y int64 [N]."""

    name: str
    x: np.ndarray
    y: np.ndarray
    num_classes: int

    def __post_init__(self) -> None:
        if self.x.ndim != 4 or self.y.shape != (self.x.shape[0],):
            raise DataError(f"{self.name}: images {self.x.shape} and labels {self.y.shape} "
                            "do not form a data set")
        for arr in (self.x, self.y):
            arr.setflags(write=False)

    def take(self, n: int, offset: int = 0) -> "Split":
        """The first `n` examples after `offset` (a fixed, documented subset)."""
        if n < 1 or offset < 0 or offset + n > len(self.y):
            raise ConfigError(f"{self.name}: subset [{offset}, {offset + n}) outside "
                              f"0..{len(self.y)}")
        sl = slice(offset, offset + n)
        return Split(f"{self.name}[{offset}:{offset + n}]", self.x[sl].copy(), self.y[sl].copy(),
                     self.num_classes)


def resolve_data_dir(cli_value: str | None = None, config_value: str | None = None) -> Path:
    """The data directory: CLI flag, else config value, else $ARCHSIM_DATA_DIR, made absolute
    against the working directory (callers pass a config value already joined to its file's
    directory)."""
    for value in (cli_value, config_value, os.environ.get(ENV_DATA_DIR)):
        if value:
            return Path(value).expanduser().resolve()
    raise ConfigError(f"no data directory: pass --data-dir, set dataset.data_dir in the config "
                      f"or the environment variable {ENV_DATA_DIR}")


def find_file(data_dir: Path, subdir: str, names: tuple[str, ...]) -> Path:
    """The first existing `data_dir/<name>` or `data_dir/<subdir>/<name>`; DataError if none."""
    for base in (data_dir, data_dir / subdir):
        for name in names:
            if (base / name).is_file():
                return base / name
    raise DataError(f"{data_dir}: none of {', '.join(names)} found (also looked in {subdir}/)")


def load_split(dataset: str, data_dir: Path, split: str) -> Split:
    """Load split 'train' or 'test' of a registered data set."""
    if dataset not in LOADERS:
        raise ConfigError(f"dataset.name: unknown {dataset!r} "
                          f"(known: {', '.join(sorted(LOADERS))})")
    if split not in ("train", "test"):
        raise ConfigError(f"split: expected 'train' or 'test', got {split!r}")
    target, num_classes = LOADERS[dataset]
    module, func = target.split(":")
    loaded = getattr(importlib.import_module(module), func)(data_dir, split)
    if isinstance(loaded, Split):
        return loaded
    x, y = loaded
    return Split(f"{dataset}-{split}", np.ascontiguousarray(x, dtype=np.float32),
                 np.asarray(y, dtype=np.int64), num_classes)
