# cython: boundscheck=False, wraparound=False, cdivision=True
"""Significand-multiplier engines (fast paths of netlists; each proven equal to its netlist)."""
import numpy as np

from libc.stdint cimport uint64_t


cdef extern from *:
    """
    /* Engine loops in C, compiled for baseline x86-64, x86-64-v3 (AVX2) and x86-64-v4 and
       picked at load time. Operands are < 2**32 (widths <= 32 are checked at construction),
       so every multiply is written as 32x32->64 bits, which vectorises (vpmuludq) where a
       64x64 multiply would not; the products are the same integers. */
    #include <stdint.h>
    #if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    #define ARCHSIM_SIG_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
    #else
    #define ARCHSIM_SIG_CLONES
    #endif
    #define ARCHSIM_MUL32(x, y) ((uint64_t)(uint32_t)(x) * (uint64_t)(uint32_t)(y))
    static ARCHSIM_SIG_CLONES void archsim_exact_batch(const uint64_t *restrict a, const uint64_t *restrict b,
                                                       uint64_t *restrict out, int64_t n) {
        for (int64_t i = 0; i < n; i++)
            out[i] = ARCHSIM_MUL32(a[i], b[i]);
    }
    static ARCHSIM_SIG_CLONES void archsim_ama5_batch(const uint64_t *restrict a, const uint64_t *restrict b,
                                                      uint64_t *restrict out, int64_t n,
                                                      uint64_t m, int c) {
        for (int64_t i = 0; i < n; i++)
            out[i] = ARCHSIM_MUL32(a[i] & m, b[i])
                     + (ARCHSIM_MUL32((b[i] >> (c - 1)) & m, a[i] & ~m) << c);
    }
    """
    void archsim_exact_batch(const uint64_t* a, const uint64_t* b, uint64_t* out,
                             Py_ssize_t n) noexcept nogil
    void archsim_ama5_batch(const uint64_t* a, const uint64_t* b, uint64_t* out, Py_ssize_t n,
                            uint64_t m, int c) noexcept nogil


cdef class SigMul:
    """Base engine. Subclasses implement `batch`; `multiply` is the Python-level entry."""

    cdef void batch(self, const uint64_t* a, const uint64_t* b, uint64_t* out,
                    Py_ssize_t n) noexcept nogil:
        pass

    cdef int batch_planes(self, const uint64_t* a_planes, const uint64_t* b_planes,
                          uint64_t* out, Py_ssize_t count) noexcept nogil:
        return -1

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
        archsim_exact_batch(a, b, out, n)


cdef class Ama5ChunkSigMul(SigMul):
    """Closed form of a hierarchy of c x c ripple-row leaves with AMA5 in every cell and exact
    recombination (the DA Ax-FPM for c = 4; a flat AMA5 array when c is the operand width).

    The AMA5 leaf computes P_c(A, B) = a0*B + b_{c-1} * 2^c * (A - a0). Summed with exact
    adders over all chunk pairs this factorises into two integer multiplies:
    P(A, B) = (A & m) * B + 2^c * ((B >> (c-1)) & m) * (A & ~m), m = bits 0, c, 2c, ...
    Valid only when the product fits in 64 bits; proven against the netlist by tests.
    """

    def __init__(self, int n_a, int n_b, int chunk, int out_bits):
        if not (2 <= chunk <= 32 and 1 <= n_a <= 32 and 1 <= n_b <= 32 and out_bits <= 64):
            raise ValueError(f"bad AMA5 chunk engine {n_a}x{n_b}/{chunk} ({out_bits} bits)")
        self.n_a, self.n_b, self.out_bits, self.chunk = n_a, n_b, out_bits, chunk
        cdef uint64_t m = 0
        cdef int i
        for i in range(0, 64, chunk):
            m |= (<uint64_t>1) << i
        self.mask = m

    cdef void batch(self, const uint64_t* a, const uint64_t* b, uint64_t* out,
                    Py_ssize_t n) noexcept nogil:
        archsim_ama5_batch(a, b, out, n, self.mask, self.chunk)


cdef class TableSigMul(SigMul):
    """A hierarchical design (or a small flat one) from a table of its k x k sub-multiplier:
    table[(A_i << k) | B_j] = P_k(A_i, B_j) for k <= 8, recombined exactly with shifts and adds.
    The table is filled by evaluating the sub-multiplier's netlist; tests prove the whole."""

    def __init__(self, int n_a, int n_b, int k, table, int out_bits):
        if not (1 <= k <= 8 and 1 <= n_a <= 32 and 1 <= n_b <= 32 and out_bits <= 64):
            raise ValueError(f"bad table engine {n_a}x{n_b}/{k} ({out_bits} bits)")
        self.table = np.ascontiguousarray(table, dtype=np.uint64)
        if self.table.shape[0] != (1 << (2 * k)):
            raise ValueError(f"table for k={k} must have {1 << (2 * k)} entries")
        self.n_a, self.n_b, self.out_bits, self.k = n_a, n_b, out_bits, k

    cdef void batch(self, const uint64_t* a, const uint64_t* b, uint64_t* out,
                    Py_ssize_t n) noexcept nogil:
        cdef Py_ssize_t t
        cdef int i, j, k = self.k
        cdef int n_i = (self.n_a + k - 1) // k, n_j = (self.n_b + k - 1) // k
        cdef uint64_t acc, cmask = ((<uint64_t>1) << k) - 1
        # every chunk pair is looked up, zero chunks too: approximate cells may map 0 to non-0
        for t in range(n):
            acc = 0
            for i in range(n_i):
                for j in range(n_j):
                    acc += self.table[(((a[t] >> (k * i)) & cmask) << k)
                                      | ((b[t] >> (k * j)) & cmask)] << (k * (i + j))
            out[t] = acc
