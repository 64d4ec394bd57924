"""Cost comparison tables and the paper's figure.

`compare(variants, baseline)` gives, for each variant, two levels of rows — the significand
multiplier alone ("significand", the 24x24 netlist) and the whole FP multiplier ("fp_unit") —
with area, transistors, critical-path delay, energy per operation and EDP, each also
normalised to the baseline at the same level. `plot_cost_dir(run_dir)` draws grouped bars of
energy, delay and EDP normalised to the baseline, with the paper's claimed reductions marked
beside ours as reference markers (claims are plotted, never used to compute anything).
"""
from __future__ import annotations

import json
from pathlib import Path

from archsim_core.variants import build_netlist

from archsim.cost.library import CellLibrary
from archsim.cost.pe import adder_unit, multiplier_unit, pj_per_eu, variant_spec
from archsim.cost.power import fields, netlist_toggles, operand_stream, signal_energies
from archsim.cost.timing import analyse_timing, effective_cell

# Guesmi et al., "Defensive Approximation", ASPLOS 2021: their Ax-FPM versus a conventional
# FP multiplier, reduction factors (delay ~4x, energy ~2.5x, EDP ~10x). Reference markers only.
PAPER_CLAIMS = {"delay": 4.0, "energy": 2.5, "edp": 10.0}
PAPER_VARIANT = "da"
LEVELS = ("significand", "fp_unit")
METRICS = ("area_um2", "transistors", "delay_ns", "energy_pj", "edp_pj_ns")
COLUMNS = ("variant", "level", "area_um2", "transistors", "delay_units", "delay_ns", "energy_pj",
           "energy_static_pj", "edp_pj_ns") + tuple(f"{m}_rel" for m in METRICS)


def _rows_for(variant, lib: CellLibrary, stream: str) -> list[dict]:
    spec = variant_spec(variant)
    unit = multiplier_unit(spec, lib, stream)
    scale, ns = pj_per_eu(lib), lib.ns_per_delay_unit
    sig = unit.block("significand")
    rows = []
    for level, area, tr, delay, energy, energy_static in (
            ("significand", sig.area_um2, sig.transistors, sig.delay_units, sig.energy_eu,
             sig.static_eu),
            ("fp_unit", unit.area_um2, unit.transistors, unit.delay_units, unit.energy_eu,
             unit.static_eu)):
        rows.append({"variant": spec.name, "level": level, "area_um2": area, "transistors": tr,
                     "delay_units": delay, "delay_ns": delay * ns, "energy_pj": energy * scale,
                     "energy_static_pj": energy_static * scale,
                     "edp_pj_ns": energy * scale * delay * ns})
    return rows


def resolve_all(variants, baseline) -> list:
    """Resolved VariantSpecs: the baseline first, then the others, each variant name once."""
    specs = {}
    for v in [baseline, *variants]:
        spec = variant_spec(v)
        specs.setdefault(spec.name, spec)
    return list(specs.values())


def compare(variants, baseline, lib: CellLibrary, stream: str) -> list[dict]:
    """Rows (variant x level) with absolute and baseline-normalised metrics; baseline first."""
    specs = resolve_all(variants, baseline)
    rows = [r for spec in specs for r in _rows_for(spec, lib, stream)]
    base = {r["level"]: r for r in rows if r["variant"] == specs[0].name}
    for r in rows:
        for m in METRICS:
            r[f"{m}_rel"] = r[m] / base[r["level"]][m]
    return rows


def prefix_sensitivity(variants, lib: CellLibrary) -> dict[str, dict]:
    """What-if: significand delay with the recombination adders' ripple chains timed as
    Sklansky prefix adders (delay only; their extra area and energy are not modelled)."""
    out = {}
    for v in variants:
        spec = variant_spec(v)
        net = build_netlist(spec)
        out[spec.name] = {"delay_units_ripple": analyse_timing(net, lib).delay_units,
                          "delay_units_prefix_recomb": analyse_timing(net, lib, "prefix").delay_units}
    return out


def critical_paths(variants, lib: CellLibrary) -> dict[str, list[str]]:
    """The significand critical path of each variant, cell by cell."""
    specs = [variant_spec(v) for v in variants]
    return {s.name: analyse_timing(build_netlist(s), lib).describe() for s in specs}


def role_breakdown(variants, lib: CellLibrary, stream: str) -> dict:
    """Per variant: the significand netlist's area, energy and critical-path hops split by
    what the hardware is for: partial-product ANDs, array cells ("pp:<cell>"), final adder
    and recombination adders ("recomb:<cell>") of hierarchical designs."""
    scale = pj_per_eu(lib)
    x, y = operand_stream(stream)
    out = {}
    for v in variants:
        spec = variant_spec(v)
        net = build_netlist(spec)
        _, _, a = fields(x, spec)
        _, _, b = fields(y, spec)
        per_op = netlist_toggles(net, a, b) * signal_energies(net, lib) / (a.size - 1)
        groups: dict[str, dict] = {}

        def add(key, area, energy):
            g = groups.setdefault(key, {"count": 0, "area_um2": 0.0, "energy_pj": 0.0, "path_hops": 0})
            g["count"] += 1
            g["area_um2"] += area
            g["energy_pj"] += energy * scale

        for g in net.gates:
            add("and", lib.cell("AND2").area_um2, per_op[g.out])
        for i, c in enumerate(net.cells):
            cell = effective_cell(net, i)
            add(f"{c.role}:{cell}", lib.cell(cell).area_um2, per_op[c.sum] + per_op[c.cout])
        for step in analyse_timing(net, lib).path:
            key = "and" if step.kind == "and" else f"{net.cells[step.index].role}:{step.cell}"
            groups[key]["path_hops"] += 1
        out[spec.name] = dict(sorted(groups.items()))
    return out


def unit_breakdown(variants, lib: CellLibrary, stream: str) -> dict:
    """Per variant: each FP-unit block's area, delay and energy (pJ), and the PE adder."""
    scale = pj_per_eu(lib)
    out = {}
    for v in variants:
        unit = multiplier_unit(variant_spec(v), lib, stream)
        out[unit.name] = [{"block": b.name, "area_um2": b.area_um2, "transistors": b.transistors,
                           "delay_units": b.delay_units, "energy_pj": b.energy_eu * scale,
                           "method": b.method} for b in unit.blocks]
    add = adder_unit(lib)
    out["fp32-adder (PE)"] = [{"block": "total", "area_um2": add.area_um2,
                               "transistors": add.transistors, "delay_units": add.delay_units,
                               "energy_pj": add.energy_eu * scale, "method": "gate count (alpha=0.5)"}]
    return out


def _bars(ax, rows, level, variants):
    import numpy as np

    metrics = (("energy_pj_rel", "energy"), ("delay_ns_rel", "delay"), ("edp_pj_ns_rel", "edp"))
    x = np.arange(len(metrics))
    width = 0.8 / max(len(variants), 1)
    for i, v in enumerate(variants):
        r = next(r for r in rows if r["variant"] == v and r["level"] == level)
        values = [r[m] for m, _ in metrics]
        ax.bar(x + i * width, values, width, label=v)
        for xi, val in zip(x + i * width, values):
            ax.text(xi, val, f"{val:.2f}", ha="center", va="bottom", fontsize=6)
    if PAPER_VARIANT in variants:
        i = variants.index(PAPER_VARIANT)
        ax.scatter(x + i * width, [1 / PAPER_CLAIMS[k] for _, k in metrics], marker="*", s=120,
                   color="black", zorder=3, label="paper's claim (da)")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xticks(x + 0.4 - width / 2, [{"edp": "EDP"}.get(k, k) for _, k in metrics])
    ax.set_yscale("log")
    ax.set_ylabel("relative to the baseline (log scale)")
    ax.set_xlabel("metric")
    ax.set_title(f"{level.replace('_', ' ')}: normalised to the baseline")


def plot_cost_dir(run_dir) -> list[Path]:
    """Draw the figures of a `archsim cost` output directory; returns the written paths."""
    from archsim.plotting import pyplot as plt  # OO API on Agg: no global backend switch

    run_dir = Path(run_dir)
    data = json.loads((run_dir / "cost.json").read_text(encoding="utf-8"))
    written = []
    rows = data.get("rows", [])
    if rows:
        variants = list(dict.fromkeys(r["variant"] for r in rows))
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
        for ax, level in zip(axes, LEVELS):
            _bars(ax, rows, level, variants)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 7), fontsize=8)
        fig.suptitle(f"Multiplier cost vs {data['baseline']} (library {data['library']['name']})")
        fig.tight_layout(rect=(0, 0.08, 1, 1))
        written.append(run_dir / "cost.png")
        fig.savefig(written[-1], dpi=120)
        plt.close(fig)
    if data.get("sweep"):
        written.append(_plot_pareto(plt, data["sweep"], run_dir / "pareto.png"))
    return written


def _plot_pareto(plt, sweep: list[dict], path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("energy_pj_rel", "delay_ns_rel")):
        for cell in sorted({r["cell"] for r in sweep}):
            pts = sorted((r for r in sweep if r["cell"] == cell), key=lambda r: r["k"])
            ax.plot([p[metric] for p in pts], [p["mred"] for p in pts], "o-", ms=3, label=cell)
        front = pareto_front(sweep, metric, "mred")
        ax.plot([p[metric] for p in front], [p["mred"] for p in front], "k--", lw=1, label="Pareto front")
        ax.set_xlabel(f"{metric.replace('_rel', '')} / exact (FP32 unit)")
        ax.set_ylabel("MRED vs the real product")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    fig.suptitle("lsb family: AMA cells in the lowest k columns")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def pareto_front(rows: list[dict], cost: str, error: str) -> list[dict]:
    """Rows not dominated in (cost, error), both minimised; sorted by cost."""
    front, best = [], float("inf")
    for r in sorted(rows, key=lambda r: (r[cost], r[error])):
        if r[error] < best:
            front.append(r)
            best = r[error]
    return front
