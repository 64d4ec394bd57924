"""Bit-sliced evaluation of netlists and toggle counting (the Python side of `_eval.pyx`).

A netlist is compiled once into a flat program over "slots" (bit-planes). Compilation
propagates constants, turns buffer-only outputs (AMA5's Sum = B, Cout = A; an AND with
constant 1) into aliases of their source slot, drops inputs a function does not depend on,
and specialises what remains to a few word operations (AND, OR, XOR, x AND NOT y, XOR3,
MAJ, x OR (y AND z), each optionally negated; a cell whose Sum/Cout are XOR3/MAJ or XOR/AND
of the same inputs becomes one two-output FA/HA op); any other 3-input function runs from its
8-entry table. Slots 0 and 1 hold constant 0 and constant 1, slots 2.. the operand bits (the
same numbers as the netlist's signals).

Product programs (`live_only`) also drop dead operations, run in depth-first order from the
outputs, fold each partial-product AND into the adder that reads it, and reuse dead slots,
so a 24x24 array works on ~120 slots that stay in L1 cache. Toggle programs keep one slot per
signal. The compiled kernel runs 1024 operations per instruction group (16 words x 64 bits),
releases the GIL and splits the stream over threads in fixed-size chunks, so results never
depend on the number of threads.
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

from archsim_core.errors import SpecError
from archsim_core.netlist import CONST0, CONST1, GATE_TABLES, Netlist

# opcodes shared with _eval.pyx (row = code, out, x, y, z, aux, out2, x2; aux = negate flag or
# table; out2 = Cout slot of the two-output full/half adder ops, else -1; x2 = second AND input
# of FA_AND/HA_AND, whose x operand is the partial product x AND x2, else -1)
(OP_AND, OP_OR, OP_XOR, OP_ANDN, OP_XOR3, OP_MAJ, OP_AO21, OP_TABLE3, OP_BUF, OP_FA, OP_HA,
 OP_FA_AND, OP_HA_AND, OP_MUX) = range(14)
_AND_TABLE = (0, 0, 0, 1)

_TWO = {(0, 0, 0, 1): OP_AND, (0, 1, 1, 1): OP_OR, (0, 1, 1, 0): OP_XOR, (0, 0, 1, 0): OP_ANDN}
_THREE = {(0, 1, 1, 0, 1, 0, 0, 1): OP_XOR3, (0, 0, 0, 1, 0, 1, 1, 1): OP_MAJ,
          (0, 0, 0, 1, 1, 1, 1, 1): OP_AO21,
          (0, 1, 0, 1, 0, 0, 1, 1): OP_MUX}       # MUX: x ? y : z


@dataclass(frozen=True, eq=False)
class Program:
    """A compiled netlist: `ops` rows (code, out, x, y, z, aux, out2, x2), `n_slots` bit-planes,
    `out_slots` (product bit k is slot out_slots[k]) and `signal_slot` (netlist signal -> slot;
    None for a products-only program, whose slots are reused once their value is dead)."""

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
    if kind == "gate":
        g = netlist.logic[i]
        return [(g.out, GATE_TABLES[g.kind], g.ins)]
    c = netlist.cells[i]
    ct = netlist.cell_types[c.cell]
    ins = (c.a, c.b, c.cin)
    return [(c.sum, ct.sum_table, ins), (c.cout, ct.cout_table, ins)]


def _fused(forms):
    """One two-output op for a cell whose Sum/Cout are XOR3/MAJ (or XOR/AND) of the same slots."""
    (c1, a1, n1), (c2, a2, n2) = forms
    if n1 or n2 or set(a1) != set(a2):
        return None
    if (c1, c2) == (OP_XOR3, OP_MAJ):
        return OP_FA
    if (c1, c2) == (OP_XOR, OP_AND):
        return OP_HA
    return None


def _compile(netlist: Netlist, live_only: bool) -> Program:
    if netlist.n_a > 32 or netlist.n_b > 32 or netlist.n_outputs > 64:
        raise SpecError(f"netlist {netlist.name!r}: the bit-sliced evaluator takes operands of up to "
                        f"32 bits and products of up to 64, got {netlist.n_a}x{netlist.n_b} -> "
                        f"{netlist.n_outputs}")
    slot = list(range(netlist.n_inputs)) + [-1] * (netlist.n_signals - netlist.n_inputs)
    ops, n_slots = [], netlist.n_inputs
    for kind, i in netlist.order:
        pending = []
        for sig, table, ins in _node_functions(netlist, kind, i):
            form = _classify(*_restrict(table, tuple(slot[s] for s in ins)))
            if form[0] == "const":
                slot[sig] = CONST1 if form[1] else CONST0
            elif form[0] == "alias":
                slot[sig] = form[1]
            else:
                pending.append((sig, form))
        fused = _fused([f for _, f in pending]) if len(pending) == 2 else None
        if fused is not None:
            args = tuple(pending[0][1][1]) + (CONST0,) * (3 - len(pending[0][1][1]))
            ops.append((fused, n_slots, *args, 0, n_slots + 1, -1))
        for k, (sig, (code, args, aux)) in enumerate(pending):
            if fused is None:
                ops.append((code, n_slots, *args, *(CONST0,) * (3 - len(args)), aux, -1, -1))
            slot[sig] = n_slots
            n_slots += 1
    out_slots = [slot[s] for s in netlist.outputs]
    if live_only:
        ops = _fuse_partial_products(_schedule(ops, out_slots), out_slots)
        ops, out_slots, n_slots = _reallocate(ops, out_slots, netlist.n_inputs)
    arr = np.array(ops, dtype=np.int32).reshape(-1, 8)
    return Program(netlist.n_a, netlist.n_b, n_slots, arr, np.array(out_slots, dtype=np.int32),
                   None if live_only else np.array(slot, dtype=np.int32))


def _inputs(op):
    return op[2:5] + ((op[7],) if op[7] >= 0 else ())


def _fuse_partial_products(ops, out_slots):
    """Fold an AND read only by one full/half adder into that adder (FA_AND/HA_AND)."""
    uses = {}
    for op in ops:
        for s in _inputs(op):
            uses[s] = uses.get(s, 0) + 1
    ands = {op[1]: op for op in ops if op[0] == OP_AND and op[5] == 0}
    pinned, folded, out = set(out_slots), set(), []
    for op in ops:
        if op[0] in (OP_FA, OP_HA):
            args = list(op[2:5] if op[0] == OP_FA else op[2:4])
            pick = next((s for s in args if s in ands and uses[s] == 1 and s not in pinned), None)
            if pick is not None:
                folded.add(pick)
                args.remove(pick)
                rest = tuple(args) + (CONST0,) * (2 - len(args))
                code = OP_FA_AND if op[0] == OP_FA else OP_HA_AND
                op = (code, op[1], ands[pick][2], *rest, 0, op[6], ands[pick][3])
        out.append(op)
    return [op for op in out if op[1] not in folded]


def _schedule(ops, out_slots):
    """The ops the outputs depend on, in depth-first post-order from output bit 0 up: each value
    is computed right before its first use (a levelised order would compute all partial
    products first and keep them all alive)."""
    producer = {}
    for k, op in enumerate(ops):
        producer[op[1]] = k
        if op[6] >= 0:
            producer[op[6]] = k
    done, order = set(), []
    for root in out_slots:
        stack = [(producer[root], False)] if root in producer else []
        while stack:
            k, expanded = stack.pop()
            if k in done:
                continue
            if expanded:
                done.add(k)
                order.append(ops[k])
                continue
            stack.append((k, True))
            for s in reversed(_inputs(ops[k])):
                if s in producer and producer[s] not in done:
                    stack.append((producer[s], False))
    return order


def _reallocate(ops, out_slots, n_inputs):
    """Reuse the slots of dead values, so the working set of a block stays in L1 cache."""
    last_use = {}
    for k, op in enumerate(ops):
        for s in _inputs(op):
            last_use[s] = k
    pinned = set(out_slots)
    rename = {s: s for s in range(n_inputs)}
    free, n_slots, out = [], n_inputs, []
    for k, op in enumerate(ops):
        args = [rename[s] for s in op[2:5]]
        x2 = rename[op[7]] if op[7] >= 0 else -1
        new_outs = []
        for s in (op[1], op[6]):
            if s < 0:
                new_outs.append(-1)
                continue
            if free and s not in pinned:
                rename[s] = free.pop()
            else:
                rename[s], n_slots = n_slots, n_slots + 1
            new_outs.append(rename[s])
        out.append((op[0], new_outs[0], *args, op[5], new_outs[1], x2))
        dead = [s for s in set(_inputs(op)) if s >= n_inputs and last_use[s] == k]
        dead += [s for s in (op[1], op[6]) if s >= 0 and s not in last_use]  # computed, never read
        free.extend(rename[s] for s in dead if s not in pinned)
    return out, [rename[s] for s in out_slots], n_slots


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
