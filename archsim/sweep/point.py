"""Points of a sweep as pure, picklable tasks, and the work they share.

A point's resolved config splits into a *group* (everything but the PE and the clock: the
workload, array, dataflow and memories) and the PE/clock choice. The variant-independent
simulation is a function of the group alone (`simulate_group`, once per group), the top-1
accuracy a function of the per-layer variant assignment alone (`top1_accuracy`, once per
assignment); `evaluate` then prices one point from them. All three are pure functions of
their arguments, so they run in-process or on any Dask worker with the same result.

Mixed per-layer assignments: every layer is priced with its own variant's MAC energies; the
array runs at the slowest assigned variant's clock (critical-path mode) and every PE holds one
multiplier of each assigned variant (area = R x C x (sum of those multipliers + one adder
and register)).

Integer PEs (int8, int8:PATH.v, uint8:PATH.v, ...): a point's precision ("int8" or "fp") is
part of its group, whose simulation then uses the int8 word sizes (1-byte operands, 4-byte
partial sums: archsim.sim.precision.memory_for_variant, as `archsim run` does per word-size
set); the MAC is priced by archsim.int8_mac (through archsim.sim.run.variant_pe_cost) and the
SRAM/DRAM actions at the int8 word sizes; top-1 comes from the quantized network
(archsim.nn.quant.variant_logits).
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import json
from dataclasses import dataclass
from pathlib import Path

from archsim.sweep.spec import (AccuracySpec, SweepSpec, canonical, cell_of, inline_workload,
                                set_dotted, sha)

LIGHT_SECTIONS = ("pe", "clock")   # per point; everything else belongs to the group


@dataclass(frozen=True)
class Point:
    """One design point, resolved; `group_doc_json` holds the run config of its group."""
    point_id: int
    cells: tuple                  # ((axis key, table cell), ...) in axis order
    config_hash: str
    group_key: str
    group_doc_json: str
    base_dir: str
    clock: object                 # archsim.config.ClockConfig
    variants: tuple               # ((label, spec_json), ...): the default first, then assigned
    layer_variant: tuple          # ((layer name, label), ...) for assigned layers
    accuracy_key: str | None
    accuracy_assignment: tuple    # ((network layer, spec_json), ...) when accuracy is asked
    precision: str = "fp"         # "int8" when the point's PEs are integer: int8 word sizes


@functools.lru_cache(maxsize=None)
def _variant(spec_json: str) -> tuple[str, str]:
    from archsim_core.int8 import int_variant, is_int_variant
    from archsim_core.variants import resolve_variant

    spec = json.loads(spec_json)
    if is_int_variant(spec):
        return int_variant(spec).name, spec_json
    return resolve_variant(spec).name, spec_json


def _precision(spec: SweepSpec, point_id: int, cells, specs: list[str]) -> str:
    """"int8" or "fp" for a point's variant specs; ConfigError if they mix the two."""
    from archsim.errors import ConfigError
    from archsim_core.int8 import is_int_variant

    kinds = {is_int_variant(json.loads(s)) for s in specs}
    if len(kinds) > 1:
        raise ConfigError(f"{spec.source}: point {point_id} ("
                          + ", ".join(f"{k}={c}" for k, c in cells) + "): mixes integer and FP "
                          "PE variants (different word sizes); sweep them as separate points")
    return "int8" if kinds == {True} else "fp"


def _clock(doc: dict):
    from archsim.config import ClockConfig, ClockMode

    mode = ClockMode(doc["clock"]["mode"])
    mhz = doc["clock"].get("clock_mhz")
    return ClockConfig(mode, None if mode is ClockMode.CRITICAL_PATH else float(mhz))


def _network_layers(architecture: str) -> list[str]:
    from archsim.nn.architectures import expected_shapes

    return [k[:-len("_weight")] for k in expected_shapes(architecture) if k.endswith("_weight")]


def make_point(spec: SweepSpec, point_id: int, indices: tuple[int, ...]) -> Point:
    """Resolve the point with value indices `indices` (one per axis)."""
    base_doc = json.loads(spec.base_doc_json)
    doc = copy.deepcopy(base_doc)
    default = json.dumps(base_doc["pe"]["variants"][0], sort_keys=True)
    assigned: dict[str, str] = {}
    for axis, i in zip(spec.axes, indices):
        setting = axis.settings[i]
        if axis.key == "pe.variant":
            default = json.dumps(setting, sort_keys=True)
        elif axis.key == "pe.layers":
            assigned = {layer: json.dumps(v, sort_keys=True) for layer, v in setting.items()}
        else:
            set_dotted(doc, axis.key, setting)
    base_dir = str(Path(spec.base_path).parent)
    group_doc = {k: v for k, v in doc.items() if k not in LIGHT_SECTIONS}
    group_doc.update({k: base_doc[k] for k in LIGHT_SECTIONS})
    group_doc = inline_workload(group_doc, Path(base_dir))
    labels = {s: _variant(s) for s in [default, *assigned.values()]}
    cells = tuple((a.key, a.values[i]) for a, i in zip(spec.axes, indices))
    precision = _precision(spec, point_id, cells, [default, *assigned.values()])
    acc_assignment, acc_key = (), None
    if spec.accuracy is not None:
        acc_assignment = tuple((layer, assigned.get(layer, default))
                               for layer in _network_layers(spec.accuracy.architecture))
        if precision == "int8" and len({s for _, s in acc_assignment}) > 1:
            from archsim.errors import ConfigError
            raise ConfigError(f"{spec.source}: point {point_id} ("
                              + ", ".join(f"{k}={c}" for k, c in cells) + "): top-1 of a "
                              "quantized network takes one integer multiplier for every layer")
        acc_key = sha({"accuracy": dataclasses.asdict(spec.accuracy),
                       "layers": [[l, labels[s][0]] for l, s in acc_assignment]})
    return Point(
        point_id=point_id, cells=cells,
        config_hash=sha({"base": base_doc, "point": [[k, c] for k, c in cells]}),
        group_key=sha({"doc": group_doc, "dir": base_dir, "precision": precision}),
        group_doc_json=canonical(group_doc), base_dir=base_dir, clock=_clock(doc),
        variants=tuple(dict.fromkeys(labels[s] for s in [default, *assigned.values()])),
        layer_variant=tuple((layer, labels[s][0]) for layer, s in sorted(assigned.items())),
        accuracy_key=acc_key, accuracy_assignment=acc_assignment, precision=precision)


def group_config(group_doc_json: str, base_dir: str, precision: str, where: str | None = None):
    """The Config of a group, its memory at the group's word sizes (int8 or as configured)."""
    from archsim.config import config_from_dict
    from archsim.sim.precision import memory_for_variant

    config = config_from_dict(json.loads(group_doc_json), where or f"{base_dir}/<sweep group>",
                              Path(base_dir))
    if precision == "int8":
        config = dataclasses.replace(config, memory=memory_for_variant(config.memory, "int8"))
    return config


def simulate_group(group_doc_json: str, base_dir: str, precision: str = "fp"):
    """(Config, WorkloadResult) of a group: the variant-independent simulation, done once;
    the Config's memory carries the word sizes it was simulated with."""
    from archsim.sim.grouped import simulate_network

    config = group_config(group_doc_json, base_dir, precision)
    return config, simulate_network(config.workload, config.array, config.memory)


@functools.lru_cache(maxsize=4)
def _test_images(dataset: str, data_dir: str, images: int):
    from archsim.nn.datasets import load_split

    split = load_split(dataset, Path(data_dir), "test")
    return split.x[:images], split.y[:images]


@functools.lru_cache(maxsize=4)
def _network(weights: str, architecture: str):
    from archsim.nn.architectures import load_network

    return load_network(weights, architecture)


@functools.lru_cache(maxsize=4)
def _quantized(acc: AccuracySpec):
    """The quantized network of an accuracy spec: its `quant` file, else calibrated on the
    seeded training sample `archsim accuracy` uses without --quant."""
    from archsim.nn.quant import calibrate_on_training, load_quant, quantize_network

    net = _network(acc.weights, acc.architecture)
    params = (load_quant(acc.quant, net) if acc.quant is not None
              else calibrate_on_training(net, acc.dataset, acc.data_dir))
    return quantize_network(net, params)


def top1_accuracy(acc: AccuracySpec, assignment: tuple, batch_size: int = 250) -> float:
    """Top-1 accuracy on the first `acc.images` test images with every conv/linear layer's
    products through its assigned variant ((layer, spec_json), ...); an integer variant (the
    same on every layer) through the quantized network."""
    from archsim_core import get_multiplier
    from archsim_core.int8 import is_int_variant

    from archsim.nn.network import Conv2d, Linear, apply_layer, labels_of

    net = _network(acc.weights, acc.architecture)
    x, y = _test_images(acc.dataset, acc.data_dir, acc.images)
    if is_int_variant(name := json.loads(assignment[0][1])):
        # make_point admits integer points only with one multiplier on every layer
        from archsim.nn.quant import variant_logits
        logits = variant_logits(net, x, name, _quantized(acc), batch_size)
        return int((labels_of(logits) == y).sum()) / len(y)
    mults = {layer: get_multiplier(json.loads(s)) for layer, s in assignment}
    correct = 0
    for start in range(0, len(y), batch_size):
        h = x[start:start + batch_size]
        for layer in net.layers:
            m = mults[layer.name] if isinstance(layer, (Conv2d, Linear)) else None
            h = apply_layer(layer, h, m)
        correct += int((labels_of(h) == y[start:start + batch_size]).sum())
    return correct / len(y)


def pe_cost_key(point: Point) -> str:
    """What a point's PE costs depend on besides the variant: the run config's `cost`
    section, and for operands captured from a data set also the array and dataflow."""
    cost = json.loads(point.group_doc_json).get("cost")
    source = ((cost or {}).get("operands") or {}).get("source", "uniform")
    return sha({"cost": cost, "dir": point.base_dir,
                "group": point.group_key if source == "dataset" else None})


def pe_cost(group_doc_json: str, base_dir: str, spec_json: str):
    """The PECost of one variant under a group's config (once per sweep on Dask)."""
    from archsim.config import config_from_dict
    from archsim.sim.run import variant_pe_cost

    config = config_from_dict(json.loads(group_doc_json), f"{base_dir}/<sweep group>",
                              Path(base_dir))
    return variant_pe_cost(config, json.loads(spec_json))


def evaluate(point: Point, group, top1: float | None, spec_columns: tuple,
             constraints: tuple, pes: dict | None = None) -> dict:
    """The results row of one point from its group's simulation (and accuracy; `pes`: the
    PECost of each variant label if computed elsewhere)."""
    from archsim.config import PEVariant
    from archsim.sim.run import cost_variant

    config, sim = group
    config = dataclasses.replace(config, clock=point.clock,
                                 variants=tuple(PEVariant(l, s) for l, s in point.variants))
    pes = pes or {}
    costs = {v.label: cost_variant(config, sim, v.label, v.spec, pe=pes.get(v.label))
             for v in config.variants}
    default = point.variants[0][0]
    by_layer = dict(point.layer_variant)
    layer_costs = [costs[by_layer.get(r.plan.layer.name, default)] for r in sim.layers]
    energy_pj = sum(c.layer_total_pj(i) for i, c in enumerate(layer_costs))
    pe_pj = sum(pj for i, c in enumerate(layer_costs)
                for (component, _), pj in c.layer_energy_pj[i] if component == "pe")
    used = {by_layer.get(r.plan.layer.name, default) for r in sim.layers}
    clock_mhz = min(costs[label].clock_mhz for label in used)
    latency_s = sim.total_cycles / (clock_mhz * 1e6)
    energy_j = energy_pj * 1e-12
    # one multiplier unit per variant used, one accumulating adder and register (the largest)
    pe_area = (sum(costs[label].pe.mult_area_um2 for label in sorted(used))
               + max(costs[label].pe.adder_area_um2 + costs[label].pe.register_area_um2
                     for label in sorted(used)))
    counts = [r.count_map() for r in sim.layers]
    row = {"point_id": point.point_id, **dict(point.cells), "cycles": sim.total_cycles,
           "dram_read_bytes": sum(c[("dram", "read")] for c in counts),
           "dram_write_bytes": sum(c[("dram", "write")] for c in counts),
           "clock_mhz": clock_mhz, "latency_s": latency_s, "energy_j": energy_j,
           "pe_energy_j": pe_pj * 1e-12, "edp_js": energy_j * latency_s,
           "area_um2": config.array.rows * config.array.cols * pe_area,
           "config_hash": point.config_hash}
    if top1 is not None:
        row["top1"] = top1
    row["feasible"] = all(c.holds(row) for c in constraints)
    return {c: row[c] for c in spec_columns}


def plan_points(spec: SweepSpec) -> list[Point]:
    """Every point of the spec that passes the constraints on axis values, in point order."""
    from archsim.sweep.sampling import sample_indices

    axis_keys = {a.key for a in spec.axes}
    before = [c for c in spec.constraints
              if c.key in axis_keys and all(k in axis_keys for k, _ in c.where)]
    points = []
    for point_id, indices in enumerate(sample_indices(spec)):
        cells = {a.key: cell_of(a.values[i]) for a, i in zip(spec.axes, indices)}
        if all(c.holds(cells) for c in before):
            points.append(make_point(spec, point_id, indices))
    check_groups(spec, points)
    return points


def check_groups(spec: SweepSpec, points: list[Point]) -> None:
    """Refuse, before anything runs, a group whose simulation would be too large (the bounds
    `archsim run` applies: archsim.sim.limits), naming the spec and the first such point."""
    from archsim.errors import ArchsimError, ConfigError
    from archsim.sim.limits import check_simulation
    from archsim.sim.plan import plan_layer

    seen = set()
    for p in points:
        if p.group_key in seen:
            continue
        seen.add(p.group_key)
        where = (f"{spec.source}: point {p.point_id} ("
                 + ", ".join(f"{k}={c}" for k, c in p.cells) + "): ")
        try:
            config = group_config(p.group_doc_json, p.base_dir, p.precision, where.rstrip(": "))
            for layer in config.workload.layers:
                plan = plan_layer(layer, config.array.rows, config.array.cols,
                                  config.array.dataflow)
                check_simulation(plan, config.memory, where)
        except ArchsimError as exc:
            raise ConfigError(str(exc)) from None


def result_constraints(spec: SweepSpec) -> tuple:
    """Constraints judged on a point's results (the `feasible` column)."""
    axis_keys = {a.key for a in spec.axes}
    return tuple(c for c in spec.constraints
                 if c.key not in axis_keys or any(k not in axis_keys for k, _ in c.where))
