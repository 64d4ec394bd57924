"""Plots of a run directory, drawn from its data files (summary.json, layers.csv,
energy_breakdown.csv) so `archsim plot DIR` can redraw them at any time.

matplotlib is imported lazily and used through its object-oriented API on an Agg canvas
(`archsim.plotting`): no backend switch, no pyplot state, no rcParams change. Every function
saves and returns its path. Small parts (a short drain, a tiny layer, SRAM next to DRAM
energy) get a log-scale panel beside the stacked one; legends sit outside the axes.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from archsim.errors import DataError

COMPONENTS = ("pe", "ifmap_sram", "filter_sram", "ofmap_sram", "dram")
PARTS = ("fill", "compute", "stall", "drain")
# names as a reader expects them on a figure
LABELS = {"pe": "PE (multiply + add)", "ifmap_sram": "ifmap SRAM", "filter_sram": "filter SRAM",
          "ofmap_sram": "ofmap SRAM", "dram": "DRAM", "pe_energy": "PE energy",
          "energy": "total energy", "latency": "latency", "edp": "EDP", "fill": "fill",
          "compute": "compute", "stall": "stall", "drain": "drain"}
_LEGEND_OUTSIDE = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": "small",
                   "frameon": False}


def _figure(ncols: int = 1, figsize=(6.5, 3.6)):
    from archsim.plotting import new_figure
    fig, axes = new_figure(1, ncols, figsize=figsize)
    return fig, axes


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def _read_csv(path: Path) -> list[dict]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None


def _grouped_log(ax, groups: list[str], series: dict[str, list[float]], ylabel: str,
                 xlabel: str) -> None:
    """Grouped bars on a log axis, so parts a thousand times smaller stay visible; zeros are
    marked with a '0' at the axis."""
    width = 0.8 / max(1, len(series))
    positive = [v for values in series.values() for v in values if v > 0]
    floor = min(positive) / 3 if positive else 1.0
    for i, (name, values) in enumerate(series.items()):
        xs = [j + i * width for j in range(len(groups))]
        ax.bar(xs, [v if v > 0 else 0 for v in values], width, label=LABELS.get(name, name))
        for x, v in zip(xs, values):
            if v <= 0:
                ax.text(x, floor, "0", ha="center", va="bottom", fontsize=6)
    ax.set_yscale("log")
    ax.set_ylim(bottom=floor)
    ax.set_xticks([j + width * (len(series) - 1) / 2 for j in range(len(groups))], groups,
                  rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel)


def plot_layer_cycles(layer_rows: list[dict], path: Path) -> Path:
    """Per layer: stacked fill/compute/stall/drain cycles (left, linear) and each part on a
    log axis (right), so a small layer or a short drain stays visible (variant-independent)."""
    first = layer_rows[0]["variant"]
    rows = [r for r in layer_rows if r["variant"] == first]
    names = [r["layer"] for r in rows]
    parts = {part: [float(r[f"{part}_cycles"]) for r in rows] for part in PARTS}
    fig, (left, right) = _figure(2, figsize=(max(9.0, 1.1 * len(rows) + 5), 4.0))
    bottom = [0.0] * len(rows)
    for part, values in parts.items():
        left.bar(names, values, bottom=bottom, label=LABELS[part])
        bottom = [b + v for b, v in zip(bottom, values)]
    left.set_ylabel("cycles")
    left.set_xlabel("layer")
    left.set_title("Cycles per layer (stacked)")
    left.tick_params(axis="x", labelrotation=30)
    _grouped_log(right, names, parts, "cycles (log scale)", "layer")
    right.set_title("Each part (log scale)")
    right.legend(**_LEGEND_OUTSIDE)
    return _save(fig, path)


def plot_energy_breakdown(breakdown_rows: list[dict], path: Path) -> Path:
    """Per variant: network energy by component, stacked (left, linear) and per component on a
    log axis (right), so the SRAMs stay visible beside DRAM; in µJ."""
    variants = list(dict.fromkeys(r["variant"] for r in breakdown_rows))
    totals = {(v, c): 0.0 for v in variants for c in COMPONENTS}
    for r in breakdown_rows:
        totals[(r["variant"], r["component"])] += float(r["energy_pj"]) * 1e-6
    series = {c: [totals[(v, c)] for v in variants] for c in COMPONENTS}
    fig, (left, right) = _figure(2, figsize=(max(9.0, 1.6 * len(variants) + 6), 4.0))
    bottom = [0.0] * len(variants)
    for component, values in series.items():
        left.bar(variants, values, bottom=bottom, label=LABELS[component])
        bottom = [b + x for b, x in zip(bottom, values)]
    left.set_ylabel("energy (µJ)")
    left.set_xlabel("PE variant")
    left.set_title("Energy per variant (stacked)")
    _grouped_log(right, variants, series, "energy (µJ, log scale)", "PE variant")
    right.set_title("Each component (log scale)")
    right.legend(**_LEGEND_OUTSIDE)
    return _save(fig, path)


def plot_normalised(summary: dict, path: Path) -> Path:
    """Grouped bars: PE (MAC) energy, total energy, latency and EDP of each variant relative
    to the baseline."""
    variants = [v["label"] for v in summary["config"]["variants"]]  # config order
    metrics = ("pe_energy", "energy", "latency", "edp")
    width = 0.8 / len(variants)
    fig, ax = _figure(1, figsize=(7.5, 3.8))
    for i, name in enumerate(variants):
        values = [summary["variants"][name]["normalised"][m] for m in metrics]
        ax.bar([j + i * width for j in range(len(metrics))], values, width, label=name)
    ax.set_xticks([j + width * (len(variants) - 1) / 2 for j in range(len(metrics))],
                  [LABELS[m] for m in metrics])
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_ylabel(f"relative to {summary['baseline_variant']}")
    ax.set_xlabel("metric")
    ax.set_title("Energy, latency, EDP per PE variant")
    ax.legend(title="PE variant", **_LEGEND_OUTSIDE)
    return _save(fig, path)


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
