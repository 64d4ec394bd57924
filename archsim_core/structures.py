"""Significand-multiplier structure generators (SPEC-arith §3): unsigned N x M, N, M in 2..32.

* ripple-row array: exactly the wiring of SPEC-arith §3 (A-pin = partial product, B-pin =
  running sum, Cin = CONST0 at the first cell of each row, i.e. a half-adder position).
* carry-save (Braun) array: rows pass carries down to the next row; a ripple-carry final adder
  (role "final", row = N) adds the last sums and carries. The product register has N + M bits
  (the final adder's carry-out is not wired to an output; with exact cells it is always 0).
* hierarchical composition: k-bit chunks of A and B (the last chunk is zero-padded when k does
  not divide the width; `variants.structure_notes` says so and the commands echo it), one k x k sub-multiplier per chunk pair (first operand = chunk of A),
  and an exact recombination adder (role "recomb"): a Wallace-style carry-save reduction with
  full adders, stage by stage, then a ripple-carry adder built from FA/HA cells. The product
  width is the bit length of the largest value the sub-products can sum to, so approximate
  leaves that over-estimate (the DA leaf reaches 239 > 225) never lose a carry.

A `Structure` is a frozen, hashable description; `build(structure)` makes its Netlist (cached).
"""
from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass

from archsim_core.errors import SpecError
from archsim_core.cells import CellType, get_cell
from archsim_core.netlist import CONST0, Netlist, NetlistBuilder

MIN_WIDTH, MAX_WIDTH, MAX_OUTPUT_BITS = 2, 32, 64
# Short names a spec may use for the structure kinds (README: ripple, braun, hier).
KIND_ALIASES = {"ripple": "ripple-row", "ripple_row": "ripple-row", "array": "ripple-row",
                "braun": "carry-save", "carry_save": "carry-save",
                "hier": "hierarchical"}


class Kind(enum.Enum):
    """The closed set of structure generators."""

    RIPPLE_ROW = "ripple-row"
    CARRY_SAVE = "carry-save"
    HIERARCHICAL = "hierarchical"


@dataclass(frozen=True)
class Assignment:
    """Which cell sits at each array position (row, column local to the array it belongs to;
    the final adder of a carry-save array is row N). Precedence: explicit (row, col) map, then the
    lowest `lsb_columns` columns (`lsb_cell`), then per-row cells, then `cell` everywhere."""

    cell: str = "FA"
    lsb_cell: str | None = None
    lsb_columns: int = 0
    rows: tuple[tuple[int, str], ...] = ()
    explicit: tuple[tuple[int, int, str], ...] = ()

    def cell_names(self) -> set[str]:
        """Every cell name this assignment can place."""
        names = {self.cell} | {c for _, c in self.rows} | {c for _, _, c in self.explicit}
        return names | ({self.lsb_cell} if self.lsb_cell else set())

    def choose(self, row: int, col: int) -> str:
        """The cell at array position (row, col)."""
        for r, c, name in self.explicit:
            if r == row and c == col:
                return name
        if self.lsb_cell is not None and col < self.lsb_columns:
            return self.lsb_cell
        for r, name in self.rows:
            if r == row:
                return name
        return self.cell


@dataclass(frozen=True)
class Structure:
    """A frozen description of a significand multiplier. For HIERARCHICAL, `leaf` is the
    k x k sub-multiplier (itself any Structure) and `assign` is unused."""

    kind: Kind
    n_a: int
    n_b: int
    assign: Assignment = Assignment()
    k: int = 0
    leaf: "Structure | None" = None
    user_cells: tuple[CellType, ...] = ()

    def __post_init__(self):
        for field in ("n_a", "n_b"):
            v = getattr(self, field)
            if not (isinstance(v, int) and MIN_WIDTH <= v <= MAX_WIDTH):
                raise SpecError(f"structure.{field}: width must be an integer in "
                                f"{MIN_WIDTH}..{MAX_WIDTH}, got {v!r}")
        if self.kind is Kind.HIERARCHICAL:
            self._check_hierarchy()
        else:
            extra = {c.name: c for c in self.user_cells}
            for name in sorted(self.assign.cell_names()):
                get_cell(name, extra)
            columns = self.n_a + self.n_b
            if not 0 <= self.assign.lsb_columns <= columns:
                raise SpecError(f"structure.assign.lsb_columns must be in 0..{columns} (columns of "
                                f"a {self.n_a}x{self.n_b} product), got {self.assign.lsb_columns}")

    def _check_hierarchy(self):
        if not (isinstance(self.k, int) and MIN_WIDTH <= self.k < max(self.n_a, self.n_b)):
            raise SpecError(f"structure.k: chunk width must be an integer in 2..{max(self.n_a, self.n_b) - 1}"
                            f" for a {self.n_a}x{self.n_b} multiplier, got {self.k!r}")
        if self.leaf is None or (self.leaf.n_a, self.leaf.n_b) != (self.k, self.k):
            raise SpecError(f"structure.leaf must be a {self.k}x{self.k} structure")

    @property
    def cell_types(self) -> dict[str, CellType]:
        """User cells used anywhere in this structure (by name)."""
        out = {c.name: c for c in self.user_cells}
        if self.leaf is not None:
            out.update(self.leaf.cell_types)
        return out


def ripple_row(n_a: int, n_b: int, assign: Assignment = Assignment(), user_cells=()) -> Structure:
    """The ripple-row array description."""
    return Structure(Kind.RIPPLE_ROW, n_a, n_b, assign, user_cells=tuple(user_cells))


def carry_save(n_a: int, n_b: int, assign: Assignment = Assignment(), user_cells=()) -> Structure:
    """The carry-save (Braun) array + ripple final adder description."""
    return Structure(Kind.CARRY_SAVE, n_a, n_b, assign, user_cells=tuple(user_cells))


def hierarchical(n_a: int, n_b: int, k: int, leaf: Structure) -> Structure:
    """Hierarchical composition of k x k `leaf` sub-multipliers with exact recombination."""
    return Structure(Kind.HIERARCHICAL, n_a, n_b, k=k, leaf=leaf)


def _pp_matrix(nb: NetlistBuilder, a_bits, b_bits):
    return [[nb.and_(a, b) for b in b_bits] for a in a_bits]


def _emit_ripple_row(nb, a_bits, b_bits, assign: Assignment, col0: int = 0) -> list[int]:
    pp = _pp_matrix(nb, a_bits, b_bits)
    n_a, n_b = len(a_bits), len(b_bits)
    s = {j: pp[0][j] for j in range(n_b)}
    for r in range(1, n_a):
        carry = CONST0
        for c in range(r, r + n_b):
            cell = assign.choose(r, c)
            s[c], carry = nb.cell(cell, pp[r][c - r], s.get(c, CONST0), carry, c + col0, r)
        s[r + n_b] = carry
    return [s.get(c, CONST0) for c in range(n_a + n_b)]


def _emit_carry_save(nb, a_bits, b_bits, assign: Assignment, col0: int = 0) -> list[int]:
    pp = _pp_matrix(nb, a_bits, b_bits)
    n_a, n_b = len(a_bits), len(b_bits)
    s = {j: pp[0][j] for j in range(n_b)}
    carries: dict[int, int] = {}
    for r in range(1, n_a):
        new_carries = {}
        for c in range(r, r + n_b):
            cell = assign.choose(r, c)
            s[c], new_carries[c + 1] = nb.cell(cell, pp[r][c - r], s.get(c, CONST0),
                                               carries.get(c, CONST0), c + col0, r)
        carries = new_carries
    carry = CONST0
    for c in range(n_a, n_a + n_b):
        cell = assign.choose(n_a, c)
        s[c], carry = nb.cell(cell, s.get(c, CONST0), carries.get(c, CONST0), carry,
                              c + col0, n_a, "final")
    return [s.get(c, CONST0) for c in range(n_a + n_b)]


def _emit(nb, structure: Structure, a_bits, b_bits, col0: int) -> list[int]:
    """Emit `structure` on the given operand signals; returns its product bits (LSB first)."""
    if structure.kind is Kind.RIPPLE_ROW:
        return _emit_ripple_row(nb, a_bits, b_bits, structure.assign, col0)
    if structure.kind is Kind.CARRY_SAVE:
        return _emit_carry_save(nb, a_bits, b_bits, structure.assign, col0)
    k, leaf = structure.k, structure.leaf

    def chunks(bits):
        return [(list(bits[i:i + k]) + [CONST0] * k)[:k] for i in range(0, len(bits), k)]

    columns: dict[int, list[int]] = {}
    for i, a_chunk in enumerate(chunks(a_bits)):
        for j, b_chunk in enumerate(chunks(b_bits)):
            shift = k * (i + j)
            for bit, sig in enumerate(_emit(nb, leaf, a_chunk, b_chunk, col0 + shift)):
                if sig != CONST0:
                    columns.setdefault(shift + bit, []).append(sig)
    width = value_bound(structure).bit_length()
    return _recombine(nb, columns, width, col0)


def _recombine(nb, columns: dict[int, list[int]], width: int, col0: int) -> list[int]:
    """Exact multi-operand addition: Wallace-style FA stages to height <= 2, then ripple."""
    while any(len(bits) > 2 for bits in columns.values()):
        nxt: dict[int, list[int]] = {}
        for c in sorted(columns):
            bits = columns[c]
            while len(bits) >= 3:
                s, co = nb.cell("FA", bits[0], bits[1], bits[2], c + col0, role="recomb")
                bits = bits[3:]
                nxt.setdefault(c, []).append(s)
                nxt.setdefault(c + 1, []).append(co)
            nxt.setdefault(c, []).extend(bits)
        columns = nxt
    out, carry = [], CONST0
    for c in range(width):
        bits = columns.get(c, []) + ([carry] if carry != CONST0 else [])
        if len(bits) == 3:
            s, carry = nb.cell("FA", bits[0], bits[1], bits[2], c + col0, role="recomb")
        elif len(bits) == 2:
            s, carry = nb.cell("HA", bits[0], bits[1], CONST0, c + col0, role="recomb")
        else:
            s, carry = (bits[0] if bits else CONST0), CONST0
        out.append(s)
    return out


def is_exact(structure: Structure) -> bool:
    """True when every cell is an exact full adder (so the product is exactly A * B)."""
    if structure.kind is Kind.HIERARCHICAL:
        return is_exact(structure.leaf)
    extra = structure.cell_types
    return all(get_cell(n, extra).is_exact_full_adder for n in structure.assign.cell_names())


def value_bound(structure: Structure) -> int:
    """An upper bound on the product value (exact designs: (2^N - 1)(2^M - 1))."""
    if is_exact(structure):
        return ((1 << structure.n_a) - 1) * ((1 << structure.n_b) - 1)
    if structure.kind is not Kind.HIERARCHICAL:
        return (1 << (structure.n_a + structure.n_b)) - 1
    k, leaf_max = structure.k, value_bound(structure.leaf)
    n_i, n_j = -(-structure.n_a // k), -(-structure.n_b // k)
    return sum(leaf_max << (k * (i + j)) for i in range(n_i) for j in range(n_j))


@functools.lru_cache(maxsize=128)
def build(structure: Structure, name: str = "") -> Netlist:
    """The Netlist of `structure` (cached). SpecError if the product cannot fit in 64 bits."""
    bound = value_bound(structure)
    if bound.bit_length() > MAX_OUTPUT_BITS:
        raise SpecError(f"structure {name or structure.kind.value} {structure.n_a}x{structure.n_b}: "
                        f"products can reach {bound.bit_length()} bits, more than {MAX_OUTPUT_BITS}")
    nb = NetlistBuilder(structure.n_a, structure.n_b, name)
    a_bits = [nb.a(i) for i in range(structure.n_a)]
    b_bits = [nb.b(j) for j in range(structure.n_b)]
    outputs = _emit(nb, structure, a_bits, b_bits, 0)
    return nb.build(outputs, structure.cell_types)


def parse_assignment(spec, path: str = "structure") -> Assignment:
    """An Assignment from a spec: a cell name, or {cell, lsb_cell, lsb_columns, rows, explicit}."""
    if isinstance(spec, str):
        return Assignment(cell=spec)
    if not isinstance(spec, Mapping):
        raise SpecError(f"{path}.assign must be a cell name or a mapping, got {spec!r}")
    unknown = set(spec) - {"cell", "lsb_cell", "lsb_columns", "rows", "explicit"}
    if unknown:
        raise SpecError(f"{path}.assign: unknown keys {sorted(unknown)}")
    try:
        rows = tuple(sorted((int(r), str(c)) for r, c in dict(spec.get("rows", {})).items()))
        explicit = tuple((int(r), int(c), str(n)) for r, c, n in spec.get("explicit", ()))
        lsb_columns = int(spec.get("lsb_columns", 0))
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{path}.assign: malformed rows/explicit/lsb_columns ({exc})") from None
    lsb_cell = spec.get("lsb_cell")
    if lsb_cell is not None and not isinstance(lsb_cell, str):
        raise SpecError(f"{path}.assign.lsb_cell: must be a cell name, got {lsb_cell!r}")
    if lsb_columns and lsb_cell is None:
        raise SpecError(f"{path}.assign: lsb_columns given without lsb_cell")
    return Assignment(str(spec.get("cell", "FA")), lsb_cell, lsb_columns, rows, explicit)


def parse_structure(spec: Mapping, n_a: int, n_b: int, user_cells=(), path="structure") -> Structure:
    """A Structure from a spec mapping {kind, cells|assign, k, leaf} for an n_a x n_b multiplier."""
    if not isinstance(spec, Mapping):
        raise SpecError(f"{path} must be a mapping, got {spec!r}")
    unknown = set(spec) - {"kind", "cells", "assign", "k", "leaf"}
    if unknown:
        raise SpecError(f"{path}: unknown keys {sorted(unknown)}")
    name = spec.get("kind", "ripple-row")
    try:
        kind = Kind(KIND_ALIASES.get(name, name) if isinstance(name, str) else name)
    except ValueError:
        raise SpecError(f"{path}.kind: unknown structure {name!r} (known: "
                        f"{', '.join(k.value for k in Kind)}; short: "
                        f"{', '.join(sorted(KIND_ALIASES))})") from None
    if kind is Kind.HIERARCHICAL:
        k = spec.get("k")
        if isinstance(k, bool) or not isinstance(k, int) or not MIN_WIDTH <= k <= MAX_WIDTH:
            raise SpecError(f"{path}.k: {'missing' if k is None else f'chunk width must be an integer in 2..32, got {k!r}'}")
        if "cells" in spec or "assign" in spec:
            raise SpecError(f"{path}: a hierarchical structure takes its cells from its leaf")
        if "leaf" not in spec:
            raise SpecError(f"{path}.leaf: missing (the {k}x{k} sub-multiplier, e.g. "
                            f"{{kind: ripple, cells: AMA5}}; {{}} for an exact ripple-row leaf)")
        leaf = parse_structure(spec["leaf"], k, k, user_cells, f"{path}.leaf")
        return hierarchical(n_a, n_b, k, leaf)
    if "cells" in spec and "assign" in spec:
        raise SpecError(f"{path}: give either 'cells' or 'assign', not both")
    assign = parse_assignment(spec.get("assign", spec.get("cells", "FA")), path)
    return Structure(kind, n_a, n_b, assign, user_cells=tuple(user_cells))

