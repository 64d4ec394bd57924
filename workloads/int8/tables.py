"""Markdown tables for workloads/int8/README.md, rendered from result files (never typed in):
per variant of an `archsim run` directory (cycles, stalls, DRAM bytes, energy, EDP, clock,
normalised EDP, top-1 if the run has accuracy.csv), and accuracy.csv files side by side.

    python workloads/int8/tables.py run DIR...
    python workloads/int8/tables.py accuracy CSV...
    python workloads/int8/tables.py sweep DIR          # an `archsim sweep` results directory
    python workloads/int8/tables.py readme README.md   # re-render every generated block

`readme` replaces the text between `<!-- BEGIN kind args -->` and `<!-- END -->` lines of the
README with the output of `tables.py kind args` (a table.md is pasted with `file PATH`).
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


def sweep_table(directory: Path) -> str:
    """Rows of an `archsim sweep` results.csv: PE, array, SRAM, cycles, DRAM bytes, energy,
    latency, EDP, top-1 (Verilog variants by file name)."""
    rows = list(csv.DictReader((directory / "results.csv").open()))
    lines = ["| point | array | SRAM KiB | PE | cycles | DRAM read B | DRAM write B | energy uJ | "
             "latency ms | EDP J*s | top-1 |", "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        pe = r["pe.variant"]
        pe = pe.split(":")[0] + ":" + pe.split("/")[-1] if "/" in pe else pe
        top1 = f"{100 * float(r['top1']):.1f} %" if r.get("top1") else ""
        lines.append(f"| {r['point_id']} | {r['array.size']} | {r['memory.sram_kib']} | {pe} | "
                     f"{r['cycles']} | {r['dram_read_bytes']} | {r['dram_write_bytes']} | "
                     f"{float(r['energy_j']) * 1e6:.4g} | {float(r['latency_s']) * 1e3:.4g} | "
                     f"{float(r['edp_js']):.4g} | {top1} |")
    return "\n".join(lines)


def render(kind: str, args: list[str], base: Path) -> str:
    """The text of one generated block (paths relative to the repository root `base`)."""
    paths = [base / a for a in args]
    if kind == "run":
        return "\n\n".join(run_table(p) for p in paths)
    if kind == "accuracy":
        return accuracy_table(paths)
    if kind == "sweep":
        return sweep_table(paths[0])
    if kind == "file":
        return paths[0].read_text().rstrip("\n")
    raise SystemExit(f"unknown block kind {kind!r}")


def readme(path: Path) -> None:
    """Re-render every `<!-- BEGIN kind args -->` ... `<!-- END -->` block of `path`."""
    base = Path(__file__).resolve().parents[2]
    out, block = [], None
    for line in path.read_text().splitlines():
        if line.startswith("<!-- BEGIN "):
            block = line[len("<!-- BEGIN "):-len(" -->")].split()
            out += [line, "", render(block[0], block[1:], base), ""]
        elif line == "<!-- END -->":
            out.append(line)
            block = None
        elif block is None:
            out.append(line)
    path.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "readme":
        readme(Path(args[0]))
    else:
        print(render(kind, args, Path.cwd()))
