"""Result files: the schema of run and sweep results, deterministic JSON/CSV writers and
all-or-nothing output directories.

Every command that writes results uses `output_dir(path)` (`archsim.outdir`): files go to a
hidden temporary sibling, which replaces `path` only when the block finishes without error and
only if archsim wrote `path` itself, so bad input never leaves a half-written directory behind
and a user's files are never replaced. JSON has sorted keys and a schema version; CSV headers
carry units in their names. Same input, same bytes.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

SCHEMA_VERSION = 1

# --- the schema of `archsim run` (summary.json, layers.csv, energy_breakdown.csv, ...) ---

LAYER_COLUMNS = [
    "variant", "layer", "kind", "gemm_m", "gemm_k", "gemm_n", "macs", "row_folds", "col_folds",
    "cycles_per_fold", "compute_cycles", "scalesim_cycles", "fill_cycles", "stall_cycles",
    "drain_cycles", "total_cycles", "utilisation", "mapping_efficiency", "oversize_tiles",
    "dram_read_bytes", "dram_write_bytes", "clock_mhz", "latency_s", "energy_pj", "edp_js"]
FUNCTIONAL_COLUMNS = ["variant", "layer", "samples", "domain_errors", "max_abs_diff_vs_baseline",
                      "mean_abs_diff_vs_baseline", "mismatch_fraction_vs_baseline",
                      "max_abs_err_vs_float64"]
BREAKDOWN_COLUMNS = ["variant", "layer", "component", "action", "count", "energy_per_action_pj",
                     "energy_pj"]
OPS_COLUMNS = ["operator", "op", "unit", "macs", "vector_ops", "input_elements",
               "output_elements", "cycles", "sram_read_words", "sram_write_words",
               "dram_read_bytes", "dram_write_bytes"]


def config_echo(config) -> dict:
    """The resolved configuration as plain data (echoed in summary.json)."""
    echo = dataclasses.asdict(config)
    echo["variants"] = [{"label": v.label, "spec": v.spec} for v in config.variants]
    return echo


def _network(sim) -> dict:
    layers = sim.layers
    folds = sum(r.plan.folds for r in layers)
    counts = [r.count_map() for r in layers]
    return {
        "cycles": sim.total_cycles, "macs": sum(r.plan.macs for r in layers),
        **{f"{part}_cycles": sum(getattr(r, f"{part}_cycles") for r in layers)
           for part in ("compute", "fill", "stall", "drain")},
        "utilisation": sum(r.plan.macs for r in layers)
        / (sim.total_cycles * layers[0].plan.rows * layers[0].plan.cols),
        # unweighted mean over every fold of the network
        "mapping_efficiency": sum(r.plan.mapping_efficiency * r.plan.folds for r in layers) / folds,
        "dram_read_bytes": sum(c[("dram", "read")] for c in counts),
        "dram_write_bytes": sum(c[("dram", "write")] for c in counts),
        "oversize_tiles": sum(r.oversize_tiles for r in layers)}


def _sim(result, cost):
    """The simulation a variant was costed on (int8 PEs have their own word sizes)."""
    return cost.sim if getattr(cost, "sim", None) is not None else result.sim


def summary(result) -> dict:
    """summary.json's payload. `network` is the baseline variant's simulation; every variant
    also carries its own cycles, stalls and DRAM bytes (they differ for int8 PEs). With a
    vector unit, its cycles are part of `cycles`."""
    network = _network(result.sim)
    if result.vector:
        network["array_cycles"] = network["cycles"]
        network["vector_cycles"] = result.vector_cycles
        network["cycles"] += result.vector_cycles
    variants = {}
    for cost in result.variants:
        own = _network(_sim(result, cost))
        own["cycles"] += result.vector_cycles   # the vector unit's operators (0 without one)
        energy_j = sum(cost.layer_total_pj(i) for i in range(len(result.sim.layers))) * 1e-12
        latency_s = own["cycles"] / (cost.clock_mhz * 1e6)
        by_component: dict[str, float] = {}
        for layer_energy in cost.layer_energy_pj:
            for (component, _), pj in layer_energy:
                by_component[component] = by_component.get(component, 0.0) + pj * 1e-12
        variants[cost.label] = {
            "cycles": own["cycles"], "clock_mhz": cost.clock_mhz, "latency_s": latency_s,
            "stall_cycles": own["stall_cycles"], "dram_read_bytes": own["dram_read_bytes"],
            "dram_write_bytes": own["dram_write_bytes"], "oversize_tiles": own["oversize_tiles"],
            "energy_j": energy_j, "edp_js": energy_j * latency_s,
            "utilisation": own["utilisation"],
            "mapping_efficiency": network["mapping_efficiency"],
            "energy_by_component_j": by_component, "pe_energy_j": by_component["pe"],
            "pe": dataclasses.asdict(cost.pe)}
    base = variants[result.variants[0].label]
    for entry in variants.values():
        entry["normalised"] = {key: entry[f"{key}_{unit}"] / base[f"{key}_{unit}"]
                               for key, unit in (("energy", "j"), ("pe_energy", "j"),
                                                 ("latency", "s"), ("edp", "js"))}
    return {"name": result.config.name, "config": config_echo(result.config),
            "network": network, "baseline_variant": result.variants[0].label,
            "variants": variants}


def layer_rows(result) -> list[dict]:
    """layers.csv rows: one per variant and layer."""
    rows = []
    for cost in result.variants:
        for i, r in enumerate(_sim(result, cost).layers):
            p, counts = r.plan, r.count_map()
            energy_pj, latency_s = cost.layer_total_pj(i), cost.layer_latency_s(r)
            rows.append({
                "variant": cost.label, "layer": p.layer.name, "kind": p.layer.kind.value,
                "gemm_m": p.layer.gemm_m, "gemm_k": p.layer.gemm_k, "gemm_n": p.layer.gemm_n,
                "macs": p.macs, "row_folds": p.row_folds, "col_folds": p.col_folds,
                "cycles_per_fold": p.cycles_per_fold, "compute_cycles": r.compute_cycles,
                "scalesim_cycles": p.scalesim_cycles, "fill_cycles": r.fill_cycles,
                "stall_cycles": r.stall_cycles, "drain_cycles": r.drain_cycles,
                "total_cycles": r.total_cycles, "utilisation": r.utilisation,
                "mapping_efficiency": p.mapping_efficiency, "oversize_tiles": r.oversize_tiles,
                "dram_read_bytes": counts[("dram", "read")],
                "dram_write_bytes": counts[("dram", "write")], "clock_mhz": cost.clock_mhz,
                "latency_s": latency_s, "energy_pj": energy_pj,
                "edp_js": energy_pj * 1e-12 * latency_s})
    return rows


def ops_rows(result) -> list[dict]:
    """ops.csv rows: every operator of the workload in graph order and where it ran; array
    operators' cycles are in layers.csv, vector cycles blank without a vector unit."""
    timed = {v.operator.name: v for v in result.vector}
    rows = []
    for op in result.config.workload.operators:
        v = timed.get(op.name)
        rows.append({"operator": op.name, "op": op.op, "unit": op.unit, "macs": op.macs,
                     "vector_ops": op.vector_ops, "input_elements": op.input_elements,
                     "output_elements": op.output_elements,
                     **{key: "" if v is None else getattr(v, attr) for key, attr in (
                         ("cycles", "total_cycles"), ("sram_read_words", "sram_read_words"),
                         ("sram_write_words", "sram_write_words"),
                         ("dram_read_bytes", "dram_read_bytes"),
                         ("dram_write_bytes", "dram_write_bytes"))}})
    return rows


def breakdown_rows(result) -> list[dict]:
    """energy_breakdown.csv rows: one per variant, layer and (component, action)."""
    rows = []
    for cost in result.variants:
        prices = dict(cost.prices_pj)
        for r, energies in zip(_sim(result, cost).layers, cost.layer_energy_pj):
            counts = r.count_map()
            for (component, action), pj in energies:
                rows.append({"variant": cost.label, "layer": r.plan.layer.name,
                             "component": component, "action": action,
                             "count": counts[(component, action)],
                             "energy_per_action_pj": prices[(component, action)],
                             "energy_pj": pj})
    return rows


def _plain(obj):
    """Convert numpy scalars/arrays, tuples, Paths and enums to JSON-able built-ins."""
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        return _plain(obj.tolist())
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "value") and hasattr(obj, "name") and type(obj).__module__ != "builtins":
        return _plain(obj.value)
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)  # JSON has no inf/nan; keep them visible as strings
    return obj


def dumps_json(payload: Mapping) -> str:
    """Serialise with sorted keys, 2-space indent, a schema version and a final newline."""
    body = dict(_plain(payload))
    body.setdefault("schema_version", SCHEMA_VERSION)
    return json.dumps(body, sort_keys=True, indent=2, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike, payload: Mapping) -> Path:
    """Write `payload` as deterministic JSON; returns the path."""
    path = Path(path)
    path.write_text(dumps_json(payload), encoding="utf-8")
    return path


def _cell(value) -> str:
    if isinstance(value, float):
        return repr(value)
    if hasattr(value, "item"):
        return _cell(value.item())
    return str(value)


def write_csv(path: str | os.PathLike, rows: Iterable[Mapping], columns: Sequence[str]) -> Path:
    """Write rows (mappings) with exactly `columns` in that order; floats in round-trip repr."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row[c]) for c in columns])
    return path


def output_dir(path: str | os.PathLike):
    """All-or-nothing output directory; see `archsim.outdir.output_dir` (the one rule)."""
    from archsim.outdir import output_dir as _output_dir
    return _output_dir(path)
