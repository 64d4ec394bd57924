"""`archsim run CONFIG [--out DIR]`: simulate a config and write its results and plots.

Writes summary.json (per variant: cycles, latency_s, energy_j, pe_energy_j (MACs only),
edp_js, utilisation, mapping_efficiency, normalised figures; the resolved config echoed),
layers.csv (per variant and layer), energy_breakdown.csv (per variant, layer, component and
action), functional.csv (if the config has a `functional` section), ops.csv (a workload from
a network graph: every operator, the unit it ran on and, with a `vector` section, its vector-unit
cycles and traffic) and plots/.
"""
from __future__ import annotations

import sys
from pathlib import Path

from archsim.results import (  # noqa: F401  (the schema lives in archsim.results)
    BREAKDOWN_COLUMNS, FUNCTIONAL_COLUMNS, LAYER_COLUMNS, OPS_COLUMNS, breakdown_rows,
    config_echo, layer_rows, ops_rows, summary)


def register(subparsers) -> None:
    """Add the `run` subcommand."""
    p = subparsers.add_parser("run", help="simulate a config: cycles, energy, EDP per variant",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("config", help="run configuration (YAML)")
    p.add_argument("--out", default=None,
                   help="output directory (default: runs/<config name>); written all or nothing, "
                        "and only a new, empty or archsim-written directory is replaced")
    p.add_argument("--no-plots", action="store_true", help="write the data files only")
    p.set_defaults(handler=handle)


def write_run(result, directory: Path, plots: bool = True, accuracy=None) -> None:
    """Write every result file of a run into `directory` (`accuracy`: accuracy.csv rows)."""
    from archsim.results import write_csv, write_json

    write_json(directory / "summary.json", summary(result))
    write_csv(directory / "layers.csv", layer_rows(result), LAYER_COLUMNS)
    write_csv(directory / "energy_breakdown.csv", breakdown_rows(result), BREAKDOWN_COLUMNS)
    if result.config.workload.operators:
        write_csv(directory / "ops.csv", ops_rows(result), OPS_COLUMNS)
    if result.config.functional is not None:
        from archsim.sim.functional import run_functional
        write_csv(directory / "functional.csv", run_functional(result.config), FUNCTIONAL_COLUMNS)
    if accuracy is not None:
        from archsim.nn.quant import ACCURACY_COLUMNS
        write_csv(directory / "accuracy.csv", accuracy, ACCURACY_COLUMNS)
    if plots:
        from archsim.plots import plot_run_dir
        plot_run_dir(directory)


def handle(args) -> int:
    """Load, simulate, cost, write (all or nothing)."""
    from archsim.config import load_config
    from archsim.outdir import check_output_dir, default_out, output_dir
    from archsim.sim.run import run_config

    config = load_config(args.config)  # bad input fails here, before any directory exists
    out = Path(args.out) if args.out else default_out(config.name)
    check_output_dir(out)  # refuse a directory we may not replace before simulating
    from archsim.sim.limits import check_simulation
    from archsim.sim.plan import plan_layer
    for layer in config.workload.layers:  # estimate every layer's work before simulating any
        plan = plan_layer(layer, config.array.rows, config.array.cols, config.array.dataflow)
        check_simulation(plan, config.memory, f"{config.source}: workload: ")
    if config.functional is not None:
        from archsim.sim.limits import check_functional
        for layer in config.workload.layers:
            check_functional(layer, config.functional.samples, f"{config.source}: ")
    if config.functional is not None and any(_is_int(v.spec) for v in config.variants):
        from archsim.errors import ConfigError
        raise ConfigError(f"{config.source}: functional: integer PE variants have no functional "
                          "mode (their network-level results come from the accuracy section)")
    accuracy = None
    if config.accuracy is not None:  # int8 variants beside FP ones (archsim.nn.quant)
        from archsim.nn.quant import accuracy_rows, prepare_accuracy
        net, qnet, test = prepare_accuracy(config.accuracy)  # bad files fail before any work
        if qnet is None and any(_is_int(v.spec) for v in config.variants):
            from archsim.errors import ConfigError
            raise ConfigError(f"{config.source}: accuracy.quant: integer PE variants need a "
                              "quantization file (archsim quantize)")
    result = run_config(config, progress=True)
    if config.accuracy is not None:
        accuracy = accuracy_rows(net, qnet, test, [(v.label, v.spec) for v in config.variants],
                                 progress=True)
    with output_dir(out) as tmp:
        write_run(result, tmp, plots=not args.no_plots, accuracy=accuracy)
    from archsim_core.variants import structure_notes
    for variant in config.variants:
        if _is_int(variant.spec):
            continue  # integer PEs: no FP significand structure to describe
        for note in structure_notes(variant.spec):
            print(f"archsim run: note: {note}", file=sys.stderr)
    for label, v in summary(result)["variants"].items():
        print(f"{label:>14}: {v['cycles']} cycles @ {v['clock_mhz']:.1f} MHz = "
              f"{v['latency_s'] * 1e3:.4g} ms, {v['energy_j'] * 1e6:.4g} µJ, "
              f"EDP {v['edp_js']:.4g} J*s (x{v['normalised']['edp']:.3f})")
    for cost in result.variants:
        se = (f" (sampling s.e. {cost.pe.mult_energy_se_pj:.2g} / {cost.pe.add_energy_se_pj:.2g})"
              if cost.pe.mult_energy_se_pj else "")
        print(f"{cost.label:>14}: MAC energy {cost.pe.mult_energy_pj:.4g} + {cost.pe.add_energy_pj:.4g} pJ"
              f"{se} from netlist toggles on {cost.pe.energy_source}")
    for row in accuracy or ():
        print(f"{row['variant']:>14}: top-1 {row['top1']:.4f} ({row['correct']}/{row['images']})")
    print(f"wrote {out}")
    return 0


def _is_int(spec) -> bool:
    from archsim_core.int8 import is_int_variant
    return is_int_variant(spec)
