"""Closed-form plan against hand-derived numbers (SPEC-sim §2-§4)."""
import pytest

from archsim.sim.plan import Dataflow, plan_layer
from archsim.workloads import Layer, LayerKind


def gemm_layer(m, k, n):
    """A layer whose GEMM is exactly M x K x N (1x1 conv, M output pixels)."""
    return Layer("g", LayerKind.CONV, m, 1, 1, 1, k, n)


def test_os_hand_example():
    # M=10, K=7, N=5 on 4x3: Sr=M=10 -> 3 row folds, Sc=N=5 -> 2 col folds, T=K=7
    p = plan_layer(gemm_layer(10, 7, 5), 4, 3, "os")
    assert (p.row_folds, p.col_folds, p.folds) == (3, 2, 6)
    assert p.cycles_per_fold == 7 + 4 + 3 - 2
    assert p.compute_cycles == 6 * 12 and p.scalesim_cycles == 71
    assert (p.ifmap_sram_reads, p.filter_sram_reads, p.ofmap_sram_writes) == (
        10 * 7 * 2, 7 * 5 * 3, 10 * 5)
    # folds use rows 4,4,2 x cols 3,2: mean used PEs = (12+12+6+8+8+4)/6 = 50/6 of 12
    assert p.mapping_efficiency == pytest.approx(50 / 6 / 12)
    assert p.utilisation == pytest.approx(350 / (72 * 12))


def test_ws_and_is_hand_example():
    layer = gemm_layer(10, 7, 5)
    ws = plan_layer(layer, 4, 3, Dataflow.WS)  # Sr=K=7 (2 folds), Sc=N=5 (2), T=M=10
    assert (ws.row_folds, ws.col_folds, ws.cycles_per_fold) == (2, 2, 2 * 4 + 3 + 10 - 2)
    assert (ws.ifmap_sram_reads, ws.filter_sram_reads, ws.ofmap_sram_writes) == (
        70 * 2, 35, 2 * 50)
    is_ = plan_layer(layer, 4, 3, Dataflow.IS)  # Sr=K=7 (2), Sc=M=10 (4), T=N=5
    assert (is_.row_folds, is_.col_folds, is_.cycles_per_fold) == (2, 4, 8 + 3 + 5 - 2)
    assert (is_.ifmap_sram_reads, is_.filter_sram_reads, is_.ofmap_sram_writes) == (
        70, 35 * 4, 2 * 50)


def test_fold_order_column_outer():
    p = plan_layer(gemm_layer(10, 7, 5), 4, 3, "os")
    order = [(f.col_fold, f.row_fold, f.used_rows, f.used_cols) for f in p.iter_folds()]
    assert order == [(0, 0, 4, 3), (0, 1, 4, 3), (0, 2, 2, 3),
                     (1, 0, 4, 2), (1, 1, 4, 2), (1, 2, 2, 2)]


def test_bad_array_size():
    from archsim.errors import ConfigError
    with pytest.raises(ConfigError, match="array.rows"):
        plan_layer(gemm_layer(2, 2, 2), 0, 4, "os")
