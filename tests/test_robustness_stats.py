"""archsim.robustness.stats against scipy.stats (independent oracle) on known cases."""
import numpy as np
import pytest
from scipy import stats as sps

from archsim.robustness import stats


@pytest.mark.parametrize("k,n", [(0, 10), (1, 10), (5, 10), (10, 10), (282, 282), (15, 99),
                                 (6, 99), (56, 80), (3, 1000), (999, 1000)])
def test_wilson_matches_scipy(k, n):
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = stats.wilson(k, n)
    assert lo == pytest.approx(ci.low, abs=1e-12) and hi == pytest.approx(ci.high, abs=1e-12)


def test_wilson_hand_case_and_edges():
    # k=5, n=10: centre (0.5 + z^2/20)/(1 + z^2/10) = 0.5; half-width by hand
    z = 1.959963984540054
    half = z * np.sqrt(0.025 + z * z / 400) / (1 + z * z / 10)
    assert stats.wilson(5, 10) == pytest.approx((0.5 - half, 0.5 + half))
    assert all(np.isnan(stats.wilson(0, 0)))
    with pytest.raises(ValueError):
        stats.wilson(3, 2)


@pytest.mark.parametrize("b,c", [(0, 0), (0, 1), (1, 0), (3, 9), (9, 3), (15, 6), (40, 41),
                                 (0, 25), (100, 130)])
def test_mcnemar_exact_matches_scipy_binomtest(b, c):
    expected = 1.0 if b + c == 0 else sps.binomtest(b, b + c, 0.5).pvalue
    assert stats.mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-10, abs=1e-300)


def test_mcnemar_hand_case_and_paired_counts():
    # b=0, c=5: p = 2 * (1/2)^5 = 1/16
    assert stats.mcnemar_exact(0, 5) == 1 / 16
    a = np.array([1, 1, 0, 0, 1, 0], bool)
    b = np.array([1, 0, 0, 1, 1, 1], bool)
    p = stats.paired(a, b)
    assert (p["a_only"], p["b_only"]) == (1, 2)
    assert p["mcnemar_p"] == pytest.approx(sps.binomtest(1, 3, 0.5).pvalue)


def test_bootstrap_is_seeded_and_agrees_with_scipy_percentile():
    rng = np.random.default_rng(3)
    v = rng.lognormal(0.0, 0.5, size=300)
    a = stats.bootstrap_ci(v, seed=1)
    assert a == stats.bootstrap_ci(v, seed=1)
    assert a[0] == np.median(v) and a[1] < a[0] < a[2]
    ref = sps.bootstrap((v,), np.median, method="percentile", n_resamples=4000,
                        random_state=np.random.default_rng(9)).confidence_interval
    width = ref.high - ref.low
    assert abs(a[1] - ref.low) < 0.25 * width and abs(a[2] - ref.high) < 0.25 * width
    # the mean of a large normal sample: the normal-theory interval
    w = rng.normal(2.0, 1.0, size=4000)
    m, lo, hi = stats.bootstrap_ci(w, seed=0, statistic=np.mean)
    se = w.std(ddof=1) / np.sqrt(len(w))
    assert lo == pytest.approx(m - 1.96 * se, abs=0.2 * se)
    assert hi == pytest.approx(m + 1.96 * se, abs=0.2 * se)
    assert all(np.isnan(stats.bootstrap_ci([np.nan], seed=0)))
    assert stats.bootstrap_ci([1.0, np.inf, np.inf], seed=0)[0] == np.inf


def test_pooled_counts_not_averaged_ratios():
    rows = [{"k": 1, "n": 1}, {"k": 0, "n": 99}]
    assert stats.pooled(rows, "k", "n") == (1, 100)
    assert stats.ratio(*stats.pooled(rows, "k", "n")) == 0.01   # mean of ratios would be 0.5
