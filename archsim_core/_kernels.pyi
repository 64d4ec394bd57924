"""Stubs for the compiled FP kernels (archsim_core/_kernels.pyx). Encodings are uint32 arrays
(uint64 for formats wider than 32 bits); `params` is (exp_bits, man_bits, rounding 0=rne
1=truncate, ftz 0/1, semantics 0=hardware 1=da-reference). Outputs are caller-allocated."""
import numpy as np
import numpy.typing as npt

from archsim_core._sigmul import SigMul

Params = tuple[int, int, int, int, int]
Bits = npt.NDArray[np.uint32] | npt.NDArray[np.uint64]

def to_bits(params: Params, x: npt.NDArray[np.float64], out: Bits) -> None: ...
def to_double(params: Params, bits: Bits, out: npt.NDArray[np.float64]) -> None: ...
def add_bits(params: Params, a: Bits, b: Bits, out: Bits) -> None: ...
def multiply_bits(engine: SigMul, params: Params, a: Bits, b: Bits, out: Bits,
                  bad: npt.NDArray[np.uint8]) -> None: ...
def matmul_bits(engine: SigMul, params: Params, x: Bits, wt: Bits, bias: Bits, has_bias: bool,
                out: Bits, bad: npt.NDArray[np.int32], pairwise: bool = False) -> None: ...
def finish_bits(params: Params, a: npt.NDArray[np.uint32], b: npt.NDArray[np.uint32],
                p: npt.NDArray[np.uint64], out: npt.NDArray[np.uint32], reference: bool) -> None: ...
