"""One-bit adder cells (SPEC-arith §2): the exact FA/HA and the approximate AMA/AXA/InXA family.

A cell has pins A, B, Cin and outputs Sum, Cout, each output given by an 8-entry truth table in
the order (A,B,Cin) = 000, 001, ..., 111. A user cell defined by two such tables is first-class.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from archsim_core.errors import SpecError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def _table_index(a: int, b: int, cin: int) -> int:
    return (a << 2) | (b << 1) | cin


@dataclass(frozen=True)
class CellType:
    """A one-bit adder cell defined by its Sum and Cout truth tables."""

    name: str
    sum_table: tuple[int, ...]
    cout_table: tuple[int, ...]

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise SpecError(f"cell name {self.name!r} is not a valid identifier")
        for field in ("sum_table", "cout_table"):
            table = tuple(getattr(self, field))
            if len(table) != 8:
                raise SpecError(f"cell {self.name}: {field} must have 8 entries, got {len(table)}")
            if any(v not in (0, 1) for v in table):
                raise SpecError(f"cell {self.name}: {field} entries must be 0 or 1, got {list(table)}")
            object.__setattr__(self, field, tuple(int(v) for v in table))

    def evaluate(self, a: int, b: int, cin: int) -> tuple[int, int]:
        """(Sum, Cout) for one-bit inputs."""
        i = _table_index(a, b, cin)
        return self.sum_table[i], self.cout_table[i]

    @property
    def is_exact_full_adder(self) -> bool:
        """True when the cell computes A+B+Cin exactly (Sum = xor3, Cout = majority)."""
        return self.sum_table == FA_SUM and self.cout_table == FA_COUT

    def is_exact_with_cin0(self) -> bool:
        """True when the cell is an exact half adder for Cin = 0 (used at HA positions)."""
        return all(self.evaluate(a, b, 0) == ((a ^ b), (a & b)) for a in (0, 1) for b in (0, 1))


FA_SUM = (0, 1, 1, 0, 1, 0, 0, 1)
FA_COUT = (0, 0, 0, 1, 0, 1, 1, 1)

_BUILTIN_TABLES = {
    "FA": (FA_SUM, FA_COUT),
    # HA ignores Cin: Sum = A xor B, Cout = A and B.
    "HA": ((0, 0, 1, 1, 1, 1, 0, 0), (0, 0, 0, 0, 0, 0, 1, 1)),
    "AMA1": ((0, 1, 0, 0, 0, 0, 0, 1), (0, 0, 1, 1, 0, 1, 1, 1)),
    "AMA2": ((1, 1, 1, 0, 1, 0, 0, 0), FA_COUT),
    "AMA3": ((1, 1, 0, 0, 1, 0, 0, 0), (0, 0, 1, 1, 0, 1, 1, 1)),
    "AMA4": ((0, 1, 0, 1, 0, 0, 0, 1), (0, 0, 0, 0, 1, 1, 1, 1)),
    "AMA5": ((0, 0, 1, 1, 0, 0, 1, 1), (0, 0, 0, 0, 1, 1, 1, 1)),
    "AXA2": ((1, 1, 0, 0, 0, 0, 1, 1), FA_COUT),
    "AXA3": ((0, 1, 0, 0, 0, 0, 0, 1), FA_COUT),
    "InXA1": (FA_SUM, (0, 1, 0, 1, 0, 1, 0, 1)),
    "InXA2": ((0, 1, 1, 1, 1, 1, 0, 1), FA_COUT),
    "InXA3": ((1, 1, 1, 0, 1, 0, 0, 0), FA_COUT),
}

BUILTIN_CELLS: Mapping[str, CellType] = {
    name: CellType(name, s, c) for name, (s, c) in _BUILTIN_TABLES.items()
}


def define_cell(name: str, sum_table, cout_table) -> CellType:
    """A user cell from two 8-entry truth tables; built-in names cannot be redefined."""
    if name in BUILTIN_CELLS:
        raise SpecError(f"cell {name!r} is built in and cannot be redefined")
    try:
        return CellType(name, tuple(sum_table), tuple(cout_table))
    except TypeError as exc:
        raise SpecError(f"cell {name!r}: truth tables must be sequences of 0/1 ({exc})") from None


def cells_from_spec(spec: Mapping) -> dict[str, CellType]:
    """User cells from a mapping {name: {sum: [8 bits], cout: [8 bits]}} (e.g. parsed YAML)."""
    if not isinstance(spec, Mapping):
        raise SpecError(f"cells: must be a mapping {{NAME: {{sum: [8 bits], cout: [8 bits]}}}}, "
                        f"got {spec!r}")
    out = {}
    for name, body in spec.items():
        if not isinstance(name, str):
            raise SpecError(f"cells: cell names must be strings, got {name!r}")
        if not isinstance(body, Mapping) or set(body) != {"sum", "cout"}:
            raise SpecError(f"cell {name!r}: expected exactly the keys 'sum' and 'cout'")
        out[name] = define_cell(name, body["sum"], body["cout"])
    return out


def get_cell(name: str, extra: Mapping[str, CellType] | None = None) -> CellType:
    """Look a cell up among the built-ins and `extra` user cells."""
    if extra and name in extra:
        return extra[name]
    try:
        return BUILTIN_CELLS[name]
    except KeyError:
        known = ", ".join(sorted(BUILTIN_CELLS) + sorted(extra or {}))
        raise SpecError(f"unknown cell {name!r} (known: {known})") from None
