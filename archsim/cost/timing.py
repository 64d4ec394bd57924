"""Static timing analysis over a Netlist DAG with per-pin delays (SPEC-sim §7).

Operand bits arrive at time 0 (or at given per-bit arrival times, e.g. a multiplier's output
times at the adder that reads them); the constants 0/1 never switch, so they start no path.
Each AND gate adds the library's AND2 delay; each cell and logic gate output takes the latest
(input arrival + pin delay) over the pins that output depends on (the library lists exactly
those). A cell whose Cin is tied to 0 is costed as a half adder when it is an exact full adder
(SPEC-arith §2).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from archsim_core.netlist import CONST0, CONST1, GATE_OUTPUT, GATE_PINS, Netlist

from archsim.cost.library import CellLibrary, resolve_library
from archsim.errors import SpecError

_NEVER = float("-inf")


def check_netlist(netlist: Netlist, lib: CellLibrary) -> None:
    """SpecError unless the library costs every cell of the netlist, with the same function."""
    lib.cell("AND2")
    for kind in sorted({g.kind for g in netlist.logic}):
        lib.cell(kind)
    user = lib.cell_types
    for name, celltype in sorted(netlist.cell_types.items()):
        lib.cell(name)
        if name in user and (user[name].sum_table, user[name].cout_table) != \
                (celltype.sum_table, celltype.cout_table):
            raise SpecError(f"cell library {lib.source}: cells.{name}.truth_table differs from the "
                            f"netlist's cell {name!r}")


def effective_cell(netlist: Netlist, index: int) -> str:
    """The library cell that implements cell instance `index` (FA with Cin = 0 -> HA)."""
    inst = netlist.cells[index]
    if inst.cin == CONST0 and netlist.cell_types[inst.cell].is_exact_full_adder:
        return "HA"
    return inst.cell


@dataclass(frozen=True)
class PathStep:
    """One hop of a critical path: `cell` instance `index` from `in_pin` to `out_pin`."""

    kind: str          # "and", "cell" or "gate"
    index: int
    cell: str
    in_pin: str
    out_pin: str
    col: int
    row: int
    arrival: float     # arrival time of the output signal, unit gates


@dataclass(frozen=True)
class TimingReport:
    """Arrival time per signal (None: constant) and the critical path, in unit gates."""

    arrival: tuple[float | None, ...]
    delay_units: float
    critical_output: int          # product bit index of the latest output
    path: tuple[PathStep, ...]
    ns_per_unit: float

    @property
    def delay_ns(self) -> float:
        """Critical-path delay in ns (library calibration)."""
        return self.delay_units * self.ns_per_unit

    def describe(self) -> list[str]:
        """The critical path as readable lines, input to output."""
        return [f"{s.cell}[row {s.row}, col {s.col}] {s.in_pin}->{s.out_pin} @ {s.arrival:g}"
                for s in self.path]


def _pin_signals(inst) -> dict[str, int]:
    return {"A": inst.a, "B": inst.b, "Cin": inst.cin}


def _latest(arr, pins: dict[str, float], sigs: dict[str, int]):
    """(arrival, driving pin) of an output: max over its pins of arrival + delay."""
    best, best_pin = _NEVER, None
    for pin in sorted(pins):
        t = arr[sigs[pin]]
        if t != _NEVER and t + pins[pin] > best:
            best, best_pin = t + pins[pin], pin
    return best, best_pin


def ripple_chains(netlist: Netlist) -> dict[int, tuple[int, int, str | None]]:
    """Cells of the recombination adders' ripple-carry chains: {cell index: (index of the chain's
    head cell, position in the chain, pin that reads the previous cell's Cout; None at the head)}. A link is a recomb
    cell built right after a recomb cell one column lower whose Cout it reads (the generator
    emits each ripple adder's cells consecutively; carry-save stages never read each other)."""
    cells = netlist.cells
    out: dict[int, tuple[int, int, str | None]] = {}
    for j in range(1, len(cells)):
        prev, cur = cells[j - 1], cells[j]
        pins = sorted(p for p, s in _pin_signals(cur).items() if s == prev.cout)
        if prev.role == cur.role == "recomb" and cur.col == prev.col + 1 and pins:
            head, position, _ = out.setdefault(j - 1, (j - 1, 0, None))
            out[j] = (head, position + 1, pins[0])
    return out


def _prefix_arrivals(arr, netlist, i, head, position, carry_pin, chains_state):
    """Sklansky prefix-adder timing for chain cell i (unit gates: p/g 2, each prefix level an
    AND-OR = 2, sum XOR = 2); returns {output: (arrival, latest pin)}. Cells of one chain are
    visited in chain order (each reads its predecessor's Cout)."""
    sigs = _pin_signals(netlist.cells[i])
    live = [(arr[s], p) for p, s in sorted(sigs.items()) if p != carry_pin and arr[s] != _NEVER]
    t, pin = max(live) if live else (0.0, "A")
    state = chains_state.setdefault(head, {"pg_max": _NEVER, "carry": _NEVER})
    state["pg_max"] = max(state["pg_max"], t + 2)
    carry = state["pg_max"] + 2 * position.bit_length()   # ceil(log2(position + 1)) levels
    prev_carry, state["carry"] = state["carry"], carry
    return {"Sum": (max(t + 2, prev_carry) + 2 if position else t + 2, pin), "Cout": (carry, pin)}


def gate_pins(gate) -> dict[str, int]:
    """{pin name: signal} of a logic gate."""
    return dict(zip(GATE_PINS[gate.kind], gate.ins))


def _propagate(netlist: Netlist, lib: CellLibrary, recomb: str = "ripple", input_arrival=None):
    chains = ripple_chains(netlist) if recomb == "prefix" else {}
    chain_state: dict = {}
    arr = [_NEVER] * netlist.n_signals
    inputs = netlist.a_bits + netlist.b_bits
    for k, sig in enumerate(inputs):
        arr[sig] = 0.0 if input_arrival is None else input_arrival[k]
    pred: dict[int, tuple[str, int, str, str]] = {}
    and_delay = lib.cell("AND2").pin_delays("Y")
    for kind, i in netlist.order:
        if kind == "gate":
            g = netlist.logic[i]
            out = GATE_OUTPUT.get(g.kind, "Y")
            t, pin = _latest(arr, lib.cell(g.kind).pin_delays(out), gate_pins(g))
            arr[g.out] = t
            pred[g.out] = ("gate", i, pin, out)
            continue
        if kind == "and":
            g = netlist.gates[i]
            t, pin = _latest(arr, and_delay, {"A": g.a, "B": g.b})
            arr[g.out] = t
            pred[g.out] = ("and", i, pin, "Y")
            continue
        inst = netlist.cells[i]
        cost = lib.cell(effective_cell(netlist, i))
        sigs = _pin_signals(inst)
        prefix = _prefix_arrivals(arr, netlist, i, *chains[i], chain_state) if i in chains else None
        for out, sig in (("Sum", inst.sum), ("Cout", inst.cout)):
            t, pin = prefix[out] if prefix else _latest(arr, cost.pin_delays(out), sigs)
            arr[sig] = t
            pred[sig] = ("cell", i, pin, out)
    return arr, pred


def _trace(netlist: Netlist, arr, pred, sig: int) -> tuple[PathStep, ...]:
    steps = []
    while sig in pred and arr[sig] != _NEVER:
        kind, i, pin, out = pred[sig]
        if kind == "gate":
            g = netlist.logic[i]
            steps.append(PathStep("gate", i, g.kind, pin, out, -1, -1, arr[sig]))
            sig = gate_pins(g)[pin]
        elif kind == "and":
            g = netlist.gates[i]
            steps.append(PathStep("and", i, "AND2", pin, out, -1, -1, arr[sig]))
            sig = {"A": g.a, "B": g.b}[pin]
        else:
            inst = netlist.cells[i]
            steps.append(PathStep("cell", i, effective_cell(netlist, i), pin, out, inst.col,
                                  inst.row, arr[sig]))
            sig = _pin_signals(inst)[pin]
    return tuple(reversed(steps))


def analyse_timing(netlist: Netlist, library=None, recomb: str = "ripple",
                   input_arrival=None) -> TimingReport:
    """Arrival times, critical-path delay and the critical path of `netlist`.

    `recomb="prefix"` is a what-if: the ripple-carry chains of recombination adders are timed
    as Sklansky prefix adders (the netlist's function is unchanged; SPEC-arith §3 leaves the
    recombination adder's structure to the cost model). The default times the netlist as built.
    `input_arrival`: arrival time of each operand bit (a bits, then b bits; default all 0)."""
    if recomb not in ("ripple", "prefix"):
        raise SpecError(f"recomb must be 'ripple' or 'prefix', got {recomb!r}")
    arrival = None if input_arrival is None else tuple(float(t) for t in input_arrival)
    if arrival is not None and len(arrival) != netlist.n_a + netlist.n_b:
        raise SpecError(f"input_arrival: expected {netlist.n_a + netlist.n_b} times, got {len(arrival)}")
    return _analyse_cached(netlist, resolve_library(library), recomb, arrival)


@functools.lru_cache(maxsize=64)
def _analyse_cached(netlist: Netlist, lib: CellLibrary, recomb: str, arrival=None) -> TimingReport:
    check_netlist(netlist, lib)
    arr, pred = _propagate(netlist, lib, recomb, arrival)
    best_k, best = 0, _NEVER
    for k, sig in enumerate(netlist.outputs):
        if arr[sig] > best:
            best_k, best = k, arr[sig]
    delay = max(best, 0.0)
    # a prefix adder has no single cell-by-cell path through the chain: report delay only
    traced = best != _NEVER and recomb == "ripple"
    path = _trace(netlist, arr, pred, netlist.outputs[best_k]) if traced else ()
    arrival = tuple(None if (t == _NEVER or s in (CONST0, CONST1)) else t for s, t in enumerate(arr))
    return TimingReport(arrival, delay, best_k, path, lib.ns_per_delay_unit)


def netlist_area(netlist: Netlist, library=None) -> tuple[int, float]:
    """(transistors, area um^2) of a netlist: the sum over its AND gates and cells."""
    lib = resolve_library(library)
    check_netlist(netlist, lib)
    and_cost = lib.cell("AND2")
    transistors = len(netlist.gates) * and_cost.transistors
    area = len(netlist.gates) * and_cost.area_um2
    for i in range(len(netlist.cells)):
        cost = lib.cell(effective_cell(netlist, i))
        transistors += cost.transistors
        area += cost.area_um2
    for g in netlist.logic:
        cost = lib.cell(g.kind)
        transistors += cost.transistors
        area += cost.area_um2
    return transistors, area


def path_to_output(netlist: Netlist, library, output_index: int) -> tuple[PathStep, ...]:
    """The latest path into output bit `output_index` (operand bits at 0), input to output."""
    lib = resolve_library(library)
    check_netlist(netlist, lib)
    arr, pred = _propagate(netlist, lib)
    return _trace(netlist, arr, pred, netlist.outputs[output_index])
