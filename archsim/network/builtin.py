"""The trained built-in networks as graphs, and resolving a MODEL argument (an ONNX file or a
built-in network name) to a graph with weights."""
from __future__ import annotations

from pathlib import Path

from archsim.errors import DataError, WorkloadError
from archsim.network.graph import Graph, Node

_REPO_WORKLOADS = Path(__file__).resolve().parents[2] / "workloads"
# built-in name -> weights file: in the repository, or (da-lenet, the authors' weights) in the
# data directory or its parent (the shared data root holds it beside mnist/)
BUILTIN_WEIGHTS = {
    "lenet5": _REPO_WORKLOADS / "lenet5_mnist" / "lenet5_mnist.npz",
    "alexnet-cifar10": _REPO_WORKLOADS / "alexnet_cifar10" / "alexnet_cifar10.npz",
    "da-lenet": Path("da_lenet_official.npz"),
}


def graph_from_network(net, batch: int = 1) -> Graph:
    """An `archsim.nn.network.Network` (a sequential built-in) as a Graph with its weights."""
    from archsim.nn.network import Conv2d, Flatten, Linear, MaxPool2d, ReLU

    nodes, tensor = [], "input"
    for i, layer in enumerate(net.layers):
        name = getattr(layer, "name", f"{type(layer).__name__.lower()}{i}")
        out = f"{name}:{i}"
        if isinstance(layer, Conv2d):
            f, c, r, s = layer.weight.shape
            p, st = layer.padding, layer.stride
            node = Node(name, "Conv", (tensor,), out,
                        {"kernel": (r, s), "stride": (st, st), "pads": (p,) * 4,
                         "dilation": (1, 1), "groups": 1, "out_channels": f, "in_channels": c},
                        {"weight": layer.weight, "bias": layer.bias})
        elif isinstance(layer, Linear):
            node = Node(name, "Linear", (tensor,), out,
                        {"in_features": layer.weight.shape[1],
                         "out_features": layer.weight.shape[0]},
                        {"weight": layer.weight, "bias": layer.bias})
        elif isinstance(layer, MaxPool2d):
            k, st = layer.kernel, layer.stride
            node = Node(name, "MaxPool", (tensor,), out,
                        {"kernel": (k, k), "stride": (st, st), "pads": (0,) * 4})
        elif isinstance(layer, (ReLU, Flatten)):
            node = Node(name, "Relu" if isinstance(layer, ReLU) else "Flatten", (tensor,), out,
                        {} if isinstance(layer, ReLU) else {"axis": 1})
        else:
            raise WorkloadError(f"{net.name}: layer {i}: no graph operator for "
                                f"{type(layer).__name__}")
        nodes.append(node)
        tensor = out
    return Graph(net.name, "input", (batch,) + tuple(net.input_shape), tuple(nodes), tensor,
                 f"built-in {net.name}")


def builtin_weights(name: str, data_dir: Path | None) -> Path:
    """The weights file of a built-in network."""
    path = BUILTIN_WEIGHTS[name]
    if path.is_absolute():
        return path
    for base in ([] if data_dir is None else [data_dir, data_dir.parent]):
        if (base / path).is_file():
            return base / path
    raise DataError(f"{name}: weights {path} not found in the data directory "
                    f"{data_dir} or its parent (pass --data-dir)")


def load_model(model: str, data_dir: Path | None = None, batch: int = 1) -> Graph:
    """MODEL: an ONNX file, or a built-in network name (weights from the repository or, for
    da-lenet, the data directory)."""
    from archsim.nn.architectures import list_architectures, load_network

    if model in BUILTIN_WEIGHTS:
        net = load_network(builtin_weights(model, data_dir), model)
        return graph_from_network(net, batch)
    if Path(model).suffix.lower() == ".onnx" or Path(model).exists():
        from archsim.network.onnx import load_onnx
        return load_onnx(model, batch=batch)
    raise WorkloadError(f"{model}: neither an ONNX file nor a built-in network "
                        f"({', '.join(list_architectures())})")
