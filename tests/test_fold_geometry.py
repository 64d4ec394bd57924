"""The one fold geometry of LayerPlan (used by the SimPy model, the DRAM reuse model and the
SCALE-Sim reports) against an explicit tiling of the Sr x Sc extent."""
import numpy as np
import pytest

from archsim.sim.plan import Dataflow, plan_layer
from archsim.workloads import Layer, LayerKind


def tiles(sr, sc, rows, cols):
    """Cut an Sr x Sc grid into R x C tiles, column tiles outer: (row tile, col tile, rows
    used, cols used), counting the covered cells of each tile one by one."""
    grid_r, grid_c = np.indices((sr, sc))
    out = []
    for c0 in range(0, sc, cols):
        for r0 in range(0, sr, rows):
            inside = (grid_r >= r0) & (grid_r < r0 + rows) & (grid_c >= c0) & (grid_c < c0 + cols)
            used_r = len(set(grid_r[inside].tolist()))
            used_c = len(set(grid_c[inside].tolist()))
            out.append((r0 // rows, c0 // cols, used_r, used_c))
    return out


@pytest.mark.parametrize("m,k,n,rows,cols", [(7, 5, 3, 2, 2), (1, 1, 1, 4, 4), (9, 16, 10, 4, 3),
                                             (12, 7, 13, 5, 13), (30, 2, 1, 7, 1)])
@pytest.mark.parametrize("dataflow", list(Dataflow))
def test_fold_geometry_matches_explicit_tiling(m, k, n, rows, cols, dataflow):
    plan = plan_layer(Layer("g", LayerKind.CONV, m, 1, 1, 1, k, n), rows, cols, dataflow)
    expected = tiles(plan.sr, plan.sc, rows, cols)
    assert [(f.row_fold, f.col_fold, f.used_rows, f.used_cols) for f in plan.iter_folds()] \
        == expected
    grid = plan.fold_grid()
    assert list(zip(*(a.tolist() for a in grid))) == expected
    assert [plan.fold_position(i) for i in range(plan.folds)] == [e[:2] for e in expected]
