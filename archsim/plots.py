"""Plots of a run directory, drawn from its data files (summary.json, layers.csv,
energy_breakdown.csv) so `archsim plot DIR` can redraw them at any time.

matplotlib is imported lazily with the Agg backend; every function saves, closes and
returns its path; no global rcParams change.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from archsim.errors import DataError

COMPONENTS = ("pe", "ifmap_sram", "filter_sram", "ofmap_sram", "dram")


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _read_csv(path: Path) -> list[dict]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None


def plot_layer_cycles(layer_rows: list[dict], path: Path) -> Path:
    """Stacked bars per layer: fill, compute, stall and drain cycles (variant-independent)."""
    plt = _pyplot()
    first = layer_rows[0]["variant"]
    rows = [r for r in layer_rows if r["variant"] == first]
    names = [r["layer"] for r in rows]
    fig, ax = plt.subplots(figsize=(max(5, 0.7 * len(rows) + 2), 3.6))
    bottom = [0.0] * len(rows)
    for part in ("fill", "compute", "stall", "drain"):
        values = [float(r[f"{part}_cycles"]) for r in rows]
        ax.bar(names, values, bottom=bottom, label=part)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel("cycles")
    ax.set_title("Cycles per layer")
    ax.legend(fontsize="small")
    ax.tick_params(axis="x", labelrotation=45)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_energy_breakdown(breakdown_rows: list[dict], path: Path) -> Path:
    """Stacked bars per variant: network energy by component (uJ)."""
    plt = _pyplot()
    variants = list(dict.fromkeys(r["variant"] for r in breakdown_rows))
    totals = {(v, c): 0.0 for v in variants for c in COMPONENTS}
    for r in breakdown_rows:
        totals[(r["variant"], r["component"])] += float(r["energy_pj"]) * 1e-6
    fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(variants) + 2), 3.6))
    bottom = [0.0] * len(variants)
    for component in COMPONENTS:
        values = [totals[(v, component)] for v in variants]
        ax.bar(variants, values, bottom=bottom, label=component)
        bottom = [b + x for b, x in zip(bottom, values)]
    ax.set_ylabel("energy (uJ)")
    ax.set_title("Energy breakdown")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_normalised(summary: dict, path: Path) -> Path:
    """Grouped bars: PE (MAC) energy, total energy, latency and EDP of each variant relative
    to the baseline."""
    plt = _pyplot()
    variants = [v["label"] for v in summary["config"]["variants"]]  # config order
    metrics = ("pe_energy", "energy", "latency", "edp")
    width = 0.8 / len(variants)
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for i, name in enumerate(variants):
        values = [summary["variants"][name]["normalised"][m] for m in metrics]
        ax.bar([j + i * width for j in range(len(metrics))], values, width, label=name)
    ax.set_xticks([j + width * (len(variants) - 1) / 2 for j in range(len(metrics))], metrics)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_ylabel(f"relative to {summary['baseline_variant']}")
    ax.set_title("Energy, latency, EDP per PE variant")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_run_dir(run_dir: str | Path) -> list[Path]:
    """(Re)draw the plots of a run directory into run_dir/plots; returns their paths."""
    run_dir = Path(run_dir)
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{run_dir / 'summary.json'}: cannot read: {exc}") from None
    layers = _read_csv(run_dir / "layers.csv")
    breakdown = _read_csv(run_dir / "energy_breakdown.csv")
    out = run_dir / "plots"
    out.mkdir(exist_ok=True)
    return [plot_layer_cycles(layers, out / "layer_cycles.png"),
            plot_energy_breakdown(breakdown, out / "energy_breakdown.png"),
            plot_normalised(summary, out / "normalised.png")]
