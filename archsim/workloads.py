"""Workloads: the simulator's view of a network, layers as GEMMs plus the other operators.

Every network description becomes an `archsim.network.Graph` first (our YAML, ONNX); a
`Workload` is what the simulator takes from it (`archsim.network.lower`): the array layers
and, for the run report, every operator with the unit it runs on. A SCALE-Sim topology CSV
lists array layers only and is read directly with SCALE-Sim's own conventions.

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
from dataclasses import dataclass, replace
from pathlib import Path

from archsim.errors import WorkloadError
from archsim.network.shapes import conv_output_size, scalesim_output_size


class LayerKind(enum.Enum):
    """What the array computes for a layer."""
    CONV = "conv"
    FC = "fc"
    MATMUL = "matmul"  # activation x activation (attention): both operands streamed in


@dataclass(frozen=True)
class Layer:
    """One layer mapped to the array; sizes in elements.

    `partial_window` selects SCALE-Sim's output-size rule E = ceil((H - R + s)/s), which
    schedules a last window that runs past the input; otherwise E = floor((H+2p-R)/s) + 1.

    `groups` > 1 (grouped and depthwise convolutions; batched activation matmuls): the layer
    is `groups` independent GEMMs, each over channels/groups inputs and num_filters/groups
    outputs; gemm_k and gemm_n are one group's, `macs` counts all groups. `pads` (top, left,
    bottom, right) overrides the symmetric `padding`; `dilation` spaces the filter taps.
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
    groups: int = 1
    dilation: int = 1
    pads: tuple[int, int, int, int] | None = None

    def __post_init__(self):
        problems = layer_problems(self)
        if problems:
            field, why = problems[0]
            raise WorkloadError(f"layer {self.name!r}: {field}: {why}")

    @property
    def padding_tlbr(self) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) padding."""
        return self.pads if self.pads is not None else (self.padding,) * 4

    @property
    def ofmap_h(self) -> int:
        """Output rows per image."""
        if self.partial_window:
            return scalesim_output_size(self.ifmap_h, self.filter_h, self.stride)
        t, _, b, _ = self.padding_tlbr
        return conv_output_size(self.ifmap_h, self.filter_h, self.stride, t, b, self.dilation)

    @property
    def ofmap_w(self) -> int:
        """Output columns per image."""
        if self.partial_window:
            return scalesim_output_size(self.ifmap_w, self.filter_w, self.stride)
        _, l, _, r = self.padding_tlbr
        return conv_output_size(self.ifmap_w, self.filter_w, self.stride, l, r, self.dilation)

    @property
    def gemm_m(self) -> int:
        """GEMM rows: output pixels over the whole batch."""
        return self.batch * self.ofmap_h * self.ofmap_w

    @property
    def gemm_k(self) -> int:
        """GEMM reduction length: one filter window (of one group)."""
        return self.filter_h * self.filter_w * (self.channels // self.groups)

    @property
    def gemm_n(self) -> int:
        """GEMM columns: filters (output channels) of one group."""
        return self.num_filters // self.groups

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the layer (whole batch, all groups)."""
        return self.groups * self.gemm_m * self.gemm_k * self.gemm_n

    def group_layer(self) -> "Layer":
        """One group as an ungrouped layer (what the array runs `groups` times)."""
        if self.groups == 1:
            return self
        return replace(self, channels=self.channels // self.groups,
                       num_filters=self.num_filters // self.groups, groups=1)


def layer_problems(layer: Layer) -> list[tuple[str, str]]:
    """(field, reason) for every invalid size of `layer`; empty when it is valid."""
    problems = []
    for field in ("ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "num_filters",
                  "stride", "batch", "groups", "dilation"):
        value = getattr(layer, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append((field, f"must be a positive integer, got {value!r}"))
    if isinstance(layer.padding, bool) or not isinstance(layer.padding, int) or layer.padding < 0:
        problems.append(("padding", f"must be a non-negative integer, got {layer.padding!r}"))
    if layer.pads is not None and (len(layer.pads) != 4 or any(
            isinstance(p, bool) or not isinstance(p, int) or p < 0 for p in layer.pads)):
        problems.append(("pads", f"must be 4 non-negative integers, got {layer.pads!r}"))
    if problems:
        return problems
    if layer.channels % layer.groups or layer.num_filters % layer.groups:
        problems.append(("groups", f"{layer.channels} channels and {layer.num_filters} filters "
                                   f"must both divide into {layer.groups} groups"))
    t, l, b, r = (0,) * 4 if layer.partial_window else layer.padding_tlbr
    for field, size, filt in (("filter_h", layer.ifmap_h + t + b, layer.filter_h),
                              ("filter_w", layer.ifmap_w + l + r, layer.filter_w)):
        span = layer.dilation * (filt - 1) + 1
        if span > size:
            problems.append((field, f"filter {filt} exceeds the padded input {size}"))
    return problems


@dataclass(frozen=True)
class Operator:
    """One operator of the network for the run report: where it runs (`unit`: array,
    vector or none) and its work per batch of `batch` (the workload's batch)."""
    name: str
    op: str
    unit: str
    macs: int
    vector_ops: int
    input_elements: int
    output_elements: int


@dataclass(frozen=True)
class Workload:
    """A named sequence of array layers plus, when it came from a network graph, every
    operator in graph order (`operators`, for the vector unit and the run report)."""
    name: str
    layers: tuple[Layer, ...]
    operators: tuple[Operator, ...] = ()

    @property
    def macs(self) -> int:
        """Total multiply-accumulates."""
        return sum(layer.macs for layer in self.layers)

    def with_batch(self, batch: int) -> Workload:
        """The same network at another batch size."""
        old = self.layers[0].batch
        scale = [replace(op, macs=op.macs * batch // old, vector_ops=op.vector_ops * batch // old,
                         input_elements=op.input_elements * batch // old,
                         output_elements=op.output_elements * batch // old)
                 for op in self.operators]
        return Workload(self.name, tuple(replace(layer, batch=batch) for layer in self.layers),
                        tuple(scale))


def load_workload(path: str | Path) -> Workload:
    """Read a workload: our YAML (`.yaml`/`.yml`), an ONNX model (`.onnx`) or a SCALE-Sim
    topology (`.csv`)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return read_scalesim_topology(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return read_yaml_workload(path)
    if path.suffix.lower() == ".onnx":
        from archsim.network.lower import graph_workload
        from archsim.network.onnx import load_onnx
        return graph_workload(load_onnx(path))
    raise WorkloadError(f"{path}: unknown workload format (expected .yaml, .yml, .onnx or .csv)")


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


def read_yaml_workload(path: str | Path) -> Workload:
    """Read our YAML network format (`archsim.network.yaml`) as the simulator's workload."""
    from archsim.network.lower import graph_workload
    from archsim.network.yaml import read_yaml_graph
    return graph_workload(read_yaml_graph(path))


def workload_from_dict(doc, source: str) -> Workload:
    """Build a workload from a parsed YAML mapping; errors name `source` and the key path."""
    from archsim.network.lower import graph_workload
    from archsim.network.yaml import graph_from_dict
    return graph_workload(graph_from_dict(doc, source))
