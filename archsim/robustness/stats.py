"""Statistics for robustness results (pure numpy/stdlib; scipy is only the tests' oracle).

- `wilson`: Wilson score 95% interval of a binomial rate k/n (Wilson 1927), the interval used
  for every success rate in the outputs;
- `mcnemar_exact`: McNemar's exact two-sided test on paired outcomes (the same images attacked
  on two models): the discordant pairs b (only model A fooled) and c (only model B fooled)
  follow Binomial(b + c, 1/2) under the null; p = min(1, 2 P[X <= min(b, c)]);
- `bootstrap_ci`: seeded percentile-bootstrap interval of a statistic (median by default) of
  per-image distances;
- `pooled`: counts summed over runs, never ratios averaged.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

Z95 = 1.959963984540054  # standard normal 97.5% quantile


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of k successes in n trials; (nan, nan) when n == 0."""
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"wilson: need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _binom_cdf_half(k: int, n: int) -> float:
    """P[X <= k] for X ~ Binomial(n, 1/2), exact in integers then one division."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (1.0 when both are 0)."""
    if a_only < 0 or b_only < 0:
        raise ValueError("mcnemar_exact: counts must be >= 0")
    n = a_only + b_only
    if n == 0:
        return 1.0
    return min(1.0, 2.0 * _binom_cdf_half(min(a_only, b_only), n))


def paired(fooled_a: np.ndarray, fooled_b: np.ndarray) -> dict:
    """Discordant counts and McNemar p of two boolean per-image outcome vectors."""
    a = np.asarray(fooled_a, bool)
    b = np.asarray(fooled_b, bool)
    if a.shape != b.shape:
        raise ValueError("paired: outcome vectors differ in shape")
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    return {"a_only": a_only, "b_only": b_only, "mcnemar_p": mcnemar_exact(a_only, b_only)}


def bootstrap_ci(values: Iterable[float], seed: int, statistic: Callable = np.median,
                 resamples: int = 2000, level: float = 0.95) -> tuple[float, float, float]:
    """(statistic, low, high): percentile bootstrap, seeded. NaNs are dropped; +inf is kept
    (a failed minimum-norm attack is an infinite distance: the median counts it)."""
    v = np.asarray(list(values), np.float64)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(v), size=(resamples, len(v)))
    stats = np.sort(np.asarray(statistic(v[idx], axis=1), np.float64))
    alpha = (1 - level) / 2
    lo, hi = np.quantile(stats, [alpha, 1 - alpha], method="inverted_cdf")
    return float(statistic(v)), float(lo), float(hi)


def pooled(rows: Iterable[dict], k: str, n: str) -> tuple[int, int]:
    """(sum of rows[k], sum of rows[n]): pooled counts over runs."""
    rows = list(rows)
    return int(sum(r[k] for r in rows)), int(sum(r[n] for r in rows))


def ratio(k: float, n: float) -> float:
    """k / n, nan when n == 0."""
    return float(k / n) if n else float("nan")
