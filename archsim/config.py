"""Run configuration: YAML -> validated frozen dataclasses (load -> validate -> build).

Every problem is collected with its dotted path, unknown keys are rejected, and one
`ConfigError` naming the file lists them all. The resolved `Config` holds everything a run
needs (the workload's layers, the energy table) so a run is a pure function of it and the
object pickles cheaply for sweeps. Relative paths are resolved against the config file.

    name: da_mnist
    workload: {path: ../workloads/da_mnist.yaml}    # or {inline: {<workload YAML>}}
    batch: 1                                         # optional; overrides the workload's
    array: {rows: 32, cols: 32, dataflow: os}      # + overlap_stationary_load: false (ws/is)
    memory: {ifmap_sram_kib: 64, filter_sram_kib: 64, ofmap_sram_kib: 64, word_bytes: 4,
             dram_bandwidth_bytes_per_cycle: 16, dram_latency_cycles: 100}
    clock: {mode: fixed, clock_mhz: 500}             # or {mode: critical_path}
    pe: {variants: [exact, da]}                      # names, spec mappings or spec .yaml files
    energy: {ert: path.yaml}                 # optional; default archsim/data/ert_default.yaml
    functional: {weights: w.npz, samples: 1, seed: 0}  # optional; small workloads only
    cost: {library: lib.yaml, operands: {source: uniform | dataset | npz, ...},
           sample: 32, seed: 0, ops: 256}   # optional; see CostConfig
    accuracy: {architecture: da-lenet, weights: w.npz, dataset: mnist, data_dir: DIR,
               quant: q.json, images: 10000}  # optional: top-1 of every PE variant (int8: quant)
    vector: {lanes: 16, ops_per_cycle: 1}  # optional: time non-GEMM operators (archsim.sim.vector)

The workload may also be `{onnx: model.onnx, batch: 1, input_shape: [3, 224, 224]}` (batch
and input_shape optional: they set the model's symbolic or fixed batch and other dimensions).
"""
from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass
from pathlib import Path

from archsim.energy import EnergyTable, load_ert
from archsim.errors import ArchsimError, ConfigError, SpecError
from archsim.sim.plan import Dataflow
from archsim.sim.vector import VectorConfig
from archsim.workloads import Workload, load_workload, workload_from_dict


# Documented bounds (README "Bounds"): beyond them a value is a typo, not a design point.
MAX_ARRAY_DIM = 16384            # PEs per array row / column
MAX_SRAM_KIB = 1024 * 1024       # 1 GiB per SRAM
MAX_WORD_BYTES = 16
MIN_BANDWIDTH, MAX_BANDWIDTH = 1 / 1024, 1 << 20   # DRAM bytes per cycle
MAX_LATENCY_CYCLES = 1_000_000
MIN_CLOCK_MHZ, MAX_CLOCK_MHZ = 1e-3, 1e6           # 1 kHz .. 1 THz
MAX_BATCH = 1_000_000
MAX_FUNCTIONAL_SAMPLES = 10_000


class ClockMode(enum.Enum):
    """Where the clock comes from."""
    FIXED = "fixed"                  # clock_mhz as given
    CRITICAL_PATH = "critical_path"  # 1 / the PE's MAC delay, per variant


@dataclass(frozen=True)
class ArrayConfig:
    """The systolic array."""
    rows: int
    cols: int
    dataflow: Dataflow
    overlap_stationary_load: bool = False  # WS/IS: load the next tile during this fold


@dataclass(frozen=True)
class MemoryConfig:
    """On-chip SRAMs (each double-buffered: half computes, half fills) and the DRAM channel."""
    ifmap_sram_kib: float
    filter_sram_kib: float
    ofmap_sram_kib: float
    word_bytes: int
    dram_bandwidth_bytes_per_cycle: float
    dram_latency_cycles: int
    # per-tensor word sizes (archsim.sim.precision); None = word_bytes. Set per PE variant
    # (int8 variants: 1-byte ifmap/filter/ofmap, 4-byte psums), not read from the YAML.
    ifmap_word_bytes: int | None = None
    filter_word_bytes: int | None = None
    psum_word_bytes: int | None = None
    ofmap_word_bytes: int | None = None


@dataclass(frozen=True)
class ClockConfig:
    """Clock source; clock_mhz is None in critical_path mode."""
    mode: ClockMode
    clock_mhz: float | None


@dataclass(frozen=True)
class PEVariant:
    """One multiplier variant of the PE: a label and its spec (a name or a JSON mapping)."""
    label: str
    spec_json: str

    @property
    def spec(self):
        """The spec as given: a variant name (str) or a mapping."""
        return json.loads(self.spec_json)


@dataclass(frozen=True)
class FunctionalConfig:
    """Functional mode: compute each layer's outputs through every PE variant.

    `weights` is an .npz with `<layer>_weight` / `<layer>_bias` (None: seeded random
    weights); each layer gets its own seeded random input in [0, 1) of `samples` images.
    """
    weights: str | None
    samples: int
    seed: int


@dataclass(frozen=True)
class CostConfig:
    """Where the PE's MAC energy comes from (archsim.cost.operands).

    `library`: cell library YAML (None: the default). `source`: `uniform` (U[-1, 1] operand
    pairs, one accumulation: `archsim cost`'s default stream), `dataset` (the data set through
    the network `architecture` with its `weights`: `images` images of `split`, from
    `data_dir`, priced on PE windows of the run's dataflow) or `npz` (recorded pairs: arrays
    x, y in `path`). `sample` PE windows per layer of `ops` operations each, drawn with `seed`.
    """
    library: str | None
    source: str
    sample: int
    seed: int
    ops: int
    dataset: str | None = None
    architecture: str | None = None
    weights: str | None = None
    images: int = 100
    split: str = "test"
    data_dir: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class AccuracyConfig:
    """Top-1 of the network through every PE variant (integer ones via `quant`, a quant.json of
    archsim.nn.quant). data_dir None: --data-dir / $ARCHSIM_DATA_DIR rules; images None: all."""
    architecture: str
    weights: str
    dataset: str
    data_dir: str | None
    quant: str | None
    images: int | None


@dataclass(frozen=True)
class Config:
    """A fully resolved run configuration."""
    name: str
    source: str
    workload: Workload
    array: ArrayConfig
    memory: MemoryConfig
    clock: ClockConfig
    variants: tuple[PEVariant, ...]
    energy: EnergyTable
    functional: FunctionalConfig | None = None
    cost: CostConfig | None = None
    accuracy: AccuracyConfig | None = None
    vector: VectorConfig | None = None


_KEYS = {
    "": {"name", "workload", "batch", "array", "memory", "clock", "pe", "energy", "functional",
         "cost", "accuracy", "vector"},
    "cost": {"library", "operands", "sample", "seed", "ops"},
    "cost.operands": {"source", "dataset", "architecture", "weights", "images", "split",
                      "data_dir", "path"},
    "functional": {"weights", "samples", "seed"},
    "accuracy": {"architecture", "weights", "dataset", "data_dir", "quant", "images"},
    "workload": {"path", "inline", "onnx", "batch", "input_shape"},
    "vector": {"lanes", "ops_per_cycle"},
    "array": {"rows", "cols", "dataflow", "overlap_stationary_load"},
    "memory": {"ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib", "word_bytes",
               "dram_bandwidth_bytes_per_cycle", "dram_latency_cycles"},
    "clock": {"mode", "clock_mhz"},
    "pe": {"variants"},
    "energy": {"ert"},
}
_REQUIRED = {"": ("workload", "array", "memory", "clock", "pe")}


class _Checker:
    """Collects (dotted path, message) problems while reading a parsed YAML document."""

    def __init__(self):
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def section(self, value, path: str) -> dict:
        if not isinstance(value, dict):
            self.fail(path or "top level", "must be a mapping")
            return {}
        prefix = f"{path}." if path else ""
        for key in sorted(set(value) - _KEYS[path], key=str):
            self.fail(f"{prefix}{key}", "unknown key")
        for key in _REQUIRED.get(path, ()):
            if key not in value:
                self.fail(f"{prefix}{key}", "missing")
        return value

    def number(self, section: dict, path: str, *, integer: bool, minimum: float,
               strict: bool = False, default=None, maximum: float | None = None):
        key = path.rsplit(".", 1)[-1]
        if key not in section and default is None:
            self.fail(path, "missing")
            return None
        value = section.get(key, default)
        kind = "an integer" if integer else "a finite number"
        ok_type = (isinstance(value, int) if integer else isinstance(value, (int, float))
                   ) and not isinstance(value, bool)
        bound = f"{'>' if strict else '>='} {minimum:g}"
        if maximum is not None:
            bound += f" and <= {maximum:g}"
        if (not ok_type or not math.isfinite(value)
                or not (value > minimum if strict else value >= minimum)
                or (maximum is not None and value > maximum)):
            self.fail(path, f"must be {kind} {bound}, got {value!r}")
            return None
        return value

    def choice(self, section: dict, path: str, enum_type, default=None):
        value = section.get(path.rsplit(".", 1)[-1], default)
        try:
            return enum_type(value)
        except (ValueError, TypeError):
            allowed = ", ".join(e.value for e in enum_type)
            self.fail(path, f"must be one of {allowed}, got {value!r}")
            return None


def _array(chk: _Checker, doc: dict) -> ArrayConfig | None:
    sec = chk.section(doc["array"], "array")
    values = (chk.number(sec, "array.rows", integer=True, minimum=1, maximum=MAX_ARRAY_DIM),
              chk.number(sec, "array.cols", integer=True, minimum=1, maximum=MAX_ARRAY_DIM),
              chk.choice(sec, "array.dataflow", Dataflow))
    overlap = sec.get("overlap_stationary_load", False)
    if not isinstance(overlap, bool):
        chk.fail("array.overlap_stationary_load", f"must be true or false, got {overlap!r}")
        return None
    return None if None in values else ArrayConfig(*values, overlap)


def _memory(chk: _Checker, doc: dict) -> MemoryConfig | None:
    sec = chk.section(doc["memory"], "memory")
    values = tuple(
        chk.number(sec, f"memory.{key}", integer=integer, minimum=minimum, strict=strict,
                   maximum=maximum)
        for key, integer, minimum, strict, maximum in (
            ("ifmap_sram_kib", False, 0, True, MAX_SRAM_KIB),
            ("filter_sram_kib", False, 0, True, MAX_SRAM_KIB),
            ("ofmap_sram_kib", False, 0, True, MAX_SRAM_KIB),
            ("word_bytes", True, 1, False, MAX_WORD_BYTES),
            ("dram_bandwidth_bytes_per_cycle", False, MIN_BANDWIDTH, False, MAX_BANDWIDTH),
            ("dram_latency_cycles", True, 0, False, MAX_LATENCY_CYCLES)))
    return None if None in values else MemoryConfig(*values)


def _clock(chk: _Checker, doc: dict) -> ClockConfig | None:
    sec = chk.section(doc["clock"], "clock")
    mode = chk.choice(sec, "clock.mode", ClockMode)
    if mode is ClockMode.FIXED:
        mhz = chk.number(sec, "clock.clock_mhz", integer=False, minimum=MIN_CLOCK_MHZ,
                         maximum=MAX_CLOCK_MHZ)
        return None if mhz is None else ClockConfig(mode, float(mhz))
    if mode is ClockMode.CRITICAL_PATH and "clock_mhz" in sec:
        chk.fail("clock.clock_mhz", "not allowed with mode critical_path")
    return None if mode is None else ClockConfig(mode, None)


def _variants(chk: _Checker, doc: dict, base: Path) -> tuple[PEVariant, ...]:
    from archsim_core.variants import resolve_variant

    specs = chk.section(doc["pe"], "pe").get("variants")
    if not isinstance(specs, list) or not specs:
        chk.fail("pe.variants", "must be a non-empty list of variant names or mappings")
        return ()
    out = []
    for i, spec in enumerate(specs):
        if isinstance(spec, str) and spec.endswith((".yaml", ".yml")):
            spec = str(base / spec)  # a variant spec file, relative to the config
        try:
            int_spec = _int_variant_spec(spec, base)
            if int_spec is not None:  # int8, int8:PATH.v, uint8:PATH.v, uint8-... (sim/precision.py)
                from archsim_core.int8 import int_variant
                spec, label = int_spec, int_variant(int_spec).name
            else:
                label = resolve_variant(spec).name
        except ArchsimError as exc:
            chk.fail(f"pe.variants[{i}]", str(exc))
            continue
        out.append(PEVariant(label, json.dumps(spec, sort_keys=True)))
    labels = [v.label for v in out]
    for label in sorted({x for x in labels if labels.count(x) > 1}):
        chk.fail("pe.variants", f"duplicate variant {label!r}")
    return tuple(out)


def _int_variant_spec(spec, base: Path) -> str | None:
    """An integer variant name with a relative Verilog path made relative to the config.
    Circuit specs of archsim_core.intmul (`{verilog: PATH, signed: BOOL}`, `verilog:PATH`, a
    spec .yaml with `verilog:`) become the int8 PE's `int8:PATH` / `uint8:PATH` (8x8 only)."""
    from archsim_core.int8 import INT8_PREFIXES, is_int_variant
    from archsim_core.intmul import is_int_spec

    if not is_int_variant(spec):
        return _circuit_variant(spec, base) if is_int_spec(spec) else None
    for prefix in INT8_PREFIXES:
        if spec.startswith(prefix) and not Path(spec[len(prefix):]).is_absolute():
            return prefix + str(base / spec[len(prefix):])
    return spec


def _circuit_variant(spec, base: Path) -> str:
    """`int8:PATH` / `uint8:PATH` (absolute) of an 8x8 Verilog multiplier circuit spec;
    SpecError (one line) for any other integer circuit."""
    from archsim_core.intmul import get_int_multiplier, resolve_int_spec
    from archsim_core.verilog import import_verilog

    if isinstance(spec, str) and spec.startswith("verilog:"):
        path = spec[len("verilog:"):]
        spec = "verilog:" + str(base / path) if not Path(path).is_absolute() else spec
    elif isinstance(spec, dict) and isinstance(spec.get("verilog"), str):
        spec = {**spec, "verilog": str(base / spec["verilog"])}   # base / absolute = absolute
    ispec = resolve_int_spec(spec)
    if ispec.verilog is None:
        raise SpecError("a PE variant must be a Verilog 8x8 multiplier ({verilog: PATH, "
                        "signed: BOOL}); archsim's own integer arrays are uint8-exact, uint8-da, "
                        "uint8-lsb-CELL-k")
    m = get_int_multiplier(ispec)
    if (m.n_a, m.n_b) != (8, 8) or m.op != "mul":
        raise SpecError(f"{ispec.verilog}: the int8 PE needs an 8x8 multiplier, this circuit is "
                        f"{m.n_a}x{m.n_b} -> {m.out_bits} bits ({m.op})")
    if ispec.module is not None and import_verilog(ispec.verilog, ispec.module).name != \
            import_verilog(ispec.verilog).name:       # netlists are named after their module
        raise SpecError(f"{ispec.verilog}: module {ispec.module!r} is not the file's top module; "
                        "the int8 PE takes the top module")
    return ("int8:" if ispec.signed else "uint8:") + str(Path(ispec.verilog).resolve())


def _onnx_workload(chk: _Checker, sec: dict, base: Path, batch) -> Workload | None:
    from archsim.network.lower import graph_workload
    from archsim.network.onnx import load_onnx

    if not isinstance(sec["onnx"], str):
        chk.fail("workload.onnx", "must be a string")
        return None
    shape = sec.get("input_shape")
    if shape is not None and (not isinstance(shape, list) or not shape or any(
            isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in shape)):
        chk.fail("workload.input_shape", f"must be a list of positive integers, got {shape!r}")
        return None
    try:
        return graph_workload(load_onnx(base / sec["onnx"], batch, shape))
    except ArchsimError as exc:
        chk.fail("workload.onnx", str(exc))
        return None


def _workload(chk: _Checker, doc: dict, base: Path) -> Workload | None:
    sec = chk.section(doc["workload"], "workload")
    if sum(key in sec for key in ("path", "inline", "onnx")) != 1:
        chk.fail("workload", "give exactly one of path, inline, onnx")
        return None
    for key in ("batch", "input_shape"):
        if key in sec and "onnx" not in sec:
            chk.fail(f"workload.{key}", "only with workload.onnx (use the top-level batch)")
            return None
    if "onnx" in sec:  # the batch goes into the import (it may be symbolic in the model)
        if "batch" in doc and "batch" in sec:
            chk.fail("batch", "give either batch or workload.batch")
            return None
        src, where = (doc, "batch") if "batch" in doc else (sec, "workload.batch")
        batch = None
        if "batch" in src:
            batch = chk.number(src, where, integer=True, minimum=1)
            if batch is None:
                return None
        return _onnx_workload(chk, sec, base, batch)
    try:
        if "path" in sec:
            if not isinstance(sec["path"], str):
                chk.fail("workload.path", "must be a string")
                return None
            workload = load_workload(base / sec["path"])
            if sec["path"].lower().endswith(".csv"):
                from archsim.sim.scalesim.compat import expand_depthwise
                workload = expand_depthwise(workload)  # SCALE-Sim's "DP" layer rule
        else:
            workload = workload_from_dict(sec["inline"], "workload.inline")
    except ArchsimError as exc:
        if "path" in sec:
            chk.fail("workload.path", str(exc))
        else:
            chk.problems.append(str(exc))  # already "workload.inline: <dotted path>: ..."
        return None
    if "batch" in doc:
        batch = chk.number(doc, "batch", integer=True, minimum=1, maximum=MAX_BATCH)
        return None if batch is None else workload.with_batch(batch)
    return workload


def _energy(chk: _Checker, doc: dict, base: Path) -> EnergyTable | None:
    sec = chk.section(doc["energy"], "energy") if "energy" in doc else {}
    path = sec.get("ert")
    if path is not None and not isinstance(path, str):
        chk.fail("energy.ert", "must be a path string")
        return None
    try:
        return load_ert(None if path is None else base / path)
    except ArchsimError as exc:
        chk.fail("energy.ert", str(exc))
        return None


def _functional(chk: _Checker, doc: dict, base: Path) -> FunctionalConfig | None:
    sec = chk.section(doc["functional"], "functional")
    weights = sec.get("weights")
    if weights is not None and not isinstance(weights, str):
        chk.fail("functional.weights", "must be a path string")
    samples = chk.number(sec, "functional.samples", integer=True, minimum=1, default=1,
                         maximum=MAX_FUNCTIONAL_SAMPLES)
    seed = chk.number(sec, "functional.seed", integer=True, minimum=0, default=0,
                      maximum=2**32 - 1)
    if None in (samples, seed) or not (weights is None or isinstance(weights, str)):
        return None
    return FunctionalConfig(None if weights is None else str(base / weights), samples, seed)


def _accuracy(chk: _Checker, doc: dict, base: Path) -> AccuracyConfig | None:
    sec = chk.section(doc["accuracy"], "accuracy")
    values = {}
    for key in ("architecture", "weights", "dataset", "data_dir", "quant"):
        value = sec.get(key)
        if value is None and key in ("architecture", "weights", "dataset"):
            chk.fail(f"accuracy.{key}", "missing")
        elif value is not None and not (isinstance(value, str) and value):
            chk.fail(f"accuracy.{key}", "must be a non-empty string")
        else:
            values[key] = str(base / value) if value and key in ("weights", "data_dir", "quant") \
                else value
    images = None
    if "images" in sec:
        images = chk.number(sec, "accuracy.images", integer=True, minimum=1)
    if len(values) < 5 or ("images" in sec and images is None):
        return None
    return AccuracyConfig(values["architecture"], values["weights"], values["dataset"],
                          values["data_dir"], values["quant"], images)


def _loadable(chk: _Checker, field: str, path, base: Path, load, not_a_path: str) -> bool:
    """Check that `path` (relative to the config) is a string `load` accepts; record the
    problem under `field` otherwise. True when it is."""
    if not isinstance(path, str):
        chk.fail(field, not_a_path)
        return False
    try:
        load(base / path)
    except ArchsimError as exc:
        chk.fail(field, str(exc))
        return False
    return True


def _cost(chk: _Checker, doc: dict, base: Path) -> CostConfig | None:
    sec = chk.section(doc["cost"], "cost")
    n_problems = len(chk.problems)
    library = sec.get("library")
    if library is not None:
        from archsim.cost.library import load_library
        _loadable(chk, "cost.library", library, base, load_library, "must be a path string")
    sample = chk.number(sec, "cost.sample", integer=True, minimum=2, default=32)
    seed = chk.number(sec, "cost.seed", integer=True, minimum=0, default=0)
    ops = chk.number(sec, "cost.ops", integer=True, minimum=2, default=256)
    ops_sec = chk.section(sec.get("operands", {"source": "uniform"}), "cost.operands")
    source = ops_sec.get("source", "uniform")
    extra: dict = {}
    if source not in ("uniform", "dataset", "npz"):
        chk.fail("cost.operands.source", f"must be one of uniform, dataset, npz, got {source!r}")
    elif source == "npz":
        path = ops_sec.get("path")
        from archsim.cost.operands import load_pairs
        if _loadable(chk, "cost.operands.path", path, base, load_pairs,
                     "missing (the .npz of operand pairs x, y)"):
            extra["path"] = str(base / path)
    elif source == "dataset":
        extra = _cost_dataset(chk, ops_sec, base)
    if len(chk.problems) > n_problems or None in (sample, seed, ops):
        return None
    return CostConfig(None if library is None else str(base / library), source, sample, seed,
                      ops, **extra)


def _cost_dataset(chk: _Checker, sec: dict, base: Path) -> dict:
    from archsim.nn.architectures import list_architectures

    out = {}
    for key in ("dataset", "architecture", "weights"):
        if not isinstance(sec.get(key), str):
            chk.fail(f"cost.operands.{key}", "missing (source dataset needs dataset, "
                     "architecture and weights)")
    if isinstance(sec.get("architecture"), str) and sec["architecture"] not in list_architectures():
        chk.fail("cost.operands.architecture", f"unknown {sec['architecture']!r} "
                 f"(known: {', '.join(list_architectures())})")
    if isinstance(sec.get("weights"), str):
        out["weights"] = str(base / sec["weights"])
        if not Path(out["weights"]).is_file():
            chk.fail("cost.operands.weights", f"no such file {out['weights']}")
    images = chk.number(sec, "cost.operands.images", integer=True, minimum=1, default=100)
    split = sec.get("split", "test")
    if split not in ("train", "test"):
        chk.fail("cost.operands.split", f"must be train or test, got {split!r}")
    data_dir = sec.get("data_dir")
    if data_dir is not None and not isinstance(data_dir, str):
        chk.fail("cost.operands.data_dir", "must be a path string")
    else:
        from archsim.nn.datasets import resolve_data_dir
        try:
            resolved = resolve_data_dir(None, None if data_dir is None else str(base / data_dir))
        except ArchsimError as exc:
            chk.fail("cost.operands.data_dir", str(exc))
        else:
            if not resolved.is_dir():
                chk.fail("cost.operands.data_dir", f"no such directory {resolved}")
            out["data_dir"] = str(resolved)
    out.update(dataset=sec.get("dataset"), architecture=sec.get("architecture"),
               images=images, split=split)
    return out


def _vector(chk: _Checker, doc: dict) -> VectorConfig | None:
    sec = chk.section(doc["vector"], "vector")
    lanes = chk.number(sec, "vector.lanes", integer=True, minimum=1)
    per = chk.number(sec, "vector.ops_per_cycle", integer=True, minimum=1, default=1)
    return None if None in (lanes, per) else VectorConfig(lanes, per)


def config_from_dict(doc, source: str, base: Path) -> Config:
    """Validate a parsed document and build the Config; one ConfigError lists every problem."""
    chk = _Checker()
    top = chk.section(doc, "")
    name = top.get("name", Path(source).stem)
    if not isinstance(name, str) or not name:
        chk.fail("name", "must be a non-empty string")
    parts = (_workload(chk, top, base) if "workload" in top else None,
             _array(chk, top) if "array" in top else None,
             _memory(chk, top) if "memory" in top else None,
             _clock(chk, top) if "clock" in top else None,
             _variants(chk, top, base) if "pe" in top else None,
             _energy(chk, top, base),
             _functional(chk, top, base) if "functional" in top else None,
             _cost(chk, top, base) if "cost" in top else None,
             _accuracy(chk, top, base) if "accuracy" in top else None,
             _vector(chk, top) if "vector" in top else None)
    if chk.problems:
        raise ConfigError(f"{source}: " + "; ".join(chk.problems))
    return Config(name, source, *parts)


def load_config(path: str | Path) -> Config:
    """Read, validate and resolve a YAML run configuration."""
    from archsim_core.yamlio import load_file

    path = Path(path)
    doc = load_file(path, ConfigError, "config")
    return config_from_dict(doc, str(path), path.parent)
