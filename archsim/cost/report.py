"""Cost comparison tables and the paper's figure.

`compare(variants, baseline)` gives, for each variant, three levels of rows, each priced from
netlists on the same operand stream: the significand multiplier alone ("significand", the
variant's array netlist on the operands' significands), the whole FP multiplier ("fp_unit",
its unit netlist on the operand words) and the PE's MAC ("mac": multiplier + accumulation
adder + register energy, the chained multiplier -> adder -> register critical path), with
area, transistors, critical-path delay, energy per operation and EDP, each also normalised to
the baseline at the same level. `paper_comparison` turns them into reduction factors beside
the DA paper's claims. `plot_cost_dir(run_dir)` draws grouped bars of energy, delay and EDP
normalised to the baseline, with the paper's claimed reductions marked beside ours as
reference markers (claims are plotted, never used to compute anything).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

from archsim_core.variants import build_netlist

from archsim.cost.fp_unit import UnitCost, price_netlist
from archsim.cost.library import CellLibrary
from archsim.cost.pe import mac_cost, pj_per_eu, variant_spec
from archsim.cost.power import fields, netlist_toggles, operand_stream, signal_energies
from archsim.cost.timing import analyse_timing, effective_cell

# Guesmi et al., "Defensive Approximation", ASPLOS 2021: their Ax-FPM versus a conventional
# FP multiplier, reduction factors (delay ~4x, energy ~2.5x, EDP ~10x). Reference markers only.
PAPER_CLAIMS = {"delay": 4.0, "energy": 2.5, "edp": 10.0}
PAPER_VARIANT = "da"
LEVELS = ("significand", "fp_unit", "mac")
METRICS = ("area_um2", "transistors", "delay_ns", "energy_pj", "edp_pj_ns")
COLUMNS = ("variant", "level", "area_um2", "transistors", "delay_units", "delay_ns", "energy_pj",
           "edp_pj_ns") + tuple(f"{m}_rel" for m in METRICS)


@functools.lru_cache(maxsize=256)
def significand_cost(spec, lib: CellLibrary, stream: str) -> UnitCost:
    """The significand netlist alone on the stream's significands (hidden bit included)."""
    x, y = operand_stream(stream)
    _, _, a = fields(x, spec)
    _, _, b = fields(y, spec)
    return price_netlist(build_netlist(spec), lib, a, b, ("significand",), spec.name)


def _rows_for(variant, lib: CellLibrary, stream: str) -> list[dict]:
    spec = variant_spec(variant)
    mac = mac_cost(spec, lib, stream)
    sig = significand_cost(spec, lib, stream)
    scale, ns = pj_per_eu(lib), lib.ns_per_delay_unit
    units = (mac.mult, mac.adder, mac.register)
    rows = []
    for level, area, tr, delay, energy in (
            ("significand", sig.area_um2, sig.transistors, sig.delay_units, sig.energy_eu),
            ("fp_unit", mac.mult.area_um2, mac.mult.transistors, mac.mult.delay_units,
             mac.mult.energy_eu),
            ("mac", sum(u.area_um2 for u in units), sum(u.transistors for u in units),
             mac.timing.mac_units, mac.energy_eu)):
        rows.append({"variant": spec.name, "level": level, "area_um2": area, "transistors": tr,
                     "delay_units": delay, "delay_ns": delay * ns, "energy_pj": energy * scale,
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
    """Per variant: every block of the PE (the FP multiplier's blocks, then `adder` and
    `register`) with its area, share of the MAC critical path and of the multiplier's own
    critical path (unit gates), energy per operation (pJ) and the netlist it comes from."""
    scale = pj_per_eu(lib)
    out = {}
    for v in variants:
        spec = variant_spec(v)
        mac = mac_cost(spec, lib, stream)
        shares = dict(mac.timing.shares)
        rows = [{"block": b.name, "instances": b.instances, "area_um2": b.area_um2,
                 "transistors": b.transistors, "delay_units": b.delay_units,
                 "mac_path_units": shares.get(b.name, 0.0), "energy_pj": b.energy_eu * scale,
                 "method": b.method} for b in mac.mult.blocks]
        for name, unit in (("adder", mac.adder), ("register", mac.register)):
            rows.append({"block": name, "instances": sum(b.instances for b in unit.blocks),
                         "area_um2": unit.area_um2, "transistors": unit.transistors,
                         "delay_units": unit.delay_units, "mac_path_units": shares.get(name, 0.0),
                         "energy_pj": unit.energy_eu * scale,
                         "method": f"netlist {unit.netlist}: library areas, static timing, "
                                   f"toggles on {unit.n_ops} operations"})
        out[spec.name] = rows
    return out


def adder_breakdown(variants, lib: CellLibrary, stream: str) -> dict:
    """Per variant: the accumulation adder's own blocks (area, path share, energy)."""
    scale = pj_per_eu(lib)
    return {variant_spec(v).name: [
        {"block": b.name, "instances": b.instances, "area_um2": b.area_um2,
         "delay_units": b.delay_units, "energy_pj": b.energy_eu * scale, "method": b.method}
        for b in mac_cost(variant_spec(v), lib, stream).adder.blocks] for v in variants}


def paper_comparison(rows: list[dict], variant: str = PAPER_VARIANT) -> list[dict]:
    """The baseline-over-variant reduction factors of delay, energy and EDP at each level,
    beside the DA paper's claims (x4 / x2.5 / x10); empty when `variant` was not costed."""
    out = []
    for r in rows:
        if r["variant"] != variant:
            continue
        for metric, key in (("delay", "delay_ns_rel"), ("energy", "energy_pj_rel"),
                            ("edp", "edp_pj_ns_rel")):
            ours = 1.0 / r[key]
            out.append({"variant": variant, "level": r["level"], "metric": metric,
                        "reduction": ours, "paper_claim": PAPER_CLAIMS[metric],
                        "reaches_claim": ours >= PAPER_CLAIMS[metric]})
    return out


def _bars(ax, rows, level, variants):
    import numpy as np

    metrics = (("energy_pj_rel", "energy"), ("delay_ns_rel", "delay"), ("edp_pj_ns_rel", "edp"))
    x = np.arange(len(metrics))
    width = 0.8 / max(len(variants), 1)
    for i, v in enumerate(variants):
        r = next((r for r in rows if r["variant"] == v and r["level"] == level), None)
        if r is None or any(r[m] is None for m, _ in metrics):
            continue   # an integer circuit without this level, or no baseline at it
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
        # FP: LEVELS; integer circuits: circuit, int8_mac (levels the baseline lacks are not drawn)
        levels = list(dict.fromkeys(r["level"] for r in rows if r["energy_pj_rel"] is not None))
        fig, axes = plt.subplots(1, len(levels), figsize=(5 * len(levels), 4.6), squeeze=False)
        axes = axes[0]
        for ax, level in zip(axes, levels):
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
