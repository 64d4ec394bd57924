"""Whole FP units priced from their netlists (archsim_core.fp_unit) and the cell library.

Every figure comes from a netlist: area = sum of the library areas of its cells and gates;
delay = static timing of the netlist (unit gates); energy per operation = the toggles the
bit-sliced evaluator counts on an operand stream, times each driver's energy per toggle. No
block is estimated from gate counts or an assumed activity.

Blocks are the `role`s the generators tag every gate and cell with:
  FP multiplier (`<variant>.unit`): significand (the variant's array: its AND gates and cells),
    unpack, exponent, normalise, round, specials, sign;
  PE adder (`<fmt>-adder`): unpack, align, exponent, add, normalise, round, specials (reported
    together as the block `adder`);
  accumulator register (`register-<bits>`): one DFF per bit (block `register`).

The MAC's critical path is timed through the chain multiplier -> adder -> register: the adder's
product inputs arrive when the multiplier's static timing says each result bit settles, its
accumulator inputs at 0 (from the register), and the register adds its D->Q figure (clock-to-Q
plus setup). Each block's share of that path is the sum of the delays of the path's hops that
lie in it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from archsim_core.fp_unit import (MULTIPLIER_BLOCKS, adder_netlist, block_of, register_netlist,
                                  unit_netlist)
from archsim_core.netlist import Netlist

from archsim.cost.library import CellLibrary
from archsim.cost.power import netlist_toggles, signal_energies
from archsim.cost.timing import analyse_timing, check_netlist, effective_cell, path_to_output
from archsim.errors import SpecError

ADDER_ROLES = ("unpack", "align", "exponent", "add", "normalise", "round", "specials")


@dataclass(frozen=True)
class Block:
    """One block of a unit: energy in library units (eu) per operation, delay = its share of
    the unit's critical path (unit gates)."""

    name: str
    instances: int
    transistors: int
    area_um2: float
    delay_units: float
    energy_eu: float
    method: str        # the netlist (and roles) the figures come from


@dataclass(frozen=True)
class UnitCost:
    """A whole unit priced from one netlist: its blocks and its critical-path delay."""

    name: str
    netlist: str
    blocks: tuple[Block, ...]
    delay_units: float
    n_ops: int

    @property
    def area_um2(self) -> float:
        """Sum of block areas."""
        return sum(b.area_um2 for b in self.blocks)

    @property
    def transistors(self) -> int:
        """Sum of block transistor counts."""
        return sum(b.transistors for b in self.blocks)

    @property
    def energy_eu(self) -> float:
        """Energy per operation in library units."""
        return sum(b.energy_eu for b in self.blocks)

    def block(self, name: str) -> Block:
        """The block called `name`."""
        return next(b for b in self.blocks if b.name == name)


def _node_blocks(netlist: Netlist, lib: CellLibrary):
    """[(block, library cell name, output signals)] for every instance of the netlist."""
    out = [("significand", "AND2", (g.out,)) for g in netlist.gates]
    out += [(block_of(c.role), effective_cell(netlist, i), (c.sum, c.cout))
            for i, c in enumerate(netlist.cells)]
    out += [(block_of(g.role), g.kind, (g.out,)) for g in netlist.logic]
    return out


def _step_block(netlist: Netlist, step) -> str:
    if step.kind == "and":
        return "significand"
    item = netlist.cells[step.index] if step.kind == "cell" else netlist.logic[step.index]
    return block_of(item.role)


def path_shares(netlist: Netlist, path, start: float = 0.0) -> dict[str, float]:
    """{block: delay of the path's hops inside it} for a traced path starting at `start`."""
    shares: dict[str, float] = {}
    prev = start
    for step in path:
        block = _step_block(netlist, step)
        shares[block] = shares.get(block, 0.0) + step.arrival - prev
        prev = step.arrival
    return shares


def price_netlist(netlist: Netlist, lib: CellLibrary, a, b, order: Sequence[str], name: str,
                  shares: dict[str, float] | None = None) -> UnitCost:
    """Area, critical-path share and toggle energy per block of `netlist` on the operand
    stream (a, b) (integer words, at least 2 operations). `shares` overrides the delay shares
    (e.g. with the MAC path); by default they are the netlist's own critical path."""
    check_netlist(netlist, lib)
    a = np.asarray(a, dtype=np.uint64)
    b = np.asarray(b, dtype=np.uint64)
    toggles = netlist_toggles(netlist, a, b)
    energy = signal_energies(netlist, lib) * toggles / (a.size - 1)
    rep = analyse_timing(netlist, lib)
    if shares is None:
        shares = path_shares(netlist, rep.path)
    acc: dict[str, list] = {}
    for block, cell, outs in _node_blocks(netlist, lib):
        cost = lib.cell(cell)
        row = acc.setdefault(block, [0, 0, 0.0, 0.0])
        row[0] += 1
        row[1] += cost.transistors
        row[2] += cost.area_um2
        row[3] += float(sum(energy[s] for s in outs))
    unknown = sorted(set(acc) - set(order))
    if unknown:
        raise ValueError(f"netlist {netlist.name}: blocks {unknown} not in {list(order)}")
    blocks = tuple(Block(k, acc[k][0], acc[k][1], acc[k][2], shares.get(k, 0.0), acc[k][3],
                         f"netlist {netlist.name} (roles {k}): library areas, static timing, "
                         f"toggles on {a.size} operations")
                   for k in order if k in acc)
    return UnitCost(name, netlist.name, blocks, rep.delay_units, int(a.size))


def multiplier_unit_cost(spec, lib: CellLibrary, x_words, y_words) -> UnitCost:
    """The whole FP multiplier of a resolved variant on operand word streams."""
    if spec.fmt.width > 32:
        raise SpecError(f"variant {spec.name}: format {spec.fmt.name} has {spec.fmt.width}-bit words; "
                        "the bit-sliced evaluator prices units of up to 32-bit words (format field)")
    return price_netlist(unit_netlist(spec), lib, x_words, y_words, MULTIPLIER_BLOCKS, spec.name)


def adder_of(spec) -> Netlist:
    """The PE accumulation adder of a variant: IEEE RNE in the variant's format (ftz as the
    variant), the adder the FP wrapper's matmul accumulates with."""
    return adder_netlist(spec.fmt, spec.specials == "ftz")


def adder_unit_cost(spec, lib: CellLibrary, acc_words, add_words) -> UnitCost:
    """The accumulation adder on (accumulator, product) word streams; blocks = its roles."""
    net = adder_of(spec)
    return price_netlist(net, lib, acc_words, add_words, ADDER_ROLES, net.name)


def register_cost(spec, lib: CellLibrary, stored_words) -> UnitCost:
    """The accumulator register on the stream of values it stores."""
    net = register_netlist(spec.fmt.width)
    words = np.asarray(stored_words, dtype=np.uint64)
    return price_netlist(net, lib, words, np.zeros_like(words), ("register",), net.name)


@dataclass(frozen=True)
class MacTiming:
    """Static timing of multiplier -> adder -> register (unit gates)."""

    mult_units: float          # the multiplier's own critical path
    add_units: float           # the adder's own critical path (inputs at 0)
    register_units: float      # DFF D->Q (clock-to-Q + setup)
    mac_units: float           # the chained critical path
    shares: tuple[tuple[str, float], ...]   # block -> share of the MAC path


def mac_timing(spec, lib: CellLibrary) -> MacTiming:
    """The whole MAC's critical path, multiplier output arrivals feeding the adder's b inputs."""
    mult, add = unit_netlist(spec), adder_of(spec)
    mrep = analyse_timing(mult, lib)
    out_arr = [mrep.arrival[s] or 0.0 for s in mult.outputs]
    arrival = [0.0] * add.n_a + out_arr
    arep = analyse_timing(add, lib, input_arrival=arrival)
    reg = lib.cell("DFF").pin_delays("Q")["D"]
    shares: dict[str, float] = {}
    path = arep.path
    start = 0.0
    if path:
        first = path[0]
        sig = _input_signal(add, first)
        if sig in add.b_bits:
            k = add.b_bits.index(sig)
            start = out_arr[k]
            shares.update(path_shares(mult, path_to_output(mult, lib, k)))
    adder_share = sum(path_shares(add, path, start).values())
    shares["adder"] = adder_share
    shares["register"] = reg
    return MacTiming(mrep.delay_units, analyse_timing(add, lib).delay_units, reg,
                     arep.delay_units + reg, tuple(shares.items()))


def _input_signal(netlist: Netlist, step) -> int:
    from archsim.cost.timing import _pin_signals, gate_pins

    if step.kind == "gate":
        return gate_pins(netlist.logic[step.index])[step.in_pin]
    if step.kind == "and":
        g = netlist.gates[step.index]
        return {"A": g.a, "B": g.b}[step.in_pin]
    return _pin_signals(netlist.cells[step.index])[step.in_pin]
