"""Low-column table form of a multiplier netlist: P(a, b) = a*b + D[a mod 2^k, b mod 2^k].

In an array multiplier a signal only flows from a column to the same or a higher column. If
every cell in columns >= k adds exactly, and nothing in those columns is lost or duplicated,
then what the cells of columns < k compute (their product bits and the carries they send into
column k) depends only on the partial products a_i b_j with i + j < k, i.e. on
(a mod 2^k, b mod 2^k), and the columns >= k add all they receive exactly. Hence

    P(a, b) = a*b + D[a mod 2^k, b mod 2^k]   (mod 2^out_bits if a carry is dropped at the top)

with D[x, y] = P(x, y) - x*y, a table filled by evaluating the netlist itself on the operands
x, y < 2^k. `low_split` proves the condition from the netlist (not from the variant's name):

1. no logic gates; every AND gate is a partial product a_i AND b_j (weight i + j) or has a
   constant-0 input (a zero signal);
2. weights are consistent: each cell of column c reads only signals of weight c (or zero
   signals); its Sum has weight c, its Cout weight c + 1; output bit o is a signal of weight o;
3. every cell that does not conserve the weighted sum (Sum + 2 Cout != A + B + Cin on some
   input it can see) lies in a column < k, k = 1 + the highest such column;
4. the partial products of weight >= k are exactly {(i, j): i + j >= k}, once each, and every
   signal of weight >= k is read exactly once (by a cell or an output), or never, and then only
   when its weight is >= out_bits (a dropped top carry: the identity holds mod 2^out_bits).

By 2 a signal of weight w < k depends only on partial products of weight <= w; by 3 and 4 the
weighted sum is conserved from the sources of the high region (partial products of weight >= k
and the carries the low region sends into column k) to the output bits >= k. So the product
is sum_{i+j>=k} a_i b_j 2^(i+j) + F(a mod 2^k, b mod 2^k), which is the identity above.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from archsim_core.netlist import CONST0, CONST1, Netlist

MAX_TABLE_K = 8          # 2^(2k) entries: 65,536 at k = 8


@dataclass(frozen=True)
class LowSplit:
    """The proven split of a netlist: columns < k are free, columns >= k add exactly;
    `modular` when some signal of weight >= out_bits is dropped (identity mod 2^out_bits)."""

    k: int
    modular: bool


def _conserves(cell, zero_pins) -> bool:
    """Sum + 2 Cout == A + B + Cin for every input the cell can see (pins fed by a zero
    signal are 0)."""
    for a in (0, 1):
        for b in (0, 1):
            for c in (0, 1):
                if (a and 0 in zero_pins) or (b and 1 in zero_pins) or (c and 2 in zero_pins):
                    continue
                s, co = cell.evaluate(a, b, c)
                if s + 2 * co != a + b + c:
                    return False
    return True


def low_split(netlist: Netlist) -> LowSplit | None:
    """The smallest k for which the netlist provably has the low-column table form (see the
    module docstring), or None when it does not have that form at all."""
    if netlist.logic:
        return None
    n_a = netlist.n_a
    a_index = {sig: i for i, sig in enumerate(netlist.a_bits)}
    b_index = {sig: j for j, sig in enumerate(netlist.b_bits)}
    weight: dict[int, int] = {}
    zero = {CONST0}
    pps: dict[int, tuple[int, int]] = {}
    for g in netlist.gates:
        if CONST0 in (g.a, g.b):
            zero.add(g.out)
            continue
        if g.a in a_index and g.b in b_index:
            i, j = a_index[g.a], b_index[g.b]
        elif g.b in a_index and g.a in b_index:
            i, j = a_index[g.b], b_index[g.a]
        else:
            return None                  # not a partial product (e.g. a constant-1 input)
        weight[g.out] = i + j
        pps[g.out] = (i, j)
    # cells, in levelised order so every input's weight is known when it is read
    k = 0
    cell_col = {}
    for kind, idx in netlist.order:
        if kind != "cell":
            continue
        c = netlist.cells[idx]
        ins = (c.a, c.b, c.cin)
        if CONST1 in ins:
            return None
        zero_pins = {p for p, s in enumerate(ins) if s in zero}
        for p, s in enumerate(ins):
            if p not in zero_pins and weight.get(s) != c.col:
                return None
        weight[c.sum], weight[c.cout] = c.col, c.col + 1
        cell_col[c.sum] = cell_col[c.cout] = c.col
        if not _conserves(netlist.cell_types[c.cell], zero_pins):
            k = max(k, c.col + 1)
    n_out = netlist.n_outputs
    for o, s in enumerate(netlist.outputs):
        if s not in zero and weight.get(s) != o:
            return None
    # high region: partial products of weight >= k exactly once each
    high_pp = Counter(ij for sig, ij in pps.items() if weight[sig] >= k)
    want = {(i, j) for i in range(n_a) for j in range(netlist.n_b) if i + j >= k}
    if set(high_pp) != want or any(n != 1 for n in high_pp.values()):
        return None
    # every signal of weight >= k read exactly once, or never when its weight >= out_bits
    reads = Counter()
    for c in netlist.cells:
        reads.update(s for s in (c.a, c.b, c.cin) if s not in zero)
    reads.update(s for s in netlist.outputs if s not in zero)
    modular = False
    for sig, w in weight.items():
        if w < k or sig in zero:
            continue
        if reads[sig] > 1:
            return None
        if reads[sig] == 0:
            if w < n_out:
                return None
            modular = True
    return LowSplit(k, modular)


def low_table(netlist: Netlist, k: int) -> np.ndarray:
    """D[(x << k) | y] = P(x, y) - x*y (int64) for x, y < 2^k, by evaluating the netlist."""
    from archsim_core.evaluate import evaluate

    if not 1 <= k <= min(netlist.n_a, netlist.n_b, MAX_TABLE_K):
        raise ValueError(f"low table: k must be in 1..{min(netlist.n_a, netlist.n_b, MAX_TABLE_K)}, "
                         f"got {k}")
    grid = np.arange(1 << (2 * k), dtype=np.uint64)
    x, y = grid >> np.uint64(k), grid & np.uint64((1 << k) - 1)
    p = evaluate(netlist, x, y)
    return p.astype(np.int64) - (x * y).astype(np.int64)


def low_table_engine(netlist: Netlist):
    """A LowTableSigMul for the netlist if `low_split` proves the form with 1 <= k <= 8
    (k = 0, an exact design, gets k = 1: a table of zeros), else None."""
    from archsim_core._sigmul import LowTableSigMul

    split = low_split(netlist)
    if split is None or split.k > min(netlist.n_a, netlist.n_b, MAX_TABLE_K):
        return None
    k = max(1, split.k)
    return LowTableSigMul(netlist.n_a, netlist.n_b, k, low_table(netlist, k), netlist.n_outputs)
