"""Verilog import (through Yosys) into a `Netlist`, and structural Verilog export.

Import
------
Yosys (the Debian `yosys` binary, or `$ARCHSIM_YOSYS`) reads the file, resolves the hierarchy,
flattens it and turns every multi-bit `& | ^ ~` (and `?:`) into single-bit gates with
`simplemap`, which maps bit for bit: no optimisation or re-synthesis runs, so the gates of the
circuit are kept one to one (`assign` aliases and buffers-by-wire become shared nets, as in any
netlist). The JSON netlist Yosys writes is then mapped onto archsim's cells through `CELL_MAP`:

==========================  =============================  ======================================
Yosys / standard cell       archsim                         pins (archsim A, B, Cin <- cell pins)
==========================  =============================  ======================================
$_AND_, AND2X1, AND2X2      AND gate (`AndGate`)            A, B
$_OR_, OR2X1, OR2X2         G_OR2                           A, B
$_XOR_, XOR2X1              G_XOR2                          A, B
$_XNOR_, XNOR2X1            G_XNOR2                         A, B
$_NAND_, NAND2X1            G_NAND2                         A, B
$_NOR_, NOR2X1              G_NOR2                          A, B
$_ANDNOT_ / $_ORNOT_        G_ANDNOT2 / G_ORNOT2            A, B (A and/or not B)
$_NOT_, INVX1..INVX8        G_INV                           A
$_BUF_, BUFX2, BUFX4        G_BUF                           A
$_MUX_, MUX2X1              G_MUX2 (S ? B : A)              A, B, S
NAND3X1, NOR3X1             G_NAND3, G_NOR3                 A, B, C
AOI21X1 / OAI21X1           G_AOI21 / G_OAI21               A, B, C: ~((A&B)|C) / ~((A|B)&C)
FAX1                        FA                              A, B, C -> YS = Sum, YC = Cout
HAX1                        HA                              A, B -> YS = Sum, YC = Cout
==========================  =============================  ======================================

The X1/X2 names are the OSU FreePDK45 standard cells (`gscl45nm`) that EvoApproxLib's
`_pdk45.v` netlists instantiate; their functions are those of the `PDKGEN*` models EvoApproxLib
ships beside them (MUX2X1 is non-inverting there). An arithmetic `+` ($add) becomes a
ripple-carry chain of FA cells (bit 0's FA has Cin = 0, costed as a half adder); any other
operator Yosys cannot reduce to single-bit gates ($sub, $mul, $shl, ...) is refused. A gate is a one-bit archsim cell whose Sum is the gate's output
and whose Cout is constant 0 (unused). Operand A is the first input port, B the second; the
product (or sum) is the only output port, bit 0 first.

Parsed netlists are cached by the SHA-256 of the file's content (plus module name and importer
version) in `$ARCHSIM_CACHE_DIR/verilog` (default `~/.cache/archsim/verilog`) and in memory, so
importing a whole library runs Yosys once per circuit ever.

Errors (malformed Verilog, sequential logic, combinational loops, undriven or multiply-driven
nets, unknown cells, operand ports that do not fit) raise `VerilogError` with one line naming the
file and, where Yosys gives one, the line.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from archsim_core.errors import SpecError
from archsim_core.cells import CellType
from archsim_core.netlist import CONST0, CONST1, AndGate, CellInst, Netlist

IMPORTER_VERSION = 1
_ZERO8 = (0,) * 8


class VerilogError(SpecError):
    """A Verilog file cannot be imported (the message names the file, and the line if known)."""


def _table(fn) -> tuple[int, ...]:
    """8-entry truth table (A,B,Cin = 000..111) of a one-output function of (a, b, c)."""
    return tuple(int(fn((i >> 2) & 1, (i >> 1) & 1, i & 1)) & 1 for i in range(8))


GATE_CELLS: dict[str, CellType] = {name: CellType(name, _table(fn), _ZERO8) for name, fn in {
    "G_INV": lambda a, b, c: 1 - a,
    "G_BUF": lambda a, b, c: a,
    "G_OR2": lambda a, b, c: a | b,
    "G_XOR2": lambda a, b, c: a ^ b,
    "G_XNOR2": lambda a, b, c: 1 - (a ^ b),
    "G_NAND2": lambda a, b, c: 1 - (a & b),
    "G_NOR2": lambda a, b, c: 1 - (a | b),
    "G_ANDNOT2": lambda a, b, c: a & (1 - b),
    "G_ORNOT2": lambda a, b, c: a | (1 - b),
    "G_MUX2": lambda a, b, c: b if c else a,
    "G_NAND3": lambda a, b, c: 1 - (a & b & c),
    "G_NOR3": lambda a, b, c: 1 - (a | b | c),
    "G_AOI21": lambda a, b, c: 1 - ((a & b) | c),
    "G_OAI21": lambda a, b, c: 1 - ((a | b) & c),
}.items()}


@dataclass(frozen=True)
class CellMapping:
    """How one Yosys/standard cell type becomes an archsim gate or cell: `cell` ("AND" for an
    AndGate), the source pins feeding archsim's A, B, Cin in order, and the source output pins
    giving Sum and Cout (None: unused)."""

    cell: str
    inputs: tuple[str, ...]
    sum_pin: str
    cout_pin: str | None = None


def _gates(cell: str, inputs: tuple[str, ...], *types: str) -> dict[str, CellMapping]:
    return {t: CellMapping(cell, inputs, "Y") for t in types}


CELL_MAP: dict[str, CellMapping] = {
    **_gates("AND", ("A", "B"), "$_AND_", "AND2X1", "AND2X2"),
    **_gates("G_OR2", ("A", "B"), "$_OR_", "OR2X1", "OR2X2"),
    **_gates("G_XOR2", ("A", "B"), "$_XOR_", "XOR2X1"),
    **_gates("G_XNOR2", ("A", "B"), "$_XNOR_", "XNOR2X1"),
    **_gates("G_NAND2", ("A", "B"), "$_NAND_", "NAND2X1"),
    **_gates("G_NOR2", ("A", "B"), "$_NOR_", "NOR2X1"),
    **_gates("G_ANDNOT2", ("A", "B"), "$_ANDNOT_"),
    **_gates("G_ORNOT2", ("A", "B"), "$_ORNOT_"),
    **_gates("G_INV", ("A",), "$_NOT_", "INVX1", "INVX2", "INVX4", "INVX8"),
    **_gates("G_BUF", ("A",), "$_BUF_", "BUFX2", "BUFX4"),
    **_gates("G_MUX2", ("A", "B", "S"), "$_MUX_", "MUX2X1"),
    **_gates("G_NAND3", ("A", "B", "C"), "NAND3X1"),
    **_gates("G_NOR3", ("A", "B", "C"), "NOR3X1"),
    **_gates("G_AOI21", ("A", "B", "C"), "AOI21X1"),
    **_gates("G_OAI21", ("A", "B", "C"), "OAI21X1"),
    "FAX1": CellMapping("FA", ("A", "B", "C"), "YS", "YC"),
    "HAX1": CellMapping("HA", ("A", "B"), "YS", "YC"),
}

# Yosys cell types of flip-flops, latches and memories: their presence means sequential logic.
_SEQUENTIAL = re.compile(r"^\$(a?dffe?|sdffc?e?|aldffe?|dffsre?|a?dlatch(sr)?|sr|ff|mem\w*|fsm)$"
                         r"|^\$_(DFF|DFFE|SDFF|SDFFE|SDFFCE|ALDFF|ALDFFE|DLATCH|DLATCHSR|DFFSR|DFFSRE|SR|FF)_")


def _stub_verilog() -> str:
    """Blackbox declarations of the standard cells, read after the user's file (-nooverwrite: a
    file defining a module of the same name keeps its own definition, which is flattened)."""
    lines = []
    for name, m in sorted(CELL_MAP.items()):
        if name.startswith("$"):
            continue
        outs = [p for p in (m.sum_pin, m.cout_pin) if p]
        ports = ", ".join([f"input {p}" for p in m.inputs] + [f"output {p}" for p in outs])
        lines.append(f"(* blackbox *) module {name}({ports}); endmodule")
    return "\n".join(lines) + "\n"


def _yosys() -> str:
    exe = os.environ.get("ARCHSIM_YOSYS") or shutil.which("yosys")
    if not exe:
        raise VerilogError("yosys not found: install the Debian package `yosys` (or set "
                           "$ARCHSIM_YOSYS to its path)")
    return exe


def _error_line(path: Path, text: str) -> str:
    """One line from Yosys's output naming the file (and line) of the first error."""
    lines = [ln.strip() for ln in text.splitlines() if "ERROR" in ln]
    msg = lines[0] if lines else (text.strip().splitlines() or ["yosys failed"])[-1]
    m = re.search(r"(?:^|\s)(\S*?):(\d+): ERROR: (.*)$", msg)
    if m:
        return f"{path}:{m.group(2)}: {m.group(3).strip()}"
    msg = re.sub(r"^ERROR:\s*", "", msg)
    m = re.search(r"Parser error in line (\S*?):(\d+):\s*(.*)$", msg)
    if m:
        return f"{path}:{m.group(2)}: {m.group(3).strip()}"
    return f"{path}: {msg.replace(str(path), path.name)}"


def run_yosys(path: Path, module: str | None) -> dict:
    """Yosys's JSON netlist of `path` (flattened, single-bit gates), as a dict."""
    with tempfile.TemporaryDirectory(prefix="archsim-yosys-") as tmp:
        stub, out = Path(tmp) / "cells.v", Path(tmp) / "out.json"
        stub.write_text(_stub_verilog())
        top = f"-top {module}" if module else "-auto-top"
        script = (f"read_verilog -sv {_quote(path)}; read_verilog -lib -nooverwrite {_quote(stub)}; "
                  f"hierarchy -check {top}; proc; flatten; simplemap; write_json {_quote(out)}")
        proc = subprocess.run([_yosys(), "-q", "-p", script], capture_output=True, text=True,
                              cwd=tmp, check=False)
        if proc.returncode != 0 or not out.exists():
            raise VerilogError(_error_line(path, proc.stderr + proc.stdout))
        return json.loads(out.read_text())


def _quote(path: Path) -> str:
    text = str(path)
    if any(c in text for c in ' ";\t\n'):
        return '"' + text.replace('"', '\\"') + '"'
    return text


def _src(obj) -> str:
    """':LINE' of a Yosys object's src attribute ('' if absent)."""
    src = obj.get("attributes", {}).get("src", "")
    m = re.search(r":(\d+)\.\d+", src) or re.search(r":(\d+)", src)
    return f":{m.group(1)}" if m else ""


def _flag(value) -> bool:
    """A Yosys JSON attribute as a boolean (attributes are binary strings or integers)."""
    text = str(value)
    return int(text, 2) != 0 if set(text) <= {"0", "1"} else bool(int(text))


def _top(design: dict, path: Path) -> tuple[str, dict]:
    mods = {name: m for name, m in design["modules"].items()
            if not _flag(m.get("attributes", {}).get("blackbox", 0))}
    tops = [n for n, m in mods.items() if _flag(m.get("attributes", {}).get("top", 0))]
    if len(tops) != 1:
        raise VerilogError(f"{path}: cannot tell the top module ({len(tops)} candidates)")
    return tops[0], mods[tops[0]]


def _bit_names(mod: dict) -> dict:
    """A readable name for each net bit id (e.g. 'N[113]')."""
    names: dict = {}
    for name, net in sorted(mod.get("netnames", {}).items(), key=lambda kv: (kv[1].get("hide_name", 0), kv[0])):
        bits = net["bits"]
        for k, bit in enumerate(bits):
            if isinstance(bit, int):
                names.setdefault(bit, name if len(bits) == 1 else f"{name}[{k}]")
    return names


def _param(cell: dict, name: str) -> int:
    text = str(cell.get("parameters", {}).get(name, "0"))
    return int(text, 2) if set(text) <= {"0", "1"} else int(text)


def _elementary(cell: dict, cname: str, path: Path, line: str):
    """The archsim gates/cells of one Yosys cell: (kind, input bits for A, B, Cin, output bits
    for Sum, Cout with None for an unused Cout). `$add` becomes a ripple-carry adder of FA
    cells (FA with Cin = 0 is costed as a half adder), the textbook expansion of `+`."""
    ctype = cell["type"]
    if _SEQUENTIAL.match(ctype):
        raise VerilogError(f"{path}{line}: sequential logic ({ctype} {cname}) is not supported: "
                           "only combinational circuits import")
    conns = cell["connections"]
    if ctype == "$add":
        return _ripple_add(cell, cname, conns)
    mapping = CELL_MAP.get(ctype)
    if mapping is None:
        what = "unsupported operator" if ctype.startswith("$") else "unknown cell type"
        raise VerilogError(f"{path}{line}: {what} {ctype} (instance {cname}); known cells: "
                           + ", ".join(sorted(t for t in CELL_MAP if not t.startswith("$"))))
    outs = [mapping.sum_pin, mapping.cout_pin]
    for p in list(mapping.inputs) + [o for o in outs if o]:
        if len(conns.get(p, ())) != 1:
            raise VerilogError(f"{path}{line}: {ctype} {cname}: pin {p} must connect one bit")
    ins = [conns[p][0] for p in mapping.inputs]
    if mapping.cell == "AND":
        return [("AND", ins, [conns[mapping.sum_pin][0]])]
    return [(mapping.cell, ins, [conns[o][0] if o else None for o in outs])]


def _ripple_add(cell: dict, cname: str, conns: dict):
    width = _param(cell, "Y_WIDTH")

    def extend(pin):
        bits = list(conns[pin])
        fill = bits[-1] if _param(cell, f"{pin}_SIGNED") and bits else "0"
        return (bits + [fill] * width)[:width]

    a, b, y = extend("A"), extend("B"), list(conns["Y"])
    out, carry = [], "0"
    for k in range(width):
        cout = ("carry", cname, k) if k + 1 < width else None
        out.append(("FA", [a[k], b[k], carry], [y[k], cout]))
        carry = cout
    return out


def netlist_from_json(design: dict, path: Path) -> dict:
    """The compact description {n_a, n_b, gates, cells, outputs, ports, module} of the top module
    of a Yosys JSON design; VerilogError on anything that is not a combinational netlist."""
    module, mod = _top(design, path)
    ports = list(mod["ports"].items())
    ins = [(n, p["bits"]) for n, p in ports if p["direction"] == "input"]
    outs = [(n, p["bits"]) for n, p in ports if p["direction"] == "output"]
    if len(ins) != 2 or len(outs) != 1 or len(ports) != 3:
        raise VerilogError(f"{path}: module {module} must have exactly two input ports (operands) and "
                           f"one output port, found {len(ins)} inputs, {len(outs)} outputs, "
                           f"{len(ports) - len(ins) - len(outs)} other")
    (na_name, a_bits), (nb_name, b_bits) = ins
    names = _bit_names(mod)
    sig: dict = {"0": CONST0, "1": CONST1}
    for k, bit in enumerate(list(a_bits) + list(b_bits)):
        if not isinstance(bit, int) or bit in sig:
            raise VerilogError(f"{path}: input port bits must be distinct nets")
        sig[bit] = 2 + k
    next_sig = 2 + len(a_bits) + len(b_bits)
    gates, cells, where = [], [], {}
    for cname, cell in mod["cells"].items():
        line = _src(cell)
        for kind, ins_bits, out_bits in _elementary(cell, cname, path, line):
            new = []
            for bit in out_bits:
                if bit is None:     # a gate's unused Cout: a signal of its own
                    new.append(next_sig)
                    next_sig += 1
                    continue
                if not isinstance(bit, (int, tuple)) or bit in sig:
                    other = where.get(bit, "a constant" if isinstance(bit, str) else "an input port")
                    raise VerilogError(f"{path}{line}: net {names.get(bit, bit)} is multiply driven "
                                       f"({cell['type']} {cname} and {other})")
                sig[bit] = next_sig
                where[bit] = f"{cell['type']} {cname}"
                new.append(next_sig)
                next_sig += 1
            if kind == "AND":
                gates.append((ins_bits, new[0]))
            else:
                cells.append((kind, ins_bits, new, line))
    used = [b for g in gates for b in g[0]] + [b for c in cells for b in c[1]] + list(outs[0][1])

    def resolve(bit):
        if bit not in sig:
            raise VerilogError(f"{path}: net {names.get(bit, bit)} is used but never driven")
        return sig[bit]

    for bit in used:
        resolve(bit)
    return {"module": module, "ports": [na_name, nb_name, outs[0][0]],
            "n_a": len(a_bits), "n_b": len(b_bits),
            "gates": [[resolve(x) for x in ins] + [out] for ins, out in gates],
            "cells": [[c, *[resolve(x) for x in ins] + [CONST0] * (3 - len(ins)), *new]
                      for c, ins, new, _ in cells],
            "outputs": [resolve(b) for b in outs[0][1]]}


def netlist_from_compact(desc: dict, name: str, path: Path | str = "") -> Netlist:
    """Build (and validate) the Netlist of a compact description."""
    gates = [AndGate(a, b, out) for a, b, out in desc["gates"]]
    cells = [CellInst(c, a, b, cin, s, co, col=0) for c, a, b, cin, s, co in desc["cells"]]
    try:
        return Netlist(desc["n_a"], desc["n_b"], gates, cells, desc["outputs"], GATE_CELLS, name)
    except SpecError as exc:
        raise VerilogError(f"{path}: {exc}") from None


def cache_dir() -> Path:
    """Where parsed netlists are kept ($ARCHSIM_CACHE_DIR/verilog, else ~/.cache/archsim/verilog)."""
    root = os.environ.get("ARCHSIM_CACHE_DIR")
    base = Path(root) if root else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "archsim"
    return base / "verilog"


def _cache_key(data: bytes, module: str | None) -> str:
    h = hashlib.sha256(data)
    h.update(f"\0{module or ''}\0{IMPORTER_VERSION}".encode())
    return h.hexdigest()


def _load_compact(path: Path, module: str | None) -> dict:
    return _compact_cached(_file_key(path, module), str(path), module)


@functools.lru_cache(maxsize=4096)
def _compact_cached(key: str, path_text: str, module: str | None) -> dict:
    path = Path(path_text)
    entry = cache_dir() / f"{key}.json"
    try:
        return json.loads(entry.read_text())
    except (OSError, ValueError):
        pass
    desc = netlist_from_json(run_yosys(path, module), path)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=entry.parent, suffix=".tmp", delete=False) as f:
            json.dump(desc, f, separators=(",", ":"))
        os.replace(f.name, entry)
    except OSError:
        pass  # an unwritable cache only costs speed
    return desc


def import_verilog(path, module: str | None = None) -> Netlist:
    """The Netlist of a combinational gate-level Verilog module (see the module docstring).
    Operand A is the first input port, B the second; outputs are the output port's bits."""
    path = Path(path)
    return _netlist_cached(_file_key(path, module), str(path), module)


def _file_key(path: Path, module: str | None) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VerilogError(f"{path}: cannot read ({exc.strerror})") from None
    return _cache_key(data, module)


@functools.lru_cache(maxsize=1024)
def _netlist_cached(key: str, path_text: str, module: str | None) -> Netlist:
    desc = _compact_cached(key, path_text, module)
    return netlist_from_compact(desc, desc["module"], path_text)


def port_names(path, module: str | None = None) -> tuple[str, str, str]:
    """(operand A port, operand B port, output port) names of an imported module."""
    return tuple(_load_compact(Path(path), module)["ports"])


# ---- export -------------------------------------------------------------------------------------
_PINS = ("A", "B", "Cin")
_GATE_EXPR = {"G_INV": "~{A}", "G_BUF": "{A}", "G_OR2": "{A} | {B}", "G_XOR2": "{A} ^ {B}",
              "G_XNOR2": "~({A} ^ {B})", "G_NAND2": "~({A} & {B})", "G_NOR2": "~({A} | {B})",
              "G_ANDNOT2": "{A} & ~{B}", "G_ORNOT2": "{A} | ~{B}", "G_MUX2": "{Cin} ? {B} : {A}",
              "G_NAND3": "~({A} & {B} & {Cin})", "G_NOR3": "~({A} | {B} | {Cin})",
              "G_AOI21": "~(({A} & {B}) | {Cin})", "G_OAI21": "~(({A} | {B}) & {Cin})"}
_KNOWN_CELL_EXPR = {"FA": ("A ^ B ^ Cin", "(A & B) | (A & Cin) | (B & Cin)"),
                    "HA": ("A ^ B", "A & B")}


def _table_expr(table) -> str:
    """A Verilog expression over A, B, Cin of an 8-entry truth table (sum of minterms)."""
    if not any(table):
        return "1'b0"
    if all(table):
        return "1'b1"
    for k, pin in enumerate(_PINS):
        if tuple(table) == tuple((i >> (2 - k)) & 1 for i in range(8)):
            return pin
    terms = []
    for i, v in enumerate(table):
        if v:
            lits = [pin if (i >> (2 - k)) & 1 else f"~{pin}" for k, pin in enumerate(_PINS)]
            terms.append("(" + " & ".join(lits) + ")")
    return " | ".join(terms)


def _cell_module(name: str, ct: CellType) -> str:
    s, c = _KNOWN_CELL_EXPR.get(name) or (_table_expr(ct.sum_table), _table_expr(ct.cout_table))
    return (f"// archsim cell {name}: Sum table {list(ct.sum_table)}, Cout table "
            f"{list(ct.cout_table)} (index A,B,Cin = 000..111)\n"
            f"module archsim_{name}(input A, input B, input Cin, output Sum, output Cout);\n"
            f"  assign Sum = {s};\n  assign Cout = {c};\nendmodule\n")


def _signal_names(netlist: Netlist) -> list[str]:
    names = ["1'b0", "1'b1"] + [f"a[{k}]" for k in range(netlist.n_a)] + \
        [f"b[{k}]" for k in range(netlist.n_b)]
    return names + [f"n{s}" for s in range(netlist.n_inputs, netlist.n_signals)]


# Netlist.logic gates (archsim_core.netlist.GATE_PINS order) as Verilog expressions
_LOGIC_EXPR = {"AND2": "{0} & {1}", "OR2": "{0} | {1}", "XOR2": "{0} ^ {1}", "INV": "~{0}",
               "BUF": "{0}", "MUX2": "{2} ? {1} : {0}"}


def export_verilog(netlist: Netlist, module: str | None = None, comment: str = "") -> str:
    """Readable structural Verilog of a netlist: ports `a`, `b` (operands, bit 0 = LSB) and `y`;
    one `assign` per AND gate and imported gate, one instance per adder cell of a module
    `archsim_<CELL>` defined (from its truth tables) in the same file. The text is
    deterministic and re-imports (`import_verilog`) to a netlist computing the same function."""
    module = module or re.sub(r"\W", "_", netlist.name or "archsim_netlist")
    if not re.match(r"^[A-Za-z_]", module):
        module = "m_" + module
    names = _signal_names(netlist)
    used_cells = sorted({c.cell for c in netlist.cells if c.cell not in _GATE_EXPR})
    lines = [f"// Generated by archsim: {comment or netlist.name}",
             f"// {netlist.n_a}x{netlist.n_b} -> {netlist.n_outputs} bits; "
             f"{len(netlist.gates)} AND gates, {len(netlist.cells)} cells {netlist.cell_counts()}",
             f"module {module}(a, b, y);",
             f"  input [{netlist.n_a - 1}:0] a;", f"  input [{netlist.n_b - 1}:0] b;",
             f"  output [{netlist.n_outputs - 1}:0] y;"]
    internal = range(netlist.n_inputs, netlist.n_signals)
    for start in range(0, len(internal), 16):
        chunk = internal[start:start + 16]
        lines.append("  wire " + ", ".join(f"n{s}" for s in chunk) + ";")
    for kind, i in netlist.order:
        if kind == "and":
            g = netlist.gates[i]
            lines.append(f"  assign {names[g.out]} = {names[g.a]} & {names[g.b]};")
            continue
        if kind == "gate":                 # logic gates of whole-unit netlists (fp_unit)
            g = netlist.logic[i]
            if g.kind not in _LOGIC_EXPR:
                raise VerilogError(f"netlist {netlist.name!r}: gate {g.kind} is sequential; "
                                   "only combinational netlists export")
            ins = [names[s] for s in g.ins]
            lines.append(f"  assign {names[g.out]} = {_LOGIC_EXPR[g.kind].format(*ins)};")
            continue
        c = netlist.cells[i]
        pins = {"A": names[c.a], "B": names[c.b], "Cin": names[c.cin]}
        if c.cell in _GATE_EXPR:
            lines.append(f"  assign {names[c.sum]} = {_GATE_EXPR[c.cell].format(**pins)};")
            lines.append(f"  assign {names[c.cout]} = 1'b0;")
        else:
            where = f"  // col {c.col}, row {c.row}, {c.role}" if c.row >= 0 else ""
            lines.append(f"  archsim_{c.cell} u{i}(.A({pins['A']}), .B({pins['B']}), "
                         f".Cin({pins['Cin']}), .Sum({names[c.sum]}), .Cout({names[c.cout]}));{where}")
    for k, sig in enumerate(netlist.outputs):
        lines.append(f"  assign y[{k}] = {names[sig]};")
    lines.append("endmodule\n")
    cell_types = dict(netlist.cell_types)
    return "\n".join(lines) + "".join("\n" + _cell_module(n, cell_types[n]) for n in used_cells)
