"""8x8 integer multipliers as exhaustive product tables, and int8 matmul/conv2d through them.

An `IntMultiplier8` is any 8x8 multiplier reduced to its 256 x 256 product table. `table[a, b]`
is the product the PE computes for int8 operands whose raw bit patterns (two's complement, read
as uint8) are a (first operand: the activation) and b (second operand: the weight).

* Signed circuits (exact int8, `int8:PATH.v`) are used natively: `table` is the circuit's own
  table over the raw patterns.
* Unsigned circuits (`uint8:PATH.v`, the netlist families `uint8-lsb-CELL-k`, `uint8-da`) go
  through the sign-magnitude wrapper: product = (-1)^(sa xor sb) * U(|a|, |b|), where U is the
  unsigned 8x8 circuit. |a| of every int8 value fits the unsigned 8-bit input, including
  |-128| = 128 (bit pattern 0x80), so no operand is clipped; a product U(...) = 0 gives 0
  whatever the signs. (The post-training quantizer never produces -128: its ranges are
  symmetric, -127..127.) `pe_netlist(name)` is this wrapper as a netlist around the circuit's
  (archsim_core.intarray.sign_magnitude_netlist), bit-identical to the table.

Sums are int32 and wrap modulo 2**32 exactly as numpy int32 arithmetic does; every output
element is summed in increasing k by one thread, so results never depend on the thread count.

Variant names (`int_variant(name)`):
  int8                 exact signed 8x8 (a * b): the Baugh-Wooley array (archsim_core.intarray)
  int8:PATH.v          a signed 8x8 Verilog multiplier (EvoApprox mul8s_*)
  uint8:PATH.v         an unsigned 8x8 Verilog multiplier (EvoApprox mul8u_*), sign-magnitude
  uint8-lsb-CELL-k     unsigned 8x8 ripple-row array whose k lowest columns use CELL (AMA1..5, ...)
  uint8-da             the Defensive Approximation 8x8 block (4x4 AMA5 leaves, exact recombination)
  uint8-exact          unsigned exact 8x8 array through the wrapper (equals int8 on -127..127)
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from archsim_core.errors import SpecError
from archsim_core.multiplier import load_compiled

_LSB = re.compile(r"^uint8-lsb-([A-Za-z_][A-Za-z0-9_]*)-(\d+)$")
INT8_PREFIXES = ("int8:", "uint8:")


_k = load_compiled("_intkernels")   # OpenMP wait policy as the FP kernels


def is_int_variant(spec) -> bool:
    """True for the integer variant names of this module (not for FP variants)."""
    return isinstance(spec, str) and (
        spec in ("int8", "uint8-exact", "uint8-da") or spec.startswith(INT8_PREFIXES)
        or _LSB.match(spec) is not None)


def as_int32_table(table, source: str) -> np.ndarray:
    """A (256, 256) product table as read-only C-contiguous int32 (int64 accepted if it fits)."""
    arr = np.asarray(table)
    if arr.shape != (256, 256):
        raise SpecError(f"{source}: product table has shape {arr.shape}; int8 operands need "
                        "an 8x8 multiplier (256 x 256 table)")
    if arr.dtype.kind not in "iu":
        raise SpecError(f"{source}: product table must be integer, got dtype {arr.dtype}")
    if arr.size and (int(arr.min()) < -2**31 or int(arr.max()) >= 2**31):
        raise SpecError(f"{source}: product table values do not fit int32")
    out = np.ascontiguousarray(arr, dtype=np.int32).copy()
    out.setflags(write=False)
    return out


def sign_magnitude_table(unsigned_table) -> np.ndarray:
    """The int8 table of an unsigned 8x8 circuit U through the sign-magnitude wrapper:
    T[a, b] = (-1)^(sa xor sb) * U[|a|, |b|] over raw patterns a, b (|-128| = 128)."""
    u = np.asarray(unsigned_table, dtype=np.int64)
    vals = np.arange(256, dtype=np.int64)
    signed = np.where(vals >= 128, vals - 256, vals)        # value of each raw pattern
    mag, neg = np.abs(signed), signed < 0
    prod = u[mag[:, None], mag[None, :]]
    return np.where(neg[:, None] ^ neg[None, :], -prod, prod)


def exact_signed_table() -> np.ndarray:
    """a * b over the raw int8 patterns (int32)."""
    v = np.arange(256, dtype=np.int64)
    v = np.where(v >= 128, v - 256, v)
    return (v[:, None] * v[None, :]).astype(np.int32)


@dataclass(frozen=True, eq=False)
class IntMultiplier8:
    """An 8x8 integer multiplier for int8 operands, as its exhaustive product table.

    `table`: int32 (256, 256) over raw int8 patterns (what the PE computes, wrapper included);
    `circuit_table`: the circuit's own table (unsigned circuits: over unsigned operands);
    `signed`: whether the circuit itself is signed; `netlist`: an archsim_core Netlist of the
    circuit when one is built here (`int8`: the Baugh-Wooley array; the unsigned arrays), else
    None (Verilog circuits: `circuit_netlist` imports it); `source`: a file, if any. The PE's
    whole multiplier netlist (wrapper included) is `pe_netlist(name)`."""

    name: str
    signed: bool
    table: np.ndarray
    circuit_table: np.ndarray
    netlist: object = None
    source: str | None = None
    _tt: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "table", as_int32_table(self.table, self.name))
        tt = np.ascontiguousarray(self.table.T)
        tt.setflags(write=False)
        object.__setattr__(self, "_tt", tt)

    @property
    def is_exact(self) -> bool:
        """Whether the PE's table equals a * b on every int8 pair."""
        return bool(np.array_equal(self.table, exact_signed_table()))

    def multiply(self, a, b) -> np.ndarray:
        """Elementwise products of int8 arrays (broadcasting) as int64."""
        a, b = _int8(a, "a"), _int8(b, "b")
        return self.table[a.view(np.uint8), b.view(np.uint8)].astype(np.int64)

    def matmul(self, x, w, bias=None) -> np.ndarray:
        """[M, K] int8 @ [K, N] int8 -> int32 [M, N]: sum_k table[x[m,k], w[k,n]] (+ bias[n])."""
        x, w = _int8(x, "x"), _int8(w, "w")
        if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[0]:
            raise SpecError(f"matmul: shapes {x.shape} and {w.shape} do not chain")
        out_t = self.matmul_t(np.ascontiguousarray(x.T), np.ascontiguousarray(w.T))
        out = np.ascontiguousarray(out_t.T)
        return out if bias is None else _add_bias(out, bias, axis=1)

    def matmul_t(self, x_t: np.ndarray, w_rows: np.ndarray) -> np.ndarray:
        """The kernel's native layout: x_t int8 [K, M], w_rows int8 [N, K] -> int32 [N, M]."""
        x_t = np.ascontiguousarray(x_t).view(np.uint8)
        w_rows = np.ascontiguousarray(w_rows).view(np.uint8)
        out = np.empty((w_rows.shape[0], x_t.shape[1]), dtype=np.int32)
        _k.matmul_table_t(x_t, w_rows, self._tt, out)
        return out

    def conv2d(self, x, w, bias=None, stride: int = 1, padding: int = 0) -> np.ndarray:
        """NCHW int8 x, FCRS int8 w -> int32 [N, F, OH, OW]; zero padding (int8 0)."""
        x, w = _int8(x, "x"), _int8(w, "w")
        if x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[1]:
            raise SpecError(f"conv2d: input {x.shape} and weight {w.shape} do not match")
        n = x.shape[0]
        f, c, r, s = w.shape
        cols, oh, ow = im2col_t(x, r, s, stride, padding)             # [C*R*S, N*OH*OW]
        out = self.matmul_t(cols, w.reshape(f, c * r * s))            # [F, N*OH*OW]
        out = np.ascontiguousarray(out.reshape(f, n, oh, ow).transpose(1, 0, 2, 3))
        return out if bias is None else _add_bias(out, bias, axis=1)


def im2col_t(x: np.ndarray, r: int, s: int, stride: int, padding: int):
    """Patches of x[N,C,H,W] K-major: [C*R*S, N*OH*OW], k = (c*R + r)*S + s, m = (n*OH + oh)*OW + ow."""
    n, c, h, w = x.shape
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (h + 2 * padding - r) // stride + 1
    ow = (w + 2 * padding - s) // stride + 1
    win = np.lib.stride_tricks.sliding_window_view(x, (r, s), axis=(2, 3))
    win = win[:, :, ::stride, ::stride][:, :, :oh, :ow]               # N, C, OH, OW, R, S
    cols = np.ascontiguousarray(win.transpose(1, 4, 5, 0, 2, 3))      # C, R, S, N, OH, OW
    return cols.reshape(c * r * s, n * oh * ow), oh, ow


def _int8(x, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype != np.int8:
        raise SpecError(f"{what}: integer kernels take int8 arrays, got dtype {arr.dtype}")
    return arr


def _add_bias(out: np.ndarray, bias, axis: int) -> np.ndarray:
    b = np.asarray(bias)
    if b.dtype != np.int32 or b.shape != (out.shape[axis],):
        raise SpecError(f"bias: expected int32 of shape ({out.shape[axis]},), got "
                        f"{b.dtype} {b.shape}")
    shape = [1] * out.ndim
    shape[axis] = -1
    return out + b.reshape(shape)      # int32 + int32 wraps like the hardware accumulator


# ---------------------------------------------------------------- named and file variants

def _unsigned_netlist_mult(name: str, structure) -> IntMultiplier8:
    from archsim_core.evaluate import evaluate
    from archsim_core.structures import build

    netlist = build(structure, name)
    grid = np.arange(65536, dtype=np.uint64)
    u = evaluate(netlist, grid >> np.uint64(8), grid & np.uint64(255)).astype(np.int64)
    u = u.reshape(256, 256)
    return IntMultiplier8(name, False, sign_magnitude_table(u), u, netlist)


@functools.lru_cache(maxsize=128)
def int_variant(name: str) -> IntMultiplier8:
    """The integer multiplier of a variant name (see the module docstring); SpecError if bad."""
    from archsim_core.structures import Assignment, hierarchical, ripple_row

    if not isinstance(name, str):
        raise SpecError(f"integer variant must be a name, got {type(name).__name__}")
    if name == "int8":
        from archsim_core.intarray import baugh_wooley_netlist

        t = exact_signed_table()
        return IntMultiplier8("int8", True, t, t, baugh_wooley_netlist(8))
    if name == "uint8-exact":
        return _unsigned_netlist_mult(name, ripple_row(8, 8))
    if name == "uint8-da":
        return _unsigned_netlist_mult(name, hierarchical(8, 8, 4, ripple_row(4, 4, Assignment("AMA5"))))
    m = _LSB.match(name)
    if m:
        from archsim_core.cells import get_cell
        get_cell(m.group(1))
        k = int(m.group(2))
        if not 1 <= k <= 16:
            raise SpecError(f"variant {name}: k must be in 1..16 (columns of an 8x8 product)")
        return _unsigned_netlist_mult(name, ripple_row(8, 8, Assignment("FA", m.group(1), k)))
    for prefix, signed in (("int8:", True), ("uint8:", False)):
        if name.startswith(prefix):
            path = name[len(prefix):]
            circuit = verilog_table(path, signed)
            table = circuit if signed else sign_magnitude_table(circuit)
            return IntMultiplier8(f"{prefix}{Path(path).stem}", signed, table, circuit, None,
                                  source=path)
    raise SpecError(f"unknown integer variant {name!r} (known: int8, int8:PATH.v, uint8:PATH.v, "
                    "uint8-exact, uint8-da, uint8-lsb-<CELL>-<k>)")


def circuit_netlist(mult: IntMultiplier8):
    """The netlist of the circuit itself (`mult.netlist`, or the Verilog file's, imported
    through Yosys by archsim_core.verilog); SpecError when there is none."""
    if mult.netlist is not None:
        return mult.netlist
    if mult.source is None:
        raise SpecError(f"variant {mult.name}: no netlist")
    from archsim_core.verilog import import_verilog

    netlist = import_verilog(mult.source)
    if (netlist.n_a, netlist.n_b) != (8, 8):
        raise SpecError(f"{mult.source}: multiplier is {netlist.n_a}x{netlist.n_b} bits; int8 "
                        "operands need 8x8")
    return netlist


def pe_netlist(name: str):
    """The netlist of the int8 PE's multiplier of variant `name`, inputs the raw int8 patterns
    (a = activation, b = weight), output the product in two's complement: the circuit itself
    when it is signed (`int8`: the Baugh-Wooley array, archsim_core.intarray), else the
    sign-magnitude wrapper composed around the unsigned circuit (intarray.sign_magnitude_netlist).
    Its function is `int_variant(name).table` (tests/test_int8_netlists.py, all 65,536 pairs)."""
    from archsim_core.intarray import sign_magnitude_netlist

    mult = int_variant(name)
    core = circuit_netlist(mult)
    return core if mult.signed else sign_magnitude_netlist(core, f"sm({mult.name})")


def verilog_table(path: str, signed: bool) -> np.ndarray:
    """The exhaustive (256, 256) int64 table of an 8x8 Verilog multiplier, indexed by raw
    operand patterns. Adapter: issue #11's importer (`get_multiplier({"verilog": PATH,
    "signed": BOOL}).table`) when it is installed, else an exhaustive Icarus Verilog
    simulation of the module (all 65536 operand pairs)."""
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"{path}: Verilog multiplier not found")
    try:
        from archsim_core import verilog as _v  # noqa: F401  (issue #11's importer)
        has_importer = True
    except ImportError:
        has_importer = False
    if has_importer:
        from archsim_core import get_multiplier
        m = get_multiplier({"verilog": str(p), "signed": signed})
        widths = (getattr(m, "n_a", None), getattr(m, "n_b", None))
        if widths != (8, 8):
            raise SpecError(f"{path}: multiplier is {widths[0]}x{widths[1]} bits; int8 operands "
                            "need 8x8")
        table = np.asarray(m.table)
        if table.shape != (256, 256):
            raise SpecError(f"{path}: the importer gave a product table of shape {table.shape}, "
                            "not 256 x 256")
        return table.astype(np.int64)
    return _icarus_table(p, signed)


_PORT = re.compile(r"\b(input|output)\s+(?:wire\s+)?(?:signed\s+)?(?:\[\s*(\d+)\s*:\s*(\d+)\s*\])?"
                   r"\s*([A-Za-z_][A-Za-z0-9_]*)")


def _ports(text: str, path: Path) -> tuple[str, dict[str, tuple[str, int]]]:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    mod = re.search(r"\bmodule\s+([A-Za-z_][A-Za-z0-9_]*)", text)
    if not mod:
        raise SpecError(f"{path}: no module found")
    body = text[mod.end():text.find("endmodule", mod.end())]
    ports = {}
    for kind, hi, lo, name in _PORT.findall(body):
        ports[name] = (kind, abs(int(hi) - int(lo)) + 1 if hi else 1)
    return mod.group(1), ports


@functools.lru_cache(maxsize=256)
def _icarus_cached(path: str, mtime: float, signed: bool) -> np.ndarray:
    import shutil
    import subprocess
    import tempfile

    p = Path(path)
    module, ports = _ports(p.read_text(encoding="utf-8", errors="replace"), p)
    ins = [n for n, (k, _) in ports.items() if k == "input"]
    outs = [n for n, (k, _) in ports.items() if k == "output"]
    if len(ins) != 2 or len(outs) != 1:
        raise SpecError(f"{path}: module {module}: expected 2 inputs and 1 output, got "
                        f"inputs {ins} and outputs {outs}")
    for n in ins:
        if ports[n][1] != 8:
            raise SpecError(f"{path}: input {n} is {ports[n][1]} bits; int8 operands need an "
                            "8x8 multiplier")
    width = ports[outs[0]][1]
    if not 2 <= width <= 32:
        raise SpecError(f"{path}: output {outs[0]} is {width} bits (expected 2..32)")
    if shutil.which("iverilog") is None:
        raise SpecError(f"{path}: reading Verilog needs issue #11's importer or Icarus Verilog "
                        "(iverilog) on PATH")
    a, b = ins
    tb = (f"module tb; reg [7:0] a, b; wire [{width - 1}:0] o; integer i;\n"
          f"{module} dut(.{a}(a), .{b}(b), .{outs[0]}(o));\n"
          "initial begin for (i = 0; i < 65536; i = i + 1) begin a = i[15:8]; b = i[7:0]; #1; "
          "$display(\"%0d\", o); end $finish; end endmodule\n")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "tb.v").write_text(tb)
        run = subprocess.run(["iverilog", "-o", f"{tmp}/sim", str(p), f"{tmp}/tb.v"],
                             capture_output=True, text=True)
        if run.returncode:
            first = (run.stderr.strip().splitlines() or ["?"])[0]
            raise SpecError(f"{path}: iverilog could not compile it: {first}")
        run = subprocess.run(["vvp", "-n", f"{tmp}/sim"], capture_output=True, text=True)
    values = [line for line in run.stdout.split() if line.isdigit()]
    if run.returncode or len(values) != 65536:
        raise SpecError(f"{path}: simulation gave {len(values)} of 65536 products")
    raw = np.array(values, dtype=np.int64).reshape(256, 256)
    if signed:
        raw = np.where(raw >= 1 << (width - 1), raw - (1 << width), raw)
    return raw


def _icarus_table(p: Path, signed: bool) -> np.ndarray:
    return _icarus_cached(str(p.resolve()), p.stat().st_mtime, signed).copy()
