"""`archsim validate-cost DIR`: archsim's cost model against published synthesis figures.

DIR is a circuit library in EvoApproxLib's layout (meta.json + Verilog). Writes into --out
(all or nothing): validation.csv (one row per circuit: archsim's area/delay/energy beside the
published area/delay/power), summary.json (Spearman, log-log R^2 and median APE after one
global scale per metric; per family and overall) and one scatter plot per metric.
See archsim/cost/validate.py for the definitions.
"""
from __future__ import annotations


def register(subparsers) -> None:
    """Add the `validate-cost` subcommand."""
    p = subparsers.add_parser("validate-cost", help="cost model vs published synthesis figures",
                              description=__doc__)
    p.add_argument("dir", metavar="DIR", help="circuit library directory (with meta.json)")
    p.add_argument("--library", default=None,
                   help="cell library: a YAML path, 'default' or 'nangate45' (default: default)")
    p.add_argument("--out", default="validate-cost-results", help="output directory")
    p.set_defaults(handler=handle)


def resolve_library_name(name):
    """A library path from a name ('default', 'nangate45') or a path; None for the default."""
    from pathlib import Path

    if name in (None, "default"):
        return None
    data = Path(__file__).resolve().parent.parent / "data"
    named = {"nangate45": data / "cell_library_nangate45.yaml",
             "freepdk45": data / "cell_library_nangate45.yaml"}
    return named.get(name, Path(name))


def handle(args) -> int:
    """Cost every circuit, summarise, write."""

    from archsim.cost.library import resolve_library
    from archsim.cost.validate import COLUMNS, METRICS, load_catalogue, plot_scatter, summarise, validation_rows
    from archsim.results import output_dir, write_csv, write_json

    lib = resolve_library(resolve_library_name(args.library))
    circuits = load_catalogue(args.dir)
    rows = validation_rows(circuits, lib, progress=True)
    summary = summarise(rows, lib.name)
    with output_dir(args.out) as tmp:
        write_csv(tmp / "validation.csv", rows, COLUMNS)
        write_json(tmp / "summary.json", summary)
        for model, published in METRICS:
            plot_scatter(rows, model, published, tmp / f"scatter_{model}.png")
    for group in ["overall", "all_mul", "all_add"]:
        s = summary["groups"][group]
        print(f"{group:10s} " + "  ".join(
            f"{m}: rho={_fmt(s[m]['spearman'])} R2={_fmt(s[m]['r2_loglog'])} "
            f"MdAPE={_fmt(s[m]['median_ape_pct'])}%" for m, _ in METRICS))
    return 0


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"
