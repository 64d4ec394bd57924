"""Integer multipliers and adders: imported Verilog circuits and archsim's own unsigned arrays.

A spec is one of

* ``{"verilog": PATH, "signed": BOOL}`` (optional ``"module"``, ``"op"`` = "mul" | "add",
  ``"name"``): operand A is the module's first input port, B the second, the result its output;
* ``"verilog:PATH"`` (unsigned), ``"intN:PATH"`` / ``"uintN:PATH"`` (two's-complement signed /
  unsigned, both ports must be N bits wide, e.g. ``int8:mul8s_1KV6.v``);
* ``{"format": "uintN", "structure": {...}}`` (optional ``"name"``): archsim's own N x N unsigned
  significand array (any `parse_structure` spec: exact, LSB-approximate, hierarchical...);
* a ``.yaml`` file holding one of these mappings (a relative ``verilog`` path is relative to it).

`IntMultiplier.multiply(a, b)` takes integer arrays (values in the operands' signed or unsigned
range) and returns int64 results, the output bits read as two's complement when signed.

Fast path: when 2^(n_a + n_b) <= 2^16, `table` is the exact result table, built once by
exhaustive bit-sliced evaluation of the netlist: int64 of shape (2^n_a, 2^n_b), indexed by the
operands' raw unsigned bit patterns (a & (2^n_a - 1), b & (2^n_b - 1)), holding the result
already interpreted (sign-extended when signed). `multiply` is then one table lookup. Larger
designs evaluate the netlist directly (and `table` is None).

`op` (what the exact reference is, for the error metrics) is "mul" or "add"; unless given it is
inferred from the output width: n_a + n_b bits -> "mul", max(n_a, n_b) + 1 or max(n_a, n_b) bits
-> "add".
"""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archsim_core import _intlut
from archsim_core.errors import SpecError
from archsim_core.netlist import Netlist

TABLE_MAX_PAIRS = 1 << 16
_PREFIX = re.compile(r"^(u?int)(\d+):(.+)$")
_KEYS = {"verilog", "signed", "module", "op", "name", "format", "structure"}
_FORMAT = re.compile(r"^(u?int)(\d+)$")


@dataclass(frozen=True)
class IntSpec:
    """A resolved integer circuit: Verilog source (path, module) or an archsim structure."""

    name: str
    signed: bool
    op: str | None = None
    verilog: str | None = None
    module: str | None = None
    structure: object = None
    width: int | None = None      # required operand width (intN/uintN prefix or format)


def is_int_spec(spec) -> bool:
    """True when `spec` describes an integer circuit (rather than an FP variant)."""
    if isinstance(spec, IntSpec):
        return True
    if isinstance(spec, str):
        if spec.endswith((".yaml", ".yml")):
            return is_int_spec(_yaml_body(Path(spec), quiet=True))
        return spec.startswith("verilog:") or bool(_PREFIX.match(spec))
    if isinstance(spec, Mapping):
        fmt = spec.get("format")
        return "verilog" in spec or (isinstance(fmt, str) and bool(_FORMAT.match(fmt)))
    return False


def _bool(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{what} must be true or false, got {value!r}")
    return value


def resolve_int_spec(spec) -> IntSpec:
    """An IntSpec from a string or mapping (see the module docstring); SpecError if malformed."""
    if isinstance(spec, IntSpec):
        return spec
    if isinstance(spec, str) and spec.endswith((".yaml", ".yml")):
        path = Path(spec)
        body = dict(_yaml_body(path))
        if isinstance(body.get("verilog"), str):     # relative to the spec file
            body["verilog"] = str(path.parent / body["verilog"])
        try:
            return resolve_int_spec({"name": path.stem, **body})
        except SpecError as exc:
            raise SpecError(f"{path}: {exc}") from None
    if isinstance(spec, str):
        if spec.startswith("verilog:"):
            path = spec[len("verilog:"):]
            return IntSpec(Path(path).stem, False, verilog=path)
        m = _PREFIX.match(spec)
        if not m:
            raise SpecError(f"not an integer circuit spec: {spec!r}")
        return IntSpec(Path(m.group(3)).stem, m.group(1) == "int", verilog=m.group(3),
                       width=int(m.group(2)))
    if not isinstance(spec, Mapping):
        raise SpecError(f"an integer circuit spec must be a string or mapping, got {spec!r}")
    unknown = set(spec) - _KEYS
    if unknown:
        raise SpecError(f"integer circuit spec: unknown keys {sorted(unknown)} (known: {sorted(_KEYS)})")
    op = spec.get("op")
    if op is not None and op not in ("mul", "add"):
        raise SpecError(f"integer circuit spec: op must be 'mul' or 'add', got {op!r}")
    if "verilog" in spec:
        if "structure" in spec:
            raise SpecError("integer circuit spec: give either 'verilog' or 'structure', not both")
        path = spec["verilog"]
        if not isinstance(path, (str, Path)):
            raise SpecError(f"integer circuit spec: verilog must be a file path, got {path!r}")
        module = spec.get("module")
        if module is not None and not isinstance(module, str):
            raise SpecError(f"integer circuit spec: module must be a name, got {module!r}")
        width, signed = None, _bool(spec.get("signed", False), "integer circuit spec: signed")
        if "format" in spec:
            width, fmt_signed = _format(spec["format"])
            if "signed" in spec and signed != fmt_signed:
                raise SpecError(f"integer circuit spec: signed={signed} contradicts format {spec['format']!r}")
            signed = fmt_signed
        return IntSpec(str(spec.get("name", Path(path).stem)), signed, op, str(path), module,
                       width=width)
    width, signed = _format(spec.get("format"))
    if signed:
        raise SpecError(f"integer circuit spec: archsim builds unsigned arrays only (format "
                        f"uint{width}); import a signed design from Verilog")
    if "structure" not in spec:
        raise SpecError("integer circuit spec: 'structure' (or 'verilog') is required")
    from archsim_core.structures import parse_structure

    structure = parse_structure(spec["structure"], width, width)
    return IntSpec(str(spec.get("name", f"uint{width}")), False, op or "mul", structure=structure,
                   width=width)


def _yaml_body(path: Path, quiet: bool = False):
    """The mapping in a spec YAML file (None when `quiet` and it cannot be read as one)."""
    from archsim_core.yamlio import load_file

    try:
        body = load_file(path, what="spec")
    except SpecError:
        if quiet:
            return None
        raise
    if not isinstance(body, Mapping):
        if quiet:
            return None
        raise SpecError(f"{path}: a spec must be a mapping")
    return body


def _format(fmt) -> tuple[int, bool]:
    m = _FORMAT.match(fmt) if isinstance(fmt, str) else None
    if not m or not 1 <= int(m.group(2)) <= 32:
        raise SpecError(f"integer format must be intN or uintN with N in 1..32, got {fmt!r}")
    return int(m.group(2)), m.group(1) == "int"


def _infer_op(n_a: int, n_b: int, n_out: int, name: str) -> str:
    if n_out == n_a + n_b:
        return "mul"
    if n_out in (max(n_a, n_b), max(n_a, n_b) + 1):
        return "add"
    raise SpecError(f"{name}: cannot tell a multiplier from an adder by widths {n_a}, {n_b} -> "
                    f"{n_out} bits; give 'op'")


class IntMultiplier:
    """An integer multiplier (or adder) over numpy arrays, from one netlist (module docstring)."""

    def __init__(self, spec: IntSpec, netlist: Netlist):
        self.spec, self.netlist = spec, netlist
        self.signed = spec.signed
        self.n_a, self.n_b, self.out_bits = netlist.n_a, netlist.n_b, netlist.n_outputs
        where = spec.verilog or spec.name
        if spec.width is not None and (self.n_a, self.n_b) != (spec.width, spec.width):
            raise SpecError(f"{where}: ports are {self.n_a} and {self.n_b} bits wide but the format "
                            f"needs {spec.width}-bit operands")
        if self.n_a > 32 or self.n_b > 32 or self.out_bits > 63:
            raise SpecError(f"{where}: operands of up to 32 bits and results of up to 63 are "
                            f"supported, got {self.n_a}x{self.n_b} -> {self.out_bits}")
        self.op = spec.op or _infer_op(self.n_a, self.n_b, self.out_bits, where)
        self._table = None

    @property
    def name(self) -> str:
        """The circuit's name."""
        return self.spec.name

    def __repr__(self) -> str:
        kind = "signed" if self.signed else "unsigned"
        return f"IntMultiplier({self.name!r}, {kind} {self.n_a}x{self.n_b} -> {self.out_bits}, op={self.op})"

    def operand_range(self, width: int) -> tuple[int, int]:
        """(lowest, highest) operand value of a `width`-bit port."""
        return (-(1 << (width - 1)), (1 << (width - 1)) - 1) if self.signed else (0, (1 << width) - 1)

    def interpret(self, raw) -> np.ndarray:
        """Raw output bit patterns (uint64) as int64 results (two's complement when signed)."""
        out = np.asarray(raw, dtype=np.uint64).astype(np.int64)
        if self.signed:
            top = np.int64(1 << (self.out_bits - 1))
            out = np.where(out & top, out - (top << np.int64(1)), out)
        return out

    def exact(self, a, b) -> np.ndarray:
        """The exact result (a * b or a + b) in int64 (not wrapped to the output width)."""
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        return a * b if self.op == "mul" else a + b

    def representable(self, exact) -> np.ndarray:
        """Mask of exact results that fit the output port (all of them unless the circuit is a
        non-extending adder, e.g. EvoApproxLib's 8-bit signed adders with an 8-bit output)."""
        lo, hi = self.operand_range(self.out_bits)
        exact = np.asarray(exact)
        return (exact >= lo) & (exact <= hi)

    @property
    def norm_bits(self) -> int:
        """EvoApproxLib's normalisation of MAE% and WCE%: errors are divided by 2^norm_bits, the
        output range (2^out_bits), except for its signed adders, which use 2^(out_bits - 1)."""
        return self.out_bits - 1 if (self.signed and self.op == "add") else self.out_bits

    @property
    def table(self) -> np.ndarray | None:
        """The exact result table (int64, shape (2^n_a, 2^n_b), indexed by raw unsigned bit
        patterns) when 2^(n_a+n_b) <= 2^16, else None. Built once by exhaustive evaluation."""
        if self._table is None and (1 << (self.n_a + self.n_b)) <= TABLE_MAX_PAIRS:
            ra = np.repeat(np.arange(1 << self.n_a, dtype=np.uint64), 1 << self.n_b)
            rb = np.tile(np.arange(1 << self.n_b, dtype=np.uint64), 1 << self.n_a)
            table = self.evaluate_raw(ra, rb).reshape(1 << self.n_a, 1 << self.n_b)
            table.setflags(write=False)
            self._table = table
            # the lookup reads a 32-bit copy when results fit: half the cache footprint
            fits = int(np.abs(table).max(initial=0)) < (1 << 31)
            self._flat_table = table.reshape(-1).astype(np.int32 if fits else np.int64)
        return self._table

    def evaluate_raw(self, a_raw, b_raw) -> np.ndarray:
        """Results (int64) of the netlist on raw operand bit patterns, bit-sliced (no table)."""
        from archsim_core.evaluate import evaluate

        return self.interpret(evaluate(self.netlist, np.asarray(a_raw, dtype=np.uint64),
                                       np.asarray(b_raw, dtype=np.uint64)))

    def _check(self, arr: np.ndarray, width: int, what: str) -> np.ndarray:
        if arr.dtype.kind not in "iu":
            raise ValueError(f"{what}: expected an integer array, got dtype {arr.dtype}")
        lo, hi = self.operand_range(width)
        if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
            raise ValueError(f"{what}: values outside the {width}-bit "
                             f"{'signed' if self.signed else 'unsigned'} range {lo}..{hi}")
        return arr

    def multiply(self, a, b) -> np.ndarray:
        """Elementwise result of the circuit on integer arrays (numpy broadcasting), int64.
        With a product table this is one compiled pass (range check + lookup) per element."""
        a, b = np.asarray(a), np.asarray(b)
        for what, arr in (("multiply a", a), ("multiply b", b)):
            if arr.dtype.kind not in "iu":
                raise ValueError(f"{what}: expected an integer array, got dtype {arr.dtype}")
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(f"multiply: shapes {a.shape} and {b.shape} do not broadcast") from None
        table = self.table
        if table is None:
            ra = self._check(a, self.n_a, "multiply a").astype(np.int64) & ((1 << self.n_a) - 1)
            rb = self._check(b, self.n_b, "multiply b").astype(np.int64) & ((1 << self.n_b) - 1)
            ra, rb = np.broadcast_arrays(ra, rb)
            return self.evaluate_raw(ra.reshape(-1), rb.reshape(-1)).reshape(shape)
        if a.dtype != b.dtype or a.dtype.itemsize > 8:
            a, b = a.astype(np.int64), b.astype(np.int64)
        if a.shape != shape or b.shape != shape:
            a, b = np.broadcast_to(a, shape), np.broadcast_to(b, shape)
        a, b = np.ascontiguousarray(a).reshape(-1), np.ascontiguousarray(b).reshape(-1)
        out = np.empty(a.size, np.int64)
        lo, hi_a = self.operand_range(self.n_a)
        hi_b = self.operand_range(self.n_b)[1]
        if _intlut.table_lookup(self._flat_table, a, b, out, self.n_b, lo, hi_a, hi_b):
            self._check(a, self.n_a, "multiply a")
            self._check(b, self.n_b, "multiply b")
            raise ValueError("multiply: operands outside the circuit's input range")
        return out.reshape(shape)

    add = multiply


def _netlist_of(spec: IntSpec) -> Netlist:
    if spec.verilog is not None:
        from archsim_core.verilog import import_verilog

        return import_verilog(spec.verilog, spec.module)   # cached by the file's content
    from archsim_core.variants import _netlist

    return _netlist(spec.structure, spec.name)


@functools.lru_cache(maxsize=256)
def _build(spec: IntSpec, netlist: Netlist) -> IntMultiplier:
    return IntMultiplier(spec, netlist)


def get_int_multiplier(spec) -> IntMultiplier:
    """The IntMultiplier of a spec (module docstring); one object (and table) per resolved spec
    and netlist, so an edited Verilog file is re-imported."""
    spec = resolve_int_spec(spec)
    return _build(spec, _netlist_of(spec))
