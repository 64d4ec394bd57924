"""Functional mode: outputs through the PE multiplier in the dataflow's order, bit for bit."""
import numpy as np
import pytest

from archsim.sim.functional import gemm, layer_outputs
from archsim.sim.reference import simulate_gemm
from archsim.workloads import Layer, LayerKind
from archsim_core import get_multiplier


def bits(a):
    return np.asarray(a, np.float32).view(np.uint32)


def data(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


@pytest.mark.parametrize("variant", ["exact", "da"])
def test_os_equals_archsim_core_matmul(variant):
    m = get_multiplier(variant)
    x, w = data(1, (23, 57), (57, 11))
    np.testing.assert_array_equal(bits(gemm(m, x, w, "os", rows=8)), bits(m.matmul(x, w)))


@pytest.mark.parametrize("variant", ["exact", "da"])
def test_conv_os_equals_archsim_core_conv2d(variant):
    m = get_multiplier(variant)
    layer = Layer("c", LayerKind.CONV, 9, 7, 3, 2, 3, 5, stride=2, padding=1, batch=2)
    x, w, b = data(2, (2, 3, 9, 7), (5, 3, 3, 2), (5,))
    got = layer_outputs(m, layer, x, w, b, "os", rows=4)
    np.testing.assert_array_equal(bits(got), bits(m.conv2d(x, w, b, stride=2, padding=1)))


def test_fc_layer_equals_matmul_with_bias():
    m = get_multiplier("da")
    layer = Layer("f", LayerKind.FC, 1, 1, 1, 1, 40, 6, batch=3)
    x, w, b = data(3, (3, 40), (6, 40), (6,))
    got = layer_outputs(m, layer, x, w, b, "os", rows=8)
    np.testing.assert_array_equal(bits(got), bits(m.matmul(x, w.T, b)))


def explicit_blocked(m, x, w, rows):
    """Oracle: per output, scalar products through m, numpy float32 adds: column sums of R
    taps from the first product, then fold sums added to the accumulator in order."""
    out = np.zeros((x.shape[0], w.shape[1]), np.float32)
    for i in range(x.shape[0]):
        for j in range(w.shape[1]):
            total = None
            for start in range(0, x.shape[1], rows):
                part = None
                for k in range(start, min(start + rows, x.shape[1])):
                    p = np.asarray(m.multiply(x[i, k], w[k, j]), np.float32).reshape(-1)[0]
                    part = p if part is None else np.float32(part + p)
                total = part if total is None else np.float32(total + part)
            out[i, j] = total
    return out


@pytest.mark.parametrize("dataflow", ["ws", "is"])
@pytest.mark.parametrize("variant", ["exact", "da"])
def test_ws_is_order_equals_explicit_loop_and_reference_array(dataflow, variant):
    m = get_multiplier(variant)
    x, w = data(4, (6, 13), (13, 5))
    got = gemm(m, x, w, dataflow, rows=4)
    np.testing.assert_array_equal(bits(got), bits(explicit_blocked(m, x, w, 4)))
    ref = simulate_gemm(x, w, 4, 3, dataflow, multiply=lambda a, b: m.multiply(a, b))
    np.testing.assert_array_equal(bits(got), bits(ref.output))


def test_os_equals_reference_array_with_approximate_multiplier():
    m = get_multiplier("da")
    x, w = data(5, (7, 9), (9, 5))
    ref = simulate_gemm(x, w, 3, 2, "os", multiply=lambda a, b: m.multiply(a, b))
    np.testing.assert_array_equal(bits(gemm(m, x, w, "os", rows=3)), bits(ref.output))


def test_orders_agree_when_k_fits_and_da_differs_from_exact():
    x, w = data(6, (8, 4), (4, 3))
    m = get_multiplier("da")
    np.testing.assert_array_equal(bits(gemm(m, x, w, "ws", rows=4)), bits(m.matmul(x, w)))
    exact = gemm(get_multiplier("exact"), x, w, "os", rows=4)
    assert not np.array_equal(bits(gemm(m, x, w, "os", rows=4)), bits(exact))


def test_run_writes_functional_csv(tmp_path):
    import csv

    from archsim import cli

    (tmp_path / "c.yaml").write_text("""
workload:
  inline:
    input: [2, 6, 6]
    layers: [{name: c, type: conv, filters: 3, kernel: 3}, {name: f, type: fc, out_features: 4}]
array: {rows: 4, cols: 4, dataflow: ws}
memory: {ifmap_sram_kib: 8, filter_sram_kib: 8, ofmap_sram_kib: 8, word_bytes: 4,
         dram_bandwidth_bytes_per_cycle: 8, dram_latency_cycles: 5}
clock: {mode: fixed, clock_mhz: 100}
pe: {variants: [exact, da]}
functional: {samples: 2, seed: 3}
""")
    assert cli.main(["run", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "o"),
                     "--no-plots"]) == 0
    rows = list(csv.DictReader((tmp_path / "o" / "functional.csv").open()))
    assert [(r["variant"], r["layer"]) for r in rows] == [
        ("exact", "c"), ("da", "c"), ("exact", "f"), ("da", "f")]
    exact = [r for r in rows if r["variant"] == "exact"]
    assert all(float(r["max_abs_diff_vs_baseline"]) == 0.0 for r in exact)
    # exact FP32 in blocked order stays within float32 rounding of float64 math
    assert all(float(r["max_abs_err_vs_float64"]) < 1e-4 for r in exact)
    assert all(float(r["mismatch_fraction_vs_baseline"]) > 0 for r in rows if r["variant"] == "da")


def test_npz_weights_checked(tmp_path):
    from archsim.config import load_config
    from archsim.errors import DataError
    from archsim.sim.functional import run_functional

    np.savez(tmp_path / "w.npz", f_weight=np.zeros((4, 5), np.float32),
             f_bias=np.zeros(4, np.float32))
    (tmp_path / "c.yaml").write_text("""
workload: {inline: {input: [6, 1, 1], layers: [{name: f, type: fc, out_features: 4}]}}
array: {rows: 4, cols: 4, dataflow: os}
memory: {ifmap_sram_kib: 8, filter_sram_kib: 8, ofmap_sram_kib: 8, word_bytes: 4,
         dram_bandwidth_bytes_per_cycle: 8, dram_latency_cycles: 5}
clock: {mode: fixed, clock_mhz: 100}
pe: {variants: [exact]}
functional: {weights: w.npz}
""")
    with pytest.raises(DataError, match=r"f_weight has shape \(4, 5\), layer needs \(4, 6\)"):
        run_functional(load_config(tmp_path / "c.yaml"))
