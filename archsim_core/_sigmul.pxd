# Significand-multiplier engines: the C-level interface between the netlist side (which builds
# and proves engines) and the FP kernels (which call them in nogil batches).
from libc.stdint cimport uint64_t

cdef class SigMul:
    # operand widths in bits; every product fits in out_bits (<= 64) bits
    cdef readonly int n_a
    cdef readonly int n_b
    cdef readonly int out_bits
    # out[i] = P(a[i], b[i]) for i < n; a[i] < 2**n_a and b[i] < 2**n_b are the caller's duty.
    # Must be thread-safe (no shared mutable state): kernels call it from prange threads.
    cdef void batch(self, const uint64_t* a, const uint64_t* b, uint64_t* out,
                    Py_ssize_t n) noexcept nogil

cdef class ExactSigMul(SigMul):
    pass

cdef class Ama5ChunkSigMul(SigMul):
    # P = (A & m)*B + 2^c * ((B >> (c-1)) & m) * (A & ~m), m = bits 0, c, 2c, ...
    cdef readonly int chunk
    cdef uint64_t mask

cdef class TableSigMul(SigMul):
    # sum over k-bit chunk pairs of table[(A_i << k) | B_j] << k*(i+j)
    cdef readonly int k
    cdef const uint64_t[::1] table
