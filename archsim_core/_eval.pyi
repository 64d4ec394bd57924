"""Bit-sliced execution of compiled netlist programs (compiled; see archsim_core.evaluate)."""
import numpy as np
import numpy.typing as npt

from archsim_core._sigmul import SigMul
from archsim_core.evaluate import Program

def run_products(prog: Program, a: npt.NDArray[np.uint64],
                 b: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]: ...
def run_toggles(prog: Program, a: npt.NDArray[np.uint64],
                b: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]: ...

class BitslicedSigMul(SigMul):
    def __init__(self, program: Program) -> None: ...
