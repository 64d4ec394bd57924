"""Netlists of whole floating-point units: the FP multiplier around any significand netlist,
the PE's FP adder and its accumulator register (the hardware behind `_fp.pxd`).

Every gate is a cell of the netlist (AND2, OR2, XOR2, INV, MUX2, DFF logic gates and the FA/HA
adder cells), each tagged with the block it belongs to (`role`), so area, static timing and
toggle energy of every block come from the same netlist the function does.

FP multiplier, format (1, E, M), words of 1 + E + M bits, input a = first operand word,
b = second, output the result word (`fp_multiplier_netlist`). Blocks:

  unpack     exponent-field all-zero / all-one and fraction non-zero detection per operand,
             hidden bit (0 for subnormals, whose bare fraction enters the array), significand
             zeroed for inf/NaN (and for subnormals under ftz), effective exponent (0 -> 1).
  (array)    the variant's significand netlist, emitted in place (roles pp / final / recomb).
  normalise  leading-zero count and left shift of the W-bit product by log stages (a stage of
             2^k shifts when the top 2^k bits are zero), then the denormalising right shift
             with sticky (jamming) when the result exponent is <= 0.
  exponent   ea + eb + (W - bias - 2M) (ripples of FA cells, off the critical path), - LZC
             and 1 - B for the denormalising shift (prefix adders, on it); comparisons
             B >= emax, B <= 0.
  round      rne: increment = guard AND (sticky OR lsb); truncate: none. A Sklansky prefix
             incrementer over the packed {exponent field, fraction} word, so a carry out of the
             fraction bumps the exponent (and a subnormal rounds up to the smallest normal).
  specials   overflow (rne: inf; truncate: largest finite), ftz flush of subnormal results,
             zero operands or zero product, NaN propagation (first NaN operand, quietened),
             inf x 0 -> default NaN (sign set), inf x finite -> inf: the result multiplexers.
  sign       sa XOR sb.

It is bit-identical to archsim's FP wrapper (`fp_mul_finish` in _fp.pxd, hardware semantics);
tests/test_fp_netlist.py proves it. The `da-reference` semantics is not a circuit: it is the
published Python's behaviour, including a domain-error flag for inputs the script cannot encode
(the wrapper raises), so it has no unit netlist (SpecError).

FP adder (`fp_adder_netlist`): IEEE addition rounded to nearest even with gradual underflow,
a = accumulator word, b = addend. Single-path design: magnitude compare and swap (prefix
subtractor), exponent difference (prefix subtractor), alignment right shift of the smaller significand
with guard/round/sticky, effective add/subtract (Sklansky prefix adder), leading-zero count
limited by the larger exponent (a one-hot limit mask OR'd into the LZC input, so a result that
would need a shift past the smallest exponent stays subnormal), normalising left shift, RNE
increment, overflow to inf, NaN / inf / exact-zero selection.

Register (`register_netlist`): one DFF per bit of the accumulator word (Q = D one cycle later).
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

from archsim_core.errors import SpecError
from archsim_core.formats import FPFormat
from archsim_core.netlist import (CONST0, CONST1, GATE_PINS, AndGate, CellInst, Gate, Netlist,
                                  NetlistBuilder)

#: gates and cells the generators instantiate (a cell library must cost all of them)
REQUIRED_GATES = ("AND2", "OR2", "XOR2", "INV", "MUX2", "DFF")
REQUIRED_CELLS = ("FA", "HA")
#: blocks of the FP multiplier (cost reports list them in this order)
MULTIPLIER_BLOCKS = ("significand", "unpack", "exponent", "normalise", "round", "specials", "sign")
ARRAY_ROLES = ("pp", "final", "recomb")


class UnitBuilder(NetlistBuilder):
    """Netlist construction with constant folding, structural hashing and dead-logic removal,
    so every gate of the built netlist has non-constant inputs and drives something (signal
    numbering and operand bits as NetlistBuilder's; nodes kept in one list instead)."""

    def __init__(self, n_a: int, n_b: int, name: str = ""):
        super().__init__(n_a, n_b, name)
        self.nodes: list = []          # AndGate | CellInst | Gate, in creation order
        self._hash: dict = {}
        self._inv: dict[int, int] = {}
        self.role = "unpack"

    # -- the significand generators' interface (structures._emit) -----------------------
    def and_(self, x: int, y: int) -> int:
        """A partial-product AND gate (kept as the array's own AndGate)."""
        out = self._new()
        self.nodes.append(AndGate(x, y, out))
        return out

    def cell(self, cell: str, a: int, b: int, cin: int, col: int, row: int = -1,
             role: str | None = None) -> tuple[int, int]:
        """An adder cell instance; returns (Sum, Cout)."""
        s, c = self._new(), self._new()
        self.nodes.append(CellInst(cell, a, b, cin, s, c, col, row, role or self.role))
        return s, c

    # -- logic gates with folding --------------------------------------------------------
    def _gate(self, kind: str, *ins: int) -> int:
        key = (kind, tuple(sorted(ins)) if kind in ("AND2", "OR2", "XOR2") else ins)
        hit = self._hash.get(key)
        if hit is not None:
            return hit
        out = self._new()
        self.nodes.append(Gate(kind, tuple(ins), out, self.role))
        self._hash[key] = out
        return out

    def NOT(self, x: int) -> int:
        if x in (CONST0, CONST1):
            return CONST1 - x
        if x in self._inv:
            return self._inv[x]
        out = self._gate("INV", x)
        self._inv[out] = x
        self._inv[x] = out
        return out

    def AND(self, x: int, y: int) -> int:
        if CONST0 in (x, y):
            return CONST0
        if x == CONST1 or x == y:
            return y
        if y == CONST1:
            return x
        if self._inv.get(x) == y:
            return CONST0
        return self._gate("AND2", x, y)

    def OR(self, x: int, y: int) -> int:
        if CONST1 in (x, y):
            return CONST1
        if x == CONST0 or x == y:
            return y
        if y == CONST0:
            return x
        if self._inv.get(x) == y:
            return CONST1
        return self._gate("OR2", x, y)

    def XOR(self, x: int, y: int) -> int:
        if x == CONST0:
            return y
        if y == CONST0:
            return x
        if x == CONST1:
            return self.NOT(y)
        if y == CONST1:
            return self.NOT(x)
        if x == y:
            return CONST0
        if self._inv.get(x) == y:
            return CONST1
        return self._gate("XOR2", x, y)

    def MUX(self, s: int, a: int, b: int) -> int:
        """s ? b : a."""
        if s == CONST0 or a == b:
            return a
        if s == CONST1:
            return b
        if (a, b) == (CONST0, CONST1):
            return s
        if (a, b) == (CONST1, CONST0):
            return self.NOT(s)
        if a == CONST0:
            return self.AND(s, b)
        if b == CONST0:
            return self.AND(self.NOT(s), a)
        if a == CONST1:
            return self.OR(self.NOT(s), b)
        if b == CONST1:
            return self.OR(s, a)
        return self._gate("MUX2", a, b, s)

    def DFF(self, d: int) -> int:
        out = self._new()
        self.nodes.append(Gate("DFF", (d,), out, self.role))
        return out

    def tree(self, op, bits: Sequence[int], empty: int) -> int:
        """Balanced tree of a two-input operation (log depth)."""
        bits = list(bits)
        if not bits:
            return empty
        while len(bits) > 1:
            nxt = [op(bits[i], bits[i + 1]) for i in range(0, len(bits) - 1, 2)]
            if len(bits) % 2:
                nxt.append(bits[-1])
            bits = nxt
        return bits[0]

    def any(self, bits) -> int:
        return self.tree(self.OR, bits, CONST0)

    def all(self, bits) -> int:
        return self.tree(self.AND, bits, CONST1)

    # -- arithmetic ----------------------------------------------------------------------
    def ripple_add(self, xs: Sequence[int], ys: Sequence[int], cin: int = CONST0):
        """xs + ys + cin (equal widths, LSB first) as a ripple of FA cells (an FA with a
        constant-0 input is a half-adder position; constant-1 inputs fold into gates).
        Returns (sum bits, carry out)."""
        out, carry = [], cin
        for i, (x, y) in enumerate(zip(xs, ys)):
            ins = [x, y, carry]
            ones = ins.count(CONST1)
            var = [s for s in ins if s not in (CONST0, CONST1)]
            if len(var) == 3:
                s, carry = self.cell("FA", x, y, carry, i)
            elif len(var) == 2 and ones == 0:
                s, carry = self.cell("FA", var[0], var[1], CONST0, i)
            elif len(var) == 2:
                s, carry = self.NOT(self.XOR(*var)), self.OR(*var)
            elif len(var) == 1:
                v = var[0]
                s, carry = (v, CONST0) if ones == 0 else (self.NOT(v), v) if ones == 1 else (v, CONST1)
            else:
                s, carry = CONST1 if ones % 2 else CONST0, CONST1 if ones >= 2 else CONST0
            out.append(s)
        return out, carry

    def prefix_add(self, xs: Sequence[int], ys: Sequence[int], cin: int = CONST0):
        """xs + ys + cin as a Sklansky parallel-prefix adder of AND/OR/XOR gates (log depth).
        With ys all zero it folds into a prefix-AND incrementer. Returns (sum, carry out)."""
        n = len(xs)
        p = [self.XOR(x, y) for x, y in zip(xs, ys)]
        g = [self.AND(x, y) for x, y in zip(xs, ys)]
        G, P = list(g), list(p)
        G[0] = self.OR(g[0], self.AND(p[0], cin))
        level = 1
        while level < n:
            for i in range(n):
                if i & level:
                    j = (i // level) * level - 1
                    G[i] = self.OR(G[i], self.AND(P[i], G[j]))
                    P[i] = self.AND(P[i], P[j])
            level *= 2
        carries = [cin] + G[:-1]
        return [self.XOR(p[i], carries[i]) for i in range(n)], G[n - 1]

    def const(self, value: int, width: int) -> list[int]:
        return [CONST1 if (value >> i) & 1 else CONST0 for i in range(width)]

    # -- shifters ------------------------------------------------------------------------
    def shift_right_jam(self, v: Sequence[int], amount: Sequence[int]) -> list[int]:
        """v >> amount (LSB first) where bit 0 is a sticky bit that collects (ORs) every bit
        shifted into or past it. `amount` bits beyond the shifter's range flush everything
        into the sticky bit."""
        v = list(v)
        n = len(v)
        stages = max(1, (n - 1).bit_length())
        for k, t in enumerate(amount[:stages]):
            s = 1 << k
            new = [self.MUX(t, v[0], self.any(v[0:min(s, n - 1) + 1]))]
            new += [self.MUX(t, v[i], v[i + s] if i + s < n else CONST0) for i in range(1, n)]
            v = new
        big = self.any(amount[stages:])
        if big != CONST0:
            v = [self.MUX(big, v[0], self.any(v))] + [self.AND(x, self.NOT(big)) for x in v[1:]]
        return v

    def normalise_left(self, v: Sequence[int], limit_mask: Sequence[int] | None = None,
                       keep_from: int = 0):
        """Shift v left until its top bit is 1 (log stages: a stage of 2^k shifts when the top
        2^k bits are zero). With `limit_mask` (a one-hot vector OR'd into the zero test), the
        shift stops where the mask's bit reaches the top. `keep_from`: the caller needs the
        final bits below this position only as their OR (a sticky bit), so after each stage
        the bits that can no longer reach it are ORed into one (fewer shifter cells). Returns
        (shifted v, shift bits LSB first)."""
        v = list(v)
        n = len(v)
        t = list(v) if limit_mask is None else [self.OR(x, m) for x, m in zip(v, limit_mask)]
        top = 1 << max(0, (n - 1).bit_length() - 1)
        bits = {}
        s = top
        while s >= 1:
            zero = self.NOT(self.any(t[n - s:]))
            bits[s] = zero
            v = [self.MUX(zero, v[i], v[i - s] if i >= s else CONST0) for i in range(n)]
            floor = keep_from - (s - 1)        # bits below it end below keep_from
            if limit_mask is None and floor > 1:
                v = [CONST0] * (floor - 1) + [self.any(v[:floor])] + v[floor:]
            if limit_mask is not None:
                t = [self.MUX(zero, t[i], t[i - s] if i >= s else CONST0) for i in range(n)]
            else:
                t = v
            s //= 2
        return v, [bits[1 << k] for k in range(top.bit_length())]

    # -- build ---------------------------------------------------------------------------
    def build(self, outputs: Sequence[int], cell_types=None) -> Netlist:
        """The netlist of everything the outputs depend on, signals renumbered contiguously."""
        outs_of = {}
        for k, node in enumerate(self.nodes):
            for s in _node_outs(node):
                outs_of[s] = k
        live, stack = set(), [s for s in outputs if s in outs_of]
        while stack:
            k = outs_of[stack.pop()]
            if k in live:
                continue
            live.add(k)
            stack.extend(s for s in _node_ins(self.nodes[k]) if s in outs_of)
        rename = {s: s for s in range(2 + self.n_a + self.n_b)}
        nxt = 2 + self.n_a + self.n_b
        kept = [node for k, node in enumerate(self.nodes) if k in live]
        for node in kept:
            for s in _node_outs(node):
                rename[s], nxt = nxt, nxt + 1
        gates, cells, logic = [], [], []
        for node in kept:
            if isinstance(node, AndGate):
                gates.append(AndGate(rename[node.a], rename[node.b], rename[node.out]))
            elif isinstance(node, CellInst):
                cells.append(CellInst(node.cell, rename[node.a], rename[node.b], rename[node.cin],
                                      rename[node.sum], rename[node.cout], node.col, node.row,
                                      node.role))
            else:
                logic.append(Gate(node.kind, tuple(rename[s] for s in node.ins), rename[node.out],
                                  node.role))
        return Netlist(self.n_a, self.n_b, gates, cells, [rename[s] for s in outputs], cell_types,
                       self.name, logic)


def _node_outs(node):
    return (node.sum, node.cout) if isinstance(node, CellInst) else (node.out,)


def _node_ins(node):
    if isinstance(node, AndGate):
        return (node.a, node.b)
    if isinstance(node, CellInst):
        return (node.a, node.b, node.cin)
    return node.ins


def _unpack(nb: UnitBuilder, word: Sequence[int], fmt: FPFormat, ftz: bool) -> dict:
    E, M = fmt.exp_bits, fmt.man_bits
    frac, exp, sign = list(word[:M]), list(word[M:M + E]), word[M + E]
    nb.role = "unpack"
    e_nz, e_max, f_nz = nb.any(exp), nb.all(exp), nb.any(frac)
    if ftz:
        hidden = nb.AND(e_nz, nb.NOT(e_max))
        keep = hidden
        zero = nb.NOT(e_nz)
    else:
        hidden = nb.AND(e_nz, nb.NOT(e_max))
        keep = nb.NOT(e_max)
        zero = nb.NOT(nb.OR(e_nz, f_nz))
    return {"sign": sign, "frac": frac, "exp": exp, "e_nz": e_nz, "e_max": e_max,
            "sig": [nb.AND(f, keep) for f in frac] + [hidden],
            "eff": [nb.OR(exp[0], nb.NOT(e_nz))] + exp[1:],
            "zero": zero, "nan": nb.AND(e_max, f_nz), "inf": nb.AND(e_max, nb.NOT(f_nz)),
            "word": list(word)}


def _signed_width(*values: int) -> int:
    return max(max(v.bit_length() for v in values), max((-v - 1).bit_length() for v in values)) + 1


def check_spec(spec) -> None:
    """SpecError unless the generators can build the unit netlist of `spec`."""
    if spec.semantics != "hardware":
        raise SpecError(f"variant {spec.name}: semantics {spec.semantics!r} is the published DA "
                        "Python's behaviour (with a domain-error flag the wrapper raises on), not a "
                        "circuit; it has no unit netlist (use the hardware semantics)")
    if spec.fmt.width > 64:
        raise SpecError(f"variant {spec.name}: format {spec.fmt.name} words are wider than 64 bits")


def fp_multiplier_netlist(spec, name: str | None = None) -> Netlist:
    """The whole FP multiplier of a resolved VariantSpec as one netlist: inputs the two
    operand words (a = first operand), output the result word."""
    from archsim_core.structures import _emit

    check_spec(spec)
    fmt = spec.fmt
    E, M, width = fmt.exp_bits, fmt.man_bits, fmt.width
    ftz, rne = spec.specials == "ftz", spec.rounding == "rne"
    nb = UnitBuilder(width, width, name or f"{spec.name}.unit")
    A = _unpack(nb, [nb.a(i) for i in range(width)], fmt, ftz)
    B = _unpack(nb, [nb.b(i) for i in range(width)], fmt, ftz)

    # significand array, emitted in place
    nb.role = "pp"
    p = _emit(nb, spec.structure, A["sig"], B["sig"], 0)
    W = len(p)
    if W < M + 3:
        raise SpecError(f"variant {spec.name}: a {W}-bit significand product is too narrow for "
                        f"format {fmt.name} (needs >= {M + 3} bits)")

    # normalise: leading-zero count and left shift; p == 0 iff the top bit is still 0
    nb.role = "normalise"
    v, lzc = nb.normalise_left(p, keep_from=W - M - 2)
    pz = nb.NOT(v[W - 1])

    # exponent: B = ea' + eb' + (W - 1 - bias - 2M) - lzc
    nb.role = "exponent"
    K = W - 1 - fmt.bias - 2 * M
    emax = (1 << E) - 1
    lz_max = (1 << len(lzc)) - 1
    nB = _signed_width(2 * (emax - 1) + K, 2 + K - lz_max, 1 - (2 + K - lz_max))
    mask = (1 << nB) - 1
    ext = [CONST0] * nB
    t, c = nb.ripple_add(A["eff"] + ext[E:], B["eff"] + ext[E:])
    t, _ = nb.ripple_add(t, nb.const((K + 1) & mask, nB))
    Bx, _ = nb.prefix_add(t, [nb.NOT(s) for s in lzc] + [CONST1] * (nB - len(lzc)))
    neg = Bx[nB - 1]
    denorm = nb.OR(neg, nb.NOT(nb.any(Bx)))
    ovf_pre = nb.AND(nb.NOT(neg), nb.OR(nb.any(Bx[E:nB - 1]), nb.all(Bx[:E])))
    d, _ = nb.prefix_add([nb.NOT(s) for s in Bx], nb.const(2, nB))       # 1 - B
    nb.role = "normalise"
    d = [nb.AND(s, denorm) for s in d[:nB - 1]]

    # denormalising right shift with sticky on [sticky, guard, q_0..q_M]
    vec = [nb.any(v[:W - M - 2]), v[W - M - 2]] + v[W - M - 1:]
    vec = nb.shift_right_jam(vec, d)
    sticky, guard, q = vec[0], vec[1], vec[2:]

    # round: increment the packed {exponent field, fraction}
    nb.role = "round"
    inc = nb.AND(guard, nb.OR(sticky, q[0])) if rne else CONST0
    field = [nb.AND(Bx[i], nb.NOT(denorm)) for i in range(E)]
    bits, _ = nb.prefix_add(q[:M] + field, [CONST0] * (E + M), inc)

    # specials and result selection
    nb.role = "sign"
    sign = nb.XOR(A["sign"], B["sign"])
    nb.role = "specials"
    ovf = nb.OR(ovf_pre, nb.all(bits[M:]))
    r = list(bits)
    if ftz:
        flush = nb.NOT(nb.any(bits[M:]))
        r = [nb.AND(x, nb.NOT(flush)) for x in r]
    ovf_val = ([CONST0] * M + [CONST1] * E) if rne else ([CONST1] * M + [CONST0] + [CONST1] * (E - 1))
    r = [nb.MUX(ovf, x, o) for x, o in zip(r, ovf_val)]
    zres = nb.OR(nb.OR(A["zero"], B["zero"]), pz)
    r = [nb.AND(x, nb.NOT(zres)) for x in r] + [sign]
    special = nb.OR(A["e_max"], B["e_max"])
    invalid = nb.OR(A["zero"], B["zero"])
    quiet = M - 1
    a_q = [CONST1 if i == quiet else s for i, s in enumerate(A["word"])]
    b_q = [CONST1 if i == quiet else s for i, s in enumerate(B["word"])]
    inf_val = [CONST0] * M + [CONST1] * E + [sign]
    dnan = [CONST1 if i == quiet else CONST0 for i in range(M)] + [CONST1] * (E + 1)
    out = []
    for i in range(width):
        sv = nb.MUX(invalid, inf_val[i], dnan[i])
        sv = nb.MUX(B["nan"], sv, b_q[i])
        sv = nb.MUX(A["nan"], sv, a_q[i])
        out.append(nb.MUX(special, r[i], sv))
    return nb.build(out, spec.structure.cell_types)


def fp_adder_netlist(fmt: FPFormat, name: str | None = None, ftz: bool = False) -> Netlist:
    """IEEE addition a + b in `fmt`, round to nearest even, gradual underflow (`ftz`:
    subnormal inputs read as signed zero and subnormal results flush to signed zero, as the
    wrapper's accumulator of an ftz variant), as one netlist (a = accumulator word,
    b = addend); NaN results as x86: the first NaN operand quietened, inf - inf the default
    NaN with the sign set."""
    E, M, width = fmt.exp_bits, fmt.man_bits, fmt.width
    nb = UnitBuilder(width, width, name or f"{fmt.name}-adder{'-ftz' if ftz else ''}")
    A = _unpack(nb, [nb.a(i) for i in range(width)], fmt, ftz)
    B = _unpack(nb, [nb.b(i) for i in range(width)], fmt, ftz)

    # swap so that |big| >= |small|
    nb.role = "align"
    mag_a, mag_b = A["word"][:E + M], B["word"][:E + M]
    _, ge = nb.prefix_add(mag_a, [nb.NOT(s) for s in mag_b], CONST1)   # carry: |a| >= |b|
    gt = nb.NOT(ge)
    pick = lambda xs, ys: [nb.MUX(gt, x, y) for x, y in zip(xs, ys)]   # noqa: E731
    e_big, e_small = pick(A["eff"], B["eff"]), pick(B["eff"], A["eff"])
    s_big, s_small = pick(A["sig"], B["sig"]), pick(B["sig"], A["sig"])
    sign_big = nb.MUX(gt, A["sign"], B["sign"])
    nb.role = "exponent"
    diff, _ = nb.prefix_add(e_big, [nb.NOT(s) for s in e_small], CONST1)

    # align the smaller significand: [S, R, G, sig] >> diff with sticky
    nb.role = "align"
    small = nb.shift_right_jam([CONST0] * 3 + s_small, diff)
    big = [CONST0] * 3 + s_big

    # effective add / subtract over M + 5 bits (top = carry position)
    nb.role = "add"
    sub = nb.XOR(A["sign"], B["sign"])
    z, _ = nb.prefix_add(big + [CONST0], [nb.XOR(s, sub) for s in small + [CONST0]], sub)
    L = M + 5

    # normalise: left shift by min(lzc, e_big): one-hot mask at position L-1-e_big
    nb.role = "normalise"
    lit = [(s, nb.NOT(s)) for s in e_big]
    mask = []
    for pos in range(L):
        k = L - 1 - pos
        if k >= 1 << E:
            mask.append(CONST0)
            continue
        mask.append(nb.all([lit[i][0] if (k >> i) & 1 else lit[i][1] for i in range(E)]))
    zn, sh = nb.normalise_left(z, mask)
    q, guard, sticky = zn[4:], zn[3], nb.any(zn[:3])

    # exponent: bits = ((e_big - sh) << M) + q + inc
    nb.role = "exponent"
    ext = [CONST0] * (max(E, len(sh)) + 1 - E)
    e_w = e_big + ext
    ediff, _ = nb.prefix_add(e_w, [nb.NOT(s) for s in sh] + [CONST1] * (len(e_w) - len(sh)), CONST1)
    nb.role = "round"
    inc = nb.AND(guard, nb.OR(sticky, q[0]))
    addend = [CONST0] * M + [q[M]] + [CONST0] * (E - 1)
    bits, _ = nb.prefix_add(q[:M] + ediff[:E], addend, inc)

    nb.role = "specials"
    zero = nb.NOT(nb.any(z))
    ovf = nb.all(bits[M:])
    r = [nb.MUX(ovf, x, o) for x, o in zip(bits, [CONST0] * M + [CONST1] * E)]
    flush = nb.OR(zero, nb.NOT(nb.any(bits[M:]))) if ftz else zero
    r = [nb.AND(x, nb.NOT(flush)) for x in r]
    r.append(nb.MUX(zero, sign_big, nb.AND(A["sign"], B["sign"])))
    quiet = M - 1
    a_q = [CONST1 if i == quiet else s for i, s in enumerate(A["word"])]
    b_q = [CONST1 if i == quiet else s for i, s in enumerate(B["word"])]
    dnan = [CONST1 if i == quiet else CONST0 for i in range(M)] + [CONST1] * (E + 1)
    both_inf_sub = nb.AND(nb.AND(A["inf"], B["inf"]), sub)
    out = []
    for i in range(width):
        sv = nb.MUX(A["inf"], B["word"][i], A["word"][i])     # inf + finite, inf + same inf
        sv = nb.MUX(both_inf_sub, sv, dnan[i])
        sv = nb.MUX(B["nan"], sv, b_q[i])
        sv = nb.MUX(A["nan"], sv, a_q[i])
        out.append(nb.MUX(nb.OR(A["e_max"], B["e_max"]), r[i], sv))
    return nb.build(out)


def register_netlist(bits: int, name: str = "") -> Netlist:
    """The accumulator register: one DFF per bit (input a = D word; b is unused)."""
    nb = UnitBuilder(bits, 1, name or f"register-{bits}")
    nb.role = "register"
    return nb.build([nb.DFF(nb.a(i)) for i in range(bits)])


@functools.lru_cache(maxsize=64)
def unit_netlist(spec) -> Netlist:
    """Cached `fp_multiplier_netlist` of a resolved VariantSpec."""
    return fp_multiplier_netlist(spec)


@functools.lru_cache(maxsize=16)
def adder_netlist(fmt: FPFormat, ftz: bool = False) -> Netlist:
    """Cached `fp_adder_netlist`."""
    return fp_adder_netlist(fmt, ftz=ftz)


def block_of(role: str) -> str:
    """The cost block a node's role belongs to (the array's roles form `significand`)."""
    return "significand" if role in ARRAY_ROLES else role


def node_roles(netlist: Netlist) -> dict[int, str]:
    """{driven signal: block} for every gate and cell output of a unit netlist."""
    out = {}
    for g in netlist.gates:
        out[g.out] = "significand"
    for c in netlist.cells:
        out[c.sum] = out[c.cout] = block_of(c.role)
    for g in netlist.logic:
        out[g.out] = block_of(g.role)
    return out


__all__ = ["UnitBuilder", "fp_multiplier_netlist", "fp_adder_netlist", "register_netlist",
           "unit_netlist", "adder_netlist", "REQUIRED_GATES", "REQUIRED_CELLS", "GATE_PINS",
           "node_roles", "block_of", "check_spec", "MULTIPLIER_BLOCKS"]
