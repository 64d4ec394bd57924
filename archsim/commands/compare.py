"""`archsim compare DIR...`: the runs' per-variant figures side by side (table and CSV).

energy_rel, latency_rel and edp_rel are each row's energy, latency and EDP divided by the
first row's (the first directory's first variant), so the first row reads 1.0.
"""
from __future__ import annotations

import json
from pathlib import Path

COLUMNS = ["run", "variant", "workload", "dataflow", "array", "cycles", "clock_mhz",
           "latency_s", "energy_j", "edp_js", "utilisation", "mapping_efficiency",
           "energy_rel", "latency_rel", "edp_rel"]


def register(subparsers) -> None:
    """Add the `compare` subcommand."""
    import argparse
    p = subparsers.add_parser("compare", help="compare runs side by side", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dirs", nargs="+", help="directories written by `archsim run`")
    p.add_argument("--csv", default=None, help="also write the table to this CSV file")
    p.set_defaults(handler=handle)


def compare_rows(dirs: list[Path]) -> list[dict]:
    """One row per (run, variant); relative figures are against the first row."""
    from archsim.errors import DataError

    rows = []
    for directory in dirs:
        path = directory / "summary.json"
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
            config, variants = summary["config"], summary["variants"]
            for label in [entry["label"] for entry in config["variants"]]:  # config order
                v = variants[label]
                rows.append({
                    "run": str(directory), "variant": label,
                    "workload": config["workload"]["name"],
                    "dataflow": config["array"]["dataflow"],
                    "array": f"{config['array']['rows']}x{config['array']['cols']}",
                    **{k: v[k] for k in ("cycles", "clock_mhz", "latency_s", "energy_j",
                                         "edp_js", "utilisation", "mapping_efficiency")}})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}: not a run summary ({type(exc).__name__}: {exc})") from None
    for row in rows:
        for key, unit in (("energy", "j"), ("latency", "s"), ("edp", "js")):
            row[f"{key}_rel"] = row[f"{key}_{unit}"] / rows[0][f"{key}_{unit}"]
    return rows


def _text(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def handle(args) -> int:
    """Print the table; optionally write it as CSV."""
    rows = compare_rows([Path(d) for d in args.dirs])
    cells = [COLUMNS] + [[_text(r[c]) for c in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    for row in cells:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    if args.csv:
        import csv
        import io

        from archsim.outdir import write_file_atomic
        from archsim.results import _cell
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([_cell(r[c]) for c in COLUMNS] for r in rows)
        write_file_atomic(args.csv, buffer.getvalue())
        print(f"wrote {args.csv}")
    return 0
