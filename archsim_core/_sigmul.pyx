# cython: boundscheck=False, wraparound=False, cdivision=True
"""Significand-multiplier engines (fast paths of netlists; each proven equal to its netlist)."""
import numpy as np

from libc.stdint cimport uint64_t


cdef class SigMul:
    """Base engine. Subclasses implement `batch`; `multiply` is the Python-level entry."""

    cdef void batch(self, const uint64_t* a, const uint64_t* b, uint64_t* out,
                    Py_ssize_t n) noexcept nogil:
        pass

    def multiply(self, a, b):
        """Integer products of two equal-length arrays of significands (uint64 in, uint64 out)."""
        cdef const uint64_t[::1] av = np.ascontiguousarray(a, dtype=np.uint64)
        cdef const uint64_t[::1] bv = np.ascontiguousarray(b, dtype=np.uint64)
        if av.shape[0] != bv.shape[0]:
            raise ValueError(f"operand lengths differ: {av.shape[0]} vs {bv.shape[0]}")
        if av.shape[0] and (int(np.max(a)) >> self.n_a or int(np.max(b)) >> self.n_b):
            raise ValueError(f"operands exceed {self.n_a}x{self.n_b} bits")
        res = np.empty(av.shape[0], dtype=np.uint64)
        cdef uint64_t[::1] ov = res
        if av.shape[0]:
            with nogil:
                self.batch(&av[0], &bv[0], &ov[0], av.shape[0])
        return res


cdef class ExactSigMul(SigMul):
    """Plain integer multiply: the fast path of any netlist built only from exact cells."""

    def __init__(self, int n_a, int n_b):
        if not (1 <= n_a <= 32 and 1 <= n_b <= 32):
            raise ValueError(f"exact significand widths must be in 1..32, got {n_a}x{n_b}")
        self.n_a, self.n_b, self.out_bits = n_a, n_b, n_a + n_b

    cdef void batch(self, const uint64_t* a, const uint64_t* b, uint64_t* out,
                    Py_ssize_t n) noexcept nogil:
        cdef Py_ssize_t i
        for i in range(n):
            out[i] = a[i] * b[i]
