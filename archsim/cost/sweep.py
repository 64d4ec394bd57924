"""The lsb-family sweep: AMA cells in the lowest k columns of the 24x24 array, error vs cost.

Cost per point: the whole FP32 multiplier unit (and its significand array), normalised to
`exact`. Error per point: ER (fraction of products that differ from the exact IEEE product)
and MRED (mean |approx - exact| / |exact|) over a seeded sample of operand pairs drawn from
the same named distribution as the energy stream, computed through archsim_core's multiplier
(`get_multiplier(variant).multiply`) against the exact variant (bit-identical to IEEE).
"""
from __future__ import annotations

import numpy as np

from archsim.cost.library import CellLibrary
from archsim.cost.pe import multiplier_unit, pj_per_eu, variant_spec
from archsim.cost.power import operand_stream
from archsim.errors import SpecError

ERROR_SAMPLES = 1 << 16
ERROR_SEED = 12345           # a different seed from the energy stream (independent sample)
COLUMNS = ("cell", "k", "variant", "er", "mred", "area_um2_rel", "delay_ns", "delay_ns_rel",
           "energy_pj", "energy_pj_rel", "edp_pj_ns_rel", "sig_energy_pj_rel", "sig_delay_ns_rel")


def parse_k_range(text: str) -> list[int]:
    """'0..24' (inclusive), '0,4,8' or a mix ('0..4,8')."""
    out = []
    try:
        for part in str(text).split(","):
            if ".." in part:
                lo, hi = (int(v) for v in part.split(".."))
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise SpecError(f"--k: expected a range like 0..24 or a list like 0,8,16, got {text!r}") from None
    if not out or min(out) < 0 or max(out) > 48:
        raise SpecError(f"--k: column counts must be in 0..48, got {text!r}")
    return sorted(set(out))


def variant_name(cell: str, k: int) -> str:
    """k = 0 approximates nothing: that is the exact multiplier."""
    return "exact" if k == 0 else f"lsb-{cell}-{k}"


def error_metrics(variant: str, stream: str, n: int = ERROR_SAMPLES, seed: int = ERROR_SEED):
    """(ER, MRED) of a variant's FP products against the exact variant on a seeded sample."""
    from archsim_core.multiplier import get_multiplier

    x, y = operand_stream(stream, n, seed)
    x, y = x.astype(np.float32), y.astype(np.float32)
    exact = get_multiplier("exact").multiply(x, y).astype(np.float64)
    approx = get_multiplier(variant).multiply(x, y).astype(np.float64)
    nonzero = exact != 0
    er = float(np.mean(approx != exact))
    mred = float(np.mean(np.abs(approx[nonzero] - exact[nonzero]) / np.abs(exact[nonzero])))
    return er, mred


def lsb_sweep(cells, ks, lib: CellLibrary, stream: str, progress=None) -> list[dict]:
    """One row per (cell, k); cost relative to `exact` at the FP-unit and significand levels."""
    scale, ns = pj_per_eu(lib), lib.ns_per_delay_unit
    base = multiplier_unit(variant_spec("exact"), lib, stream)
    base_sig = base.block("significand")
    rows = []
    for cell in cells:
        for k in ks:
            name = variant_name(cell, k)
            unit = multiplier_unit(variant_spec(name), lib, stream)
            sig = unit.block("significand")
            er, mred = error_metrics(name, stream)
            rows.append({
                "cell": cell, "k": k, "variant": name, "er": er, "mred": mred,
                "area_um2_rel": unit.area_um2 / base.area_um2,
                "delay_ns": unit.delay_units * ns,
                "delay_ns_rel": unit.delay_units / base.delay_units,
                "energy_pj": unit.energy_eu * scale,
                "energy_pj_rel": unit.energy_eu / base.energy_eu,
                "edp_pj_ns_rel": (unit.energy_eu * unit.delay_units) / (base.energy_eu * base.delay_units),
                "sig_energy_pj_rel": sig.energy_eu / base_sig.energy_eu,
                "sig_delay_ns_rel": sig.delay_units / base_sig.delay_units})
            if progress is not None:
                progress.update(1)
    return rows
