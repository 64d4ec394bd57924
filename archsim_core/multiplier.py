"""The public multiplier API: a variant's FP multiplier applied to numpy arrays (SPEC-arith §5-6).

Boundary conventions (the only place numpy floats exist; everything inside is raw bits):

- Inputs must have a floating dtype (float16/32/64, or Python floats). They are converted to the
  variant's format with IEEE round-to-nearest-even (float64 inputs are therefore rounded once
  to fp32/bf16/fp16 first, as a hardware load-and-convert would); integer, bool, complex and
  object inputs are rejected.
- Outputs are float32 when the format fits in float32 (exp_bits <= 8: fp32, bf16, fp16), else
  float64; the conversion back is exact.
- ``da-reference`` elements outside the published code's domain (see `DomainError`) raise by
  default; ``on_domain_error="nan"`` returns NaN there, ``"mask"`` returns (result, mask).

Arithmetic conventions (archsim_core/_fp.pxd has the details):

- Subnormal operands reach the significand multiplier as their bare fraction (hidden bit 0),
  as in a single-multiplier datapath; the result is normalised on its true leading one.
- ``truncate`` is IEEE round-toward-zero, so overflow saturates at the largest finite value;
  ``rne`` overflows to inf. ``ftz`` flushes subnormal inputs and (rounded) results to signed zero.
- NaN results follow x86: a NaN operand propagates quietened (the first one if both are NaN);
  invalid operations (inf * 0, inf - inf) give the default NaN with the sign bit set.
- matmul/conv2d sum products in increasing k starting from the first product (not from +0, so
  an all-negative-zero sum stays -0), with the format's IEEE addition rounded to nearest even
  whatever the multiplier's rounding, then add the bias.
"""
from __future__ import annotations

import functools
import importlib
import os

import numpy as np

from archsim_core.errors import ArchsimCoreError as ArchsimError


def load_compiled(module: str):
    """Import a compiled archsim_core module (`_kernels`, `_intkernels`, ...) with
    OMP_WAIT_POLICY=passive unless the caller set it.

    The kernels run many short parallel regions. With libgomp's default (active) policy an
    idle worker spins for up to ~300k iterations after each region: on a shared or loaded
    machine that burns CPU other processes need and delays our own descheduled thread
    (measured on the 2-core dev box under load: 3x the CPU time and 6x the wall time of a
    4M-element multiply). libgomp reads the variable once, when it is loaded by this import;
    it is restored afterwards so libraries loaded later (torch's own OpenMP) are unaffected."""
    unset = "OMP_WAIT_POLICY" not in os.environ
    if unset:
        os.environ["OMP_WAIT_POLICY"] = "passive"
    try:
        return importlib.import_module(f"archsim_core.{module}")
    finally:
        if unset:
            del os.environ["OMP_WAIT_POLICY"]


_kernels = load_compiled("_kernels")

from archsim_core.formats import FP16, FP32  # noqa: E402
from archsim_core.variants import build_engine, build_netlist, resolve_variant  # noqa: E402
from archsim_core.structures import is_exact  # noqa: E402

_ROUNDING = {"rne": 0, "truncate": 1}
_SPECIALS = {"ieee": 0, "ftz": 1}
_SEMANTICS = {"hardware": 0, "da-reference": 1}
_DOMAIN_MODES = ("raise", "nan", "mask")
ORDERS = ("k-increasing", "pairwise")


class DomainError(ArchsimError, ValueError):
    """Some products fall outside the domain of the published DA reference code (inf/NaN
    operands, or a result exponent outside 1..emax-1 where the reference raises or returns
    garbage). `count` is the number of such products."""

    def __init__(self, count: int, total: int, name: str):
        self.count = count
        super().__init__(f"{name}: {count} of {total} products are outside the da-reference "
                         "domain (inf/NaN operand or result exponent outside the normal range); "
                         "pass on_domain_error='nan' or 'mask' to inspect them")


def _as_float_array(x, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind != "f" or arr.dtype.itemsize > 8:
        raise ValueError(f"{what}: expected a float16/float32/float64 array, got dtype {arr.dtype}")
    return arr


class Multiplier:
    """An FP multiplier of one variant: `multiply`, `matmul` and `conv2d` over numpy arrays.

    `spec` is the resolved VariantSpec; `engine` the significand SigMul (proven equal to
    `netlist` by tests/test_engines.py and tests/test_lsb_fast.py), by default
    `select_engine(spec)`; pass `engine=build_engine(spec)` to force the engine the low-table
    form replaces. Construct through `get_multiplier`."""

    def __init__(self, spec, engine=None):
        self.spec = spec
        self.fmt = spec.fmt
        engine = select_engine(spec) if engine is None else engine
        if engine.n_a != self.fmt.sig_bits or engine.n_b != self.fmt.sig_bits or engine.out_bits > 64:
            raise ArchsimError(f"{spec.name}: engine is {engine.n_a}x{engine.n_b} bits but format "
                               f"{self.fmt.name} needs {self.fmt.sig_bits}x{self.fmt.sig_bits}")
        self.engine = engine
        self._params = (self.fmt.exp_bits, self.fmt.man_bits, _ROUNDING[spec.rounding],
                        _SPECIALS[spec.specials], _SEMANTICS[spec.semantics])
        self._out_dtype = np.float32 if self.fmt.exp_bits <= 8 else np.float64
        self.bits_dtype = np.dtype(np.uint32 if self.fmt.width <= 32 else np.uint64)
        self._netlist = None
        self._unit_netlist = None

    @property
    def name(self) -> str:
        """The variant's name."""
        return self.spec.name

    @property
    def netlist(self):
        """The significand netlist this multiplier's engine was proven equal to."""
        if self._netlist is None:
            self._netlist = build_netlist(self.spec)
        return self._netlist

    @property
    def unit_netlist(self):
        """The whole FP multiplier as one netlist (archsim_core.fp_unit): inputs the two
        operand words (a = first operand), output the result word; bit-identical to
        `multiply_bits` (tests/test_fp_netlist.py). SpecError for `da-reference`, which is the
        published script's behaviour rather than a circuit."""
        if self._unit_netlist is None:
            from archsim_core.fp_unit import unit_netlist
            self._unit_netlist = unit_netlist(self.spec)
        return self._unit_netlist

    def __repr__(self) -> str:
        return f"Multiplier({self.name!r}, fmt={self.fmt.name})"

    # ---- boundary conversions -------------------------------------------------------------
    def to_bits(self, x) -> np.ndarray:
        """Encode floats in the format (RNE); returns bit patterns (`bits_dtype`: uint32, or
        uint64 for formats wider than 32 bits) of the same shape."""
        arr = _as_float_array(x, "to_bits")
        if self.fmt == FP32 and arr.dtype == np.float32:
            return np.ascontiguousarray(arr).view(np.uint32).reshape(arr.shape)
        if self.fmt == FP16 and arr.dtype == np.float16:
            return np.ascontiguousarray(arr).view(np.uint16).astype(np.uint32).reshape(arr.shape)
        flat = np.ascontiguousarray(arr, dtype=np.float64).reshape(-1)
        out = np.empty(flat.size, self.bits_dtype)
        _kernels.to_bits(self._params, flat, out)
        return out.reshape(arr.shape)

    def _decode(self, bits: np.ndarray) -> np.ndarray:
        """`from_bits` of a fresh array we own: FP32 is reinterpreted in place, not copied."""
        return bits.view(np.float32) if self.fmt == FP32 else self.from_bits(bits)

    def from_bits(self, bits) -> np.ndarray:
        """Decode bit patterns to float32 (float64 for formats wider than float32)."""
        bits = np.ascontiguousarray(bits, dtype=self.bits_dtype)
        if self.fmt == FP32:
            return bits.view(np.float32).reshape(bits.shape).copy()
        vals = np.empty(bits.size, np.float64)
        _kernels.to_double(self._params, bits.reshape(-1), vals)
        return vals.reshape(bits.shape).astype(self._out_dtype, copy=False)

    # ---- kernels --------------------------------------------------------------------------
    def multiply_bits(self, a_bits, b_bits):
        """Elementwise product of equal-shape encodings; returns (bits, out_of_domain mask)."""
        a = np.ascontiguousarray(a_bits, dtype=self.bits_dtype)
        b = np.ascontiguousarray(b_bits, dtype=self.bits_dtype)
        if a.shape != b.shape:
            raise ValueError(f"multiply_bits: shapes differ: {a.shape} vs {b.shape}")
        out, bad = self._multiply_bits(a, b)
        return out, (np.zeros(a.shape, bool) if bad is None else bad)

    def _multiply_bits(self, a, b):
        """Kernel call on contiguous equal-shape encodings; the mask is None for hardware
        semantics (no element can leave the domain)."""
        out = np.empty(a.shape, self.bits_dtype)
        flags = self._params[4] != 0
        bad = np.zeros(a.shape if flags else 0, np.uint8)
        _kernels.multiply_bits(self.engine, self._params, a.reshape(-1), b.reshape(-1),
                               out.reshape(-1), bad.reshape(-1))
        return out, (bad.view(bool) if flags else None)

    def add_bits(self, a_bits, b_bits):
        """The accumulator's addition (IEEE, round to nearest even in the format) of equal-shape
        encodings: what `matmul` uses between products."""
        a = np.ascontiguousarray(a_bits, dtype=self.bits_dtype)
        b = np.ascontiguousarray(b_bits, dtype=self.bits_dtype)
        if a.shape != b.shape:
            raise ValueError(f"add_bits: shapes differ: {a.shape} vs {b.shape}")
        out = np.empty(a.shape, self.bits_dtype)
        _kernels.add_bits(self._params, a.reshape(-1), b.reshape(-1), out.reshape(-1))
        return out

    def multiply(self, x, y, *, on_domain_error: str = "raise"):
        """Elementwise x * y with numpy broadcasting; x is the first (activation) operand."""
        _check_mode(on_domain_error)
        xa, ya = _as_float_array(x, "multiply x"), _as_float_array(y, "multiply y")
        try:
            shape = np.broadcast_shapes(xa.shape, ya.shape)
        except ValueError:
            raise ValueError(f"multiply: shapes {xa.shape} and {ya.shape} do not broadcast") from None
        xb = np.ascontiguousarray(np.broadcast_to(self.to_bits(xa), shape))
        yb = np.ascontiguousarray(np.broadcast_to(self.to_bits(ya), shape))
        bits, bad = self._multiply_bits(xb, yb)
        if bad is None:
            bad = np.zeros(shape, bool) if on_domain_error == "mask" else None
        count = 0 if bad is None else int(np.count_nonzero(bad))
        return self._finish(self._decode(bits), bad, count, bits.size, on_domain_error)

    def matmul(self, x, w, bias=None, *, order: str = "k-increasing",
               on_domain_error: str = "raise"):
        """X[M,K] @ W[K,N] (+ bias[N]): every product through this multiplier (X first), summed
        with the format's IEEE add (RNE), bias last. `order` "k-increasing" (default: an
        output-stationary PE) starts from the first product; "pairwise" is a fixed binary
        tree over adjacent k (an adder-tree PE)."""
        _check_mode(on_domain_error, order)
        xa, wa = _as_float_array(x, "matmul X"), _as_float_array(w, "matmul W")
        if xa.ndim != 2 or wa.ndim != 2:
            raise ValueError(f"matmul: X and W must be 2-D, got shapes {xa.shape} and {wa.shape}")
        if xa.shape[1] != wa.shape[0]:
            raise ValueError(f"matmul: inner dimensions differ: X is {xa.shape}, W is {wa.shape}")
        bias_bits = self._bias_bits(bias, wa.shape[1], "matmul")
        wt = np.ascontiguousarray(self.to_bits(wa).T)
        return self._matmul_bits(np.ascontiguousarray(self.to_bits(xa)), wt, bias_bits,
                                 order, on_domain_error)

    def conv2d(self, x, w, b=None, stride: int = 1, padding: int = 0, *,
               order: str = "k-increasing", on_domain_error: str = "raise"):
        """NCHW convolution (groups=1) as im2col + `matmul`; k = (c*R + r)*S + s. Padding is
        +0.0 and its products go through the multiplier like any other."""
        _check_mode(on_domain_error, order)
        xa, wa = _as_float_array(x, "conv2d x"), _as_float_array(w, "conv2d w")
        if xa.ndim != 4 or wa.ndim != 4:
            raise ValueError(f"conv2d: x must be [N,C,H,W] and w [F,C,R,S], got {xa.shape}, {wa.shape}")
        if xa.shape[1] != wa.shape[1]:
            raise ValueError(f"conv2d: x has {xa.shape[1]} channels but w expects {wa.shape[1]}")
        for label, v, low in (("stride", stride, 1), ("padding", padding, 0)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise ValueError(f"conv2d: {label} must be an integer >= {low}, got {v!r}")
        n, c, h, wd = xa.shape
        f, _, r, s = wa.shape
        oh, ow = (h + 2 * padding - r) // stride + 1, (wd + 2 * padding - s) // stride + 1
        if oh < 1 or ow < 1:
            raise ValueError(f"conv2d: {r}x{s} kernel does not fit input {h}x{wd} with padding {padding}")
        bias_bits = self._bias_bits(b, f, "conv2d")
        if order == "k-increasing" and self._params[4] == _SEMANTICS["da-reference"]:
            # blocked da-reference kernel without a materialised im2col, where it applies
            out, bad = np.empty((n, f, oh, ow), np.uint32), np.zeros((n, f, oh, ow), np.int32)
            has_bias = bias_bits is not None
            if _kernels.conv2d_daref_bits(self.engine, self._params,
                                          np.ascontiguousarray(self.to_bits(xa)),
                                          np.ascontiguousarray(self.to_bits(wa).reshape(f, c * r * s)),
                                          bias_bits if has_bias else np.zeros(1, np.uint32),
                                          has_bias, stride, padding, r, s, out, bad):
                return self._finish(self._decode(out), bad, int(np.count_nonzero(bad)),
                                    n * oh * ow * c * r * s * f, on_domain_error)
        if order == "k-increasing" and self.bits_dtype == np.uint32:
            # blocked closed-form kernel without a materialised im2col, where it applies
            out = np.empty((n, f, oh, ow), np.uint32)
            has_bias = bias_bits is not None
            if _kernels.conv2d_bits(self.engine, self._params, np.ascontiguousarray(self.to_bits(xa)),
                                    np.ascontiguousarray(self.to_bits(wa).reshape(f, c * r * s)),
                                    bias_bits if has_bias else np.zeros(1, np.uint32), has_bias,
                                    stride, padding, r, s, out):
                y = self._decode(out)
                return (y, np.zeros(y.shape, np.int32)) if on_domain_error == "mask" else y
        xp = np.pad(self.to_bits(xa), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        win = np.lib.stride_tricks.sliding_window_view(xp, (r, s), axis=(2, 3))
        cols = win[:, :, ::stride, ::stride][:, :, :oh, :ow].transpose(0, 2, 3, 1, 4, 5)
        cols = np.ascontiguousarray(cols).reshape(n * oh * ow, c * r * s)
        wt = np.ascontiguousarray(self.to_bits(wa).reshape(f, c * r * s))
        res = self._matmul_bits(cols, wt, bias_bits, order, on_domain_error)
        if on_domain_error == "mask":
            y, bad = res
            return (_nchw(y, n, oh, ow, f), _nchw(bad, n, oh, ow, f))
        return _nchw(res, n, oh, ow, f)

    # ---- helpers --------------------------------------------------------------------------
    def _bias_bits(self, bias, n: int, what: str):
        if bias is None:
            return None
        ba = _as_float_array(bias, f"{what} bias")
        if ba.shape != (n,):
            raise ValueError(f"{what}: bias must have shape ({n},), got {ba.shape}")
        return np.ascontiguousarray(self.to_bits(ba))

    def _matmul_bits(self, xb, wt, bias_bits, order, mode):
        out = np.empty((xb.shape[0], wt.shape[0]), self.bits_dtype)
        bad = np.zeros(out.shape, np.int32)
        has_bias = bias_bits is not None
        bias = bias_bits if has_bias else np.zeros(1, self.bits_dtype)
        _kernels.matmul_bits(self.engine, self._params, xb, wt, bias, has_bias, out, bad,
                             order == "pairwise")
        total = xb.shape[0] * xb.shape[1] * wt.shape[0]
        return self._finish(self._decode(out), bad, int(np.count_nonzero(bad)), total, mode)

    def _finish(self, result, bad, count, total, mode):
        if mode == "mask":
            return result, bad
        if count and mode == "raise":
            raise DomainError(count, total, self.name)
        return result


def _nchw(y, n, oh, ow, f):
    return np.ascontiguousarray(y.reshape(n, oh, ow, f).transpose(0, 3, 1, 2))


def _check_mode(mode, order="k-increasing"):
    if mode not in _DOMAIN_MODES:
        raise ValueError(f"on_domain_error must be one of {_DOMAIN_MODES}, got {mode!r}")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")


def select_engine(spec):
    """The significand engine `get_multiplier` uses (cached per variant): for a
    design that is not all-exact and whose netlist provably has the low-column table form
    P = a*b + D[a mod 2^k, b mod 2^k] with k <= 8 (archsim_core.lowtable.low_split: every
    cell in columns >= k adds exactly; e.g. every lsb-<CELL>-k with k <= 8), a
    LowTableSigMul, which the blocked FP32 GEMM runs as one product plus a table correction;
    otherwise `variants.build_engine` (exact multiply, AMA5 closed form, sub-multiplier
    table, bit-sliced netlist)."""
    return _select_engine(resolve_variant(spec))


@functools.lru_cache(maxsize=64)
def _select_engine(v):
    from archsim_core.lowtable import low_table_engine

    engine = None if is_exact(v.structure) else low_table_engine(build_netlist(v))
    return build_engine(v) if engine is None else engine


def get_multiplier(spec):
    """The multiplier of a variant given by name (e.g. "exact", "da", "lsb-AMA5-16"), spec
    mapping, or VariantSpec. Unknown names or malformed specs raise SpecError. Integer circuits
    ({"verilog": PATH, "signed": BOOL}, "int8:PATH.v", {"format": "uint8", ...}) give an
    `archsim_core.intmul.IntMultiplier` instead."""
    from archsim_core.intmul import get_int_multiplier, is_int_spec

    if is_int_spec(spec):
        return get_int_multiplier(spec)
    return Multiplier(resolve_variant(spec))
