# Significand-multiplier engines: the C-level interface between the netlist side (which builds
# and proves engines) and the FP kernels (which call them in nogil batches).
from libc.stdint cimport int32_t, int64_t, uint64_t

cdef class SigMul:
    # operand widths in bits; every product fits in out_bits (<= 64) bits
    cdef readonly int n_a
    cdef readonly int n_b
    cdef readonly int out_bits
    # out[i] = P(a[i], b[i]) for i < n; a[i] < 2**n_a and b[i] < 2**n_b are the caller's duty.
    # Must be thread-safe (no shared mutable state): kernels call it from prange threads.
    cdef void batch(self, const uint64_t* a, const uint64_t* b, uint64_t* out,
                    Py_ssize_t n) noexcept nogil
    # Optional bit-plane entry (bit-sliced engines): out[i] = P(a_i, b_i) for i < count <= 1024,
    # where bit r of operand a_i is bit i % 64 of word i // 64 of a_planes[16 * r ...] (n_a
    # planes of 16 words; b likewise). Returns -1 if the engine has no such entry (the base
    # class), else 0; count == 0 only probes.
    cdef int batch_planes(self, const uint64_t* a_planes, const uint64_t* b_planes,
                          uint64_t* out, Py_ssize_t count) noexcept nogil

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

cdef class LowTableSigMul(SigMul):
    # a*b + table[((a & mask) << k) | (b & mask)], wrapped to out_bits (columns >= k exact)
    cdef readonly int k
    cdef readonly bint fits32
    cdef readonly bint wraps
    cdef uint64_t mask
    cdef uint64_t omask
    cdef const int64_t[::1] table
    cdef const int32_t[::1] table32
