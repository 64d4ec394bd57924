"""The cycle-by-cycle reference array proves the plan's closed-form cycles and the outputs."""
import numpy as np
import pytest

from archsim.sim.plan import plan_layer
from archsim.sim.reference import simulate_gemm
from archsim.workloads import Layer, LayerKind


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("seed", range(6))
def test_random_small_layers_cycles_and_outputs(dataflow, seed):
    rng = np.random.default_rng(seed)
    m, k, n = (int(v) for v in rng.integers(1, 14, size=3))
    rows, cols = (int(v) for v in rng.integers(1, 6, size=2))
    # small integers: every sum is exact in float64 whatever the order, so X @ W is an oracle
    x = rng.integers(-8, 9, size=(m, k)).astype(np.float64)
    w = rng.integers(-8, 9, size=(k, n)).astype(np.float64)
    ref = simulate_gemm(x, w, rows, cols, dataflow)
    plan = plan_layer(Layer("g", LayerKind.CONV, m, 1, 1, 1, k, n), rows, cols, dataflow)
    assert ref.cycles == plan.compute_cycles
    np.testing.assert_array_equal(ref.output, x @ w)


def test_conv_layer_through_im2col():
    rng = np.random.default_rng(7)
    layer = Layer("c", LayerKind.CONV, 5, 4, 3, 2, 2, 3, stride=1, padding=1)
    img = rng.integers(-4, 5, size=(2, 5, 4)).astype(np.float64)
    filt = rng.integers(-4, 5, size=(3, 2, 3, 2)).astype(np.float64)
    padded = np.pad(img, ((0, 0), (1, 1), (1, 1)))
    cols = [padded[:, i:i + 3, j:j + 2].reshape(-1)
            for i in range(layer.ofmap_h) for j in range(layer.ofmap_w)]
    x = np.array(cols)
    w = filt.reshape(3, -1).T
    for df in ("os", "ws", "is"):
        ref = simulate_gemm(x, w, 4, 2, df)
        assert ref.cycles == plan_layer(layer, 4, 2, df).compute_cycles
        # explicit convolution loop as the oracle
        expect = np.zeros((layer.ofmap_h * layer.ofmap_w, 3))
        for f in range(3):
            for i in range(layer.ofmap_h):
                for j in range(layer.ofmap_w):
                    expect[i * layer.ofmap_w + j, f] = np.sum(
                        padded[:, i:i + 3, j:j + 2] * filt[f])
        np.testing.assert_array_equal(ref.output, expect)


def test_single_fold_hand_counts():
    x, w = np.ones((2, 3)), np.ones((3, 2))
    # OS on 2x2: last pair reaches PE(1,1) at cycle K-1 + 1 + 1 -> K + R + C - 2 = 5 cycles
    assert simulate_gemm(x, w, 2, 2, "os").cycles == 5
    # WS on 3x2 (K=3 rows): 3 load cycles + M-1 + (R-1) + (C-1) + 1 = 3 + 1 + 2 + 1 + 1
    assert simulate_gemm(x, w, 3, 2, "ws").cycles == 8


@pytest.mark.parametrize("dataflow", ["ws", "is"])
@pytest.mark.parametrize("seed", range(4))
def test_overlapped_stationary_loading(dataflow, seed):
    # the next tile shifts into shadow registers during the current fold: only the first fold
    # pays the R load cycles -> folds * (R + C + T - 2) + R, outputs unchanged
    rng = np.random.default_rng(100 + seed)
    m, k, n = (int(v) for v in rng.integers(1, 12, size=3))
    rows, cols = (int(v) for v in rng.integers(1, 5, size=2))
    x = rng.integers(-8, 9, size=(m, k)).astype(np.float64)
    w = rng.integers(-8, 9, size=(k, n)).astype(np.float64)
    ref = simulate_gemm(x, w, rows, cols, dataflow, overlap_stationary_load=True)
    plan = plan_layer(Layer("g", LayerKind.CONV, m, 1, 1, 1, k, n), rows, cols, dataflow,
                      overlap_stationary_load=True)
    assert ref.cycles == plan.compute_cycles
    assert ref.cycles == plan.folds * (rows + cols + plan.t - 2) + rows
    np.testing.assert_array_equal(ref.output, x @ w)
