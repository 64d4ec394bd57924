"""The cell library of the cost model (SPEC-sim §7): data loaded from YAML, validated.

Every adder cell (pins A, B, Cin -> Sum, Cout) and every logic gate (A, B, S, D -> Y, Q) has
a transistor count, an area, pin-to-pin delays in unit gates and an energy per output toggle.
The default library is `archsim/data/cell_library_default.yaml` (each number's source is in
its comments); a user passes their own file. A malformed library raises SpecError naming the
file, the cell and the field.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


from archsim.errors import SpecError
from archsim_core.cells import BUILTIN_CELLS, CellType, define_cell

DEFAULT_LIBRARY_PATH = Path(__file__).resolve().parent.parent / "data" / "cell_library_default.yaml"
CELL_INPUTS = ("A", "B", "Cin")
CELL_OUTPUTS = ("Sum", "Cout")
# Gates the FP datapath models use; a library must define all of them.
REQUIRED_GATES = {"AND2": ("Y",), "OR2": ("Y",), "INV": ("Y",), "BUF": ("Y",),
                  "XOR2": ("Y",), "MUX2": ("Y",), "DFF": ("Q",)}
GATE_INPUTS = ("A", "B", "S", "D")
_CELL_KEYS = {"transistors", "area_um2", "delay", "energy_per_toggle", "truth_table"}
_CAL_KEYS = {"anchor_variant", "anchor_energy_pj", "ns_per_delay_unit", "leakage_nw_per_um2"}


@dataclass(frozen=True)
class CellCost:
    """Cost data of one cell or gate. `delay` is ((output, ((pin, units), ...)), ...)."""

    name: str
    transistors: int
    area_um2: float
    delay: tuple[tuple[str, tuple[tuple[str, float], ...]], ...]
    energy_per_toggle: tuple[tuple[str, float], ...]

    def pin_delays(self, output: str) -> dict[str, float]:
        """{input pin: delay in unit gates} for one output (pins absent do not affect it)."""
        return dict(dict(self.delay)[output])

    def toggle_energy(self, output: str) -> float:
        """Energy (library units) of one toggle of `output`."""
        return dict(self.energy_per_toggle)[output]

    @property
    def outputs(self) -> tuple[str, ...]:
        """Output pin names."""
        return tuple(o for o, _ in self.delay)

    @property
    def max_delay(self) -> float:
        """Longest pin-to-pin delay of the cell (unit gates)."""
        return max(d for _, pins in self.delay for _, d in pins)


@dataclass(frozen=True)
class CellLibrary:
    """A validated cell library plus its calibration constants."""

    name: str
    source: str
    cells: tuple[tuple[str, CellCost], ...]
    anchor_variant: str
    anchor_energy_pj: float
    ns_per_delay_unit: float
    leakage_nw_per_um2: float | None
    user_cells: tuple[tuple[str, CellType], ...] = ()
    _index: dict = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "_index", dict(self.cells))

    def cell(self, name: str) -> CellCost:
        """Cost data of `name`; SpecError if the library does not define it."""
        try:
            return self._index[name]
        except KeyError:
            raise SpecError(f"cell library {self.source}: no entry for cell {name!r} "
                            "(referenced by the netlist)") from None

    def has(self, name: str) -> bool:
        """True when the library defines `name`."""
        return name in self._index

    @property
    def cell_types(self) -> dict[str, CellType]:
        """User-defined adder cells (truth tables given in the library)."""
        return dict(self.user_cells)


def _number(value, where: str, *, integer: bool = False, allow_zero: bool = True) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer:
        ok = float(value).is_integer()
    if not ok or value < 0 or (value == 0 and not allow_zero):
        kind = "an integer" if integer else "a number"
        raise SpecError(f"{where} must be {kind} {'> 0' if not allow_zero else '>= 0'}, got {value!r}")
    return int(value) if integer else float(value)


def _depends(cell: CellType, output: str, pin: str) -> bool:
    """True when the truth table of `output` changes with `pin` for some other-pin values."""
    table = cell.sum_table if output == "Sum" else cell.cout_table
    bit = 2 - CELL_INPUTS.index(pin)
    return any(table[i] != table[i ^ (1 << bit)] for i in range(8))


def _parse_delays(body, where: str, outputs, inputs, celltype: CellType | None):
    if not isinstance(body, Mapping) or set(body) != set(outputs):
        raise SpecError(f"{where}.delay must map exactly the outputs {list(outputs)}")
    out = []
    for o in outputs:
        pins = body[o]
        if not isinstance(pins, Mapping) or not pins:
            raise SpecError(f"{where}.delay.{o} must map input pins to delays")
        for pin in pins:
            if pin not in inputs:
                raise SpecError(f"{where}.delay.{o}: unknown pin {pin!r} (pins: {list(inputs)})")
        if celltype is not None:
            for pin in CELL_INPUTS:
                if _depends(celltype, o, pin) and pin not in pins:
                    raise SpecError(f"{where}.delay.{o}: missing delay for pin {pin!r} "
                                    f"({o} depends on it)")
        out.append((o, tuple((p, _number(pins[p], f"{where}.delay.{o}.{p}")) for p in sorted(pins))))
    return tuple(out)


def _parse_cell(name: str, body, where: str, celltype: CellType | None, outputs, inputs) -> CellCost:
    if not isinstance(body, Mapping):
        raise SpecError(f"{where} must be a mapping")
    unknown = set(body) - _CELL_KEYS
    missing = {"transistors", "area_um2", "delay", "energy_per_toggle"} - set(body)
    if unknown or missing:
        what = f"unknown field {sorted(unknown)[0]!r}" if unknown else f"missing field {sorted(missing)[0]!r}"
        raise SpecError(f"{where}: {what}")
    energy = body["energy_per_toggle"]
    if not isinstance(energy, Mapping) or set(energy) != set(outputs):
        raise SpecError(f"{where}.energy_per_toggle must map exactly the outputs {list(outputs)}")
    return CellCost(
        name=name,
        transistors=_number(body["transistors"], f"{where}.transistors", integer=True),
        area_um2=_number(body["area_um2"], f"{where}.area_um2"),
        delay=_parse_delays(body["delay"], where, outputs, inputs, celltype),
        energy_per_toggle=tuple((o, _number(energy[o], f"{where}.energy_per_toggle.{o}"))
                                for o in outputs))


def _parse_cells(cells, src: str):
    if not isinstance(cells, Mapping):
        raise SpecError(f"cell library {src}: 'cells' must be a mapping")
    parsed, user = [], []
    for name, body in cells.items():
        where = f"cell library {src}: cells.{name}"
        if name in BUILTIN_CELLS:
            celltype = BUILTIN_CELLS[name]
            if isinstance(body, Mapping) and "truth_table" in body:
                raise SpecError(f"{where}.truth_table: built-in cells cannot be redefined")
        elif isinstance(body, Mapping) and isinstance(body.get("truth_table"), Mapping):
            tt = body["truth_table"]
            celltype = define_cell(name, tt.get("sum", ()), tt.get("cout", ()))
            user.append((name, celltype))
        else:
            raise SpecError(f"{where}: unknown cell (not built in and no truth_table given)")
        parsed.append((name, _parse_cell(name, body, where, celltype, CELL_OUTPUTS, CELL_INPUTS)))
    missing = sorted(set(BUILTIN_CELLS) - {n for n, _ in parsed})
    if missing:
        raise SpecError(f"cell library {src}: missing cell {missing[0]!r} (cells.{missing[0]})")
    return parsed, user


def _parse_gates(gates, src: str):
    if not isinstance(gates, Mapping):
        raise SpecError(f"cell library {src}: 'gates' must be a mapping")
    parsed = []
    for name, body in gates.items():
        if name not in REQUIRED_GATES:
            raise SpecError(f"cell library {src}: gates.{name}: unknown gate "
                            f"(known: {', '.join(sorted(REQUIRED_GATES))})")
        parsed.append((name, _parse_cell(name, body, f"cell library {src}: gates.{name}", None,
                                         REQUIRED_GATES[name], GATE_INPUTS)))
    missing = sorted(set(REQUIRED_GATES) - {n for n, _ in parsed})
    if missing:
        raise SpecError(f"cell library {src}: missing gate {missing[0]!r} (gates.{missing[0]})")
    return parsed


def _parse_calibration(cal, src: str) -> dict:
    where = f"cell library {src}: calibration"
    if not isinstance(cal, Mapping) or set(cal) != _CAL_KEYS:
        raise SpecError(f"{where} must have exactly the keys {sorted(_CAL_KEYS)}")
    if not isinstance(cal["anchor_variant"], str):
        raise SpecError(f"{where}.anchor_variant must be a variant name")
    leak = cal["leakage_nw_per_um2"]
    return dict(anchor_variant=cal["anchor_variant"],
                anchor_energy_pj=_number(cal["anchor_energy_pj"], f"{where}.anchor_energy_pj",
                                         allow_zero=False),
                ns_per_delay_unit=_number(cal["ns_per_delay_unit"], f"{where}.ns_per_delay_unit",
                                          allow_zero=False),
                leakage_nw_per_um2=None if leak is None else _number(leak, f"{where}.leakage_nw_per_um2"))


def library_from_mapping(data, source: str = "<mapping>") -> CellLibrary:
    """Validate a parsed library document and build the CellLibrary."""
    if not isinstance(data, Mapping):
        raise SpecError(f"cell library {source}: top level must be a mapping")
    unknown = set(data) - {"name", "calibration", "cells", "gates"}
    if unknown:
        raise SpecError(f"cell library {source}: unknown key {sorted(unknown)[0]!r}")
    for key in ("calibration", "cells", "gates"):
        if key not in data:
            raise SpecError(f"cell library {source}: missing key {key!r}")
    cells, user = _parse_cells(data["cells"], source)
    gates = _parse_gates(data["gates"], source)
    return CellLibrary(name=str(data.get("name", Path(source).stem)), source=source,
                       cells=tuple(cells + gates), user_cells=tuple(user),
                       **_parse_calibration(data["calibration"], source))


@functools.lru_cache(maxsize=16)
def load_library(path: str | Path | None = None) -> CellLibrary:
    """Load and validate a library YAML file (the default library when `path` is None)."""
    path = Path(path) if path is not None else DEFAULT_LIBRARY_PATH
    from archsim_core.yamlio import load_file
    data = load_file(path, SpecError, "cell library")
    return library_from_mapping(data, str(path))


def resolve_library(library) -> CellLibrary:
    """None -> default library; a path -> loaded; a CellLibrary -> itself."""
    if library is None or isinstance(library, (str, Path)):
        return load_library(library)
    if isinstance(library, CellLibrary):
        return library
    raise SpecError(f"library must be a path or a CellLibrary, got {type(library).__name__}")
