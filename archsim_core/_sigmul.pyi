"""Significand-multiplier engines (compiled). Each engine is a fast path of one netlist,
proven equal to it by tests/test_engines.py; `batch` is the nogil C-level entry."""
import numpy as np
import numpy.typing as npt

class SigMul:
    n_a: int
    n_b: int
    out_bits: int
    def multiply(self, a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.uint64]: ...

class ExactSigMul(SigMul):
    def __init__(self, n_a: int, n_b: int) -> None: ...

class Ama5ChunkSigMul(SigMul):
    chunk: int
    def __init__(self, n_a: int, n_b: int, chunk: int, out_bits: int) -> None: ...

class TableSigMul(SigMul):
    k: int
    def __init__(self, n_a: int, n_b: int, k: int, table: npt.ArrayLike, out_bits: int) -> None: ...

class LowTableSigMul(SigMul):
    k: int
    fits32: bool
    wraps: bool
    correction: npt.NDArray[np.int64]
    def __init__(self, n_a: int, n_b: int, k: int, table: npt.ArrayLike, out_bits: int) -> None: ...
