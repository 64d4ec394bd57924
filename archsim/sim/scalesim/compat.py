"""SCALE-Sim compatibility: its INI config, its GEMM topology, its three report files.

`archsim scalesim -c X.cfg -t Y.csv -p OUT` reads SCALE-Sim v2's (PyPI scalesim 3.0.0) inputs
and writes its `COMPUTE_REPORT.csv`, `BANDWIDTH_REPORT.csv` and `DETAILED_ACCESS_REPORT.csv`
with its column names, its number formats and its conventions, where archsim's own reports
differ (tests/test_scalesim_compat.py compares the files with SCALE-Sim's own):

- cycles are SCALE-Sim's: the 0-based index of the last cycle (archsim's true count minus one);
  overall utilisation divides by that number;
- for os, SRAM OFMAP writes include SCALE-Sim's counting bug, folds*(R+C) writes that never
  happen (archsim's own reports count M*N);
- SRAM/DRAM start and stop cycles follow its trace timing (reads served one cycle after the
  request, the first SRAM fills finish before cycle 0, hence negative DRAM cycles);
- DRAM traffic is its InterfaceBandwidth = CALC estimate, reproduced exactly
  (`archsim.sim.scalesim.memory`): ifmap/filter reads prefetched before cycle 0 while an operand
  fits half its SRAM, refilled during compute in SCALE-Sim's set epochs (re-fetching) past
  that; ofmap writes through its write buffer's drains.
- Not reproduced, hence rejected with a clear error: InterfaceBandwidth = USER (SCALE-Sim's
  stall model; use `archsim run` for archsim's), Ramulator traces, sparsity. If its ofmap
  write buffer could fill while draining (where SCALE-Sim would stall), a note says so.
"""
from __future__ import annotations

import configparser
import functools
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from archsim.errors import ConfigError, WorkloadError
from archsim.sim.scalesim.memory import ofmap_drains, read_refills, write_counts
from archsim.sim.plan import Dataflow, LayerPlan, plan_layer
from archsim.workloads import Layer, LayerKind, Workload

# SCALE-Sim's fixed memory-model constants (word = 1 byte; CALC mode).
_SETS = 100             # a read buffer is tracked in sets of 1/100 of its words
_ACTIVE_SETS = 50       # half of them form the active buffer
_CALC_READ_BW = 10      # words/cycle of an ifmap/filter prefetch in CALC mode

_KNOWN_KEYS = {
    "general": {"run_name"},
    "architecture_presets": {
        "arrayheight", "arraywidth", "ifmapsramszkb", "filtersramszkb", "ofmapsramszkb",
        "ifmapoffset", "filteroffset", "ofmapoffset", "bandwidth", "dataflow",
        "readrequestbuffer", "writerequestbuffer", "onchipmemorybanks",
        "onchipmemorybankports", "memorybanks", "ifmapcustomlayout", "filtercustomlayout",
        "ifmapsrambankbandwidth", "ifmapsrambanknum", "ifmapsrambankport",
        "filtersrambankbandwidth", "filtersrambanknum", "filtersrambankport"},
    "layout": {"ifmapcustomlayout", "filtercustomlayout", "ifmapsrambankbandwidth",
               "ifmapsrambanknum", "ifmapsrambankport", "filtersrambankbandwidth",
               "filtersrambanknum", "filtersrambankport"},
    "sparsity": {"sparsitysupport", "sparserep", "optimizedmapping", "blocksize",
                 "randomnumbergeneratorseed", "nonzeroelems"},
    "run_presets": {"interfacebandwidth", "useramulatortrace"},
    "network_presets": {"topologycsvloc", "layoutcsvloc"},
}


@dataclass(frozen=True)
class ScaleSimConfig:
    """The parts of a SCALE-Sim config that determine its reports (sizes in KiB of 1-byte words)."""
    run_name: str
    array_rows: int
    array_cols: int
    ifmap_sram_kib: int
    filter_sram_kib: int
    ofmap_sram_kib: int
    dataflow: Dataflow


def _positive(path: Path, parser, section: str, key: str) -> int:
    text = parser.get(section, key, fallback=None)
    if text is None:
        raise ConfigError(f"{path}: [{section}] {key}: missing")
    try:
        value = int(text.strip())
    except ValueError:
        raise ConfigError(f"{path}: [{section}] {key}: not an integer: {text.strip()!r}") from None
    if value < 1:
        raise ConfigError(f"{path}: [{section}] {key}: must be positive, got {value}")
    return value


def _reject_unsupported(path: Path, parser) -> None:
    for section, key, allowed, why in (
            ("run_presets", "InterfaceBandwidth", {"calc"},
             "only CALC is reproduced (SCALE-Sim's USER-bandwidth stall model is not); "
             "use `archsim run` for archsim's stall model"),
            ("run_presets", "UseRamulatorTrace", {"false"}, "Ramulator traces are not supported"),
            ("sparsity", "SparsitySupport", {"false"}, "sparsity is not supported")):
        value = parser.get(section, key, fallback="CALC" if key == "InterfaceBandwidth" else "false")
        if value.strip().lower() not in allowed:
            raise ConfigError(f"{path}: [{section}] {key} = {value.strip()}: {why}")


def read_scalesim_config(path: str | Path) -> ScaleSimConfig:
    """Read a SCALE-Sim INI config; ConfigError names the file, section and key.

    Keys SCALE-Sim knows but that cannot change CALC-mode reports (address offsets, request
    buffers, SRAM bank layout) are accepted and ignored; unknown keys are rejected.
    """
    path = Path(path)
    parser = configparser.ConfigParser()
    try:
        with path.open(encoding="utf-8") as fh:
            parser.read_file(fh)
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ConfigError(f"{path}: cannot read SCALE-Sim config: "
                          f"{' '.join(str(exc).split())}") from None
    for section in parser.sections():
        known = _KNOWN_KEYS.get(section)
        if known is None:
            raise ConfigError(f"{path}: [{section}]: unknown section")
        unknown = sorted(set(parser[section]) - known)
        if unknown:
            raise ConfigError(f"{path}: [{section}] {unknown[0]}: unknown key")
    _reject_unsupported(path, parser)
    arch = "architecture_presets"
    dataflow = parser.get(arch, "Dataflow", fallback=None)
    if dataflow is None or dataflow.strip().lower() not in ("os", "ws", "is"):
        raise ConfigError(f"{path}: [{arch}] Dataflow: must be os, ws or is, got {dataflow!r}")
    run_name = parser.get("general", "run_name", fallback="").strip()
    if not run_name or "/" in run_name or run_name in (".", ".."):
        raise ConfigError(f"{path}: [general] run_name: must be a non-empty file name")
    return ScaleSimConfig(
        run_name, _positive(path, parser, arch, "ArrayHeight"),
        _positive(path, parser, arch, "ArrayWidth"),
        _positive(path, parser, arch, "IfmapSramSzkB"),
        _positive(path, parser, arch, "FilterSramSzkB"),
        _positive(path, parser, arch, "OfmapSramSzkB"), Dataflow(dataflow.strip().lower()))


def expand_depthwise(workload: Workload) -> Workload:
    """SCALE-Sim's depthwise rule: a layer whose name contains "DP" runs as one single-channel
    layer per input channel, named <name>Channel_<i>, each with all the layer's filters."""
    from archsim.errors import ResourceError
    from archsim.sim.limits import MAX_LAYERS

    count = sum(layer.channels if "DP" in layer.name else 1 for layer in workload.layers)
    if count > MAX_LAYERS:
        raise ResourceError(f"{workload.name}: depthwise (DP) layers expand to {count:,} "
                            f"layers, more than the bound of {MAX_LAYERS:,}")
    layers = []
    for layer in workload.layers:
        if "DP" not in layer.name:
            layers.append(layer)
            continue
        layers += [replace(layer, name=f"{layer.name}Channel_{i}", channels=1)
                   for i in range(layer.channels)]
    return Workload(workload.name, tuple(layers))


def read_scalesim_gemm_topology(path: str | Path) -> Workload:
    """Read SCALE-Sim's GEMM topology (`-i gemm`: rows `name, M, N, K,`) as it does: a layer
    of an M x K "image", one 1 x K filter per output column, one channel."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(f"{path}: cannot read topology: {exc}") from None
    layers = []
    for row_no, line in enumerate(lines[1:], start=2):
        fields = [f.strip() for f in line.split(",")]
        while fields and fields[-1] == "":
            fields.pop()
        if not fields:
            continue
        if len(fields) < 4:
            raise WorkloadError(f"{path}: row {row_no}: expected name, M, N, K")
        dims = {}
        for field, text in zip("MNK", fields[1:4]):
            if not text.isdigit() or int(text) < 1:
                raise WorkloadError(f"{path}: row {row_no}: field {field}: must be a positive "
                                    f"integer, got {text!r}")
            dims[field] = int(text)
        layers.append(Layer(fields[0], LayerKind.FC, dims["M"], dims["K"], 1, dims["K"], 1,
                            dims["N"], partial_window=True))
    if not layers:
        raise WorkloadError(f"{path}: no layers")
    return Workload(path.stem, tuple(layers))


@dataclass(frozen=True)
class LayerReport:
    """One layer's row of SCALE-Sim's three reports, in its conventions (see module doc)."""
    name: str
    cycles_incl_prefetch: int
    total_cycles: int
    stall_cycles: int
    overall_util_pct: float
    mapping_efficiency_pct: float
    compute_util_pct: float
    sram: tuple        # (start, stop, count) for ifmap reads, filter reads, ofmap writes
    dram: tuple        # the same for DRAM
    notes: tuple[str, ...] = ()


@functools.lru_cache(maxsize=8)
def _ifmap_tables(layer: Layer) -> tuple[np.ndarray, ...]:
    """Per GEMM row m and per GEMM column k, the parts of the input pixel (y, x, channel) of
    operand (m, k): the pixel index is separable, base_m[m] + base_k[k], with y = y_m[m] + y_k[k]
    and x = x_m[m] + x_k[k], so a request stream costs gathers, not divisions."""
    oy, ox = np.divmod(np.arange(layer.gemm_m), layer.ofmap_w)
    r, rest = np.divmod(np.arange(layer.gemm_k), layer.filter_w * layer.channels)
    s, ch = np.divmod(rest, layer.channels)
    y_m, x_m = oy * layer.stride, ox * layer.stride
    base_m = (y_m * layer.ifmap_w + x_m) * layer.channels
    base_k = (r * layer.ifmap_w + s) * layer.channels + ch
    return base_m, base_k, y_m, r, x_m, s


def _ifmap_pixel(layer: Layer, m: np.ndarray, k: np.ndarray) -> np.ndarray:
    """SCALE-Sim's ifmap word of GEMM operand (m, k): its input pixel (y, x, channel), or -1
    where its partial last window (E = ceil((H-R+s)/s)) runs past the input."""
    base_m, base_k, y_m, y_k, x_m, x_k = _ifmap_tables(layer)
    inside = (y_m[m] + y_k[k] < layer.ifmap_h) & (x_m[m] + x_k[k] < layer.ifmap_w)
    return np.where(inside, base_m[m] + base_k[k], -1)


def _ifmap_valid(layer: Layer, m: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Whether the ifmap operand (m, k) is a real pixel."""
    return _ifmap_pixel(layer, m, k) >= 0


def _fold_request_times(plan: LayerPlan, row_fold: int, col_fold: int,
                        with_ifmap: bool = True) -> list[np.ndarray]:
    """Cycles (within the fold) of the ifmap, filter and ofmap SRAM requests of one fold,
    before SCALE-Sim's read latency: stationary tiles load in the first R cycles (flipped,
    so the last used row goes first), streams enter one array column/row later per lane.
    The ifmap's (the costly one: its absent pixels are masked) is left empty if not asked."""
    rows, cols, t = plan.rows, plan.cols, plan.t
    ru, cu = plan.used_rows(row_fold), plan.used_cols(col_fold)
    lane_r, lane_c, time = np.arange(ru), np.arange(cu), np.arange(t)
    tile_load = np.arange(rows - ru, rows)
    valid = (lambda m, k: _ifmap_valid(plan.layer, m, k)) if with_ifmap else (
        lambda m, k: np.zeros(np.broadcast_shapes(np.shape(m), np.shape(k)), dtype=bool))
    if plan.dataflow is Dataflow.OS:    # rows: M, cols: N, time: K
        m, k = row_fold * rows + lane_r[None, :], time[:, None]
        ifmap = (time[:, None] + lane_r[None, :])[valid(m, k)]
        filt = time[:, None] + lane_c[None, :]
        ofmap = (t - 1) + tile_load[:, None] + lane_c[None, :]
    elif plan.dataflow is Dataflow.WS:  # rows: K, cols: N, time: M
        m, k = time[:, None], row_fold * rows + lane_r[None, :]
        ifmap = (rows + time[:, None] + lane_r[None, :])[valid(m, k)]
        filt = tile_load
        ofmap = 2 * rows - 1 + time[:, None] + lane_c[None, :]
    else:                               # rows: K, cols: M, time: N
        k, m = row_fold * rows + lane_r[:, None], col_fold * cols + lane_c[None, :]
        load = np.broadcast_to((rows - 1 - lane_r)[:, None], (ru, cu))
        ifmap = load[valid(m, k)]
        filt = rows + time[:, None] + lane_r[None, :]
        ofmap = 2 * rows - 1 + time[:, None] + lane_c[None, :]
    return [np.asarray(a).ravel() for a in (ifmap, filt, ofmap)]


def _sram_windows(plan: LayerPlan) -> list[tuple[float, float]]:
    """(first, last) cycle at which SCALE-Sim's trace shows each operand's SRAM traffic."""
    first = _fold_request_times(plan, 0, 0)
    last: list = [None, None, None]
    for index in range(plan.folds - 1, -1, -1):  # a fold may hold only absent pixels
        row_fold, col_fold = plan.fold_position(index)
        times = _fold_request_times(plan, row_fold, col_fold, last[0] is None)
        for op in range(3):
            if last[op] is None and times[op].size:
                last[op] = index * plan.cycles_per_fold + int(times[op].max())
        if all(v is not None for v in last):
            break
    latency = (1, 1, 0)  # reads are served one cycle after the request, writes at once
    return [(float(int(f.min()) + lat), float(lv + lat))
            for f, lv, lat in zip(first, last, latency)]


def _fold_means(plan: LayerPlan) -> tuple[float, float]:
    """SCALE-Sim's mapping efficiency and compute utilisation: plain means over folds, summed
    in fold order (so the floats match its report bit for bit)."""
    rows, cols = plan.rows, plan.cols
    _, _, used_r, used_c = plan.fold_grid()                     # issue order
    used = (used_r * used_c).astype(np.int64)
    # its utilisation divides by the length of the last operand's demand window
    window = plan.cycles_per_fold if plan.dataflow is Dataflow.OS else plan.cycles_per_fold + cols - 1
    mapping = np.add.accumulate(used / (rows * cols))[-1]
    compute = np.add.accumulate((used * plan.t) / (rows * cols * window))[-1]
    return float(mapping / plan.folds * 100), float(compute / plan.folds * 100)


def _covered(size: int, filt: int, out: int, stride: int) -> int:
    """Input rows (or columns) that some window of the layer reads."""
    starts = np.arange(out)[:, None] * stride + np.arange(filt)[None, :]
    read = np.zeros(size, dtype=bool)  # (not np.unique: it imports numpy.ma, ~10% of a run)
    read[starts[starts < size]] = True
    return int(np.count_nonzero(read))


def _dram_reads(plan: LayerPlan, operand: str, words: int, first_request: int, sram_kib: int):
    """CALC-mode DRAM reads of an operand with `words` distinct words, first requested at
    cycle `first_request`: (start, stop, words fetched) of SCALE-Sim's prefetch trace.

    SCALE-Sim tracks the read buffer in sets of 1/100 of its words; half of them (50 sets) form
    the active buffer, fetched at 10 words/cycle. If the operand fits in fewer than 50 sets
    it is all fetched up front, finishing at cycle -1 (served a cycle after the request).
    Otherwise the first 50 sets are fetched up front, finishing just before the first request,
    and the rest while computing (`archsim.sim.scalesim.memory.read_refills`)."""
    per_set = (sram_kib * 1024) // _SETS
    if words < _ACTIVE_SETS * per_set:
        cycles = math.ceil(math.ceil(words / per_set) * per_set / _CALC_READ_BW)
        return float(-cycles), -1.0, words
    layer = plan.layer
    if operand == "ifmap":
        key_of = lambda m, k, _n: _ifmap_pixel(layer, m, k)  # noqa: E731
        space = layer.ifmap_h * layer.ifmap_w * layer.channels
    else:
        n = layer.gemm_n
        key_of, space = (lambda _m, k, col: k * n + col), layer.gemm_k * n
    fetched, last_end = read_refills(plan, operand, key_of, space, per_set, _ACTIVE_SETS)
    start = first_request - math.ceil(_ACTIVE_SETS * per_set / _CALC_READ_BW)
    return float(start), float(last_end + 1), fetched


def _dram_writes(plan: LayerPlan, sram_kib: int, notes: list):
    """CALC-mode ofmap drains of SCALE-Sim's write buffer (see `archsim.sim.scalesim.memory`)."""
    counts = write_counts(plan, lambda p, rf, cf: _fold_request_times(p, rf, cf, False)[2])
    start, stop, words, stall = ofmap_drains(counts, plan.cols, sram_kib, plan.scalesim_cycles)
    if stall:
        notes.append("ofmap: the write buffer may fill while draining; SCALE-Sim would stall "
                     "there, archsim reports no stall")
    return start, stop, words


def layer_report(layer: Layer, config: ScaleSimConfig) -> LayerReport:
    """SCALE-Sim's report row for `layer` (CALC mode: no stalls), from archsim's plan."""
    plan = plan_layer(layer, config.array_rows, config.array_cols, config.dataflow)
    notes: list[str] = []
    ofmap_writes = plan.ofmap_sram_writes
    if plan.dataflow is Dataflow.OS:  # SCALE-Sim's counter adds each fold's tile height + width
        ofmap_writes += plan.folds * (plan.rows + plan.cols)
    windows = _sram_windows(plan)
    sram = tuple((*w, n) for w, n in zip(
        windows, (plan.ifmap_sram_reads, plan.filter_sram_reads, ofmap_writes)))
    ifmap_words = layer.channels * (
        _covered(layer.ifmap_h, layer.filter_h, layer.ofmap_h, layer.stride)
        * _covered(layer.ifmap_w, layer.filter_w, layer.ofmap_w, layer.stride))
    dram = (_dram_reads(plan, "ifmap", ifmap_words, int(windows[0][0]) - 1,
                        config.ifmap_sram_kib),
            _dram_reads(plan, "filter", layer.gemm_k * layer.gemm_n, int(windows[1][0]) - 1,
                        config.filter_sram_kib),
            _dram_writes(plan, config.ofmap_sram_kib, notes))
    total = plan.scalesim_cycles
    mapping, compute = _fold_means(plan)
    return LayerReport(
        layer.name, int(dram[2][1] - min(dram[0][0], dram[1][0])), total, 0,
        (layer.macs * 100) / (total * plan.rows * plan.cols), mapping, compute, sram, dram,
        tuple(f"{layer.name}: {n}" for n in notes))


COMPUTE_HEADER = ("LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, "
                  "Overall Util %, Mapping Efficiency %, Compute Util %,")
BANDWIDTH_HEADER = ("LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, "
                    "Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,")
DETAILED_HEADER = "LayerID, " + ", ".join(
    f"{mem} {op} {what}" for mem in ("SRAM", "DRAM")
    for op, count in (("IFMAP", "Reads"), ("Filter", "Reads"), ("OFMAP", "Writes"))
    for what in ("Start Cycle", "Stop Cycle", count)) + ","


def _line(layer_id: int, values) -> str:
    return ", ".join([str(layer_id)] + [str(v) for v in values]) + ",\n"


def report_lines(reports: list[LayerReport]) -> dict[str, str]:
    """The three report files' text, keyed by file name, in SCALE-Sim's exact format."""
    compute, bandwidth, detailed = [COMPUTE_HEADER + "\n"], [BANDWIDTH_HEADER + "\n"], \
        [DETAILED_HEADER + "\n"]
    for lid, rep in enumerate(reports):
        compute.append(_line(lid, (rep.cycles_incl_prefetch, rep.total_cycles,
                                   rep.stall_cycles, rep.overall_util_pct,
                                   rep.mapping_efficiency_pct, rep.compute_util_pct)))
        sram_bw = [count / rep.total_cycles for _, _, count in rep.sram]
        dram_bw = [count / (stop - start + 1) for start, stop, count in rep.dram]
        bandwidth.append(_line(lid, sram_bw + dram_bw))
        detailed.append(_line(lid, [v for triple in rep.sram + rep.dram for v in triple]))
    return {"COMPUTE_REPORT.csv": "".join(compute), "BANDWIDTH_REPORT.csv": "".join(bandwidth),
            "DETAILED_ACCESS_REPORT.csv": "".join(detailed)}


def write_reports(out_dir: str | Path, reports: list[LayerReport]) -> list[Path]:
    """Write COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv, DETAILED_ACCESS_REPORT.csv."""
    paths = []
    for name, text in report_lines(reports).items():
        path = Path(out_dir) / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
