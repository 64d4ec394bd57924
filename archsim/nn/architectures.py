"""Named network architectures and loading their weights from `.npz` files.

Weights files use the key convention `<layer>_weight` / `<layer>_bias` (float16 or float32);
every key's shape is checked against the architecture before a `Network` is built, so a wrong
file fails with the key and the file named instead of deep inside a matmul.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from archsim.errors import ConfigError, DataError
from archsim.nn.network import Conv2d, Flatten, Linear, MaxPool2d, Network, ReLU

# Layer plans: ("conv", name, F, C, K, padding) | ("fc", name, out, in) | "relu" | "pool" | "flat"
_PLANS: dict[str, tuple[tuple[int, int, int], tuple]] = {
    # Defensive Approximation paper / advertorch LeNet-5 (da_lenet_official.npz)
    "da-lenet": ((1, 28, 28), (
        ("conv", "conv1", 32, 1, 3, 1), "relu", "pool",
        ("conv", "conv2", 64, 32, 3, 1), "relu", "pool", "flat",
        ("fc", "linear1", 200, 3136), "relu", ("fc", "linear2", 10, 200))),
    # classic LeNet-5 (LeCun 1998) with ReLU and max pooling; trained by workloads/lenet5_mnist
    "lenet5": ((1, 28, 28), (
        ("conv", "conv1", 6, 1, 5, 2), "relu", "pool",
        ("conv", "conv2", 16, 6, 5, 0), "relu", "pool", "flat",
        ("fc", "fc1", 120, 400), "relu", ("fc", "fc2", 84, 120), "relu",
        ("fc", "fc3", 10, 84))),
    # the CIFAR-10 AlexNet (weights and training script in workloads/alexnet_cifar10/)
    "alexnet-cifar10": ((3, 32, 32), (
        ("conv", "conv1", 32, 3, 5, 2), "relu", "pool",
        ("conv", "conv2", 64, 32, 5, 2), "relu", "pool",
        ("conv", "conv3", 96, 64, 3, 1), "relu",
        ("conv", "conv4", 96, 96, 3, 1), "relu",
        ("conv", "conv5", 64, 96, 3, 1), "relu", "pool", "flat",
        ("fc", "fc1", 256, 1024), "relu", ("fc", "fc2", 128, 256), "relu",
        ("fc", "fc3", 10, 128))),
}


def list_architectures() -> list[str]:
    """Names accepted by `build_network` / `load_network`."""
    return sorted(_PLANS)


def expected_shapes(architecture: str) -> dict[str, tuple[int, ...]]:
    """The npz keys an architecture needs and their shapes."""
    _, plan = _plan(architecture)
    shapes: dict[str, tuple[int, ...]] = {}
    for step in plan:
        if isinstance(step, tuple) and step[0] == "conv":
            _, name, f, c, k, _ = step
            shapes[f"{name}_weight"], shapes[f"{name}_bias"] = (f, c, k, k), (f,)
        elif isinstance(step, tuple):
            _, name, out, inp = step
            shapes[f"{name}_weight"], shapes[f"{name}_bias"] = (out, inp), (out,)
    return shapes


def _plan(architecture: str):
    if architecture not in _PLANS:
        raise ConfigError(f"architecture: unknown {architecture!r} "
                          f"(known: {', '.join(list_architectures())})")
    return _PLANS[architecture]


def build_network(architecture: str, params: Mapping[str, np.ndarray], source: str = "<params>",
                  name: str | None = None) -> Network:
    """A Network of `architecture` from `<layer>_weight/_bias` arrays (shapes checked)."""
    input_shape, plan = _plan(architecture)
    for key, shape in expected_shapes(architecture).items():
        if key not in params:
            raise DataError(f"{source}: missing key {key!r} for architecture {architecture}")
        if tuple(params[key].shape) != shape:
            raise DataError(f"{source}: key {key!r} has shape {tuple(params[key].shape)}, "
                            f"{architecture} needs {shape}")
    layers: list = []
    for step in plan:
        if step == "relu":
            layers.append(ReLU())
        elif step == "pool":
            layers.append(MaxPool2d(2, 2))
        elif step == "flat":
            layers.append(Flatten())
        elif step[0] == "conv":
            layers.append(Conv2d(step[1], params[f"{step[1]}_weight"], params[f"{step[1]}_bias"],
                                 stride=1, padding=step[5]))
        else:
            layers.append(Linear(step[1], params[f"{step[1]}_weight"], params[f"{step[1]}_bias"]))
    return Network(name or architecture, input_shape, tuple(layers))


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All arrays of an npz file as float32 (DataError naming the file if unreadable)."""
    path = Path(path)
    from archsim_core.npzio import read_npz as read_arrays

    out = {}
    for key, arr in read_arrays(path, "weights file").items():
        try:
            out[key] = np.asarray(arr, dtype=np.float32)
        except (TypeError, ValueError):
            raise DataError(f"{path}: array {key!r} is not numeric ({arr.dtype})") from None
    for key, arr in out.items():
        if not np.all(np.isfinite(arr)):
            raise DataError(f"{path}: key {key!r} contains non-finite values")
    return out


def load_network(path: str | os.PathLike, architecture: str, name: str | None = None) -> Network:
    """Load `<layer>_weight/_bias` arrays from `path` into `architecture`."""
    return build_network(architecture, read_npz(path), source=str(path), name=name)


def save_network(net: Network, path: str | os.PathLike, dtype: type = np.float16) -> Path:
    """Write the network's parameters as an npz (float16 by default: small files in git)."""
    path = Path(path)
    np.savez_compressed(path, **{k: v.astype(dtype) for k, v in net.parameters().items()})
    return path


