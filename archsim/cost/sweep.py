"""The lsb-family sweep: AMA cells in the lowest k columns of the 24x24 array, error vs cost.

Cost per point: the whole FP32 multiplier unit (and its significand array), normalised to
`exact`. Error per point, on a seeded sample of the same named distribution as the energy
stream (a different seed):
* `er`, `mred`, `p_higher`: archsim_core.metrics (against the real product, so the exact
  multiplier's own rounding error is the floor);
* `er_vs_exact`, `mred_vs_exact`: against the exact IEEE multiplier's result, i.e. only what
  the approximation changes at the FP output.
"""
from __future__ import annotations

import numpy as np
from archsim_core.metrics import characterize

from archsim.cost.library import CellLibrary
from archsim.cost.pe import multiplier_unit, pj_per_eu, variant_spec
from archsim.cost.report import significand_cost
from archsim.cost.power import operand_stream
from archsim.errors import SpecError

ERROR_SAMPLES = 1 << 16
ERROR_SEED = 12345           # a different seed from the energy stream (independent sample)
COLUMNS = ("cell", "k", "variant", "er", "mred", "p_higher", "er_vs_exact", "mred_vs_exact",
           "area_um2_rel", "delay_ns", "delay_ns_rel",
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


def deviation_from_exact(variant: str, x, y):
    """(ER, MRED) of a variant's FP products against the exact variant's products."""
    from archsim_core.multiplier import get_multiplier

    x, y = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32)
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
    base_sig = significand_cost(variant_spec("exact"), lib, stream)
    x, y = operand_stream(stream, ERROR_SAMPLES, ERROR_SEED)
    rows = []
    for cell in cells:
        for k in ks:
            name = variant_name(cell, k)
            unit = multiplier_unit(variant_spec(name), lib, stream)
            sig = significand_cost(variant_spec(name), lib, stream)
            metrics = characterize(name, x, y)
            er, mred = deviation_from_exact(name, x, y)
            rows.append({
                "cell": cell, "k": k, "variant": name, "er": metrics.er, "mred": metrics.mred,
                "p_higher": metrics.p_higher, "er_vs_exact": er, "mred_vs_exact": mred,
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
