"""Cost of an int8 PE: an 8x8 integer multiplier netlist plus an int32 accumulation adder
netlist and the accumulator register, priced with the FP MAC's own machinery (archsim.cost:
STA in unit gates, toggle energy on an operand stream, the same pJ calibration anchor), so int8
and FP32 PEs are in the same units. Every figure comes from a netlist; nothing is estimated.

Blocks:
- multiplier: the PE's multiplier netlist (archsim_core.int8.pe_netlist) evaluated on the raw
  int8 bit patterns of the operand stream; its function is the variant's product table
  (checked on the stream here, on all 65,536 pairs by tests/test_int8_netlists.py).
  * `int8` (exact signed): the 8x8 modified Baugh-Wooley array (archsim_core.intarray: the
    ripple-row array with NAND partial products for the mixed sign terms and the two constant
    corrections folded in).
  * signed Verilog circuits (`int8:PATH.v`): the imported circuit's netlist as it is.
  * unsigned circuits (`uint8-exact`, `uint8-da`, `uint8-lsb-CELL-k`, `uint8:PATH.v`): one
    netlist composing the sign-magnitude wrapper around the circuit (intarray.
    sign_magnitude_netlist): conditional negation of each operand (|-128| = 128 enters the
    circuit), the circuit's own gates, the sign XOR2 and the conditional negation of the
    product (17 bits for a 16-bit circuit); delay is that netlist's critical path.
- adder: a 32-bit ripple-carry adder netlist (HA at bit 0, FA above) evaluated on the
  accumulator stream of the same products (running sums restarted every 64 products, as
  raw 32-bit patterns), plus the 32-bit accumulator register (archsim_core.fp_unit's
  register netlist) on the sums it stores, as the FP MAC counts its register; the DFF's D->Q
  delay closes the MAC path.
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


@functools.lru_cache(maxsize=64)
def int8_pe_cost(name: str, library=None):
    """PECost (archsim.cost.pe.PECost) of the int8 PE of integer variant `name`."""
    from archsim.cost.library import resolve_library
    from archsim.cost.pe import PECost, leakage_pj, pj_per_eu
    from archsim_core.evaluate import evaluate
    from archsim_core.int8 import int_variant, pe_netlist
    from archsim_core.intarray import signed_values

    lib = resolve_library(library)
    mult = int_variant(name)
    netlist = pe_netlist(name)
    x, y = int8_stream()
    ux, uy = x.view(np.uint8).astype(np.uint64), y.view(np.uint8).astype(np.uint64)
    products = mult.multiply(x, y)
    got = signed_values(evaluate(netlist, ux, uy), netlist.n_outputs)
    if not np.array_equal(got, products):
        raise SpecError(f"variant {name}: the multiplier netlist {netlist.name!r} disagrees "
                        f"with its product table on {int(np.count_nonzero(got != products))} "
                        "operand pairs of the cost stream")
    mul = _netlist_block("multiplier", netlist, lib, ux, uy)
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
    mac_ns = (mul.delay_units + adder.delay_units + reg_ns) * ns
    mult_pj = mul.energy_eu * scale + leakage_pj(mul.area_um2, mac_ns, lib)
    add_pj = adder.energy_eu * scale + leakage_pj(adder.area_um2, mac_ns, lib)
    reg_pj = reg.energy_eu * scale + leakage_pj(reg.area_um2, mac_ns, lib)
    return PECost(
        variant=name, mult_energy_pj=mult_pj, add_energy_pj=add_pj + reg_pj,
        mult_delay_ns=mul.delay_units * ns, add_delay_ns=adder.delay_units * ns,
        mac_delay_ns=mac_ns, mult_area_um2=mul.area_um2, transistors=mul.transistors,
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
