"""Switching energy of a netlist on an operand stream (toggles counted, never assumed).

Energy per operation = sum over driven signals of (value changes between consecutive
operations x the driving cell's energy per output toggle) / (number of transitions). Toggles
come from the bit-level evaluator (`archsim_core.evaluate.toggle_counts`). Operand bits are
driven from outside the multiplier (registers), so their toggles are not charged to it.

Streams are the SPEC-arith §7 distributions of archsim_core.metrics: `uniform` (U[-1, 1]),
`small`, `gaussian` (N(0, 1)), or `pairs:FILE.npz` (arrays `x`, `y`: operand pairs recorded
from a real layer, first operand = activation), in that order of operations.
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np
from archsim_core.netlist import GATE_OUTPUT, Netlist

from archsim.cost.library import CellLibrary
from archsim.cost.timing import check_netlist, effective_cell
from archsim.errors import DataError, SpecError

DEFAULT_STREAM = "uniform"
DEFAULT_N_OPS = 4096
DEFAULT_SEED = 0


def operand_stream(kind: str, n_ops: int = DEFAULT_N_OPS, seed: int = DEFAULT_SEED):
    """(first operand, second operand) float32 arrays of a named distribution.

    The distributions and the pairs file format are archsim_core.metrics' (the error metrics
    use the same ones): uniform, small, gaussian, or pairs:FILE.npz with arrays x and y."""
    from archsim_core.metrics import parse_distribution, sample_operands

    if not isinstance(kind, str):
        raise SpecError(f"stream must be a string, got {kind!r}")
    dist, path = parse_distribution(kind)
    x, y = sample_operands(dist, n_ops, seed, path)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise DataError(f"{kind}: operand pairs contain inf or NaN")
    if x.size < 2:
        raise DataError(f"{kind}: an operand stream needs at least 2 pairs to count toggles")
    return x, y


def fields(values, spec):
    """(sign, biased exponent, significand with hidden bit) of values as the variant's
    multiplier holds them (archsim_core's encoding: RNE, ftz flushes), as uint64 arrays."""
    from archsim_core.multiplier import get_multiplier

    fmt = spec.fmt
    bits = get_multiplier(spec).to_bits(np.asarray(values, dtype=np.float32)).astype(np.uint64)
    m, e = np.uint64(fmt.man_bits), np.uint64(fmt.exp_bits)
    exp = (bits >> m) & np.uint64((1 << fmt.exp_bits) - 1)
    frac = bits & np.uint64((1 << fmt.man_bits) - 1)
    hidden = (exp != 0).astype(np.uint64) << m
    return bits >> (m + e), exp, frac | hidden


def netlist_toggles(netlist: Netlist, a, b) -> np.ndarray:
    """Per-signal toggle counts of `netlist` on operand arrays a, b (A1's bit-sliced evaluator)."""
    from archsim_core.evaluate import toggle_counts
    return np.asarray(toggle_counts(netlist, np.asarray(a, dtype=np.uint64),
                                    np.asarray(b, dtype=np.uint64)), dtype=np.int64)


def signal_energies(netlist: Netlist, lib: CellLibrary) -> np.ndarray:
    """Energy per toggle (library units) of each signal's driver; 0 for inputs/constants."""
    check_netlist(netlist, lib)
    energy = np.zeros(netlist.n_signals)
    and_e = lib.cell("AND2").toggle_energy("Y")
    for g in netlist.gates:
        energy[g.out] = and_e
    for i, inst in enumerate(netlist.cells):
        cost = lib.cell(effective_cell(netlist, i))
        energy[inst.sum] = cost.toggle_energy("Sum")
        energy[inst.cout] = cost.toggle_energy("Cout")
    for g in netlist.logic:
        energy[g.out] = lib.cell(g.kind).toggle_energy(GATE_OUTPUT.get(g.kind, "Y"))
    return energy


@dataclass(frozen=True)
class EnergyReport:
    """Energy per operation of one netlist in library units (eu)."""

    per_op_eu: float          # from toggle counts on the stream
    toggles_per_op: float
    n_ops: int


def netlist_energy(netlist: Netlist, a, b, lib: CellLibrary, toggles=None) -> EnergyReport:
    """Energy per operation of `netlist` on significand streams a, b (toggles optional)."""
    a = np.asarray(a, dtype=np.uint64)
    if a.size < 2:
        raise SpecError("an operand stream needs at least 2 operations to count toggles")
    toggles = netlist_toggles(netlist, a, b) if toggles is None else np.asarray(toggles)
    energy = signal_energies(netlist, lib)
    transitions = a.size - 1
    return EnergyReport(per_op_eu=float(toggles @ energy) / transitions,
                        toggles_per_op=float(toggles[energy > 0].sum()) / transitions,
                        n_ops=int(a.size))
