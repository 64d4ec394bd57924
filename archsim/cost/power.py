"""Switching energy of a netlist on an operand stream, and the alpha = 0.5 static estimate.

Energy per operation = sum over driven signals of (value changes between consecutive
operations x the driving cell's energy per output toggle) / (number of transitions). Toggles
come from the bit-level evaluator (`archsim_core.evaluate.toggle_counts`). Operand bits are
driven from outside the multiplier (registers), so their toggles are not charged to it.

Streams (SPEC-arith §7 distributions): `uniform` (x, y ~ U[-1, 1]), `gaussian` (N(0, 1)), or
`pairs:FILE` (an .npz with arrays `a` and `b`: operand pairs recorded from a real layer, first
operand = activation).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from archsim_core.formats import FPFormat
from archsim_core.netlist import Netlist

from archsim.cost.library import CellLibrary
from archsim.cost.timing import effective_cell
from archsim.errors import DataError, SpecError

DEFAULT_STREAM = "uniform"
DEFAULT_N_OPS = 4096
DEFAULT_SEED = 0
ALPHA_STATIC = 0.5


def operand_stream(kind: str, n_ops: int = DEFAULT_N_OPS, seed: int = DEFAULT_SEED):
    """Two float64 arrays (first operand, second operand) for a named stream."""
    if not isinstance(kind, str):
        raise SpecError(f"stream must be a string, got {kind!r}")
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.uniform(-1.0, 1.0, n_ops), rng.uniform(-1.0, 1.0, n_ops)
    if kind == "gaussian":
        return rng.standard_normal(n_ops), rng.standard_normal(n_ops)
    if kind.startswith("pairs:"):
        return _load_pairs(Path(kind[len("pairs:"):]))
    raise SpecError(f"unknown stream {kind!r} (uniform, gaussian, pairs:FILE.npz)")


def _load_pairs(path: Path):
    try:
        with np.load(path, allow_pickle=False) as data:
            if not {"a", "b"} <= set(data.files):
                raise DataError(f"{path}: operand-pair file needs arrays 'a' and 'b' "
                                f"(found {sorted(data.files)})")
            a, b = np.ravel(data["a"]).astype(np.float64), np.ravel(data["b"]).astype(np.float64)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read operand pairs ({exc})") from None
    if a.shape != b.shape or a.size < 2:
        raise DataError(f"{path}: 'a' and 'b' must have the same size >= 2, got {a.size}, {b.size}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise DataError(f"{path}: operand pairs contain inf or NaN")
    return a, b


def fields(values, fmt: FPFormat):
    """(sign, biased exponent, significand with hidden bit) of values rounded to `fmt`.

    Rounding to the format goes through float32 (bf16: keep the high 16 bits, which is
    truncation of float32; the cost model only needs a representative bit stream)."""
    bits = np.asarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    if fmt.exp_bits == 8:
        drop = 23 - fmt.man_bits
        sign, exp, frac = bits >> 31, (bits >> 23) & 0xFF, (bits & 0x7FFFFF) >> drop
    else:
        half = np.asarray(values, dtype=np.float16).view(np.uint16).astype(np.uint64)
        if (fmt.exp_bits, fmt.man_bits) != (5, 10):
            raise SpecError(f"format {fmt.name}: cost streams support 8-bit exponents and fp16")
        sign, exp, frac = half >> 15, (half >> 10) & 0x1F, half & 0x3FF
    hidden = (exp != 0).astype(np.uint64) << np.uint64(fmt.man_bits)
    return sign, exp, frac | hidden


def netlist_toggles(netlist: Netlist, a, b) -> np.ndarray:
    """Per-signal toggle counts of `netlist` on operand arrays a, b (A1's bit-sliced evaluator)."""
    from archsim_core.evaluate import toggle_counts
    return np.asarray(toggle_counts(netlist, np.asarray(a, dtype=np.uint64),
                                    np.asarray(b, dtype=np.uint64)), dtype=np.int64)


def signal_energies(netlist: Netlist, lib: CellLibrary) -> np.ndarray:
    """Energy per toggle (library units) of each signal's driver; 0 for inputs/constants."""
    energy = np.zeros(netlist.n_signals)
    and_e = lib.cell("AND2").toggle_energy("Y")
    for g in netlist.gates:
        energy[g.out] = and_e
    for i, inst in enumerate(netlist.cells):
        cost = lib.cell(effective_cell(netlist, i))
        energy[inst.sum] = cost.toggle_energy("Sum")
        energy[inst.cout] = cost.toggle_energy("Cout")
    return energy


@dataclass(frozen=True)
class EnergyReport:
    """Energy per operation of one netlist in library units (eu)."""

    per_op_eu: float          # from toggle counts on the stream
    static_eu: float          # alpha = 0.5 estimate: every driven signal toggles half the time
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
                        static_eu=ALPHA_STATIC * float(energy.sum()),
                        toggles_per_op=float(toggles[energy > 0].sum()) / transitions,
                        n_ops=int(a.size))
