"""`archsim cost` for integer circuits (archsim_core.intmul specs: `{verilog: PATH, signed:
BOOL}`, `verilog:PATH`, `int8:PATH.v`, `uint8:PATH.v`, spec .yaml files, archsim's own
`{format: uintN, structure: ...}` arrays).

Rows, in cost.csv's columns (archsim.cost.report.COLUMNS), per circuit:

* level `circuit`: the circuit's own netlist with the chosen cell library: area (sum of cell
  areas), transistors, critical-path delay (static timing) and energy per operation (toggles on
  uniform random raw operands, archsim.cost.validate.circuit_costs: the same figures
  `archsim validate-cost` puts beside the published ones);
* level `int8_mac`, for 8x8 multipliers only: the int8 PE a run config builds from the circuit
  (archsim.int8_mac.int8_pe_cost: the multiplier, signed natively or unsigned through the
  sign-magnitude wrapper, + int32 ripple adder + 32-bit accumulator register, priced on the int8
  codes of the uniform U[-1, 1] stream; delay is the chained MAC path).

The int8 PE names of run configs (`int8`, `uint8-exact`, `uint8-da`, `uint8-lsb-CELL-k`) are
accepted too: `int8_mac`, and `circuit` (the circuit's own netlist: the Baugh-Wooley array of
`int8`, the unsigned arrays without their sign-magnitude wrapper, which the `int8_mac` row
includes).

Every metric is also given relative to the baseline circuit at the same level (None where the
baseline has no row at that level, e.g. an 8x4 baseline at `int8_mac`).
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from archsim.cost.report import METRICS
from archsim.errors import SpecError

LEVELS = ("circuit", "int8_mac")


def _row(name, level, area, transistors, delay_units, ns, energy_pj) -> dict:
    return {"variant": name, "level": level, "area_um2": float(area),
            "transistors": int(transistors), "delay_units": float(delay_units),
            "delay_ns": float(delay_units) * ns, "energy_pj": float(energy_pj),
            "edp_pj_ns": float(energy_pj) * float(delay_units) * ns}


def pe_variant_name(mult) -> str | None:
    """The int8 PE variant (`int8:PATH` / `uint8:PATH`) of an 8x8 Verilog multiplier, else None."""
    spec = mult.spec
    if spec.verilog is None or (mult.n_a, mult.n_b) != (8, 8) or mult.op != "mul":
        return None
    return ("int8:" if spec.signed else "uint8:") + str(Path(spec.verilog))


def _int8_mac_row(name: str, pe_name: str, library, lib) -> tuple[dict, dict]:
    from archsim.cost.timing import netlist_area
    from archsim.int8_mac import int32_adder_netlist, int8_pe_cost
    from archsim_core.fp_unit import register_netlist

    pe = int8_pe_cost(pe_name, library)
    extra = netlist_area(int32_adder_netlist(), lib)[0] + netlist_area(register_netlist(32), lib)[0]
    ns = lib.ns_per_delay_unit
    row = _row(name, "int8_mac", pe.mult_area_um2 + pe.adder_area_um2 + pe.register_area_um2,
               pe.transistors + extra, pe.mac_delay_ns / ns, ns,
               pe.mult_energy_pj + pe.add_energy_pj)
    return row, asdict(pe)


def _entries(variants, baseline) -> dict:
    """{name: (IntMultiplier or None, int8 PE variant name or None, netlist or None)}."""
    from archsim_core.int8 import int_variant, is_int_variant
    from archsim_core.intmul import get_int_multiplier, is_int_spec

    out = {}
    for v in ([] if baseline is None else [baseline]) + list(variants):
        if is_int_spec(v):
            m = get_int_multiplier(v)
            out.setdefault(m.name, (m, pe_variant_name(m), m.netlist))
        elif is_int_variant(v):       # int8, uint8-exact, uint8-da, uint8-lsb-CELL-k
            m8 = int_variant(v)
            out.setdefault(m8.name, (None, v, m8.netlist))
    return out


def integer_compare(variants, baseline, library) -> dict:
    """cost.json's payload (mode "integer") for integer circuit specs; the baseline (None: the
    first variant) first, each circuit name once. `library`: None or a library YAML path."""
    from archsim.cost.library import resolve_library
    from archsim.cost.timing import analyse_timing, check_netlist
    from archsim.cost.validate import circuit_costs

    lib = resolve_library(library)
    mults = _entries(variants, baseline)
    rows, pes, circuits = [], {}, {}
    for name, (m, pe_name, netlist) in mults.items():
        info = {"int8_pe": pe_name}
        if netlist is not None:
            check_netlist(netlist, lib)
            timing = analyse_timing(netlist, lib)
            c = circuit_costs(netlist, lib)
            rows.append(_row(name, "circuit", c["area_um2"], c["transistors"],
                             timing.delay_units, lib.ns_per_delay_unit, c["energy_pj"]))
            info.update(gates=c["gates"], n_a=netlist.n_a, n_b=netlist.n_b,
                        out_bits=netlist.n_outputs, critical_path=timing.describe())
        if m is not None:
            info.update(verilog=m.spec.verilog, module=m.spec.module, signed=m.signed, op=m.op)
        if pe_name is not None:
            row, pes[name] = _int8_mac_row(name, pe_name, library, lib)
            rows.append(row)
        circuits[name] = info
    base_name = next(iter(mults))
    base = {r["level"]: r for r in rows if r["variant"] == base_name}
    for r in rows:
        b = base.get(r["level"])
        for metric in METRICS:
            r[f"{metric}_rel"] = None if b is None or not b[metric] else r[metric] / b[metric]
    return {"mode": "integer", "baseline": base_name, "rows": rows, "pe": pes,
            "circuits": circuits,
            "energy_streams": {"circuit": "uniform random raw operands (archsim.cost.validate."
                                          "circuit_costs: 4096 pairs, seed 0)",
                               "int8_mac": "int8 codes of the uniform U[-1, 1] stream "
                                           "(archsim.int8_mac)"}}


def split_kinds(variants, baseline) -> bool:
    """True when the variants (and an explicit baseline) are integer circuits, False when FP;
    SpecError (one line) when they mix."""
    from archsim_core.intmul import is_int_spec

    from archsim_core.int8 import is_int_variant

    given = list(variants) + ([] if baseline is None else [baseline])
    kinds = {is_int_spec(v) or is_int_variant(v) for v in given}
    if len(kinds) > 1:
        ints = [str(v) for v in given if is_int_spec(v) or is_int_variant(v)]
        raise SpecError(f"cost integer circuits and FP variants in separate runs (integer: "
                        f"{', '.join(ints)}); --baseline must be of the same kind")
    return kinds == {True}
