"""Sweep plots: objective scatter with the Pareto front, per-axis effects. Data in, PNG out."""
from __future__ import annotations

import itertools
from pathlib import Path

from archsim.sweep.pareto import pareto_rows

LABELS = {"latency_s": "latency (s)", "energy_j": "energy (J)", "pe_energy_j": "MAC energy (J)",
          "edp_js": "EDP (J s)",
          "area_um2": "PE-array area (um^2)", "top1": "top-1 accuracy", "cycles": "cycles"}


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    for ax in fig.axes:  # linear axes of tiny or huge numbers: one exponent, not long ticks
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "linear" and isinstance(
                    axis.get_major_formatter(), plt.matplotlib.ticker.ScalarFormatter):
                axis.get_major_formatter().set_powerlimits((-2, 3))

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def plot_front(rows: list[dict], x: str, y: str, path: Path, front_ids=frozenset()) -> Path:
    """All feasible points of (x, y), infeasible ones greyed, the 2-D front of (x, y), and
    (ringed) the points of `front_ids`: the front of all objectives when there are more."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    bad = [r for r in rows if not r["feasible"]]
    good = [r for r in rows if r["feasible"]]
    if bad:
        ax.scatter([r[x] for r in bad], [r[y] for r in bad], s=10, c="0.8", label="infeasible")
    ax.scatter([r[x] for r in good], [r[y] for r in good], s=12, c="tab:blue", alpha=0.6,
               label="feasible points")
    front = sorted(pareto_rows(good, (x, y)), key=lambda r: (r[x], r[y]))
    ax.plot([r[x] for r in front], [r[y] for r in front], "o-", c="tab:red", ms=5,
            label=f"Pareto front ({len(front)})", drawstyle="steps-post")
    ringed = [r for r in good if r["point_id"] in front_ids]
    if ringed:
        ax.scatter([r[x] for r in ringed], [r[y] for r in ringed], s=60, facecolors="none",
                   edgecolors="k", label=f"front of all objectives ({len(ringed)})")
    for axis, key in ((ax.set_xlabel, x), (ax.set_ylabel, y)):
        axis(LABELS.get(key, key))
    positive = all(r[x] > 0 for r in rows)
    if positive and max(r[x] for r in rows) > 20 * min(r[x] for r in rows):
        ax.set_xscale("log")
    if all(r[y] > 0 for r in rows) and max(r[y] for r in rows) > 20 * min(r[y] for r in rows):
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"{LABELS.get(y, y)} vs {LABELS.get(x, x)}", fontsize=10)
    return _save(fig, path)


def _split_assignments(rows: list[dict], axes: list[str]) -> tuple[list[dict], list[str]]:
    """A per-layer assignment axis (JSON {layer: variant}) becomes one pseudo-axis per layer,
    so the effects plot shows what each layer's variant does."""
    import json

    if "pe.layers" not in axes:
        return rows, axes
    parsed = [json.loads(r["pe.layers"]) for r in rows]
    layers = list(dict.fromkeys(k for p in parsed for k in p))
    rows = [{**r, **{f"layer {k}": p.get(k, "default") for k in layers}}
            for r, p in zip(rows, parsed)]
    i = axes.index("pe.layers")
    return rows, axes[:i] + [f"layer {k}" for k in layers] + axes[i + 1:]


def plot_effects(rows: list[dict], axes: list[str], objective: str, path: Path) -> Path:
    """Per axis: the objective's geometric mean (and min, max) over points at each value."""
    import math

    import matplotlib.pyplot as plt

    rows, axes = _split_assignments(rows, axes)
    swept = [a for a in axes if len({str(r[a]) for r in rows}) > 1]
    fig, subs = plt.subplots(1, max(1, len(swept)), figsize=(3.2 * max(1, len(swept)), 3.4),
                             squeeze=False)
    for ax, key in zip(subs[0], swept):
        values = list(dict.fromkeys(str(r[key]) for r in rows))
        groups = [[r[objective] for r in rows if str(r[key]) == v and r[objective] > 0]
                  for v in values]
        mean = [math.exp(sum(map(math.log, g)) / len(g)) if g else math.nan for g in groups]
        lo = [min(g) if g else math.nan for g in groups]
        hi = [max(g) if g else math.nan for g in groups]
        pos = range(len(values))
        ax.vlines(pos, lo, hi, color="0.6")
        ax.plot(pos, mean, "o", c="tab:blue")
        ax.set_xticks(list(pos), [v if len(v) <= 14 else v[:13] + "~" for v in values],
                      rotation=45, ha="right", fontsize=7)
        ax.set_title(key, fontsize=9)
        if all(g for g in groups) and max(hi) > 20 * min(lo):
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    subs[0][0].set_ylabel(LABELS.get(objective, objective))
    fig.suptitle(f"per-axis effect on {LABELS.get(objective, objective)} "
                 f"(geometric mean, min-max)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_sweep(directory: Path, rows: list[dict], front: list[dict], objectives: list[str],
               axes: list[str]) -> list[Path]:
    """Every sweep plot into directory/plots (front per pair of objectives; effects)."""
    plots = Path(directory) / "plots"
    ids = frozenset(r["point_id"] for r in front) if len(objectives) > 2 else frozenset()
    out = [plot_front(rows, x, y, plots / f"front_{x}_{y}.png", ids)
           for x, y in itertools.combinations(objectives, 2)]
    out += [plot_effects(rows, axes, o, plots / f"effects_{o}.png") for o in objectives]
    return out
