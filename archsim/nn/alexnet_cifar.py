"""The CIFAR-10 AlexNet (fixed architecture, below) and its shipped trained weights.

    conv1 3->32 k5 p2, ReLU, maxpool 2   (32x32 -> 16x16)
    conv2 32->64 k5 p2, ReLU, maxpool 2  (-> 8x8)
    conv3 64->96 k3 p1, ReLU; conv4 96->96 k3 p1, ReLU
    conv5 96->64 k3 p1, ReLU, maxpool 2  (-> 4x4), flatten C,H,W (1024)
    fc1 1024->256, ReLU; fc2 256->128, ReLU; fc3 128->10

The layer plan itself is the ``alexnet-cifar10`` entry of `archsim.nn.architectures` (one
definition for the whole project); this module adds the shipped weights
(``workloads/alexnet_cifar10/alexnet_cifar10.npz``, float16, trained by
``workloads/alexnet_cifar10/train.py``) and the stricter checks a trained file deserves:
no stray arrays and floating-point dtypes only. Inputs are pixels/255 in [0,1], no
normalisation, so attack budgets are in pixel units.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from archsim.errors import DataError
from archsim.nn.architectures import build_network, expected_shapes
from archsim.nn.network import Network

ARCHITECTURE = "alexnet-cifar10"
DEFAULT_WEIGHTS = (Path(__file__).resolve().parents[2] / "workloads" / "alexnet_cifar10"
                   / "alexnet_cifar10.npz")


def build_alexnet_cifar(params: Mapping[str, np.ndarray], source: str = "<params>",
                        name: str = "alexnet_cifar10") -> Network:
    """The AlexNet from `<layer>_weight/_bias` arrays; DataError naming `source` on a mismatch.

    Float16 arrays are widened to float32 (the network computes in float32).
    """
    extra = sorted(set(params) - set(expected_shapes(ARCHITECTURE)))
    if extra:
        raise DataError(f"{source}: unexpected arrays {extra} for {ARCHITECTURE}")
    for key, arr in params.items():
        if not np.issubdtype(np.asarray(arr).dtype, np.floating):
            raise DataError(f"{source}: key {key!r} has dtype {np.asarray(arr).dtype}, "
                            "expected a float type")
        if not np.all(np.isfinite(arr)):
            raise DataError(f"{source}: key {key!r} contains non-finite values")
    f32 = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
    return build_network(ARCHITECTURE, f32, source=source, name=name)


def load_alexnet_cifar(path: str | os.PathLike | None = None) -> Network:
    """Read the npz at `path` (default: the shipped trained weights) and build the network."""
    path = Path(DEFAULT_WEIGHTS if path is None else path)
    from archsim_core.npzio import read_npz
    params = read_npz(path, "weights file")
    return build_alexnet_cifar(params, source=str(path))
