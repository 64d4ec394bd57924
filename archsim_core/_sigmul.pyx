# cython: boundscheck=False, wraparound=False, cdivision=True
"""Significand-multiplier engines (fast paths of netlists; each proven equal to its netlist)."""
import numpy as np

from libc.stdint cimport int32_t, int64_t, uint64_t


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
    /* P = a*b + D[((a & m) << k) | (b & m)], wrapped to the product width (omask) */
    static ARCHSIM_SIG_CLONES void archsim_lowtable_batch(const uint64_t *restrict a, const uint64_t *restrict b,
                                                          uint64_t *restrict out, int64_t n,
                                                          const int64_t *restrict d, uint64_t m, int k,
                                                          uint64_t omask) {
        for (int64_t i = 0; i < n; i++)
            out[i] = (ARCHSIM_MUL32(a[i], b[i])
                      + (uint64_t)d[((a[i] & m) << k) | (b[i] & m)]) & omask;
    }
    """
    void archsim_exact_batch(const uint64_t* a, const uint64_t* b, uint64_t* out,
                             Py_ssize_t n) noexcept nogil
    void archsim_ama5_batch(const uint64_t* a, const uint64_t* b, uint64_t* out, Py_ssize_t n,
                            uint64_t m, int c) noexcept nogil
    void archsim_lowtable_batch(const uint64_t* a, const uint64_t* b, uint64_t* out, Py_ssize_t n,
                                const int64_t* d, uint64_t m, int k, uint64_t omask) noexcept nogil


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


cdef class LowTableSigMul(SigMul):
    """A multiplier whose columns >= k add exactly (archsim_core.lowtable.low_split proves it
    from the netlist): P(a, b) = a*b + D[a mod 2^k, b mod 2^k] (mod 2^out_bits), with
    table[(x << k) | y] = D[x, y] = P(x, y) - x*y (int64) filled by evaluating the netlist.

    `table32` is the same table as int32 when every entry fits (the blocked GEMM gathers it);
    `fits32` says whether it does. `wraps` is True when a*b + D can leave [0, 2^out_bits) (a
    dropped top carry), so P is not that sum as an integer: the GEMM's closed form needs
    `fits32 and not wraps`."""

    def __init__(self, int n_a, int n_b, int k, table, int out_bits):
        if not (1 <= k <= 8 and k <= n_a and k <= n_b and 1 <= n_a <= 32 and 1 <= n_b <= 32
                and 1 <= out_bits <= 64):
            raise ValueError(f"bad low-table engine {n_a}x{n_b}/{k} ({out_bits} bits)")
        d = np.ascontiguousarray(table, dtype=np.int64)
        if d.shape != (1 << (2 * k),):
            raise ValueError(f"low table for k={k} must have {1 << (2 * k)} entries")
        self.n_a, self.n_b, self.out_bits, self.k = n_a, n_b, out_bits, k
        self.table = d
        self.fits32 = bool(d.size == 0 or (int(d.min()) >= -(1 << 31) and int(d.max()) < (1 << 31)))
        self.table32 = d.astype(np.int32) if self.fits32 else np.zeros(1, np.int32)
        self.mask = ((<uint64_t>1) << k) - 1
        self.omask = (<uint64_t>0) - 1 if out_bits == 64 else ((<uint64_t>1) << out_bits) - 1
        # a*b + D leaves [0, 2^out_bits) for some operands (then P is that sum wrapped): the
        # sum grows with a and b of fixed residues, so its extremes are at the smallest
        # (x, y) and the largest (2^n - 2^k + x, 2^n - 2^k + y) operands of each residue pair
        one = int(1)                     # Python integers: 2^out_bits may not fit a C long
        side = one << k
        top_a, top_b, limit = (one << n_a) - side, (one << n_b) - side, one << out_bits
        dl = d.tolist()
        self.wraps = any(not (0 <= x * y + dl[x * side + y]
                              and (top_a + x) * (top_b + y) + dl[x * side + y] < limit)
                         for x in range(side) for y in range(side))

    @property
    def correction(self):
        """The table D as a read-only int64 array [2^k, 2^k] (D[x, y] = P(x, y) - x*y)."""
        arr = np.asarray(self.table).reshape(1 << self.k, 1 << self.k)
        arr.flags.writeable = False
        return arr

    cdef void batch(self, const uint64_t* a, const uint64_t* b, uint64_t* out,
                    Py_ssize_t n) noexcept nogil:
        archsim_lowtable_batch(a, b, out, n, &self.table[0], self.mask, self.k, self.omask)
