"""The Netlist: the single description of a significand multiplier (SPEC-arith §1).

Signals are integers. Signal 0 is constant 0 and signal 1 constant 1; the operand bits follow
(a_0..a_{N-1} are signals 2..N+1, b_0..b_{M-1} are N+2..N+M+1); every AND gate and every cell
output drives one new signal. A netlist is validated and levelised when constructed: each
signal has exactly one driver, everything referenced exists, the graph is acyclic.

Cell instances carry their position (`col` = bit weight, `row`) and `role`
("pp" array cell, "final" final adder, "recomb" recombination adder of a hierarchical design),
which structure generators set and cell assignment and the cost model read. A cell whose Cin is
CONST0 is a half-adder position.

Besides AND gates and adder cells, a netlist may hold logic gates (`Gate`: AND2, OR2, XOR2,
INV, BUF, MUX2 and the register DFF, whose Q is its D one clock later; evaluated over one
operation it is transparent). The whole-FP-unit generators (archsim_core.fp_unit) use them;
their `role` names the block of the unit a gate or cell belongs to (see BLOCK_ROLES).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from archsim_core.errors import SpecError
from archsim_core.cells import CellType, get_cell

CONST0 = 0
CONST1 = 1
# blocks of a whole FP unit (archsim_core.fp_unit); the significand array keeps pp/final/recomb
BLOCK_ROLES = ("unpack", "exponent", "normalise", "round", "specials", "sign",
               "align", "add", "register")
ROLES = ("pp", "final", "recomb") + BLOCK_ROLES
# logic gates: input pins in order, and the truth table over them (first pin = MSB of the index)
GATE_PINS = {"AND2": ("A", "B"), "OR2": ("A", "B"), "XOR2": ("A", "B"), "INV": ("A",),
             "BUF": ("A",), "MUX2": ("A", "B", "S"), "DFF": ("D",)}
GATE_TABLES = {"AND2": (0, 0, 0, 1), "OR2": (0, 1, 1, 1), "XOR2": (0, 1, 1, 0), "INV": (1, 0),
               "BUF": (0, 1), "MUX2": (0, 0, 0, 1, 1, 0, 1, 1),   # Y = S ? B : A
               "DFF": (0, 1)}
GATE_OUTPUT = {"DFF": "Q"}       # output pin name (Y for every other gate)


@dataclass(frozen=True)
class AndGate:
    """A two-input AND gate (a partial-product bit)."""

    a: int
    b: int
    out: int


@dataclass(frozen=True)
class Gate:
    """A logic gate of kind `kind` (a key of GATE_PINS) reading `ins` (in pin order)."""

    kind: str
    ins: tuple[int, ...]
    out: int
    role: str = "specials"

    def function(self, values) -> int:
        """Output for the input bit values (in pin order)."""
        idx = 0
        for v in values:
            idx = (idx << 1) | v
        return GATE_TABLES[self.kind][idx]


@dataclass(frozen=True)
class CellInst:
    """One instance of a one-bit adder cell, with its pin wiring and position."""

    cell: str
    a: int
    b: int
    cin: int
    sum: int
    cout: int
    col: int
    row: int = -1
    role: str = "pp"


class Netlist:
    """A validated, levelised significand-multiplier netlist (N-bit A times M-bit B)."""

    def __init__(self, n_a: int, n_b: int, gates: Sequence[AndGate], cells: Sequence[CellInst],
                 outputs: Sequence[int], cell_types: Mapping[str, CellType] | None = None,
                 name: str = "", logic: Sequence[Gate] = ()):
        if not (isinstance(n_a, int) and isinstance(n_b, int) and 1 <= n_a <= 64 and 1 <= n_b <= 64):
            raise SpecError(f"netlist {name!r}: operand widths must be integers in 1..64, got {n_a}x{n_b}")
        self.n_a, self.n_b, self.name = n_a, n_b, name
        self.gates = tuple(gates)
        self.cells = tuple(cells)
        self.logic = tuple(logic)
        self.outputs = tuple(outputs)
        self.a_bits = tuple(range(2, 2 + n_a))
        self.b_bits = tuple(range(2 + n_a, 2 + n_a + n_b))
        self.cell_types = {c.cell: get_cell(c.cell, cell_types) for c in self.cells}
        self._validate_and_levelise()

    @property
    def n_inputs(self) -> int:
        """Number of input signals including the two constants."""
        return 2 + self.n_a + self.n_b

    def _validate_and_levelise(self) -> None:
        n_in = self.n_inputs
        drivers: dict[int, tuple[str, int]] = {}
        for g in self.logic:
            if g.kind not in GATE_PINS or len(g.ins) != len(GATE_PINS[g.kind]):
                raise SpecError(f"netlist {self.name!r}: gate {g} is not a known gate with "
                                f"its pins ({', '.join(GATE_PINS)})")
            if g.role not in ROLES:
                raise SpecError(f"netlist {self.name!r}: gate {g} has unknown role {g.role!r}")
        for kind, items in self._groups():
            for i, item in enumerate(items):
                outs = (item.sum, item.cout) if kind == "cell" else (item.out,)
                for sig in outs:
                    if sig < n_in or sig in drivers:
                        raise SpecError(f"netlist {self.name!r}: signal {sig} driven twice "
                                        f"or is an input ({kind} {i})")
                    drivers[sig] = (kind, i)
                if kind == "cell" and item.role not in ROLES:
                    raise SpecError(f"netlist {self.name!r}: cell {i} has unknown role {item.role!r}")
        self.n_signals = n_in + len(drivers)
        if set(drivers) != set(range(n_in, self.n_signals)):
            raise SpecError(f"netlist {self.name!r}: driven signals are not numbered contiguously")

        def fanin(kind, item):
            if kind == "gate":
                return item.ins
            return (item.a, item.b) if kind == "and" else (item.a, item.b, item.cin)

        level = [0] * self.n_signals
        indeg: dict[tuple[str, int], int] = {}
        users: dict[int, list[tuple[str, int]]] = {}
        for kind, items in self._groups():
            for i, item in enumerate(items):
                pending = 0
                for sig in fanin(kind, item):
                    if not 0 <= sig < self.n_signals:
                        raise SpecError(f"netlist {self.name!r}: {kind} {i} reads undefined signal {sig}")
                    if sig >= n_in:
                        pending += 1
                        users.setdefault(sig, []).append((kind, i))
                indeg[(kind, i)] = pending
        ready = sorted(k for k, d in indeg.items() if d == 0)
        order = []
        while ready:
            node = ready.pop()
            order.append(node)
            kind, i = node
            item = self.item(kind, i)
            outs = (item.sum, item.cout) if kind == "cell" else (item.out,)
            lvl = 1 + max((level[s] for s in fanin(kind, item)), default=0)
            for sig in outs:
                level[sig] = lvl
                for user in users.get(sig, ()):
                    indeg[user] -= 1
                    if indeg[user] == 0:
                        ready.append(user)
        if len(order) != len(indeg):
            raise SpecError(f"netlist {self.name!r}: combinational loop")
        order.sort(key=lambda node: (self._node_level(node, level), node))
        self.order: tuple[tuple[str, int], ...] = tuple(order)
        self.levels = tuple(level)
        for sig in self.outputs:
            if not 0 <= sig < self.n_signals:
                raise SpecError(f"netlist {self.name!r}: output reads undefined signal {sig}")

    def _groups(self):
        return (("and", self.gates), ("cell", self.cells), ("gate", self.logic))

    def item(self, kind: str, i: int):
        """The AND gate, cell instance or logic gate of a node of `order`."""
        return self.gates[i] if kind == "and" else self.cells[i] if kind == "cell" else self.logic[i]

    def _node_level(self, node, level) -> int:
        kind, i = node
        item = self.item(kind, i)
        return level[item.sum] if kind == "cell" else level[item.out]

    @property
    def n_outputs(self) -> int:
        """Width of the product in bits."""
        return len(self.outputs)

    def evaluate(self, a: int, b: int) -> int:
        """Pure-Python evaluation of one operand pair: the oracle for every fast evaluator."""
        if not (0 <= a < (1 << self.n_a) and 0 <= b < (1 << self.n_b)):
            raise SpecError(f"operands out of range for a {self.n_a}x{self.n_b} netlist: {a}, {b}")
        v = [0] * self.n_signals
        v[CONST1] = 1
        for k, sig in enumerate(self.a_bits):
            v[sig] = (a >> k) & 1
        for k, sig in enumerate(self.b_bits):
            v[sig] = (b >> k) & 1
        for kind, i in self.order:
            if kind == "and":
                g = self.gates[i]
                v[g.out] = v[g.a] & v[g.b]
            elif kind == "gate":
                g = self.logic[i]
                v[g.out] = g.function([v[s] for s in g.ins])
            else:
                c = self.cells[i]
                v[c.sum], v[c.cout] = self.cell_types[c.cell].evaluate(v[c.a], v[c.b], v[c.cin])
        return sum(v[sig] << k for k, sig in enumerate(self.outputs))

    def with_cells(self, choose: Callable[[CellInst], str],
                   cell_types: Mapping[str, CellType] | None = None, name: str | None = None) -> "Netlist":
        """The same wiring with each cell's type replaced by `choose(cell_instance)`."""
        extra = dict(self.cell_types)
        extra.update(cell_types or {})
        cells = [replace(c, cell=choose(c)) for c in self.cells]
        return Netlist(self.n_a, self.n_b, self.gates, cells, self.outputs, extra,
                       self.name if name is None else name, self.logic)

    def cell_counts(self) -> dict[str, int]:
        """Instances per cell type, plus 'AND2' for the partial-product gates (sorted keys)."""
        counts = Counter(c.cell for c in self.cells)
        counts["AND2"] = len(self.gates)
        counts.update(g.kind for g in self.logic)
        return dict(sorted(counts.items()))

    def __repr__(self) -> str:
        extra = f"{len(self.logic)} gates, " if self.logic else ""
        return (f"Netlist({self.name!r}, {self.n_a}x{self.n_b}, {len(self.gates)} AND, "
                f"{len(self.cells)} cells, {extra}{self.n_outputs} outputs)")


class NetlistBuilder:
    """Incremental construction of a Netlist: allocate signals, add gates and cells, build."""

    def __init__(self, n_a: int, n_b: int, name: str = ""):
        self.n_a, self.n_b, self.name = n_a, n_b, name
        self._next = 2 + n_a + n_b
        self.gates: list[AndGate] = []
        self.cells: list[CellInst] = []

    def a(self, i: int) -> int:
        """Signal of operand bit a_i."""
        return 2 + i

    def b(self, j: int) -> int:
        """Signal of operand bit b_j."""
        return 2 + self.n_a + j

    def _new(self) -> int:
        sig = self._next
        self._next += 1
        return sig

    def and_(self, x: int, y: int) -> int:
        """Add an AND gate; returns its output signal."""
        out = self._new()
        self.gates.append(AndGate(x, y, out))
        return out

    def cell(self, cell: str, a: int, b: int, cin: int, col: int, row: int = -1,
             role: str = "pp") -> tuple[int, int]:
        """Add a cell instance; returns its (Sum, Cout) signals."""
        s, c = self._new(), self._new()
        self.cells.append(CellInst(cell, a, b, cin, s, c, col, row, role))
        return s, c

    def build(self, outputs: Sequence[int], cell_types: Mapping[str, CellType] | None = None) -> Netlist:
        """Validate and levelise."""
        return Netlist(self.n_a, self.n_b, self.gates, self.cells, outputs, cell_types, self.name)
