"""Bit-sliced evaluation of netlists and toggle counting (the Python side of `_eval.pyx`).

A netlist is compiled once into a flat program over "slots" (bit-planes). Compilation
propagates constants, turns buffer-only outputs (AMA5's Sum = B, Cout = A; an AND with
constant 1) into aliases of their source slot, drops inputs a function does not depend on,
and specialises what remains to a few word operations (AND, OR, XOR, x AND NOT y, XOR3,
MAJ, x OR (y AND z), each optionally negated); any other 3-input function runs from its
8-entry table. Slots 0 and 1 hold constant 0 and constant 1, slots 2.. the operand bits
(the same numbers as the netlist's signals).

The compiled kernel runs 512 operations per instruction group (8 words x 64 bits), releases
the GIL and splits the stream over threads in fixed-size chunks, so results never depend on
the number of threads.
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

from archsim.errors import SpecError
from archsim_core.netlist import CONST0, CONST1, Netlist

# opcodes shared with _eval.pyx (row = code, out, x, y, z, aux; aux = negate flag or table)
OP_AND, OP_OR, OP_XOR, OP_ANDN, OP_XOR3, OP_MAJ, OP_AO21, OP_TABLE3, OP_BUF = range(9)
_AND_TABLE = (0, 0, 0, 1)

_TWO = {(0, 0, 0, 1): OP_AND, (0, 1, 1, 1): OP_OR, (0, 1, 1, 0): OP_XOR, (0, 0, 1, 0): OP_ANDN}
_THREE = {(0, 1, 1, 0, 1, 0, 0, 1): OP_XOR3, (0, 0, 0, 1, 0, 1, 1, 1): OP_MAJ,
          (0, 0, 0, 1, 1, 1, 1, 1): OP_AO21}


@dataclass(frozen=True, eq=False)
class Program:
    """A compiled netlist: `ops` rows (code, out, x, y, z, aux), `n_slots` bit-planes,
    `out_slots` (product bit k is slot out_slots[k]) and `signal_slot` (netlist signal -> slot)."""

    n_a: int
    n_b: int
    n_slots: int
    ops: np.ndarray
    out_slots: np.ndarray
    signal_slot: np.ndarray


def _restrict(table, ins):
    """(variables, table over them) of `table` (indexed by the bits of `ins`, first = MSB)
    after substituting constants, merging repeated slots and dropping irrelevant variables."""
    var = []
    for s in ins:
        if s not in (CONST0, CONST1) and s not in var:
            var.append(s)
    tab = []
    for bits in itertools.product((0, 1), repeat=len(var)):
        val = dict(zip(var, bits))
        idx = 0
        for s in ins:
            idx = (idx << 1) | (1 if s == CONST1 else 0 if s == CONST0 else val[s])
        tab.append(table[idx])
    i = 0
    while i < len(var):
        n = len(var)
        stride = 1 << (n - 1 - i)
        lo = [t for k, t in enumerate(tab) if not k & stride]
        hi = [t for k, t in enumerate(tab) if k & stride]
        if lo == hi:
            var.pop(i)
            tab = lo
        else:
            i += 1
    return tuple(var), tuple(tab)


def _permute(tab, perm):
    """Table of f(v[perm[0]], v[perm[1]], ...) re-indexed so variable i is perm[i]."""
    n = len(perm)
    out = []
    for k in range(1 << n):
        bits = [(k >> (n - 1 - i)) & 1 for i in range(n)]
        src = [0] * n
        for i, p in enumerate(perm):
            src[p] = bits[i]
        out.append(tab[int("".join(map(str, src)), 2)])
    return tuple(out)


def _classify(var, tab):
    """('const', v) | ('alias', slot) | (code, slots, aux) for a restricted function."""
    if not var:
        return ("const", tab[0])
    if len(var) == 1:
        return ("alias", var[0]) if tab == (0, 1) else (OP_BUF, var, 1)
    known = _TWO if len(var) == 2 else _THREE
    for perm in itertools.permutations(range(len(var))):
        t = _permute(tab, perm)
        for neg in (0, 1):
            code = known.get(tuple(v ^ neg for v in t))
            if code is not None:
                return (code, tuple(var[p] for p in perm), neg)
    # every non-degenerate 2-input function matched above; only 3-input ones get here
    return (OP_TABLE3, tuple(var), sum(v << k for k, v in enumerate(tab)))


def _node_functions(netlist: Netlist, kind: str, i: int):
    if kind == "and":
        g = netlist.gates[i]
        return [(g.out, _AND_TABLE, (g.a, g.b))]
    c = netlist.cells[i]
    ct = netlist.cell_types[c.cell]
    ins = (c.a, c.b, c.cin)
    return [(c.sum, ct.sum_table, ins), (c.cout, ct.cout_table, ins)]


def _compile(netlist: Netlist, live_only: bool) -> Program:
    slot = list(range(netlist.n_inputs)) + [-1] * (netlist.n_signals - netlist.n_inputs)
    ops, n_slots = [], netlist.n_inputs
    for kind, i in netlist.order:
        for sig, table, ins in _node_functions(netlist, kind, i):
            var, tab = _restrict(table, tuple(slot[s] for s in ins))
            form = _classify(var, tab)
            if form[0] == "const":
                slot[sig] = CONST1 if form[1] else CONST0
            elif form[0] == "alias":
                slot[sig] = form[1]
            else:
                code, args, aux = form
                args = tuple(args) + (CONST0,) * (3 - len(args))
                ops.append((code, n_slots, *args, aux))
                slot[sig] = n_slots
                n_slots += 1
    out_slots = [slot[s] for s in netlist.outputs]
    if live_only:
        ops = _live(ops, out_slots)
    arr = np.array(ops, dtype=np.int32).reshape(-1, 6)
    return Program(netlist.n_a, netlist.n_b, n_slots, arr,
                   np.array(out_slots, dtype=np.int32), np.array(slot, dtype=np.int32))


def _live(ops, out_slots):
    live = set(out_slots)
    keep = []
    for op in reversed(ops):
        if op[1] in live:
            keep.append(op)
            live.update(op[2:5])
    return keep[::-1]


@functools.lru_cache(maxsize=64)
def compile_netlist(netlist: Netlist, live_only: bool = True) -> Program:
    """The compiled program of `netlist` (cached per netlist object). `live_only` drops
    operations no output depends on (products); toggle counting keeps every signal."""
    return _compile(netlist, live_only)


def _operands(netlist: Netlist, a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape or a.ndim != 1:
        raise SpecError(f"operands must be 1-D arrays of equal length, got shapes {a.shape} and {b.shape}")
    for name, x, width in (("a", a, netlist.n_a), ("b", b, netlist.n_b)):
        if x.dtype.kind not in "ui":
            raise SpecError(f"operand {name} must be an integer array, got dtype {x.dtype}")
        if x.size and (int(x.min()) < 0 or int(x.max()) >> width):
            raise SpecError(f"operand {name} has values outside {width} bits")
    return np.ascontiguousarray(a, dtype=np.uint64), np.ascontiguousarray(b, dtype=np.uint64)


def evaluate(netlist: Netlist, a, b) -> np.ndarray:
    """Products of the netlist for each operand pair (uint64), bit-sliced, GIL released."""
    from archsim_core._eval import run_products

    a, b = _operands(netlist, a, b)
    return run_products(compile_netlist(netlist), a, b)


def toggle_counts(netlist: Netlist, a, b) -> np.ndarray:
    """Per signal (indexed like the netlist's signals), the number of value changes between
    consecutive operations i-1 -> i of the operand stream (int64, shape (n_signals,))."""
    from archsim_core._eval import run_toggles

    a, b = _operands(netlist, a, b)
    prog = compile_netlist(netlist, live_only=False)
    per_slot = run_toggles(prog, a, b)
    return per_slot[prog.signal_slot]
