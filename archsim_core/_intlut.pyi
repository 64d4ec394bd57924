"""Product-table lookup of integer circuits (compiled; see archsim_core.intmul)."""
import numpy as np
import numpy.typing as npt

def table_lookup(table: npt.NDArray[np.int32] | npt.NDArray[np.int64], a: npt.NDArray[np.integer],
                 b: npt.NDArray[np.integer], out: npt.NDArray[np.int64], n_b: int, lo: int,
                 hi_a: int, hi_b: int) -> int: ...
