"""Sweep spec: YAML -> a validated, frozen `SweepSpec` (load -> validate -> build).

    base: da_mnist.yaml                  # a run config, relative to this file
    axes:                                # dotted run-config key -> list of values
      array.size: [8, 16, 32]            # alias: array.rows = array.cols
      array.dataflow: [os, ws, is]
      memory.sram_kib: [32, 64]          # alias: the three SRAMs together
      workload.path: [../workloads/da_mnist.yaml]        # relative to this file
      pe.variant: [exact, da, {family: lsb-AMA5-k, k: [8, 16]}]   # one PE variant per point
      # integer PEs too: int8, int8:PATH.v, uint8:PATH.v (PATH relative to this file)
      pe.layers: {layers: [conv1, conv2], variants: [exact, da]}  # every per-layer assignment
    sampling: grid                       # grid | zip | random | lhs
    samples: 100                         # random / lhs: number of points
    seed: 0                              # random / lhs
    max_points: 100000                   # explicit limit on the points a spec may expand to
    constraints: [{key: array.size, min: 16}, {key: area_um2, max: 2.0e+7}]
    objectives: [energy, latency, top1]  # latency energy pe_energy edp area top1 cycles
    accuracy: {dataset: mnist, architecture: da-lenet, images: 1000,
               weights: ../../shared/data/da_lenet_official.npz, data_dir: ../../shared/data,
               quant: q.json}   # quant: optional, for integer variants (archsim quantize)

Every axis value is validated by resolving it into the base config (the run-config
validator names the key); an unknown key, a wrong type, an empty axis, or a grid larger than
`max_points` is one `ConfigError` naming the spec file and field. Without a `pe.variant` or
`pe.layers` axis, the base config's variants form an implicit `pe.variant` axis.

Integer PE variants (int8, int8:PATH.v, uint8:PATH.v, uint8-...; archsim_core.int8) are
simulated with the int8 word sizes (archsim.sim.precision), priced by the int8 MAC
(archsim.int8_mac) and, with an accuracy section, scored on the quantized network
(archsim.nn.quant; parameters from `accuracy.quant`, else calibrated on 512 seeded training
images as `archsim accuracy` does). A point's variants (the pe.variant value and every
per-layer one) must be all integer or all FP: they share one simulation, so one word size;
with an accuracy section, an integer point uses one multiplier for every layer (the quantized
forward takes one).
"""
from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from archsim.errors import ArchsimError, ConfigError

SAMPLING = ("grid", "zip", "random", "lhs")
DEFAULT_MAX_POINTS = 100_000
# objective name -> (results column, sense: +1 minimise, -1 maximise)
OBJECTIVES = {"latency": ("latency_s", 1), "energy": ("energy_j", 1),
              "pe_energy": ("pe_energy_j", 1), "edp": ("edp_js", 1),
              "area": ("area_um2", 1), "top1": ("top1", -1), "cycles": ("cycles", 1)}
RESULT_COLUMNS = ("cycles", "clock_mhz", "latency_s", "energy_j", "pe_energy_j", "edp_js",
                  "area_um2", "dram_read_bytes", "dram_write_bytes")
ALIASES = {"array.size": ("array.rows", "array.cols"),
           "memory.sram_kib": ("memory.ifmap_sram_kib", "memory.filter_sram_kib",
                               "memory.ofmap_sram_kib")}
PATH_KEYS = ("workload.path", "energy.ert")   # values relative to the spec file
_SPEC_KEYS = {"base", "axes", "sampling", "samples", "seed", "max_points", "constraints",
              "objectives", "accuracy"}
_ACC_KEYS = {"dataset", "architecture", "weights", "data_dir", "images", "quant"}


@dataclass(frozen=True)
class Axis:
    """One swept key: `values` are the table's cells, `settings` what each sets in the config."""
    key: str
    values: tuple
    settings: tuple


@dataclass(frozen=True)
class Constraint:
    """min <= key <= max (and key in `allowed`), applied where every `where` pair matches."""
    key: str
    minimum: float | None
    maximum: float | None
    allowed: tuple | None
    where: tuple  # ((key, value), ...)

    def holds(self, row: dict) -> bool:
        """True if the row satisfies the constraint (or the constraint does not apply)."""
        if any(row.get(k) != v for k, v in self.where):
            return True
        value = row[self.key]
        if self.allowed is not None and value not in self.allowed:
            return False
        if self.minimum is not None and not value >= self.minimum:
            return False
        return self.maximum is None or value <= self.maximum


@dataclass(frozen=True)
class AccuracySpec:
    """Top-1 accuracy on the first `images` test images of `dataset`."""
    dataset: str
    architecture: str
    weights: str
    data_dir: str
    images: int
    quant: str | None = None      # quantization parameters for integer variants (JSON)


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec."""
    source: str
    base_path: str
    base_doc_json: str
    axes: tuple[Axis, ...]
    sampling: str
    samples: int | None
    seed: int
    max_points: int
    constraints: tuple[Constraint, ...]
    objectives: tuple[str, ...]       # results columns
    accuracy: AccuracySpec | None
    spec_hash: str

    @property
    def columns(self) -> list[str]:
        """The results table's columns, in order."""
        extra = ["top1"] if self.accuracy is not None else []
        return (["point_id"] + [a.key for a in self.axes] + list(RESULT_COLUMNS) + extra
                + ["feasible", "config_hash"])

    def axis(self, key: str) -> Axis | None:
        """The axis of `key`, if swept."""
        return next((a for a in self.axes if a.key == key), None)


def canonical(obj) -> str:
    """Canonical JSON (sorted keys, no spaces): the input of every hash."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def sha(obj) -> str:
    """16 hex digits of the SHA-256 of the canonical JSON of `obj`."""
    return hashlib.sha256(canonical(obj).encode()).hexdigest()[:16]


def set_dotted(doc: dict, key: str, value) -> None:
    """Set `a.b.c` in a nested dict (creating sections); workload.X replaces the section."""
    keys = ALIASES.get(key, (key,))
    for k in keys:
        parts = k.split(".")
        if parts[0] == "workload" and len(parts) == 2:
            doc["workload"] = {parts[1]: value}
            continue
        node = doc
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value


def _fail(source: str, field: str, message: str):
    raise ConfigError(f"{source}: {field}: {message}")


def _family(source: str, field: str, entry: dict) -> list[str]:
    """{family: lsb-AMA5-k, k: [8, 16]} -> ['lsb-AMA5-8', 'lsb-AMA5-16'] (a product over the
    parameters; each parameter replaces the '-'-separated token of its name)."""
    template = entry.get("family")
    params = {k: v for k, v in entry.items() if k != "family"}
    if not isinstance(template, str) or not params:
        _fail(source, field, "a family needs `family: TEMPLATE` and a list per parameter")
    names = [template]
    for name, values in params.items():
        tokens = template.split("-")
        if name not in tokens:
            _fail(source, f"{field}.{name}", f"parameter not in the template {template!r}")
        if not isinstance(values, list) or not values:
            _fail(source, f"{field}.{name}", "must be a non-empty list")
        names = ["-".join(str(v) if t == name else t for t in n.split("-"))
                 for n in names for v in values]
    return names


def _variant_values(source: str, field: str, raw: list) -> list:
    """Expand families; each value a variant name or a spec mapping."""
    out = []
    for i, entry in enumerate(raw):
        if isinstance(entry, dict) and "family" in entry:
            out.extend(_family(source, f"{field}[{i}]", entry))
        else:
            out.append(entry)
    return out


def _layer_values(source: str, field: str, raw) -> list[dict]:
    """Per-layer assignments: a list of {layer: variant} or {layers: [...], variants: [...]}
    meaning every assignment of those variants to those layers (variants^layers)."""
    if isinstance(raw, dict):
        layers, variants = raw.get("layers"), raw.get("variants")
        if set(raw) != {"layers", "variants"} or not isinstance(layers, list) or \
                not isinstance(variants, list) or not layers or not variants:
            _fail(source, field, "must be a list of {layer: variant} mappings or "
                  "{layers: [...], variants: [...]}")
        variants = _variant_values(source, f"{field}.variants", variants)
        combos: list[dict] = [{}]
        for layer in layers:
            combos = [{**c, str(layer): v} for c in combos for v in variants]
        return combos
    if not isinstance(raw, list) or not all(isinstance(m, dict) and m for m in raw):
        _fail(source, field, "must be a list of {layer: variant} mappings or "
              "{layers: [...], variants: [...]}")
    return [dict(m) for m in raw]


def cell_of(value):
    """A value as a table cell: scalars as they are, mappings/lists as canonical JSON."""
    if isinstance(value, (dict, list)):
        return canonical(value)
    return value


def _check_doc(doc: dict, base_dir: Path, where: str):
    """Validate a resolved run-config document; ConfigError prefixed with `where`."""
    from archsim.config import config_from_dict

    try:
        return config_from_dict(doc, where, base_dir)
    except ArchsimError as exc:
        raise ConfigError(str(exc)) from None


def _expand(source: str, key, raw) -> list:
    """An axis's values as listed (families and per-layer products expanded)."""
    field = f"axes.{key}"
    if not isinstance(key, str) or not key:
        _fail(source, "axes", f"axis key {key!r} must be a dotted config key")
    if key == "pe.layers":
        values = _layer_values(source, field, raw)
    elif not isinstance(raw, list):
        _fail(source, field, "must be a list of values")
    else:
        values = _variant_values(source, field, raw) if key == "pe.variant" else list(raw)
    if not values:
        _fail(source, field, "empty list: an axis needs at least one value")
    cells = [cell_of(v) for v in values]
    for v in cells:
        if cells.count(v) > 1:
            _fail(source, field, f"duplicate value {v!r}")
    return values


def inline_workload(doc: dict, base_dir: Path) -> dict:
    """`doc` with a YAML workload file read into `workload.inline` (parsed once, not per
    point; a SCALE-Sim CSV stays a path)."""
    path = (doc.get("workload") or {}).get("path")
    if isinstance(path, str) and path.lower().endswith((".yaml", ".yml")):
        parsed = _workload_yaml(str(base_dir / path))
        if parsed is not None:
            doc = {**doc, "workload": {"inline": parsed}}
    return doc


@functools.lru_cache(maxsize=64)
def _workload_yaml(path: str):
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None   # left as a path: the run-config validator reports it


def _pe_value(value, spec_dir: Path):
    """A PE variant value with an integer circuit's relative Verilog path made absolute
    against the spec's directory (int8:PATH, uint8:PATH, verilog:PATH, {verilog: PATH})."""
    from archsim.config import _int_variant_spec

    try:
        resolved = _int_variant_spec(value, spec_dir.resolve())
    except ArchsimError:
        return value          # left as written: the run-config validator reports it
    return value if resolved is None else resolved


def _one_precision(source: str, field: str, config) -> None:
    """A point's variants share one simulation: refuse a mix of integer and FP PEs."""
    from archsim_core.int8 import is_int_variant

    kinds = {is_int_variant(v.spec) for v in config.variants}
    if len(kinds) > 1:
        _fail(source, field, "mixes integer and FP PE variants (different word sizes: "
              "archsim.sim.precision); sweep them as separate points")


def _axis(source: str, spec_dir: Path, base_doc: dict, base_dir: Path, key: str,
          values: list) -> Axis:
    """Resolve every value into the base config and validate it there."""
    field = f"axes.{key}"
    cells = [cell_of(v) for v in values]
    settings = []
    for i, value in enumerate(values):
        doc = copy.deepcopy(base_doc if key.startswith("workload.")
                            else inline_workload(base_doc, base_dir))
        setting = value
        if key in PATH_KEYS and isinstance(value, str):
            setting = str((spec_dir / value).resolve())
        elif key == "pe.variant":
            setting = _pe_value(value, spec_dir)
        elif key == "pe.layers":
            setting = {layer: _pe_value(v, spec_dir) for layer, v in value.items()}
        if key == "pe.variant":
            doc.setdefault("pe", {})["variants"] = [setting]
        elif key == "pe.layers":
            distinct = sorted({canonical(v) for v in setting.values()})
            doc.setdefault("pe", {})["variants"] = [json.loads(v) for v in distinct]
        else:
            set_dotted(doc, key, setting)
        config = _check_doc(doc, base_dir, f"{source}: {field}[{i}] = {cells[i]!r}")
        if key == "pe.layers":
            _one_precision(source, f"{field}[{i}]", config)
        if key == "pe.layers":
            names = {l.name for l in config.workload.layers}
            for layer in sorted(set(value) - names):
                _fail(source, f"{field}[{i}]", f"no layer {layer!r} in the workload "
                      f"(layers: {', '.join(sorted(names))})")
        settings.append(setting)
    return Axis(key, tuple(cells), tuple(settings))


def _integer(source: str, doc: dict, key: str, default, minimum: int):
    value = doc.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(source, key, f"must be an integer >= {minimum}, got {value!r}")
    return value


def _constraints(source: str, raw, known: set[str]) -> tuple[Constraint, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        _fail(source, "constraints", "must be a list of {key, min, max, in, where}")
    out = []
    for i, c in enumerate(raw):
        field = f"constraints[{i}]"
        if not isinstance(c, dict) or not set(c) <= {"key", "min", "max", "in", "where"}:
            _fail(source, field, "must be a mapping with key and min / max / in (and where)")
        if c.get("key") not in known:
            _fail(source, f"{field}.key", f"{c.get('key')!r} is neither an axis nor a result "
                  f"column ({', '.join(sorted(known))})")
        for bound in ("min", "max"):
            if bound in c and (isinstance(c[bound], bool)
                               or not isinstance(c[bound], (int, float))):
                _fail(source, f"{field}.{bound}", f"must be a number, got {c[bound]!r}")
        if "in" in c and not isinstance(c["in"], list):
            _fail(source, f"{field}.in", "must be a list")
        where = c.get("where", {})
        if not isinstance(where, dict) or not set(where) <= known:
            _fail(source, f"{field}.where", "must map axis keys to values")
        if not any(b in c for b in ("min", "max", "in")):
            _fail(source, field, "needs min, max or in")
        out.append(Constraint(c["key"], c.get("min"), c.get("max"),
                              tuple(cell_of(v) for v in c["in"]) if "in" in c else None,
                              tuple(sorted((k, cell_of(v)) for k, v in where.items()))))
    return tuple(out)


def _objectives(source: str, raw) -> tuple[str, ...]:
    raw = ["latency", "energy"] if raw is None else raw
    if not isinstance(raw, list) or not raw:
        _fail(source, "objectives", f"must be a list of {', '.join(OBJECTIVES)}")
    out = []
    by_column = {col: name for name, (col, _) in OBJECTIVES.items()}
    for i, name in enumerate(raw):
        name = by_column.get(name, name)
        if name not in OBJECTIVES:
            _fail(source, f"objectives[{i}]", f"unknown objective {name!r} "
                  f"(known: {', '.join(OBJECTIVES)})")
        out.append(OBJECTIVES[name][0])
    if len(set(out)) != len(out):
        _fail(source, "objectives", "duplicate objective")
    return tuple(out)


def _accuracy(source: str, spec_dir: Path, raw, needed: bool) -> AccuracySpec | None:
    if raw is None:
        if needed:
            _fail(source, "accuracy", "objective top1 needs an accuracy section "
                  "(dataset, architecture, weights, data_dir, images)")
        return None
    if not isinstance(raw, dict):
        _fail(source, "accuracy", "must be a mapping")
    for key in sorted(set(raw) - _ACC_KEYS):
        _fail(source, f"accuracy.{key}", "unknown key")
    for key in ("dataset", "architecture", "weights", "data_dir"):
        if not isinstance(raw.get(key), str):
            _fail(source, f"accuracy.{key}", "must be a string")
    from archsim.nn.architectures import list_architectures
    if raw["architecture"] not in list_architectures():
        _fail(source, "accuracy.architecture", f"unknown {raw['architecture']!r} "
              f"(known: {', '.join(list_architectures())})")
    from archsim.nn.datasets import LOADERS
    if raw["dataset"] not in LOADERS:
        _fail(source, "accuracy.dataset", f"unknown {raw['dataset']!r} "
              f"(known: {', '.join(sorted(LOADERS))})")
    weights = (spec_dir / raw["weights"]).resolve()
    if not weights.is_file():
        _fail(source, "accuracy.weights", f"no such file {weights}")
    images = _integer(source, raw, "images", None, 1)
    if images is None:
        _fail(source, "accuracy.images", "missing")
    quant = raw.get("quant")
    if quant is not None:
        if not isinstance(quant, str):
            _fail(source, "accuracy.quant", "must be the path of a quantization file")
        quant = (spec_dir / quant).resolve()
        from archsim.nn.architectures import load_network
        from archsim.nn.quant import load_quant
        try:   # read and matched against the network now, not on a worker mid-sweep
            load_quant(quant, load_network(str(weights), raw["architecture"]))
        except ArchsimError as exc:
            _fail(source, "accuracy.quant", str(exc))
        quant = str(quant)
    return AccuracySpec(raw["dataset"], raw["architecture"], str(weights),
                        str((spec_dir / raw["data_dir"]).resolve()), images, quant)


def _read_yaml(path: Path, what: str):
    from archsim_core.yamlio import load_file  # strict: duplicate keys, 5e2, one line

    return load_file(path, ConfigError, what)


def spec_from_dict(doc, source: str, spec_dir: Path) -> SweepSpec:
    """Validate a parsed spec document (first problem raised as one ConfigError)."""
    if not isinstance(doc, dict):
        _fail(source, "top level", "must be a mapping")
    for key in sorted(set(doc) - _SPEC_KEYS, key=str):
        _fail(source, str(key), f"unknown key (known: {', '.join(sorted(_SPEC_KEYS))})")
    if not isinstance(doc.get("base"), str):
        _fail(source, "base", "must be the path of a run config")
    base_path = (spec_dir / doc["base"]).resolve()
    if not base_path.is_file():
        _fail(source, "base", f"no such file {base_path}")
    base_doc = _read_yaml(base_path, "base config")
    base_config = _check_doc(copy.deepcopy(base_doc), base_path.parent, str(base_path))
    raw_axes = doc.get("axes")
    if not isinstance(raw_axes, dict) or not raw_axes:
        _fail(source, "axes", "must be a non-empty mapping of dotted config keys to lists")
    expanded = {k: _expand(source, k, v) for k, v in raw_axes.items()}
    sampling = doc.get("sampling", "grid")
    if sampling not in SAMPLING:
        _fail(source, "sampling", f"must be one of {', '.join(SAMPLING)}, got {sampling!r}")
    samples = _integer(source, doc, "samples", None, 1)
    if sampling in ("random", "lhs") and samples is None:
        _fail(source, "samples", f"sampling {sampling} needs samples")
    if sampling in ("grid", "zip") and samples is not None:
        _fail(source, "samples", f"not used by sampling {sampling} (use max_points)")
    max_points = _integer(source, doc, "max_points", DEFAULT_MAX_POINTS, 1)
    if not any(k in ("pe.variant", "pe.layers") for k in expanded):
        expanded["pe.variant"] = [v.spec for v in base_config.variants]
    size = math.prod(len(v) for v in expanded.values())
    if sampling == "grid" and size > max_points:   # before validating a huge axis value by value
        _fail(source, "max_points", f"the grid has {size} points, more than max_points = "
              f"{max_points} (raise max_points, or sample with random or lhs)")
    axes = [_axis(source, spec_dir, base_doc, base_path.parent, k, v)
            for k, v in expanded.items()]
    objectives = _objectives(source, doc.get("objectives"))
    accuracy = _accuracy(source, spec_dir, doc.get("accuracy"), "top1" in objectives)
    layers_axis = next((a for a in axes if a.key == "pe.layers"), None)
    if accuracy is not None and layers_axis is not None:
        from archsim.nn.architectures import expected_shapes
        net = {k[:-len("_weight")] for k in expected_shapes(accuracy.architecture)
               if k.endswith("_weight")}
        for i, assignment in enumerate(layers_axis.settings):
            for layer in sorted(set(assignment) - net):
                _fail(source, f"axes.pe.layers[{i}]", f"layer {layer!r} is not in the "
                      f"{accuracy.architecture} network ({', '.join(sorted(net))})")
    known = {a.key for a in axes} | set(RESULT_COLUMNS) | ({"top1"} if accuracy else set())
    return SweepSpec(
        source=source, base_path=str(base_path), base_doc_json=canonical(base_doc),
        axes=tuple(axes), sampling=sampling, samples=samples,
        seed=_integer(source, doc, "seed", 0, 0),
        max_points=max_points,
        constraints=_constraints(source, doc.get("constraints"), known),
        objectives=objectives, accuracy=accuracy,
        spec_hash=sha({"spec": doc, "base": base_doc}))


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec file."""
    path = Path(path)
    return spec_from_dict(_read_yaml(path, "sweep spec"), str(path), path.parent)
