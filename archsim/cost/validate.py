"""Cost model vs published synthesis figures (`archsim validate-cost`).

A circuit directory in EvoApproxLib's layout (`meta.json` listing every circuit with its folder,
signedness, error metrics and 45 nm synthesis figures: power `pwr` in mW, `area` in um^2, `delay`
in ns; `FOLDER/NAME.v` its gate-level Verilog) is imported circuit by circuit and costed with
archsim's model (area = sum of cell areas; delay = static timing of the critical path; energy
per operation = toggles on a uniform random operand stream x energy per toggle, in pJ through
the library's calibration). Published power at the library's fixed synthesis clock is
proportional to energy per operation, so it is compared with `energy_pj`.

Statistics per family (one `meta.json` dataset, e.g. 8x8 unsigned multipliers) and overall, per
metric, over circuits whose published figure is > 0 (the constant-output circuits have 0 area):
Spearman rank correlation; R^2 of the least-squares fit log(published) = a + b log(model); the
median absolute percentage error after the one global scale factor per metric that minimises
it (the median of published/model over all circuits), so only shape, not units, is judged.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archsim.errors import DataError

METRICS = (("area_um2", "published_area_um2"), ("delay_ns", "published_delay_ns"),
           ("energy_pj", "published_power_mw"))
COLUMNS = ["circuit", "family", "kind", "signed", "n_a", "n_b", "gates", "transistors",
           "area_um2", "delay_ns", "energy_pj", "published_area_um2", "published_delay_ns",
           "published_power_mw"]


@dataclass(frozen=True)
class Circuit:
    """One catalogued circuit: name, family, Verilog path, signedness and published figures."""

    name: str
    family: str
    verilog: Path
    signed: bool
    params: dict


def load_catalogue(root) -> list[Circuit]:
    """Every distinct circuit of an EvoApproxLib-style directory (sorted by family, name)."""
    root = Path(root)
    meta_path = root / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
    except OSError as exc:
        raise DataError(f"{meta_path}: cannot read ({exc.strerror})") from None
    except ValueError as exc:
        raise DataError(f"{meta_path}: not valid JSON ({exc})") from None
    found: dict[str, Circuit] = {}
    try:
        for group in meta:
            for family in group["datasets"]:
                fam = Path(family["folder"]).name
                kind = Path(family["folder"]).parts[0]
                fam = f"{'mul' if kind.startswith('mul') else 'add'}_{fam}"
                for subset in family["datasets"]:
                    for inst in subset["instances"]:
                        name = inst["name"]
                        if name not in found:
                            found[name] = Circuit(name, fam, root / subset["folder"] / f"{name}.v",
                                                  bool(family.get("signed")), dict(inst["params"]))
    except (KeyError, TypeError) as exc:
        raise DataError(f"{meta_path}: unexpected layout (missing {exc})") from None
    return sorted(found.values(), key=lambda c: (c.family, c.name))


ENERGY_STREAM_OPS = 4096
ENERGY_SEED = 0


def circuit_costs(netlist, lib) -> dict:
    """archsim's area (um^2), transistors, critical-path delay (ns) and energy per operation
    (pJ, uniform random raw operands, ENERGY_STREAM_OPS of them, seeded) of one netlist."""
    from archsim.cost.pe import pj_per_eu
    from archsim.cost.power import netlist_energy
    from archsim.cost.timing import analyse_timing, netlist_area

    transistors, area = netlist_area(netlist, lib)
    rng = np.random.default_rng(ENERGY_SEED)
    a = rng.integers(0, 1 << netlist.n_a, ENERGY_STREAM_OPS, dtype=np.uint64)
    b = rng.integers(0, 1 << netlist.n_b, ENERGY_STREAM_OPS, dtype=np.uint64)
    energy = netlist_energy(netlist, a, b, lib)
    return {"gates": len(netlist.gates) + len(netlist.cells), "transistors": transistors,
            "area_um2": area, "delay_ns": analyse_timing(netlist, lib).delay_ns,
            "energy_pj": energy.per_op_eu * pj_per_eu(lib)}


def validation_rows(circuits, lib, progress: bool = False) -> list[dict]:
    """One row per circuit (COLUMNS): archsim's figures beside the published ones."""
    from tqdm import tqdm

    from archsim_core.verilog import import_verilog

    rows = []
    for c in tqdm(circuits, desc="validate-cost", unit="circuit", disable=not progress):
        net = import_verilog(c.verilog)
        kind = "mul" if c.family.startswith("mul") else "add"
        rows.append({"circuit": c.name, "family": c.family, "kind": kind, "signed": c.signed,
                     "n_a": net.n_a, "n_b": net.n_b, **circuit_costs(net, lib),
                     "published_area_um2": float(c.params["area"]),
                     "published_delay_ns": float(c.params["delay"]),
                     "published_power_mw": float(c.params["pwr"])})
    return rows


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties given their average rank."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    return (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]


def spearman(x, y) -> float | None:
    """Spearman rank correlation (Pearson correlation of average ranks); None if undefined."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.size < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return None
    return float(np.corrcoef(_ranks(x), _ranks(y))[0, 1])


def _loglog_r2(x, y) -> float | None:
    if len(x) < 3:
        return None
    lx, ly = np.log(x), np.log(y)
    if np.all(lx == lx[0]):
        return None
    slope, icpt = np.polyfit(lx, ly, 1)
    resid = ly - (slope * lx + icpt)
    total = np.sum((ly - ly.mean()) ** 2)
    return None if total == 0 else float(1.0 - np.sum(resid ** 2) / total)


def metric_stats(rows: list[dict], model: str, published: str, scale: float) -> dict:
    """Spearman, log-log R^2 and median APE (after `scale`) of one metric over `rows` (those
    with both figures > 0)."""
    x = np.array([r[model] for r in rows], dtype=float)
    y = np.array([r[published] for r in rows], dtype=float)
    ok = (x > 0) & (y > 0)
    x, y = x[ok], y[ok]
    ape = np.abs(scale * x - y) / y * 100.0 if x.size else np.zeros(0)
    return {"n": int(x.size), "spearman": spearman(x, y), "r2_loglog": _loglog_r2(x, y),
            "median_ape_pct": float(np.median(ape)) if ape.size else None}


def global_scales(rows: list[dict]) -> dict[str, float]:
    """Per metric, the one factor taking archsim's figure to the published one: the median of
    published / model over every circuit with both > 0 (it minimises the median APE's bias)."""
    out = {}
    for model, published in METRICS:
        ratios = [r[published] / r[model] for r in rows if r[model] > 0 and r[published] > 0]
        out[model] = float(np.median(ratios)) if ratios else 1.0
    return out


def summarise(rows: list[dict], library_name: str) -> dict:
    """summary.json's content: global scales, then statistics overall and per family."""
    scales = global_scales(rows)
    groups = {"overall": rows}
    for fam in sorted({r["family"] for r in rows}):
        groups[fam] = [r for r in rows if r["family"] == fam]
    for kind in ("mul", "add"):
        groups[f"all_{kind}"] = [r for r in rows if r["kind"] == kind]
    stats = {name: {model: metric_stats(rs, model, pub, scales[model]) for model, pub in METRICS}
             for name, rs in groups.items()}
    return {"schema": 1, "library": library_name, "n_circuits": len(rows),
            "metrics": {m: p for m, p in METRICS}, "scale": scales, "groups": stats}


def plot_scatter(rows: list[dict], model: str, published: str, path: Path) -> Path:
    """Log-log scatter of archsim's figure vs the published one, coloured by family."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 5))
    for fam in sorted({r["family"] for r in rows}):
        pts = [(r[model], r[published]) for r in rows
               if r["family"] == fam and r[model] > 0 and r[published] > 0]
        if pts:
            xs, ys = zip(*pts)
            ax.scatter(xs, ys, s=10, label=fam, alpha=0.75)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"archsim {model}")
    ax.set_ylabel(published)
    ax.legend(fontsize=6, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
