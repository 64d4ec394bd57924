"""`archsim run CONFIG [--out DIR]`: simulate a config and write its results and plots.

Writes summary.json (per variant: cycles, latency_s, energy_j, pe_energy_j (MACs only),
edp_js, utilisation, mapping_efficiency, normalised figures; the resolved config echoed),
layers.csv (per variant and layer), energy_breakdown.csv (per variant, layer, component and
action), functional.csv (if the config has a `functional` section), ops.csv (a workload from
a network graph: every operator, the unit it ran on and, with a `vector` section, its vector-unit
cycles and traffic) and plots/.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

LAYER_COLUMNS = [
    "variant", "layer", "kind", "gemm_m", "gemm_k", "gemm_n", "macs", "row_folds", "col_folds",
    "cycles_per_fold", "compute_cycles", "scalesim_cycles", "fill_cycles", "stall_cycles",
    "drain_cycles", "total_cycles", "utilisation", "mapping_efficiency", "oversize_tiles",
    "dram_read_bytes", "dram_write_bytes", "clock_mhz", "latency_s", "energy_pj", "edp_js"]
FUNCTIONAL_COLUMNS = ["variant", "layer", "samples", "domain_errors", "max_abs_diff_vs_baseline",
                      "mean_abs_diff_vs_baseline", "mismatch_fraction_vs_baseline",
                      "max_abs_err_vs_float64"]
OPS_COLUMNS = ["operator", "op", "unit", "macs", "vector_ops", "input_elements",
               "output_elements", "cycles", "sram_read_words", "sram_write_words",
               "dram_read_bytes", "dram_write_bytes"]
BREAKDOWN_COLUMNS = ["variant", "layer", "component", "action", "count", "energy_per_action_pj",
                     "energy_pj"]


def register(subparsers) -> None:
    """Add the `run` subcommand."""
    p = subparsers.add_parser("run", help="simulate a config: cycles, energy, EDP per variant",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("config", help="run configuration (YAML)")
    p.add_argument("--out", default=None,
                   help="output directory (default: runs/<config name>); replaced on success")
    p.add_argument("--no-plots", action="store_true", help="write the data files only")
    p.set_defaults(handler=handle)


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


def summary(result) -> dict:
    """summary.json's payload (with a vector unit: its cycles are part of `cycles`)."""
    network = _network(result.sim)
    if result.vector:
        network["array_cycles"] = network["cycles"]
        network["vector_cycles"] = result.vector_cycles
        network["cycles"] += result.vector_cycles
    variants = {}
    for cost in result.variants:
        energy_j = sum(cost.layer_total_pj(i) for i in range(len(result.sim.layers))) * 1e-12
        latency_s = network["cycles"] / (cost.clock_mhz * 1e6)
        by_component: dict[str, float] = {}
        for layer_energy in cost.layer_energy_pj:
            for (component, _), pj in layer_energy:
                by_component[component] = by_component.get(component, 0.0) + pj * 1e-12
        variants[cost.label] = {
            "cycles": network["cycles"], "clock_mhz": cost.clock_mhz, "latency_s": latency_s,
            "energy_j": energy_j, "edp_js": energy_j * latency_s,
            "utilisation": network["utilisation"],
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
        for i, r in enumerate(result.sim.layers):
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
        for r, energies in zip(result.sim.layers, cost.layer_energy_pj):
            counts = r.count_map()
            for (component, action), pj in energies:
                rows.append({"variant": cost.label, "layer": r.plan.layer.name,
                             "component": component, "action": action,
                             "count": counts[(component, action)],
                             "energy_per_action_pj": prices[(component, action)],
                             "energy_pj": pj})
    return rows


def write_run(result, directory: Path, plots: bool = True) -> None:
    """Write every result file of a run into `directory`."""
    from archsim.results import write_csv, write_json

    write_json(directory / "summary.json", summary(result))
    write_csv(directory / "layers.csv", layer_rows(result), LAYER_COLUMNS)
    write_csv(directory / "energy_breakdown.csv", breakdown_rows(result), BREAKDOWN_COLUMNS)
    if result.config.workload.operators:
        write_csv(directory / "ops.csv", ops_rows(result), OPS_COLUMNS)
    if result.config.functional is not None:
        from archsim.sim.functional import run_functional
        write_csv(directory / "functional.csv", run_functional(result.config), FUNCTIONAL_COLUMNS)
    if plots:
        from archsim.plots import plot_run_dir
        plot_run_dir(directory)


def handle(args) -> int:
    """Load, simulate, cost, write (all or nothing)."""
    from archsim.config import load_config
    from archsim.results import output_dir
    from archsim.sim.run import run_config

    config = load_config(args.config)  # bad input fails here, before any directory exists
    result = run_config(config, progress=sys.stderr.isatty())
    out = Path(args.out) if args.out else Path("runs") / config.name
    with output_dir(out) as tmp:
        write_run(result, tmp, plots=not args.no_plots)
    for label, v in summary(result)["variants"].items():
        print(f"{label:>14}: {v['cycles']} cycles @ {v['clock_mhz']:.1f} MHz = "
              f"{v['latency_s'] * 1e3:.4g} ms, {v['energy_j'] * 1e6:.4g} uJ, "
              f"EDP {v['edp_js']:.4g} J*s (x{v['normalised']['edp']:.3f})")
    print(f"wrote {out}")
    return 0
