"""Stubs for the compiled integer kernels (archsim_core/_intkernels.pyx). Outputs are
caller-allocated; `tt` is the transposed 256 x 256 product table, tt[b][a]."""
import numpy as np
import numpy.typing as npt

def matmul_table_t(a_t: npt.NDArray[np.uint8], w: npt.NDArray[np.uint8],
                   tt: npt.NDArray[np.int32], out: npt.NDArray[np.int32]) -> None: ...
