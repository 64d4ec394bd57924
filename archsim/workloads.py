"""Workloads: layers as GEMMs, read from our YAML format or a SCALE-Sim topology CSV.

A conv layer (batch N, C channels, H x W input, F filters of R x S, stride s, padding p) is
the GEMM M = N*E*F', K = R*S*C, N = F (SPEC-sim §1). A fully connected layer is M = batch,
K = in_features, N = out_features (stored as a 1x1 "image" with 1x1 filters).

Our YAML lists the network as the software sees it: an input shape, then conv / pool / fc
layers; shapes are propagated (pooling and flattening change shapes but are not simulated on
the array). SCALE-Sim's CSV lists each layer's ifmap explicitly, has no padding and schedules
a partial last window: E = ceil((H - R + s)/s) (`partial_window=True`).
"""
from __future__ import annotations

import csv
import enum
import math
from dataclasses import dataclass, replace
from pathlib import Path

from archsim.errors import WorkloadError


class LayerKind(enum.Enum):
    """What the array computes for a layer."""
    CONV = "conv"
    FC = "fc"


@dataclass(frozen=True)
class Layer:
    """One layer mapped to the array; sizes in elements.

    `partial_window` selects SCALE-Sim's output-size rule E = ceil((H - R + s)/s), which
    schedules a last window that runs past the input; otherwise E = floor((H+2p-R)/s) + 1.
    """
    name: str
    kind: LayerKind
    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    num_filters: int
    stride: int = 1
    padding: int = 0
    batch: int = 1
    partial_window: bool = False

    def __post_init__(self):
        problems = layer_problems(self)
        if problems:
            field, why = problems[0]
            raise WorkloadError(f"layer {self.name!r}: {field}: {why}")

    def _out(self, size: int, filt: int) -> int:
        if self.partial_window:
            return math.ceil((size - filt + self.stride) / self.stride)
        return (size + 2 * self.padding - filt) // self.stride + 1

    @property
    def ofmap_h(self) -> int:
        """Output rows per image."""
        return self._out(self.ifmap_h, self.filter_h)

    @property
    def ofmap_w(self) -> int:
        """Output columns per image."""
        return self._out(self.ifmap_w, self.filter_w)

    @property
    def gemm_m(self) -> int:
        """GEMM rows: output pixels over the whole batch."""
        return self.batch * self.ofmap_h * self.ofmap_w

    @property
    def gemm_k(self) -> int:
        """GEMM reduction length: one filter window."""
        return self.filter_h * self.filter_w * self.channels

    @property
    def gemm_n(self) -> int:
        """GEMM columns: filters (output channels)."""
        return self.num_filters

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the layer (whole batch)."""
        return self.gemm_m * self.gemm_k * self.gemm_n


def layer_problems(layer: Layer) -> list[tuple[str, str]]:
    """(field, reason) for every invalid size of `layer`; empty when it is valid."""
    problems = []
    for field in ("ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "num_filters",
                  "stride", "batch"):
        value = getattr(layer, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append((field, f"must be a positive integer, got {value!r}"))
    if isinstance(layer.padding, bool) or not isinstance(layer.padding, int) or layer.padding < 0:
        problems.append(("padding", f"must be a non-negative integer, got {layer.padding!r}"))
    if problems:
        return problems
    pad = 0 if layer.partial_window else layer.padding
    for field, size, filt in (("filter_h", layer.ifmap_h, layer.filter_h),
                              ("filter_w", layer.ifmap_w, layer.filter_w)):
        if filt > size + 2 * pad:
            problems.append((field, f"filter {filt} exceeds the padded input {size + 2 * pad}"))
    return problems


@dataclass(frozen=True)
class Workload:
    """A named sequence of layers (only those that run on the array)."""
    name: str
    layers: tuple[Layer, ...]

    @property
    def macs(self) -> int:
        """Total multiply-accumulates."""
        return sum(layer.macs for layer in self.layers)

    def with_batch(self, batch: int) -> Workload:
        """The same network at another batch size."""
        return Workload(self.name, tuple(replace(layer, batch=batch) for layer in self.layers))


def load_workload(path: str | Path) -> Workload:
    """Read a workload: our YAML (`.yaml`/`.yml`) or a SCALE-Sim topology (`.csv`)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return read_scalesim_topology(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return read_yaml_workload(path)
    raise WorkloadError(f"{path}: unknown workload format (expected .yaml, .yml or .csv)")


# SCALE-Sim header names (lower-cased, stripped) -> our field names.
_SCALESIM_COLUMNS = {
    "layer name": "name", "layer": "name",
    "ifmap height": "ifmap_h", "ifmap width": "ifmap_w",
    "filter height": "filter_h", "filter width": "filter_w",
    "channels": "channels", "num filter": "num_filters", "num filters": "num_filters",
    "strides": "stride", "stride": "stride",
    "stride height": "stride_h", "stride width": "stride_w",
    "batch": "batch", "batch size": "batch",
    "sparsity": "sparsity",  # N:M ratio, used by SCALE-Sim only with sparsity support: ignored
}
_SCALESIM_REQUIRED = ("name", "ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels",
                      "num_filters")


def _scalesim_header(path: Path, fields: list[str]) -> list[str]:
    header = []
    for text in fields:
        key = " ".join(text.strip().lower().split())
        if key not in _SCALESIM_COLUMNS:
            raise WorkloadError(f"{path}: row 1: unknown column {text.strip()!r}")
        header.append(_SCALESIM_COLUMNS[key])
    missing = [c for c in _SCALESIM_REQUIRED if c not in header]
    if "stride" not in header and not {"stride_h", "stride_w"} <= set(header):
        missing.append("stride")
    if missing:
        raise WorkloadError(f"{path}: row 1: missing column(s) {', '.join(missing)}")
    return header


def _scalesim_int(path: Path, row_no: int, field: str, text: str | None) -> int:
    if text is None or text.strip() == "":
        raise WorkloadError(f"{path}: row {row_no}: field {field} is missing")
    try:
        value = int(text.strip())
    except ValueError:
        raise WorkloadError(f"{path}: row {row_no}: field {field}: not an integer: "
                            f"{text.strip()!r}") from None
    if value < 1:
        raise WorkloadError(f"{path}: row {row_no}: field {field}: must be positive, got {value}")
    return value


def _scalesim_layer(path: Path, row_no: int, header: list[str], fields: list[str]) -> Layer:
    values = dict(zip(header, fields))
    name = (values.get("name") or "").strip()
    if not name:
        raise WorkloadError(f"{path}: row {row_no}: field name is missing")
    ints = {f: _scalesim_int(path, row_no, f, values.get(f))
            for f in _SCALESIM_REQUIRED[1:]}
    if "stride" in header:
        stride = _scalesim_int(path, row_no, "stride", values.get("stride"))
    else:
        stride = _scalesim_int(path, row_no, "stride_h", values.get("stride_h"))
        if _scalesim_int(path, row_no, "stride_w", values.get("stride_w")) != stride:
            raise WorkloadError(f"{path}: row {row_no}: field stride_w: unequal strides "
                                "are not supported")
    batch = _scalesim_int(path, row_no, "batch", values.get("batch")) if "batch" in header else 1
    candidate = dict(name=name, kind=LayerKind.CONV, stride=stride, batch=batch,
                     partial_window=True, **ints)
    try:
        return Layer(**candidate)
    except WorkloadError as exc:
        raise WorkloadError(f"{path}: row {row_no}: {exc}") from None


def read_scalesim_topology(path: str | Path) -> Workload:
    """Read a SCALE-Sim topology CSV with SCALE-Sim's conventions.

    The first non-blank row is the header; every row may end with a trailing comma (an empty
    last field, ignored). SCALE-Sim drops the last field of every row, so a row without the
    trailing comma that has one field more than the header (its shipped MobileNets end
    depthwise rows with `,#dw`) loses that field here too; a row without the trailing comma
    and without the extra field, which SCALE-Sim cannot read, is accepted as written. A
    `Sparsity` column is accepted and ignored (SCALE-Sim uses it only with sparsity support).
    Rows have no padding; E = ceil((H - R + s)/s) (`partial_window`). "DP" layers are not
    split here (`archsim.sim.scalesim.compat.expand_depthwise`, applied by both CSV users).
    Errors name the file, the 1-based line and the field.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(f"{path}: cannot read topology: {exc}") from None
    header, layers = None, []
    lines = text.splitlines()
    for row_no, (line, fields) in enumerate(zip(lines, csv.reader(lines)), start=1):
        if not fields or all(f.strip() == "" for f in fields):
            continue
        while fields and fields[-1].strip() == "":
            fields = fields[:-1]  # SCALE-Sim rows end with a comma
        if header is None:
            header = _scalesim_header(path, fields)
            continue
        if len(fields) == len(header) + 1 and not line.rstrip().endswith(","):
            fields = fields[:-1]  # a trailing note, dropped as SCALE-Sim drops a last field
        if len(fields) > len(header):
            raise WorkloadError(f"{path}: row {row_no}: {len(fields)} fields, header has "
                                f"{len(header)}")
        layers.append(_scalesim_layer(path, row_no, header, fields))
    if not layers:
        raise WorkloadError(f"{path}: no layers")
    return Workload(path.stem, tuple(layers))


_YAML_KEYS = {
    "conv": {"type", "name", "filters", "kernel", "stride", "padding"},
    "pool": {"type", "name", "kernel", "stride", "padding"},
    "fc": {"type", "name", "out_features"},
}


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


def _yaml_layer(where: str, spec, shape: tuple[int, ...], batch: int):
    """(Layer or None, new shape) for one entry of `layers:`; shape is (C, H, W) or (n,)."""
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
        layer = Layer(name, LayerKind.FC, 1, 1, 1, 1, math.prod(shape), out, batch=batch)
        return layer, (out,)
    if len(shape) != 3:
        raise WorkloadError(f"{where}.type: {kind} after a flattened (fc) layer")
    r, s = _kernel(where, spec)
    pad = _get_int(where, spec, "padding", 0, minimum=0)
    stride = _get_int(where, spec, "stride", 1 if kind == "conv" else r)
    c, h, w = shape
    if r > h + 2 * pad or s > w + 2 * pad:
        raise WorkloadError(f"{where}.kernel: {r}x{s} exceeds the padded input "
                            f"{h + 2 * pad}x{w + 2 * pad}")
    oh, ow = (h + 2 * pad - r) // stride + 1, (w + 2 * pad - s) // stride + 1
    if kind == "pool":
        return None, (c, oh, ow)
    filters = _get_int(where, spec, "filters")
    layer = Layer(name, LayerKind.CONV, h, w, r, s, c, filters, stride, pad, batch)
    return layer, (filters, oh, ow)


def read_yaml_workload(path: str | Path) -> Workload:
    """Read our YAML network format (see workloads/*.yaml): name, input [C, H, W], batch,
    layers of type conv (filters, kernel, stride, padding), pool (kernel, stride, padding;
    changes the shape, not simulated) and fc (out_features; flattens C, H, W)."""
    from archsim_core.yamlio import load_file

    path = Path(path)
    doc = load_file(path, WorkloadError, "workload")
    return workload_from_dict(doc, str(path))


def workload_from_dict(doc, source: str) -> Workload:
    """Build a workload from a parsed YAML mapping; errors name `source` and the key path."""
    try:
        if not isinstance(doc, dict):
            raise WorkloadError("top level: must be a mapping")
        unknown = sorted(set(doc) - {"name", "input", "batch", "layers"}, key=str)
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
        layers, shape = [], tuple(shape)
        for i, spec in enumerate(specs):
            layer, shape = _yaml_layer(f"layers[{i}]", spec, shape, batch)
            if layer is not None:
                if layer.name in {l.name for l in layers}:
                    raise WorkloadError(f"layers[{i}].name: duplicate layer name {layer.name!r}")
                layers.append(layer)
        if not layers:
            raise WorkloadError("layers: no conv or fc layer")
        return Workload(str(doc.get("name", Path(source).stem)), tuple(layers))
    except WorkloadError as exc:
        raise WorkloadError(f"{source}: {exc}") from None
