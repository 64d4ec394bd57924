"""Cost of an int8 PE: an 8x8 integer multiplier netlist plus an int32 accumulation adder
netlist, priced with the FP MAC's own machinery (archsim.cost: STA in unit gates, toggle
energy on an operand stream, the same pJ calibration anchor), so int8 and FP32 PEs are in the
same units.

Blocks:
- multiplier: the variant's 8x8 netlist evaluated on the operand stream.
  * `int8` (exact signed): a Baugh-Wooley array = the unsigned 8x8 ripple-row array on the raw
    two's-complement bit patterns, plus 14 inverters (the partial products a_i b_7 and a_7 b_j,
    i, j < 7, are NANDs in Baugh-Wooley; the two constant ones it adds reuse existing cell
    inputs). Modelled, not a bit-exact Baugh-Wooley netlist: the array's cell count, depth and
    switching on the real operand bits are those of the BW array up to the constant inputs.
  * unsigned netlists (`uint8-exact`, `uint8-da`, `uint8-lsb-CELL-k`) run on |a|, |b| and pay
    the sign-magnitude wrapper: two 8-bit conditional negations at the inputs and one 16-bit
    at the output (XOR2 row + incrementer of AND2/XOR2 each) and the sign XOR2, gate counts at
    alpha = 0.5, in series with the array on the critical path.
  * Verilog circuits (`int8:PATH.v`, `uint8:PATH.v`) are priced from the netlist of issue #11's
    importer (`get_multiplier({"verilog": PATH, "signed": ...}).netlist`) when it is installed;
    without it their cost is not known and SpecError says so.
- adder: a 32-bit ripple-carry adder netlist (HA at bit 0, FA above) evaluated on the
  accumulator stream of the same products (running sums restarted every 64 products, as
  raw 32-bit patterns), plus the 32-bit accumulator register (archsim_core.fp_unit's
  register netlist) on the sums it stores, as the FP MAC counts its register; the DFF's D->Q
  delay closes the MAC path. The wrapper and BW-inverter blocks are gate counts at activity 0.5, the
  only estimated part; everything else comes from netlists.
Operand stream: the FP cost model's default stream (uniform U[-1, 1], archsim.cost.power) as
int8 codes rint(127 x), activation first.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from archsim.errors import SpecError

ACC_BITS = 32
DOT_LENGTH = 64


def int32_adder_netlist():
    """32-bit ripple-carry adder (HA at bit 0, FA above): 33 output bits."""
    from archsim_core.netlist import CONST0, NetlistBuilder

    nb = NetlistBuilder(ACC_BITS, ACC_BITS, "int32-ripple-adder")
    carry, out = CONST0, []
    for i in range(ACC_BITS):
        s, carry = nb.cell("HA" if i == 0 else "FA", nb.a(i), nb.b(i), carry, i)
        out.append(s)
    out.append(carry)
    return nb.build(out)


def int8_stream(n_ops: int | None = None, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(activation, weight) int8 codes of the FP cost model's default operand stream."""
    from archsim.cost.power import DEFAULT_N_OPS, DEFAULT_SEED, DEFAULT_STREAM, operand_stream

    x, y = operand_stream(DEFAULT_STREAM, n_ops or DEFAULT_N_OPS,
                          DEFAULT_SEED if seed is None else seed)
    q = lambda v: np.clip(np.rint(np.asarray(v, np.float64) * 127), -127, 127).astype(np.int8)  # noqa: E731
    return q(x), q(y)


def _negator_counts(bits: int) -> dict[str, int]:
    # conditional two's-complement negation: XOR2 per bit + half-adder incrementer (AND2+XOR2)
    return {"XOR2": 2 * bits, "AND2": bits - 1}


def _negator_path(bits: int) -> dict[str, int]:
    return {"XOR2": 2, "AND2": bits - 1}


ALPHA = 0.5   # switching activity assumed for the gate-count blocks (wrapper, BW inverters)


@dataclass(frozen=True)
class _Priced:
    name: str
    transistors: int
    area_um2: float
    delay_units: float
    energy_eu: float


def _netlist_block(name: str, netlist, lib, a, b) -> _Priced:
    """Library area, static timing and toggle energy of `netlist` on the stream (a, b)."""
    from archsim.cost.power import netlist_energy
    from archsim.cost.timing import analyse_timing, check_netlist, netlist_area

    check_netlist(netlist, lib)
    transistors, area = netlist_area(netlist, lib)
    energy = netlist_energy(netlist, np.asarray(a, np.uint64), np.asarray(b, np.uint64), lib)
    return _Priced(name, int(transistors), float(area),
                   float(analyse_timing(netlist, lib).delay_units), energy.per_op_eu)


def _gate_block(name: str, lib, counts: dict[str, int]) -> _Priced:
    """A block known only by its gate counts: activity ALPHA per output (an estimate)."""
    tr = area = energy = 0.0
    for gate, n in counts.items():
        cost = lib.cell(gate)
        tr += n * cost.transistors
        area += n * cost.area_um2
        energy += n * ALPHA * sum(e for _, e in cost.energy_per_toggle)
    return _Priced(name, int(tr), area, 0.0, energy)


@functools.lru_cache(maxsize=64)
def int8_pe_cost(name: str, library=None):
    """PECost (archsim.cost.pe.PECost) of the int8 PE of integer variant `name`."""
    from archsim.cost.library import resolve_library
    from archsim.cost.pe import PECost, leakage_pj, pj_per_eu
    from archsim_core.int8 import int_variant
    from archsim_core.structures import build, ripple_row

    lib = resolve_library(library)
    mult = int_variant(name)
    x, y = int8_stream()
    ux, uy = x.view(np.uint8).astype(np.uint64), y.view(np.uint8).astype(np.uint64)
    mx = np.abs(x.astype(np.int64)).astype(np.uint64)
    my = np.abs(y.astype(np.int64)).astype(np.uint64)
    path = lambda p: sum(n * lib.cell(g).max_delay for g, n in p.items())  # noqa: E731
    if name == "int8":
        blocks = [_netlist_block("array", build(ripple_row(8, 8), "int8-bw-array"), lib, ux, uy),
                  _gate_block("bw-inverters", lib, {"INV": 14})]
        delay = blocks[0].delay_units + lib.cell("INV").max_delay
    else:
        netlist = mult.netlist
        if netlist is None:
            netlist = _imported_netlist(mult)
        if mult.signed:
            blocks = [_netlist_block("array", netlist, lib, ux, uy)]
            delay = blocks[0].delay_units
        else:
            blocks = [_netlist_block("array", netlist, lib, mx, my),
                      _gate_block("input-negation", lib,
                                  {k: 2 * v for k, v in _negator_counts(8).items()}),
                      _gate_block("output-negation", lib, _negator_counts(16)),
                      _gate_block("sign", lib, {"XOR2": 1})]
            delay = path(_negator_path(8)) + blocks[0].delay_units + path(_negator_path(16))
    products = mult.multiply(x, y)
    acc = _running_sums(products)
    adder = _netlist_block("int32-adder", int32_adder_netlist(), lib,
                           (acc & 0xFFFFFFFF).astype(np.uint64),
                           (products & 0xFFFFFFFF).astype(np.uint64))
    from archsim_core.fp_unit import register_netlist
    stored = ((acc + products) & 0xFFFFFFFF).astype(np.uint64)
    reg = _netlist_block("register", register_netlist(ACC_BITS), lib, stored,
                         np.zeros_like(stored))
    scale, ns = pj_per_eu(lib), lib.ns_per_delay_unit
    register = lib.cell("DFF")
    reg_ns = register.pin_delays("Q")["D"]
    mac_ns = (delay + adder.delay_units + reg_ns) * ns
    mult_area = sum(b.area_um2 for b in blocks)
    mult_pj = sum(b.energy_eu for b in blocks) * scale + leakage_pj(mult_area, mac_ns, lib)
    add_pj = adder.energy_eu * scale + leakage_pj(adder.area_um2, mac_ns, lib)
    reg_pj = reg.energy_eu * scale + leakage_pj(reg.area_um2, mac_ns, lib)
    return PECost(
        variant=name, mult_energy_pj=mult_pj, add_energy_pj=add_pj + reg_pj,
        mult_delay_ns=delay * ns, add_delay_ns=adder.delay_units * ns, mac_delay_ns=mac_ns,
        mult_area_um2=mult_area, transistors=sum(b.transistors for b in blocks),
        adder_energy_pj=add_pj, register_energy_pj=reg_pj, adder_area_um2=adder.area_um2,
        register_area_um2=reg.area_um2,
        energy_source="int8 codes of the uniform U[-1, 1] stream (archsim.int8_mac)")


def _running_sums(products: np.ndarray) -> np.ndarray:
    """Accumulator value before each addition: running sums restarted every DOT_LENGTH products."""
    p = np.asarray(products, dtype=np.int64)
    n = len(p)
    pad = (-n) % DOT_LENGTH
    blocks = np.concatenate([p, np.zeros(pad, np.int64)]).reshape(-1, DOT_LENGTH)
    before = np.cumsum(blocks, axis=1) - blocks                       # exclusive prefix sums
    return before.ravel()[:n]


def _imported_netlist(mult):
    try:
        from archsim_core import verilog as _v  # noqa: F401  (issue #11's importer)
    except ImportError:
        raise SpecError(f"{mult.source}: pricing a Verilog multiplier needs issue #11's "
                        "Verilog importer (its netlist); its function is known, its cost is not"
                        ) from None
    from archsim_core import get_multiplier
    m = get_multiplier({"verilog": mult.source, "signed": mult.signed})
    netlist = getattr(m, "netlist", None)
    if netlist is None:
        raise SpecError(f"{mult.source}: the Verilog importer gave no netlist to price")
    return netlist
