"""`archsim scalesim -c X.cfg -t Y.csv -p OUT`: SCALE-Sim's inputs in, SCALE-Sim's reports out.

Writes OUT/<run_name>/{COMPUTE,BANDWIDTH,DETAILED_ACCESS}_REPORT.csv in SCALE-Sim v2's formats
and conventions (see `archsim.sim.scalesim`); all or nothing.
"""
from __future__ import annotations

import sys
from pathlib import Path


def register(subparsers) -> None:
    """Add the `scalesim` subcommand."""
    parser = subparsers.add_parser(
        "scalesim", help="SCALE-Sim-compatible run: its config + topology in, its reports out",
        description=__doc__.splitlines()[0])
    parser.add_argument("-c", dest="config", required=True, metavar="CONFIG",
                        help="SCALE-Sim INI config (.cfg)")
    parser.add_argument("-t", dest="topology", required=True, metavar="TOPOLOGY",
                        help="SCALE-Sim topology CSV")
    parser.add_argument("-p", dest="out", default=None, metavar="OUTDIR",
                        help="output directory (default runs/scalesim); reports go to "
                             "OUTDIR/<run_name>/ (new, empty or archsim's)")
    parser.add_argument("-i", dest="input_type", choices=("conv", "gemm"), default="conv",
                        help="topology type, as SCALE-Sim's -i (default conv)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    """Read, compute every layer's report row, then write the three reports."""
    from archsim.outdir import check_output_dir, default_out, output_dir, safe_name
    from archsim.sim.scalesim.compat import (expand_depthwise, layer_report, read_scalesim_config,
                                         read_scalesim_gemm_topology, write_reports)
    from archsim.workloads import read_scalesim_topology

    config = read_scalesim_config(args.config)
    target = Path(args.out if args.out else default_out("scalesim")) / safe_name(config.run_name)
    check_output_dir(target)
    reader = read_scalesim_gemm_topology if args.input_type == "gemm" else read_scalesim_topology
    workload = reader(args.topology)
    if args.input_type == "conv":
        workload = expand_depthwise(workload)
    from archsim.sim.limits import check_scalesim
    from archsim.sim.plan import plan_layer
    for layer in workload.layers:  # refuse a layer too large before computing any
        check_scalesim(plan_layer(layer, config.array_rows, config.array_cols, config.dataflow),
                       f"{args.topology}: ")
    reports = [layer_report(layer, config) for layer in workload.layers]
    with output_dir(target) as tmp:
        write_reports(tmp, reports)
    for report in reports:
        for note in report.notes:
            print(f"archsim scalesim: note: {note}", file=sys.stderr)
    print(f"wrote {target}")
    return 0
