"""Error metrics of an FP multiplier on a named operand distribution (SPEC-arith §7).

The reference ("exact") value of a pair is the real product of the two operands as the
multiplier sees them (each rounded to the variant's format), computed in float64: two
significands of at most 24 bits multiply exactly in float64's 53. The approximate value is the
variant's FP result. With error e = approx - exact over the N pairs:

* ER    fraction of pairs with e != 0
* MED   mean |e|;  WCE  max |e|;  bias  mean e;  RMSE  sqrt(mean e^2)
* MRED  mean |e| / |exact| over pairs with exact != 0
* NMED  MED / max |exact| (the sample's largest exact magnitude, the FP analogue of the
        integer literature's normalisation by the largest product)
* P(|approx| > |exact|)  fraction of pairs whose approximate magnitude is larger.

`da-reference` pairs outside the published code's domain are counted (`n_out_of_domain`) and
left out of every metric; they are never silently turned into numbers.

Distributions (float32 operands, both drawn independently):
* `uniform`   U[-1, 1];
* `small`     random sign, magnitude log-uniform in [1e-3, 1]: the value range of CNN weights
              and normalised activations. We could not retrieve the paper's exact wording for
              its "small numbers" experiment, so this range is our stated choice; the
              magnitude statistic depends on the significands, and the exponent range only has
              to keep products normal;
* `gaussian`  N(0, 1);
* `pairs:FILE.npz`  operand pairs from a real layer: arrays `x` (first operand, activations)
              and `y` (second operand, weights) of equal size.
"""
from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from archsim_core.errors import DataError, SpecError


class Distribution(enum.Enum):
    """Named operand distributions."""

    UNIFORM = "uniform"
    SMALL = "small"
    GAUSSIAN = "gaussian"
    PAIRS = "pairs"


@dataclass(frozen=True)
class ErrorMetrics:
    """Error statistics of one variant on one operand sample (see the module docstring)."""

    n: int
    n_out_of_domain: int
    er: float
    med: float
    mred: float
    nmed: float
    wce: float
    bias: float
    rmse: float
    p_higher: float

    def as_dict(self) -> dict:
        """Plain-dict form (for CSV/JSON)."""
        return asdict(self)


def parse_distribution(text: str) -> tuple[Distribution, Path | None]:
    """('uniform' | 'small' | 'gaussian' | 'pairs:FILE.npz') -> (Distribution, path or None)."""
    if text.startswith("pairs:"):
        path = Path(text[len("pairs:"):])
        if not path.name:
            raise SpecError("distribution 'pairs:' needs a file: pairs:FILE.npz")
        return Distribution.PAIRS, path
    try:
        dist = Distribution(text)
    except ValueError:
        raise SpecError(f"unknown distribution {text!r} (known: uniform, small, gaussian, "
                        "pairs:FILE.npz)") from None
    if dist is Distribution.PAIRS:
        raise SpecError("distribution 'pairs' needs a file: pairs:FILE.npz")
    return dist, None


def sample_operands(dist: Distribution, n: int, seed: int, path: Path | None = None):
    """(x, y) float32 operand arrays of the distribution (deterministic in `seed`)."""
    if dist is Distribution.PAIRS:
        return load_pairs(path)
    if not isinstance(n, int) or n < 1:
        raise SpecError(f"number of samples must be a positive integer, got {n!r}")
    rng = np.random.default_rng(seed)
    if dist is Distribution.UNIFORM:
        x, y = rng.uniform(-1.0, 1.0, (2, n))
    elif dist is Distribution.GAUSSIAN:
        x, y = rng.standard_normal((2, n))
    else:
        x, y = rng.choice([-1.0, 1.0], (2, n)) * 10.0 ** rng.uniform(-3.0, 0.0, (2, n))
    return x.astype(np.float32), y.astype(np.float32)


def load_pairs(path: Path):
    """Operand pairs from an .npz file with float arrays `x` and `y` of equal size."""
    from archsim_core.npzio import read_npz

    data = read_npz(path, "operand pairs")
    missing = {"x", "y"} - set(data)
    if missing:
        raise DataError(f"{path}: missing arrays {sorted(missing)} (need x and y)")
    x, y = data["x"], data["y"]
    for name, arr in (("x", x), ("y", y)):
        if arr.dtype.kind != "f" or arr.size == 0:
            raise DataError(f"{path}: array {name} must be a non-empty float array, got {arr.dtype} "
                            f"with {arr.size} elements")
    if x.size != y.size:
        raise DataError(f"{path}: x and y differ in size ({x.size} vs {y.size})")
    return x.reshape(-1).astype(np.float32), y.reshape(-1).astype(np.float32)


def error_metrics(approx, exact) -> ErrorMetrics:
    """Metrics of approximate vs exact values; NaN in `approx` marks an out-of-domain pair."""
    approx = np.asarray(approx, dtype=np.float64).reshape(-1)
    exact = np.asarray(exact, dtype=np.float64).reshape(-1)
    if approx.shape != exact.shape:
        raise ValueError(f"approx and exact differ in size: {approx.size} vs {exact.size}")
    ok = ~np.isnan(approx) & np.isfinite(exact)
    a, e = approx[ok], exact[ok]
    if a.size == 0:
        raise ValueError("no pair inside the multiplier's domain: metrics are undefined")
    err = a - e
    abs_err = np.abs(err)
    nonzero = e != 0
    peak = float(np.max(np.abs(e)))
    return ErrorMetrics(
        n=int(a.size), n_out_of_domain=int((~ok).sum()),
        er=float(np.mean(err != 0)), med=float(np.mean(abs_err)),
        mred=float(np.mean(abs_err[nonzero] / np.abs(e[nonzero]))) if nonzero.any() else float("nan"),
        nmed=float(np.mean(abs_err) / peak) if peak else float("nan"),
        wce=float(np.max(abs_err)), bias=float(np.mean(err)), rmse=float(np.sqrt(np.mean(err * err))),
        p_higher=float(np.mean(np.abs(a) > np.abs(e))))


def characterize(variant, x, y) -> ErrorMetrics:
    """Metrics of a variant's FP multiply on operands x (first) and y (second)."""
    from archsim_core import get_multiplier

    m = get_multiplier(variant)
    xq, yq = m.from_bits(m.to_bits(x)), m.from_bits(m.to_bits(y))  # operands as the format holds them
    exact = xq.astype(np.float64) * yq.astype(np.float64)
    approx = m.multiply(xq, yq, on_domain_error="nan")
    if m.spec.semantics != "da-reference" and (np.isnan(approx) & np.isfinite(exact)).any():
        raise ValueError(f"{m.name}: NaN products from finite operand products")  # a bug, not data
    return error_metrics(approx, exact)


# ---- integer circuits: EvoApproxLib's metric definitions --------------------------------------
EXHAUSTIVE_MAX_PAIRS = 1 << 24
INT_SAMPLE_PAIRS = 1 << 20


@dataclass(frozen=True)
class IntErrorMetrics:
    """EvoApproxLib's error metrics of an integer circuit, with d = approx - exact over the
    input pairs and 2^norm the library's normalisation (the output range 2^out_bits; for its
    signed adders 2^(out_bits - 1)):

    * mae_pct   100 * mean|d| / 2^norm              * wce_pct  100 * max|d| / 2^norm
    * ep_pct    100 * fraction of pairs with d != 0  * mse      mean d^2
    * mre_pct   100 * mean |d| / |exact|   and   wcre_pct  100 * max |d| / |exact|, both over the
                pairs whose exact result is not 0

    `exhaustive` tells whether every input pair was evaluated; otherwise `n` uniformly drawn
    pairs were, the `*_se` fields are standard errors of the sampled means, and the two
    worst-case figures are lower bounds (the largest error seen in the sample)."""

    n: int
    exhaustive: bool
    mae: float
    wce: float
    mae_pct: float
    wce_pct: float
    wcre_pct: float
    ep_pct: float
    mre_pct: float
    mse: float
    mae_pct_se: float
    ep_pct_se: float
    mre_pct_se: float
    mse_se: float

    def as_dict(self) -> dict:
        """Plain dict (field order) for CSV/JSON rows."""
        return asdict(self)


def int_error_metrics(approx, exact, norm_bits: int, exhaustive: bool) -> IntErrorMetrics:
    """IntErrorMetrics of integer results against exact ones (equal-shape int arrays); MAE% and
    WCE% are normalised by 2^norm_bits (`IntMultiplier.norm_bits`)."""
    d = np.abs(np.asarray(approx, dtype=np.int64) - np.asarray(exact, dtype=np.int64)).astype(np.float64)
    if d.size == 0:
        raise SpecError("error metrics need at least one input pair")
    ex = np.abs(np.asarray(exact, dtype=np.float64))
    rel = d[ex != 0] / ex[ex != 0]
    if rel.size == 0:
        rel = np.zeros(1)
    scale = 100.0 / float(1 << norm_bits)
    n = d.size

    def se(x) -> float:
        return 0.0 if exhaustive or n < 2 else float(np.std(x, ddof=1) / np.sqrt(n))

    wrong = (d != 0).astype(np.float64)
    return IntErrorMetrics(
        n=int(n), exhaustive=bool(exhaustive), mae=float(d.mean()), wce=float(d.max()),
        mae_pct=float(d.mean()) * scale, wce_pct=float(d.max()) * scale,
        wcre_pct=100.0 * float(rel.max()), ep_pct=100.0 * float(wrong.mean()),
        mre_pct=100.0 * float(rel.mean()), mse=float(np.mean(d * d)),
        mae_pct_se=se(d) * scale, ep_pct_se=100.0 * se(wrong), mre_pct_se=100.0 * se(rel),
        mse_se=se(d * d))


def characterize_int(mult, max_exhaustive: int = EXHAUSTIVE_MAX_PAIRS,
                     n_samples: int = INT_SAMPLE_PAIRS, seed: int = 0) -> IntErrorMetrics:
    """EvoApprox metrics of an `archsim_core.intmul.IntMultiplier`: exhaustive over every input
    pair when there are at most `max_exhaustive` (2^24) of them, else on `n_samples` uniform
    random pairs (seeded) with stated standard errors. Pairs whose exact result does not fit the
    output port (overflow of a non-extending adder) are left out, as EvoApproxLib does."""
    total = 1 << (mult.n_a + mult.n_b)
    if total <= max_exhaustive:
        ra = np.repeat(np.arange(1 << mult.n_a, dtype=np.uint64), 1 << mult.n_b)
        rb = np.tile(np.arange(1 << mult.n_b, dtype=np.uint64), 1 << mult.n_a)
    else:
        rng = np.random.default_rng(seed)
        ra = rng.integers(0, 1 << mult.n_a, n_samples, dtype=np.uint64)
        rb = rng.integers(0, 1 << mult.n_b, n_samples, dtype=np.uint64)
    approx = mult.evaluate_raw(ra, rb)
    exact = mult.exact(_signed(ra, mult.n_a, mult.signed), _signed(rb, mult.n_b, mult.signed))
    keep = mult.representable(exact)
    if not keep.all():     # a non-extending adder: overflowing pairs are outside its spec
        approx, exact = approx[keep], exact[keep]
    return int_error_metrics(approx, exact, mult.norm_bits, total <= max_exhaustive)


def _signed(raw, width: int, signed: bool) -> np.ndarray:
    v = raw.astype(np.int64)
    return np.where(v >> (width - 1), v - (1 << width), v) if signed else v
