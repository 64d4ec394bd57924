"""Whole floating-point units: the FP multiplier around a significand netlist, and the FP adder.

FP multiplier (format (1, e, m), significand netlist of W product bits) = blocks:
  significand  the variant's netlist: STA + toggle energy on the operand stream;
  exponent     its own netlist: an e-bit ripple adder (ea + eb) then an (e+1)-bit ripple adder
               of the constant -bias (built from FA/HA cells, evaluated on the stream);
  sign         one XOR2 (toggles counted exactly on the stream);
  normaliser   gate count: leading-one select among P = W - 2m positions (P-1 MUX2 per kept
               bit, depth ceil(log2 P)) + exponent adjust (e HA-equivalents, off the path);
  rounder      (rne only) gate count: sticky OR tree, round decision, log-depth incrementer
               (Sklansky prefix AND2s + XOR2s), carry-out renormalise mux;
  specials     gate count: operand classification, result override muxes; `ieee` adds the
               subnormal input pre-normaliser (LZC + left shifter per operand, on the path)
               and the output denormalising right shifter.
Netlist blocks get energy from toggles; gate-count blocks from the alpha = 0.5 estimate.
Critical path = max(pre-normalise + significand, exponent) + normaliser + rounder + specials mux.

FP adder (the PE's accumulator, always FP32 rne) = gate-count model of a single-path adder:
exponent subtract, swap, align shifter + sticky, conditional invert, ripple significand adder,
leading-zero count, normalise shifter, rounder, exponent adjust, special muxes (all in series).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from archsim_core.formats import FPFormat
from archsim_core.netlist import CONST0, CONST1, Netlist, NetlistBuilder

from archsim.cost.library import CellLibrary
from archsim.cost.power import ALPHA_STATIC, fields, netlist_energy
from archsim.cost.timing import analyse_timing, netlist_area


@dataclass(frozen=True)
class Block:
    """One block of an FP unit; energy in library units (eu) per operation."""

    name: str
    transistors: int
    area_um2: float
    delay_units: float
    energy_eu: float
    method: str        # "netlist (toggles)", "gate count (alpha=0.5)", "toggles (exact)"
    static_eu: float   # the alpha = 0.5 estimate of the same block


@dataclass(frozen=True)
class UnitCost:
    """A whole unit: its blocks and its critical-path delay (unit gates)."""

    name: str
    blocks: tuple[Block, ...]
    delay_units: float

    @property
    def area_um2(self) -> float:
        """Sum of block areas."""
        return sum(b.area_um2 for b in self.blocks)

    @property
    def transistors(self) -> int:
        """Sum of block transistor counts."""
        return sum(b.transistors for b in self.blocks)

    @property
    def energy_eu(self) -> float:
        """Energy per operation in library units."""
        return sum(b.energy_eu for b in self.blocks)

    @property
    def static_eu(self) -> float:
        """The alpha = 0.5 estimate of the whole unit."""
        return sum(b.static_eu for b in self.blocks)

    def block(self, name: str) -> Block:
        """The block called `name`."""
        return next(b for b in self.blocks if b.name == name)


def _clog2(n: int) -> int:
    return max(0, math.ceil(math.log2(n))) if n > 1 else 0


def gate_block(name: str, lib: CellLibrary, counts: dict[str, int], path: dict[str, int]) -> Block:
    """A block known by gate counts; `path` = gates on its critical path (name -> how many)."""
    transistors = area = energy = 0.0
    for gate, n in counts.items():
        cost = lib.cell(gate)
        transistors += n * cost.transistors
        area += n * cost.area_um2
        energy += n * ALPHA_STATIC * sum(e for _, e in cost.energy_per_toggle)
    delay = sum(n * lib.cell(g).max_delay for g, n in path.items())
    return Block(name, int(transistors), area, delay, energy, "gate count (alpha=0.5)", energy)


def netlist_block(name: str, netlist: Netlist, lib: CellLibrary, a, b) -> Block:
    """A block given as a netlist: area by summation, STA delay, toggle energy on (a, b)."""
    transistors, area = netlist_area(netlist, lib)
    energy = netlist_energy(netlist, a, b, lib)
    return Block(name, transistors, area, analyse_timing(netlist, lib).delay_units,
                 energy.per_op_eu, "netlist (toggles)", energy.static_eu)


def exponent_netlist(e: int, bias: int) -> Netlist:
    """ea + eb - bias as two ripple adders of FA cells (HA where Cin is 0); e + 2 output bits."""
    nb = NetlistBuilder(e, e, f"exponent-adder-{e}")
    carry, total = CONST0, []
    for i in range(e):
        s, carry = nb.cell("FA", nb.a(i), nb.b(i), carry, i)
        total.append(s)
    total.append(carry)
    neg = (1 << (e + 2)) - bias          # two's complement of bias on e + 2 bits
    carry, out = CONST0, []
    for i in range(e + 2):
        bit = CONST1 if (neg >> i) & 1 else CONST0
        s, carry = nb.cell("FA", total[i] if i <= e else CONST0, bit, carry, i, row=1)
        out.append(s)
    return nb.build(out)


def _normaliser(lib, fmt: FPFormat, width: int, rounding: str) -> Block:
    positions = max(width - 2 * fmt.man_bits, 1)
    kept = fmt.man_bits + (2 if rounding == "rne" else 0)
    levels = _clog2(positions)
    counts = {"MUX2": (positions - 1) * kept, "OR2": max(positions - 2, 0),
              "XOR2": fmt.exp_bits, "AND2": fmt.exp_bits}
    return gate_block("normaliser", lib, counts, {"MUX2": levels})


def _rounder(lib, fmt: FPFormat) -> Block:
    m, n = fmt.man_bits, fmt.sig_bits
    sticky = max(m - 2, 1)
    prefix = math.ceil(n / 2 * _clog2(n))
    # OR2: sticky tree (sticky - 1) + round decision (1); AND2: decision (1) + prefix carries
    counts = {"OR2": sticky, "AND2": 1 + prefix, "XOR2": n, "MUX2": n}
    path = {"OR2": _clog2(sticky) + 1, "AND2": 1 + _clog2(n), "XOR2": 1, "MUX2": 1}
    return gate_block("rounder", lib, counts, path)


def _specials(lib, fmt: FPFormat, specials: str) -> tuple[Block, float]:
    """(block, its delay before the significand multiplier: the subnormal pre-normaliser)."""
    e, m, n = fmt.exp_bits, fmt.man_bits, fmt.sig_bits
    counts = {"AND2": 2 * (e - 1) + 2 * e, "OR2": 2 * (e - 1) + 2 * (m - 1), "INV": 4,
              "MUX2": 2 * (e + m)}
    pre = 0.0
    if specials == "ieee":
        shifter = n * _clog2(n)
        counts["MUX2"] += 3 * shifter          # two input pre-normalisers + output denormaliser
        counts["OR2"] += 2 * 2 * n + n         # two leading-zero counters + denormal sticky
        pre = _clog2(n) * (lib.cell("OR2").max_delay + lib.cell("MUX2").max_delay)
    block = gate_block("specials", lib, counts, {"MUX2": 2})
    return Block(block.name, block.transistors, block.area_um2, block.delay_units + pre,
                 block.energy_eu, block.method, block.static_eu), pre


def _sign(lib, sx, sy) -> Block:
    x = (np.asarray(sx) ^ np.asarray(sy)).astype(np.int8)
    toggles = float(np.count_nonzero(np.diff(x))) / max(x.size - 1, 1)
    cost = lib.cell("XOR2")
    return Block("sign", cost.transistors, cost.area_um2, cost.max_delay,
                 toggles * cost.toggle_energy("Y"), "toggles (exact)",
                 ALPHA_STATIC * cost.toggle_energy("Y"))


def fp_multiplier_unit(spec, netlist: Netlist, lib: CellLibrary, x, y) -> UnitCost:
    """The whole FP multiplier of a resolved variant (`spec`: fmt, rounding, specials) with
    significand netlist `netlist`, on operand streams x (first operand) and y."""
    fmt = spec.fmt
    sx, ex, mx = fields(x, spec)
    sy, ey, my = fields(y, spec)
    sig = netlist_block("significand", netlist, lib, mx, my)
    exp = netlist_block("exponent", exponent_netlist(fmt.exp_bits, fmt.bias), lib, ex, ey)
    norm = _normaliser(lib, fmt, netlist.n_outputs, spec.rounding)
    special, pre = _specials(lib, fmt, spec.specials)
    blocks = [sig, exp, _sign(lib, sx, sy), norm]
    rnd_delay = 0.0
    if spec.rounding == "rne":
        rnd = _rounder(lib, fmt)
        blocks.append(rnd)
        rnd_delay = rnd.delay_units
    blocks.append(special)
    delay = max(pre + sig.delay_units, exp.delay_units) + norm.delay_units + rnd_delay \
        + (special.delay_units - pre)
    return UnitCost(spec.name, tuple(blocks), delay)


def fp_adder_unit(lib: CellLibrary, fmt: FPFormat) -> UnitCost:
    """Gate-count model of a single-path FP adder (rne, ieee) for the PE's accumulation."""
    e, m = fmt.exp_bits, fmt.man_bits
    w = m + 4                                  # significand + hidden bit, guard, round, sticky
    stages = _clog2(w)
    shifter = w * stages
    prefix = math.ceil((m + 1) / 2 * _clog2(m + 1))
    specs = [
        ("exponent-diff", {"FA": e, "INV": e}, {"FA": e + 1}),
        ("swap", {"MUX2": 2 * (m + 1) + e}, {"MUX2": 1}),
        ("align", {"MUX2": shifter, "OR2": w - 1}, {"MUX2": stages}),
        ("invert", {"XOR2": w}, {"XOR2": 1}),
        ("significand-add", {"FA": w}, {"FA": w + 1}),
        ("lzc", {"OR2": w, "AND2": w}, {"OR2": stages, "AND2": stages}),
        ("normalise", {"MUX2": shifter}, {"MUX2": stages}),
        ("round", {"AND2": 1 + prefix, "XOR2": m + 1, "OR2": 2, "MUX2": m + 1},
         {"AND2": 1 + _clog2(m + 1), "XOR2": 1, "MUX2": 1}),
        ("exponent-adjust", {"FA": e}, {}),
        ("specials", {"AND2": 2 * (e - 1), "OR2": 2 * (e - 1) + 2 * (m - 1), "MUX2": 2 * (e + m)},
         {"MUX2": 2}),
    ]
    blocks = []
    for name, counts, path in specs:
        b = gate_block(name, lib, counts, {})
        # FA chains: Cin->Cout ripple per bit; other gates: their slowest pin
        delay = sum(n * (lib.cell(g).pin_delays("Cout")["Cin"] if g == "FA" else lib.cell(g).max_delay)
                    for g, n in path.items())
        blocks.append(Block(b.name, b.transistors, b.area_um2, delay, b.energy_eu, b.method,
                            b.static_eu))
    return UnitCost(f"{fmt.name}-adder", tuple(blocks), sum(b.delay_units for b in blocks))
