"""`archsim characterize VARIANT...`: error metrics of FP multipliers on an operand distribution.

Prints one table row per variant (ER, MED, MRED, NMED, WCE, bias, RMSE, P(|approx|>|exact|))
and writes metrics.csv and metrics.json into --out (all or nothing). Integer circuits
(verilog:PATH, int8:PATH.v, uint8:PATH.v, or a spec .yaml with `verilog:`) get EvoApproxLib's
metrics instead (mae_pct, wce_pct, wcre_pct, ep_pct, mre_pct, mse): exhaustive up to 2^24 input
pairs, else --n sampled pairs with standard errors. Definitions and the
distributions are documented in archsim_core.metrics.
"""
from __future__ import annotations

COLUMNS = ["variant", "distribution", "n", "n_out_of_domain", "er", "med", "mred", "nmed", "wce",
           "bias", "rmse", "p_higher"]
MAX_N = 20_000_000  # operand pairs: a few GB of working memory at the bound
HEADERS = {"n_out_of_domain": "out_of_domain", "p_higher": "P(|a|>|e|)"}


def register(subparsers) -> None:
    """Add the `characterize` subcommand."""
    p = subparsers.add_parser("characterize", help="error metrics of multiplier variants",
                              description=__doc__)
    p.add_argument("variants", nargs="+", metavar="VARIANT",
                   help="variant names (exact, da, da-reference, lsb-AMA5-16, ...) or spec .yaml files")
    p.add_argument("--dist", default="uniform",
                   help="uniform | small | gaussian | pairs:FILE.npz (default uniform)")
    p.add_argument("--n", type=int, default=1_000_000, help="number of operand pairs (default 1e6)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default=None,
                   help="output directory (default runs/characterize); new, empty or archsim's")
    p.set_defaults(handler=handle)


def _text(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def print_table(rows: list[dict], columns: list[str] = COLUMNS) -> None:
    """Aligned text table of the metric rows (to stdout: this is the CLI layer)."""
    cells = [[HEADERS.get(c, c) for c in columns]] + [[_text(r[c]) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    for row in cells:
        print("  ".join(cell.rjust(w) if i > 1 else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(row, widths))).rstrip())


INT_COLUMNS = ["variant", "signed", "op", "n_a", "n_b", "out_bits", "n", "exhaustive", "mae_pct",
               "wce_pct", "wcre_pct", "ep_pct", "mre_pct", "mse", "mae", "wce", "mae_pct_se",
               "ep_pct_se", "mre_pct_se", "mse_se"]


def compute_int_rows(variants: list[str], n: int, seed: int) -> list[dict]:
    """EvoApproxLib metrics of integer circuits: exhaustive up to 2^24 input pairs, else `n`
    seeded uniform pairs (archsim_core.metrics.characterize_int)."""
    from archsim_core.intmul import get_int_multiplier
    from archsim_core.metrics import characterize_int

    mults = [get_int_multiplier(v) for v in variants]   # bad specs fail before any work
    return [{"variant": m.name, "signed": m.signed, "op": m.op, "n_a": m.n_a, "n_b": m.n_b,
             "out_bits": m.out_bits, **characterize_int(m, n_samples=n, seed=seed).as_dict()}
            for m in mults]


def compute_rows(variants: list[str], dist_text: str, n: int, seed: int) -> list[dict]:
    """One metrics row per variant (all variants see the same operands)."""
    from archsim_core.metrics import characterize, parse_distribution, sample_operands
    from archsim_core.variants import resolve_variant

    dist, path = parse_distribution(dist_text)
    specs = [resolve_variant(v) for v in variants]  # bad names fail before any work
    x, y = sample_operands(dist, n, seed, path)
    return [{"variant": spec.name, "distribution": dist_text, **characterize(spec, x, y).as_dict()}
            for spec in specs]


def handle(args) -> int:
    """Compute, print, write."""
    from archsim.errors import SpecError
    from archsim.outdir import check_output_dir, default_out, output_dir
    from archsim.results import write_csv, write_json

    if args.n < 1:
        raise SpecError(f"--n must be a positive integer, got {args.n}")
    if args.n > MAX_N:
        raise SpecError(f"--n must be at most {MAX_N} (memory grows with n), got {args.n}")
    out = args.out if args.out else default_out("characterize")
    check_output_dir(out)
    from archsim_core.intmul import is_int_spec

    kinds = {is_int_spec(v) for v in args.variants}
    if len(kinds) > 1:
        raise SpecError("characterize integer circuits and FP variants in separate runs "
                        "(their metrics differ)")
    if kinds == {True}:
        rows, columns = compute_int_rows(args.variants, args.n, args.seed), INT_COLUMNS
    else:
        rows, columns = compute_rows(args.variants, args.dist, args.n, args.seed), COLUMNS
    print_table(rows, columns)
    if kinds == {False}:
        import sys

        from archsim_core.variants import structure_notes
        for variant in args.variants:
            for note in structure_notes(variant):
                print(f"archsim characterize: note: {note}", file=sys.stderr)
    with output_dir(out) as tmp:
        write_csv(tmp / "metrics.csv", rows, columns)
        write_json(tmp / "metrics.json", {
            "config": {"variants": args.variants, "distribution": args.dist, "n": args.n,
                       "seed": args.seed},
            "results": rows})
    print(f"wrote {out}")
    return 0
