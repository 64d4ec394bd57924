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
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = {"x", "y"} - set(data.files)
            if missing:
                raise DataError(f"{path}: missing arrays {sorted(missing)} (need x and y)")
            x, y = data["x"], data["y"]
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read operand pairs ({exc})") from None
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
