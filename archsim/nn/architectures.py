"""Named network architectures (described once, in workloads/*.yaml) and loading their
weights from `.npz` files.

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

# architecture name -> its description in workloads/ (the one description of each network:
# the simulator reads the same file)
WORKLOADS_DIR = Path(__file__).resolve().parents[2] / "workloads"
_ARCHITECTURES = {
    "da-lenet": "da_mnist.yaml",            # Defensive Approximation paper (da_lenet_official.npz)
    "lenet5": "lenet5_mnist.yaml",          # classic LeNet-5, trained by workloads/lenet5_mnist
    "alexnet-cifar10": "alexnet_cifar10.yaml",  # the CIFAR-10 AlexNet (workloads/alexnet_cifar10/)
}


def list_architectures() -> list[str]:
    """Names accepted by `build_network` / `load_network`."""
    return sorted(_ARCHITECTURES)


def architecture_graph(architecture: str):
    """The architecture's graph (shapes only) read from its workloads/*.yaml file."""
    from archsim.network.yaml import read_yaml_graph

    if architecture not in _ARCHITECTURES:
        raise ConfigError(f"architecture: unknown {architecture!r} "
                          f"(known: {', '.join(list_architectures())})")
    return read_yaml_graph(WORKLOADS_DIR / _ARCHITECTURES[architecture])


def expected_shapes(architecture: str) -> dict[str, tuple[int, ...]]:
    """The npz keys an architecture needs and their shapes."""
    shapes: dict[str, tuple[int, ...]] = {}
    for node in architecture_graph(architecture).nodes:
        a = node.attrs
        if node.op == "Conv":
            r, s = a["kernel"]
            shapes[f"{node.name}_weight"] = (a["out_channels"], a["in_channels"], r, s)
        elif node.op == "Linear":
            shapes[f"{node.name}_weight"] = (a["out_features"], a["in_features"])
        else:
            continue
        shapes[f"{node.name}_bias"] = (shapes[f"{node.name}_weight"][0],)
    return shapes


def _layer(node, params):
    a = node.attrs
    if node.op == "Conv":
        return Conv2d(node.name, params[f"{node.name}_weight"], params[f"{node.name}_bias"],
                      stride=a["stride"][0], padding=a["pads"][0])
    if node.op == "Linear":
        return Linear(node.name, params[f"{node.name}_weight"], params[f"{node.name}_bias"])
    if node.op == "MaxPool":
        return MaxPool2d(a["kernel"][0], a["stride"][0])
    return {"Relu": ReLU, "Flatten": Flatten}[node.op]()


def build_network(architecture: str, params: Mapping[str, np.ndarray], source: str = "<params>",
                  name: str | None = None) -> Network:
    """A Network of `architecture` from `<layer>_weight/_bias` arrays (shapes checked)."""
    graph = architecture_graph(architecture)
    for key, shape in expected_shapes(architecture).items():
        if key not in params:
            raise DataError(f"{source}: missing key {key!r} for architecture {architecture}")
        if tuple(params[key].shape) != shape:
            raise DataError(f"{source}: key {key!r} has shape {tuple(params[key].shape)}, "
                            f"{architecture} needs {shape}")
    layers = tuple(_layer(node, params) for node in graph.nodes)
    return Network(name or architecture, graph.input_shape[1:], layers)


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


