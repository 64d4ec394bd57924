"""Write archsim/data/cell_library_gscl45nm.yaml from figures of the OSU FreePDK45 standard-cell
library `gscl45nm` (the cells EvoApproxLib's `_pdk45.v` netlists instantiate).

    python tools/make_library_gscl45nm.py      # rewrites the YAML (deterministic)

Source of every figure below: the Liberty file gscl45nm.lib (typical corner, 1.1 V, 27 C) as
published in the public repository scale-lab/ic3.ie (file `gscl45nm.lib`). Transcribed per cell:
`area`; for one representative input pin per output, the first two rows (the two smallest loads
C1, C2) of the first column (input slew 0.06 ns) of `cell_rise` and `cell_fall`; and the first
entry of that pin's `internal_power` rise/fall tables.

Derivations (the same rule for every cell):
  delay (ns)  = mean over rise/fall of the linear extrapolation of the table's first two load
                points to C0 = 0.005 pF (about two gate inputs: the library's input pins are
                0.0015-0.006 pF), i.e. a fan-out of ~2 with no wire load;
  energy per output toggle (pJ) = mean of the rise/fall internal energy + 0.5 * C0 * Vdd^2;
  transistors: the static-CMOS textbook counts of the default library (the Liberty file has none;
                reported only).
The approximate adder cells (AMA*, AXA*, InXA*) are not in gscl45nm; the library format needs
them, so they are the default library's figures scaled by FAX1/FA (area, Sum delay, energy),
marked as such in the YAML. Do not use this library to compare AMA/InXA designs.
gscl45nm's MUX2X1 is inverting (Y = !(S ? A : B)); EvoApproxLib models it as S ? B : A, which the
importer follows (G_MUX2); its figures are used for G_MUX2 as they are.
"""
from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "archsim" / "data" / "cell_library_gscl45nm.yaml"
DEFAULT = REPO / "archsim" / "data" / "cell_library_default.yaml"
C0_PF, VDD = 0.005, 1.1

# cell: (area um2, {output: (pin, loads (C1, C2) pF, rise (d1, d2), fall (d1, d2),
#                             internal energy (rise, fall) pJ)})
IDX6, IDX4 = (0.1, 0.5), (0.02, 0.04)
LIB = {
    "AND2X1": (2.3465, {"Y": ("A", IDX6, (0.335241, 1.58383), (0.243067, 1.07437), (0.00245, 0.004151))}),
    "BUFX2": (2.3465, {"Y": ("A", IDX4, (0.063943, 0.094187), (0.061896, 0.083181), (0.003912, 0.005287))}),
    "DFFPOSX1": (7.9781, {"Q": ("CLK", IDX6, (0.218831, 0.829044), (0.200897, 0.602015), (0.008501, 0.008664))}),
    "FAX1": (8.9167, {"YS": ("B", IDX6, (0.381334, 1.62268), (0.288096, 1.10679), (0.0065015, 0.0095855)),
                      "YC": ("B", IDX6, (0.360796, 1.59777), (0.282487, 1.09854), (0.004777, 0.010466))}),
    "HAX1": (4.693, {"YS": ("B", IDX6, (0.3572, 1.59814), (0.258583, 1.07725), (0.004413, 0.005675)),
                     "YC": ("B", IDX6, (0.345539, 1.57864), (0.256117, 1.06862), (0.004682, 0.006203))}),
    "INVX1": (1.4079, {"Y": ("A", IDX6, (0.334383, 1.62606), (0.22935, 1.04769), (0.001568, 0.000109))}),
    "MUX2X1": (3.7544, {"Y": ("A", IDX6, (0.371168, 1.68699), (0.205438, 0.912204), (0.007929, 0.003742))}),
    "NAND2X1": (1.8772, {"Y": ("A", IDX6, (0.345107, 1.58525), (0.196856, 0.907847), (0.004097, 0.001065))}),
    "NAND3X1": (2.3465, {"Y": ("A", IDX6, (0.354578, 1.59308), (0.187007, 0.852209), (0.007708, 0.001245))}),
    "NOR2X1": (2.3465, {"Y": ("A", IDX6, (0.359749, 1.6657), (0.232749, 1.06814), (0.004561, 0.001871))}),
    "NOR3X1": (2.8158, {"Y": ("A", IDX6, (0.387203, 1.7453), (0.249178, 1.07507), (0.008248, 0.00611))}),
    "OAI21X1": (2.8158, {"Y": ("A", IDX6, (0.369203, 1.66213), (0.201265, 0.910726), (0.007, 0.002985))}),
    "OR2X1": (2.3465, {"Y": ("A", IDX6, (0.342477, 1.58329), (0.243741, 1.06165), (0.002389, 0.004788))}),
    "XNOR2X1": (4.693, {"Y": ("B", IDX6, (0.371926, 1.67325), (0.210513, 0.917739), (0.0088185, 0.00947))}),
    "XOR2X1": (4.693, {"Y": ("B", IDX6, (0.372179, 1.67491), (0.210108, 0.91696), (0.0088675, 0.00926))}),
}

# archsim gate cells (archsim_core.verilog.GATE_CELLS) -> gscl45nm cell, archsim input pins
GATE_CELLS = {"G_INV": ("INVX1", ("A",)), "G_BUF": ("BUFX2", ("A",)), "G_OR2": ("OR2X1", ("A", "B")),
              "G_XOR2": ("XOR2X1", ("A", "B")), "G_XNOR2": ("XNOR2X1", ("A", "B")),
              "G_NAND2": ("NAND2X1", ("A", "B")), "G_NOR2": ("NOR2X1", ("A", "B")),
              "G_MUX2": ("MUX2X1", ("A", "B", "Cin")), "G_NAND3": ("NAND3X1", ("A", "B", "Cin")),
              "G_NOR3": ("NOR3X1", ("A", "B", "Cin")), "G_OAI21": ("OAI21X1", ("A", "B", "Cin"))}
# the FP datapath gates every library must define -> gscl45nm cell, pins
GATES = {"AND2": ("AND2X1", ("A", "B"), "Y"), "OR2": ("OR2X1", ("A", "B"), "Y"),
         "INV": ("INVX1", ("A",), "Y"), "BUF": ("BUFX2", ("A",), "Y"),
         "XOR2": ("XOR2X1", ("A", "B"), "Y"), "MUX2": ("MUX2X1", ("A", "B", "S"), "Y"),
         "DFF": ("DFFPOSX1", ("D",), "Q")}


def _extrap(loads, vals) -> float:
    (c1, c2), (d1, d2) = loads, vals
    return d1 + (d2 - d1) / (c2 - c1) * (C0_PF - c1)


def delay_ns(cell: str, out: str) -> float:
    _, loads, rise, fall, _ = LIB[cell][1][out]
    return round((_extrap(loads, rise) + _extrap(loads, fall)) / 2, 4)


def energy_pj(cell: str, out: str) -> float:
    internal = sum(LIB[cell][1][out][4]) / 2
    return round(internal + 0.5 * C0_PF * VDD ** 2, 6)


def _src(cell: str, out: str) -> str:
    pin = LIB[cell][1][out][0]
    return f"gscl45nm {cell}: area {LIB[cell][0]}, {pin}->{out} delay/energy (derived, see tool)"


def main() -> None:
    default = yaml.safe_load(DEFAULT.read_text())
    cells: dict = {}
    cells["FA"] = {"transistors": default["cells"]["FA"]["transistors"], "area_um2": LIB["FAX1"][0],
                   "delay": {"Sum": {p: delay_ns("FAX1", "YS") for p in ("A", "B", "Cin")},
                             "Cout": {p: delay_ns("FAX1", "YC") for p in ("A", "B", "Cin")}},
                   "energy_per_toggle": {"Sum": energy_pj("FAX1", "YS"), "Cout": energy_pj("FAX1", "YC")}}
    cells["HA"] = {"transistors": default["cells"]["HA"]["transistors"], "area_um2": LIB["HAX1"][0],
                   "delay": {"Sum": {p: delay_ns("HAX1", "YS") for p in ("A", "B")},
                             "Cout": {p: delay_ns("HAX1", "YC") for p in ("A", "B")}},
                   "energy_per_toggle": {"Sum": energy_pj("HAX1", "YS"), "Cout": energy_pj("HAX1", "YC")}}
    fa = default["cells"]["FA"]
    s_area = LIB["FAX1"][0] / fa["area_um2"]
    s_delay = delay_ns("FAX1", "YS") / max(fa["delay"]["Sum"].values())
    s_energy = energy_pj("FAX1", "YS") / fa["energy_per_toggle"]["Sum"]
    comments = {}
    for name in ("AMA1", "AMA2", "AMA3", "AMA4", "AMA5", "AXA2", "AXA3", "InXA1", "InXA2", "InXA3"):
        d = default["cells"][name]
        cells[name] = {"transistors": d["transistors"], "area_um2": round(d["area_um2"] * s_area, 4),
                       "delay": {o: {p: round(v * s_delay, 4) for p, v in pins.items()}
                                 for o, pins in d["delay"].items()},
                       "energy_per_toggle": {o: round(v * s_energy, 6)
                                             for o, v in d["energy_per_toggle"].items()}}
        comments[name] = "NOT in gscl45nm: default-library figures scaled by FAX1/FA"
    for name, (cell, pins) in GATE_CELLS.items():
        d = default["cells"][name]
        cells[name] = {"truth_table": d["truth_table"], "transistors": d["transistors"],
                       "area_um2": LIB[cell][0],
                       "delay": {"Sum": {p: delay_ns(cell, "Y") for p in pins}, "Cout": {"A": 0}},
                       "energy_per_toggle": {"Sum": energy_pj(cell, "Y"), "Cout": 0}}
        comments[name] = _src(cell, "Y")
    gates = {}
    for name, (cell, pins, out) in GATES.items():
        gates[name] = {"transistors": default["gates"][name]["transistors"], "area_um2": LIB[cell][0],
                       "delay": {out: {p: delay_ns(cell, out) for p in pins}},
                       "energy_per_toggle": {out: energy_pj(cell, out)}}
        comments[name] = _src(cell, out)
    comments["FA"], comments["HA"] = _src("FAX1", "YS"), _src("HAX1", "YS")
    doc = {"name": "gscl45nm-freepdk45",
           "calibration": {"anchor_variant": "exact", "anchor_energy_pj": 3.7,
                           "ns_per_delay_unit": 1.0, "leakage_nw_per_um2": None},
           "cells": cells, "gates": gates}
    head = (__doc__.strip().replace("\n", "\n# ") + "\n#\n# Delays are in ns (ns_per_delay_unit: 1), "
            "energies in pJ per output toggle before the anchor calibration (the same\n# 3.7 pJ "
            "FP32 anchor as the default library, so pJ figures compare across libraries; Spearman,\n"
            "# R^2 and median APE after a global scale do not depend on it).\n#\n# Per entry:\n" +
            "".join(f"#   {k}: {v}\n" for k, v in sorted(comments.items())))
    OUT.write_text("# Generated by tools/make_library_gscl45nm.py; edit that script, not this file.\n# "
                   + head + "\n" + yaml.safe_dump(doc, sort_keys=True, default_flow_style=None, width=100))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
