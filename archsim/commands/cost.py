"""`archsim cost VARIANT...`: netlist area, delay, energy and EDP of multiplier variants.

Compare mode prints and writes (OUT/cost.csv, OUT/cost.json, OUT/cost.png) each variant's
significand array, whole FP multiplier and MAC (multiplier + adder + register), normalised to
the baseline, the per-block breakdown of the PE (every figure from a netlist: cost.json
`blocks`, each block's `method` naming its netlist) and the DA paper's comparison. Integer
circuits (`{verilog: PATH, signed: BOOL}` spec .yaml files, `verilog:PATH`, `int8:PATH.v`,
`uint8:PATH.v`) are costed in their own run (mixing them with FP variants is an error): each
circuit's netlist (area, transistors, critical path, energy per operation) and, for 8x8
multipliers, the int8 MAC a run config builds from it (archsim.cost.integer). Sweep mode
(`--sweep lsb --cells AMA1,...,AMA5 --k 0..24`) writes OUT/sweep.csv with error (ER, MRED)
against energy and delay, and a Pareto plot (OUT/pareto.png).
"""
from __future__ import annotations

import sys

from archsim.errors import SpecError

DEFAULT_VARIANTS = ("exact", "da", "da-flat")


def register(subparsers) -> None:
    """Add the `cost` subcommand."""
    p = subparsers.add_parser("cost", help="netlist cost (area, delay, energy, EDP) of variants",
                              description=__doc__.splitlines()[0])
    p.add_argument("variants", nargs="*", metavar="VARIANT",
                   help=f"variant names or spec .yaml files (default: {' '.join(DEFAULT_VARIANTS)})")
    p.add_argument("--baseline", default=None,
                   help="variant everything is normalised to (default: exact; for integer "
                        "circuits the first one)")
    p.add_argument("--library", default=None, metavar="FILE", help="cell library YAML")
    p.add_argument("--stream", default="uniform", metavar="KIND",
                   help="operand stream: uniform, small, gaussian, or pairs:FILE.npz (arrays x, y)")
    p.add_argument("--sweep", choices=("lsb",), default=None, help="sweep the lsb family")
    p.add_argument("--cells", default="AMA1,AMA2,AMA3,AMA4,AMA5", help="sweep: cells")
    p.add_argument("--k", default="0..24", help="sweep: approximated columns, e.g. 0..24")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output directory (default runs/cost); new, empty or archsim's")
    p.add_argument("--no-plot", action="store_true", help="write CSV/JSON only")
    p.set_defaults(handler=run)


def _library_echo(lib) -> dict:
    return {"name": lib.name, "source": lib.source, "anchor_variant": lib.anchor_variant,
            "anchor_energy_pj": lib.anchor_energy_pj, "ns_per_delay_unit": lib.ns_per_delay_unit,
            "leakage_nw_per_um2": lib.leakage_nw_per_um2}


def _spec_echo(spec) -> dict:
    from archsim_core.variants import structure_notes
    return {"format": spec.fmt.name, "rounding": spec.rounding, "specials": spec.specials,
            "semantics": spec.semantics, "structure": repr(spec.structure),
            "notes": structure_notes(spec)}


def _compare(args, lib) -> dict:
    from dataclasses import asdict

    from archsim.cost.pe import pe_cost
    from archsim.cost.report import (PAPER_CLAIMS, adder_breakdown, compare, critical_paths,
                                     paper_comparison, prefix_sensitivity, resolve_all,
                                     role_breakdown, unit_breakdown)

    specs = resolve_all(list(args.variants or DEFAULT_VARIANTS), args.baseline or "exact")
    rows = compare(specs, specs[0], lib, args.stream)
    pes = {s.name: asdict(pe_cost(s, library=lib, stream=args.stream)) for s in specs}
    return {"mode": "compare", "baseline": specs[0].name, "rows": rows,
            "paper_claims_reduction": PAPER_CLAIMS, "critical_paths": critical_paths(specs, lib),
            "paper_comparison": paper_comparison(rows),
            "blocks": unit_breakdown(specs, lib, args.stream),
            "adder_blocks": adder_breakdown(specs, lib, args.stream), "pe": pes,
            "significand_roles": role_breakdown(specs, lib, args.stream),
            "what_if_prefix_recombination": prefix_sensitivity(specs, lib),
            "specs": {s.name: _spec_echo(s) for s in specs}}


def _sweep(args, lib) -> dict:
    from archsim.cost.sweep import lsb_sweep, parse_k_range

    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    ks = parse_k_range(args.k)
    from archsim.progress import counter
    with counter(len(cells) * len(ks), "lsb sweep", "variant") as bar:
        rows = lsb_sweep(cells, ks, lib, args.stream, bar)
    return {"mode": "sweep", "baseline": "exact", "sweep": rows}


def _rel(value) -> str:
    return f"{value:6.3f}" if value is not None else f"{'-':>6}"


def _print_table(rows) -> None:
    print(f"{'variant':16} {'level':12} {'area_um2':>10} {'transistors':>11} {'delay_ns':>9} "
          f"{'energy_pj':>10} {'edp_pj_ns':>10} {'area':>6} {'delay':>6} {'energy':>6} {'edp':>6}")
    for r in rows:
        print(f"{r['variant']:16} {r['level']:12} {r['area_um2']:10.1f} {r['transistors']:11d} "
              f"{r['delay_ns']:9.3f} {r['energy_pj']:10.4f} {r['edp_pj_ns']:10.4f} "
              f"{_rel(r['area_um2_rel'])} {_rel(r['delay_ns_rel'])} {_rel(r['energy_pj_rel'])} "
              f"{_rel(r['edp_pj_ns_rel'])}")


def _print_blocks(blocks) -> None:
    print(f"\n{'variant':16} {'block':12} {'area_um2':>10} {'MAC path':>9} {'unit path':>9} "
          f"{'energy_pj':>10}")
    for name, rows in blocks.items():
        for b in rows:
            print(f"{name:16} {b['block']:12} {b['area_um2']:10.1f} {b['mac_path_units']:9g} "
                  f"{b['delay_units']:9g} {b['energy_pj']:10.4f}")


def _print_paper(rows, blocks=None) -> None:
    if not rows:
        return
    for name, bl in (blocks or {}).items():
        total = sum(b["mac_path_units"] for b in bl)
        energy = sum(b["energy_pj"] for b in bl)
        top = sorted(bl, key=lambda b: -b["mac_path_units"])[:3]
        big = sorted(bl, key=lambda b: -b["energy_pj"])[:3]
        print(f"\n{name}: MAC path {total:g} unit gates, largest shares "
              + ", ".join(f"{b['block']} {b['mac_path_units']:g} ({b['mac_path_units'] / total:.0%})"
                          for b in top)
              + f"; MAC energy {energy:.3f} pJ, largest "
              + ", ".join(f"{b['block']} {b['energy_pj']:.3f} ({b['energy_pj'] / energy:.0%})"
                          for b in big))
    print(f"\n{'DA paper comparison':20} {'level':12} {'metric':7} {'ours':>6} {'paper':>6}")
    for r in rows:
        print(f"{r['variant']:20} {r['level']:12} {r['metric']:7} x{r['reduction']:5.2f} "
              f"x{r['paper_claim']:5.1f}")


def _print_sweep(rows) -> None:
    print(f"{'variant':14} {'ER':>8} {'MRED':>10} {'ER/exact':>8} {'MRED/exact':>10} "
          f"{'energy':>7} {'delay':>7} {'edp':>7}")
    for r in rows:
        print(f"{r['variant']:14} {r['er']:8.4f} {r['mred']:10.3e} {r['er_vs_exact']:8.4f} "
              f"{r['mred_vs_exact']:10.3e} {r['energy_pj_rel']:7.3f} {r['delay_ns_rel']:7.3f} "
              f"{r['edp_pj_ns_rel']:7.3f}")


def run(args) -> int:
    """Compute everything first, then write all outputs at once (all or nothing)."""
    from archsim.cost.integer import integer_compare, split_kinds
    from archsim.cost.library import resolve_library
    from archsim.cost.report import COLUMNS, plot_cost_dir
    from archsim.cost.sweep import COLUMNS as SWEEP_COLUMNS
    from archsim.outdir import check_output_dir, default_out, output_dir
    from archsim.results import write_csv, write_json

    out = args.out if args.out else default_out("cost")
    check_output_dir(out)
    lib = resolve_library(args.library)
    integer = not args.sweep and split_kinds(args.variants, args.baseline)
    if integer:
        if args.stream != "uniform":
            raise SpecError("--stream: integer circuits are priced on their own operand "
                            "streams (cost.json energy_streams); leave it at uniform")
        payload = integer_compare(args.variants, args.baseline, args.library)
    else:
        payload = _sweep(args, lib) if args.sweep else _compare(args, lib)
    payload.update(library=_library_echo(lib), stream=args.stream)
    with output_dir(out) as tmp:
        write_json(tmp / "cost.json", payload)
        if args.sweep:
            write_csv(tmp / "sweep.csv", payload["sweep"], SWEEP_COLUMNS)
        else:
            blank = [{k: "" if v is None else v for k, v in r.items()} for r in payload["rows"]]
            write_csv(tmp / "cost.csv", blank, COLUMNS)   # no baseline at a level: empty _rel
        if not args.no_plot:
            plot_cost_dir(tmp)
    if args.sweep:
        _print_sweep(payload["sweep"])
    elif integer:
        _print_table(payload["rows"])
    else:
        _print_table(payload["rows"])
        _print_blocks(payload["blocks"])
        _print_paper(payload["paper_comparison"], payload["blocks"])
        for name, d in payload["what_if_prefix_recombination"].items():
            if d["delay_units_prefix_recomb"] != d["delay_units_ripple"]:
                print(f"what-if {name}: significand delay {d['delay_units_ripple']:g} -> "
                      f"{d['delay_units_prefix_recomb']:g} unit gates with prefix recombination adders")
    print(f"wrote {out}")
    return 0
