"""Markdown tables for workloads/int8/README.md, rendered from result files (never typed in):
per variant of an `archsim run` directory (cycles, stalls, DRAM bytes, energy, EDP, clock,
normalised EDP, top-1 if the run has accuracy.csv), and accuracy.csv files side by side.

    python workloads/int8/tables.py run DIR...
    python workloads/int8/tables.py accuracy CSV...
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path


def run_table(directory: Path) -> str:
    s = json.loads((directory / "summary.json").read_text())
    acc = {}
    if (directory / "accuracy.csv").is_file():
        acc = {r["variant"]: r for r in csv.DictReader((directory / "accuracy.csv").open())}
    lines = [f"`{directory.name}` ({s['name']}, baseline {s['baseline_variant']})", "",
             "| variant | cycles | stall cycles | DRAM read B | DRAM write B | clock MHz | "
             "latency ms | energy uJ | PE energy uJ | EDP J*s | EDP vs baseline | top-1 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, v in s["variants"].items():
        a = acc.get(name)
        top1 = f"{100 * float(a['top1']):.2f} % ({a['images']})" if a else ""
        lines.append(f"| {name} | {v['cycles']} | {v['stall_cycles']} | {v['dram_read_bytes']} | "
                     f"{v['dram_write_bytes']} | {v['clock_mhz']:.1f} | {v['latency_s'] * 1e3:.4g} | "
                     f"{v['energy_j'] * 1e6:.4g} | {v['pe_energy_j'] * 1e6:.4g} | "
                     f"{v['edp_js']:.4g} | {v['normalised']['edp']:.3f} | {top1} |")
    return "\n".join(lines)


def accuracy_table(paths) -> str:
    lines = ["| file | variant | images | correct | top-1 |", "|---|---|---:|---:|---:|"]
    for p in paths:
        for r in csv.DictReader(open(p)):
            lines.append(f"| {Path(p).parent.name} | {r['variant']} | {r['images']} | "
                         f"{r['correct']} | {100 * float(r['top1']):.2f} % |")
    return "\n".join(lines)


if __name__ == "__main__":
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "run":
        print("\n\n".join(run_table(Path(a)) for a in args))
    else:
        print(accuracy_table(args))
