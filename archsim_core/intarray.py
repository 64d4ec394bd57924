"""Netlists of signed integer multipliers: the Baugh-Wooley array and the sign-magnitude wrapper
around any unsigned multiplier netlist. Both are ordinary `Netlist`s (AND gates, FA/HA cells,
INV/XOR2/AND2/OR2 logic gates), so evaluation, static timing, toggle energy and Verilog export
treat them like every other netlist.

Baugh-Wooley (`baugh_wooley_netlist(n)`): exact n x n two's-complement product, 2n output bits
(two's complement). With a = -a_{n-1} 2^{n-1} + sum_{i<n-1} a_i 2^i (b likewise), the modified
Baugh-Wooley identity

    a * b = sum_{i,j<n-1} a_i b_j 2^{i+j} + a_{n-1} b_{n-1} 2^{2n-2}
            + sum_{i<n-1} NOT(a_i b_{n-1}) 2^{i+n-1} + sum_{j<n-1} NOT(a_{n-1} b_j) 2^{n-1+j}
            + 2^n + 2^{2n-1}                                              (mod 2^{2n})

turns the product into a sum of non-negative bits: the 2(n-1) partial products that mix one
sign bit with one magnitude bit are NANDs (AND gate + INV), and two constants are added. The
bits are summed by the same ripple-row array as the unsigned generator (archsim_core.structures:
row 0 is the running sum, row r adds partial-product row r through one FA per column with a
half-adder position at its first cell). The constant 2^n enters the running sum at column n,
which only row 1's last cell reads: that FA with one input tied to 1 folds to XNOR/OR gates; the
constant 2^{2n-1} inverts the top product bit (one INV). Cell counts (n x n, n >= 3): n^2 AND gates,
n(n-1) - 1 adder cells of which n - 1 half-adder positions, 2(n-1) + 1 INV, one XOR2, one OR2.

Sign-magnitude wrapper (`sign_magnitude_netlist(core)`), for an unsigned n_a x n_b netlist U
with w output bits: inputs a, b are two's-complement words; output is the (w + 1)-bit
two's-complement word of (-1)^(s_a XOR s_b) * U(|a|, |b|), which is exactly
archsim_core.int8.sign_magnitude_table's function. Blocks (all role "sign" except the core,
which keeps its own gates and cells, copied one to one):

* |a| and |b|: conditional two's-complement negation by the sign bit, bit i of the result is
  x_i XOR (s AND (x_0 OR ... OR x_{i-1})) (bits up to the lowest 1 stay, bits above it flip),
  the prefix ORs as a Sklansky tree (log depth). The most negative input -2^{n-1} has the
  magnitude 2^{n-1}, whose bit pattern is itself (1 followed by zeros): it fits the unsigned
  n-bit input, so nothing is clipped or saturated (int8: |-128| = 128 = 0x80 enters the core);
* the core U on the magnitudes;
* the sign s_a XOR s_b;
* conditional negation of the w-bit product extended by a zero bit to w + 1 bits (the same
  prefix-OR negator), so a product of 0 is 0 whatever the signs and any unsigned value up to
  2^w - 1 is negated without overflow.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

from archsim_core.errors import SpecError
from archsim_core.netlist import CONST0, CONST1, AndGate, CellInst, Gate, Netlist


def _builder(n_a: int, n_b: int, name: str):
    from archsim_core.fp_unit import UnitBuilder    # the folding builder (imports nothing back)

    return UnitBuilder(n_a, n_b, name)


def add3(nb, x: int, y: int, cin: int, col: int, row: int) -> tuple[int, int]:
    """x + y + cin as one FA cell (a half-adder position when one input is constant 0); with
    a constant-1 input the cell folds into gates (XNOR = XOR2 + INV or XOR2 of the un-inverted
    input, and OR2). Returns (sum, carry)."""
    ins = [x, y, cin]
    ones = ins.count(CONST1)
    var = [s for s in ins if s not in (CONST0, CONST1)]
    if len(var) == 3:
        return nb.cell("FA", x, y, cin, col, row, "pp")
    if len(var) == 2 and ones == 0:
        return nb.cell("FA", var[0], var[1], CONST0, col, row, "pp")
    if len(var) == 2:                                   # v0 + v1 + 1
        return nb.XOR(nb.NOT(var[0]), var[1]), nb.OR(var[0], var[1])
    if len(var) == 1:
        v = var[0]
        return (v, CONST0) if ones == 0 else (nb.NOT(v), v) if ones == 1 else (v, CONST1)
    return (CONST1 if ones % 2 else CONST0), (CONST1 if ones >= 2 else CONST0)


def emit_baugh_wooley(nb, a_bits: Sequence[int], b_bits: Sequence[int]) -> list[int]:
    """Emit the n x n modified Baugh-Wooley ripple-row array on the given operand signals
    (a_bits, b_bits LSB first, two's complement); returns the 2n product bits."""
    n = len(a_bits)
    if len(b_bits) != n or n < 2:
        raise SpecError(f"Baugh-Wooley array: operands must have equal widths >= 2, got "
                        f"{len(a_bits)}x{len(b_bits)}")
    role = nb.role
    nb.role = "pp"
    top = n - 1

    def pp(i: int, j: int) -> int:
        g = nb.and_(a_bits[i], b_bits[j])
        return nb.NOT(g) if (i == top) != (j == top) else g

    s = {j: pp(0, j) for j in range(n)}
    s[n] = CONST1                       # the constant 2^n (= 2^(n-1) + 2^(n-1))
    for r in range(1, n):
        carry = CONST0
        for c in range(r, r + n):
            s[c], carry = add3(nb, pp(r, c - r), s.get(c, CONST0), carry, c, r)
        s[r + n] = carry
    out = [s[c] for c in range(2 * n)]
    out[2 * n - 1] = nb.NOT(out[2 * n - 1])   # + 2^(2n-1) mod 2^(2n)
    nb.role = role
    return out


@functools.lru_cache(maxsize=32)
def baugh_wooley_netlist(n: int = 8, name: str | None = None) -> Netlist:
    """The exact signed n x n multiplier (n in 2..32): inputs a, b two's complement (bit
    patterns), output the 2n-bit two's-complement product. Cached."""
    if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= 32:
        raise SpecError(f"Baugh-Wooley array: width must be an integer in 2..32, got {n!r}")
    nb = _builder(n, n, name or f"int{n}-baugh-wooley")
    out = emit_baugh_wooley(nb, [nb.a(i) for i in range(n)], [nb.b(j) for j in range(n)])
    return nb.build(out)


def prefix_or(nb, xs: Sequence[int]) -> list[int]:
    """[x_0, x_0|x_1, ..., x_0|...|x_{n-1}] as a Sklansky tree of OR2 gates (log depth)."""
    p = list(xs)
    n = len(p)
    level = 1
    while level < n:
        for i in range(n):
            if i & level:
                p[i] = nb.OR(p[i], p[(i // level) * level - 1])
        level *= 2
    return p


def conditional_negate(nb, bits: Sequence[int], neg: int) -> list[int]:
    """The two's complement of `bits` (LSB first, same width, modulo 2^width) when `neg` is 1,
    `bits` unchanged when 0: bit i is x_i XOR (neg AND (x_0 OR ... OR x_{i-1}))."""
    bits = list(bits)
    below = prefix_or(nb, bits[:-1])
    return [bits[0]] + [nb.XOR(x, nb.AND(neg, o)) for x, o in zip(bits[1:], below)]


def inline(nb, netlist: Netlist, a_sigs: Sequence[int], b_sigs: Sequence[int]) -> list[int]:
    """Copy every gate and cell of `netlist` into the builder `nb` (one to one, roles kept),
    its operand bits wired to a_sigs / b_sigs; returns the signals of its outputs."""
    if (len(a_sigs), len(b_sigs)) != (netlist.n_a, netlist.n_b):
        raise SpecError(f"netlist {netlist.name!r} is {netlist.n_a}x{netlist.n_b}; got "
                        f"{len(a_sigs)}x{len(b_sigs)} operand signals")
    ren = {CONST0: CONST0, CONST1: CONST1}
    ren.update(zip(netlist.a_bits, a_sigs))
    ren.update(zip(netlist.b_bits, b_sigs))
    for g in netlist.gates + netlist.logic:          # new signals first, nodes in their
        ren[g.out] = nb._new()                       # original order (cells keep theirs)
    for c in netlist.cells:
        ren[c.sum], ren[c.cout] = nb._new(), nb._new()
    for g in netlist.gates:
        nb.nodes.append(AndGate(ren[g.a], ren[g.b], ren[g.out]))
    for c in netlist.cells:
        nb.nodes.append(CellInst(c.cell, ren[c.a], ren[c.b], ren[c.cin], ren[c.sum],
                                 ren[c.cout], c.col, c.row, c.role))
    for g in netlist.logic:
        nb.nodes.append(Gate(g.kind, tuple(ren[x] for x in g.ins), ren[g.out], g.role))
    return [ren[s] for s in netlist.outputs]


def sign_magnitude_netlist(core: Netlist, name: str | None = None) -> Netlist:
    """The unsigned n_a x n_b netlist `core` (w output bits) inside the sign-magnitude wrapper:
    a (w + 1)-bit two's-complement product of two's-complement operands (module docstring)."""
    if core.n_a < 2 or core.n_b < 2:
        raise SpecError(f"netlist {core.name!r}: the sign-magnitude wrapper needs operands of "
                        f">= 2 bits, got {core.n_a}x{core.n_b}")
    nb = _builder(core.n_a, core.n_b, name or f"sm({core.name})")
    nb.role = "sign"
    a = [nb.a(i) for i in range(core.n_a)]
    b = [nb.b(j) for j in range(core.n_b)]
    sa, sb = a[-1], b[-1]
    mag_a, mag_b = conditional_negate(nb, a, sa), conditional_negate(nb, b, sb)
    product = inline(nb, core, mag_a, mag_b)
    nb.role = "sign"
    sign = nb.XOR(sa, sb)
    out = conditional_negate(nb, product + [CONST0], sign)
    return nb.build(out, core.cell_types)


def signed_values(raw, bits: int):
    """Read unsigned bit patterns (an integer array) as `bits`-bit two's complement (int64)."""
    import numpy as np

    v = np.asarray(raw).astype(np.int64)
    return np.where(v >= 1 << (bits - 1), v - (1 << bits), v)


__all__ = ["baugh_wooley_netlist", "emit_baugh_wooley", "sign_magnitude_netlist",
           "conditional_negate", "prefix_or", "inline", "add3", "signed_values"]
