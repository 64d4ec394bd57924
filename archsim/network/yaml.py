"""Our YAML network format as a graph (see workloads/*.yaml).

Top level: name, input [C, H, W], batch, optional `activation: relu` (a ReLU after every conv
and fc layer but the last, as in the trained networks), layers of type conv (filters, kernel,
stride, padding), pool (max pooling: kernel, stride = kernel by default, padding) and fc
(out_features; flattens C, H, W in that order first). Weights are not part of the format:
`archsim.network.builtin` adds them from an npz file.
"""
from __future__ import annotations

from pathlib import Path

from archsim.errors import WorkloadError
from archsim.network.graph import Graph, Node
from archsim.network.shapes import conv_output_size

_YAML_KEYS = {
    "conv": {"type", "name", "filters", "kernel", "stride", "padding"},
    "pool": {"type", "name", "kernel", "stride", "padding"},
    "fc": {"type", "name", "out_features"},
}
_TOP_KEYS = {"name", "input", "batch", "layers", "activation"}


def _get_int(where: str, spec: dict, key: str, default=None, minimum: int = 1) -> int:
    value = spec.get(key, default)
    path = f"{where}.{key}" if where else key
    if value is None:
        raise WorkloadError(f"{path}: missing")
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise WorkloadError(f"{path}: must be an integer >= {minimum}, got {value!r}")
    return value


def _kernel(where: str, spec: dict) -> tuple[int, int]:
    value = spec.get("kernel")
    if isinstance(value, list) and len(value) == 2:
        return (_get_int(where, {"kernel": value[0]}, "kernel"),
                _get_int(where, {"kernel": value[1]}, "kernel"))
    k = _get_int(where, spec, "kernel")
    return k, k


def _window(where: str, spec: dict, kind: str, shape: tuple[int, ...]) -> dict:
    """Window attributes of a conv/pool entry, checked against the (C, H, W) input."""
    if len(shape) != 3:
        raise WorkloadError(f"{where}.type: {kind} after a flattened (fc) layer")
    r, s = _kernel(where, spec)
    pad = _get_int(where, spec, "padding", 0, minimum=0)
    stride = _get_int(where, spec, "stride", 1 if kind == "conv" else r)
    _, h, w = shape
    if r > h + 2 * pad or s > w + 2 * pad:
        raise WorkloadError(f"{where}.kernel: {r}x{s} exceeds the padded input "
                            f"{h + 2 * pad}x{w + 2 * pad}")
    return {"kernel": (r, s), "stride": (stride, stride), "pads": (pad,) * 4,
            "dilation": (1, 1)}


def _entry_nodes(where: str, spec, shape: tuple[int, ...], tensor: str) -> tuple[list, tuple]:
    """(nodes, new per-image shape) for one entry of `layers:`; shape is (C, H, W) or (n,)."""
    if not isinstance(spec, dict):
        raise WorkloadError(f"{where}: must be a mapping")
    kind = spec.get("type")
    if not isinstance(kind, str) or kind not in _YAML_KEYS:
        raise WorkloadError(f"{where}.type: must be one of conv, pool, fc, got {kind!r}")
    unknown = sorted(set(spec) - _YAML_KEYS[kind], key=str)
    if unknown:
        raise WorkloadError(f"{where}.{unknown[0]}: unknown key")
    name = str(spec.get("name", where))
    if kind == "fc":
        out = _get_int(where, spec, "out_features")
        nodes = []
        if len(shape) == 3:
            nodes.append(Node(f"{name}/flatten", "Flatten", (tensor,), f"{name}/flat",
                              {"axis": 1}))
            tensor = f"{name}/flat"
        width = shape[0] * (shape[1] * shape[2] if len(shape) == 3 else 1)
        nodes.append(Node(name, "Linear", (tensor,), name,
                          {"in_features": width, "out_features": out}))
        return nodes, (out,)
    attrs = _window(where, spec, kind, shape)
    (r, s), (stride, _) = attrs["kernel"], attrs["stride"]
    pad = attrs["pads"][0]
    c, h, w = shape
    oh, ow = conv_output_size(h, r, stride, pad), conv_output_size(w, s, stride, pad)
    if kind == "pool":
        return [Node(name, "MaxPool", (tensor,), name, attrs)], (c, oh, ow)
    filters = _get_int(where, spec, "filters")
    attrs.update(groups=1, out_channels=filters, in_channels=c)
    return [Node(name, "Conv", (tensor,), name, attrs)], (filters, oh, ow)


def read_yaml_graph(path: str | Path) -> Graph:
    """Read a YAML network file as a Graph (errors name the file and the key path)."""
    from archsim_core.yamlio import load_file  # the one strict YAML reader

    path = Path(path)
    return graph_from_dict(load_file(path, WorkloadError, "workload"), str(path))


def _top(doc) -> tuple[tuple[int, ...], int, list, bool]:
    if not isinstance(doc, dict):
        raise WorkloadError("top level: must be a mapping")
    unknown = sorted(set(doc) - _TOP_KEYS, key=str)
    if unknown:
        raise WorkloadError(f"{unknown[0]}: unknown key")
    shape = doc.get("input")
    if (not isinstance(shape, list) or len(shape) != 3
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in shape)):
        raise WorkloadError(f"input: must be [channels, height, width] of positive "
                            f"integers, got {shape!r}")
    batch = _get_int("", doc, "batch", 1)
    specs = doc.get("layers")
    if not isinstance(specs, list) or not specs:
        raise WorkloadError("layers: must be a non-empty list")
    activation = doc.get("activation")
    if activation not in (None, "relu"):
        raise WorkloadError(f"activation: must be relu if given, got {activation!r}")
    return tuple(shape), batch, specs, activation == "relu"


def graph_from_dict(doc, source: str) -> Graph:
    """Build a Graph from a parsed YAML mapping; errors name `source` and the key path."""
    try:
        shape, batch, specs, relu = _top(doc)
        nodes, tensor, names, arrays = [], "input", set(), []
        for i, spec in enumerate(specs):
            new, shape = _entry_nodes(f"layers[{i}]", spec, shape, tensor)
            last = new[-1]
            if last.op in ("Conv", "Linear"):
                if last.name in names:
                    raise WorkloadError(f"layers[{i}].name: duplicate layer name {last.name!r}")
                names.add(last.name)
                arrays.append(len(nodes) + len(new) - 1)
            nodes += new
            tensor = last.output
        if not arrays:
            raise WorkloadError("layers: no conv or fc layer")
        if relu:
            nodes = _with_relus(nodes, arrays[:-1])
            tensor = nodes[-1].output
        name = str(doc.get("name", Path(source).stem))
        return Graph(name, "input", (batch,) + tuple(doc["input"]), tuple(nodes), tensor, source)
    except WorkloadError as exc:
        raise WorkloadError(f"{source}: {exc}") from None


def _with_relus(nodes: list, after: list[int]) -> list:
    """A ReLU after each node index in `after`, rewiring the next readers of its output."""
    out, rename = [], {}
    for i, node in enumerate(nodes):
        inputs = tuple(rename.get(t, t) for t in node.inputs)
        out.append(Node(node.name, node.op, inputs, node.output, node.attrs, node.weights))
        if i in after:
            relu = f"{node.name}/relu"
            out.append(Node(relu, "Relu", (node.output,), relu))
            rename[node.output] = relu
    return out
