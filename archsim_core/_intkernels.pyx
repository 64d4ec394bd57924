# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled integer kernels: int8 x int8 products through any 8x8 multiplier given as its
exhaustive product table, summed in int32 (two's-complement wrap-around, as numpy int32).

The table is stored transposed, `tt[b][a]` = product of the raw operand bit patterns a (first
operand, the activation) and b (second operand, the weight), so for one weight element the 256
possible products of a whole row of activations sit in 1 KiB that stays in L1.

Layouts (the Python layer, archsim_core/int8.py, makes them):
  a_t  uint8 [K, M]   activations, K-major (im2col already transposed)
  w    uint8 [N, K]   weights, one row per output channel
  out  int32 [N, M]   out[n, m] = sum_k tt[w[n, k], a_t[k, m]] (+ bias[n])

Every output element is summed by one thread in increasing k, and integer addition is exact
(mod 2**32), so results do not depend on the number of threads or the blocking.
"""
import numpy as np

from cython.parallel cimport prange
from openmp cimport omp_get_max_threads
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t

cdef extern from *:
    """
    /* Inner loops of the table kernel, compiled for baseline x86-64, x86-64-v3 (AVX2) and
       x86-64-v4 (AVX-512) and picked at load time: the vector versions gather the products
       (vpgatherdd); integer adds are exact, so every clone gives the same bits. */
    #include <stdint.h>
    #if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    #define ARCHSIM_INT_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
    #else
    #define ARCHSIM_INT_CLONES
    #endif
    static ARCHSIM_INT_CLONES void archsim_tab_acc4(uint32_t *restrict a0, uint32_t *restrict a1,
            uint32_t *restrict a2, uint32_t *restrict a3, const uint8_t *restrict x,
            const int32_t *restrict r0, const int32_t *restrict r1, const int32_t *restrict r2,
            const int32_t *restrict r3, int64_t n) {
        for (int64_t i = 0; i < n; i++) {
            int32_t v = x[i];
            a0[i] += (uint32_t)r0[v]; a1[i] += (uint32_t)r1[v];
            a2[i] += (uint32_t)r2[v]; a3[i] += (uint32_t)r3[v];
        }
    }
    /* Two k steps at once (rows x, y of activations; tables r*, s* of the two weights): half
       the accumulator loads/stores. Sums mod 2**32 are associative, so the result is the same. */
    static ARCHSIM_INT_CLONES void archsim_tab_acc4x2(uint32_t *restrict a0, uint32_t *restrict a1,
            uint32_t *restrict a2, uint32_t *restrict a3, const uint8_t *restrict x,
            const uint8_t *restrict y, const int32_t *restrict r0, const int32_t *restrict r1,
            const int32_t *restrict r2, const int32_t *restrict r3, const int32_t *restrict s0,
            const int32_t *restrict s1, const int32_t *restrict s2, const int32_t *restrict s3,
            int64_t n) {
        for (int64_t i = 0; i < n; i++) {
            int32_t v = x[i], u = y[i];
            a0[i] += (uint32_t)r0[v] + (uint32_t)s0[u]; a1[i] += (uint32_t)r1[v] + (uint32_t)s1[u];
            a2[i] += (uint32_t)r2[v] + (uint32_t)s2[u]; a3[i] += (uint32_t)r3[v] + (uint32_t)s3[u];
        }
    }
    static ARCHSIM_INT_CLONES void archsim_tab_acc1(uint32_t *restrict a0, const uint8_t *restrict x,
            const int32_t *restrict r0, int64_t n) {
        for (int64_t i = 0; i < n; i++) a0[i] += (uint32_t)r0[(int32_t)x[i]];
    }
    """
    void archsim_tab_acc4(uint32_t* a0, uint32_t* a1, uint32_t* a2, uint32_t* a3, const uint8_t* x,
                          const int32_t* r0, const int32_t* r1, const int32_t* r2, const int32_t* r3,
                          int64_t n) noexcept nogil
    void archsim_tab_acc1(uint32_t* a0, const uint8_t* x, const int32_t* r0, int64_t n) noexcept nogil
    void archsim_tab_acc4x2(uint32_t* a0, uint32_t* a1, uint32_t* a2, uint32_t* a3,
                            const uint8_t* x, const uint8_t* y, const int32_t* r0,
                            const int32_t* r1, const int32_t* r2, const int32_t* r3,
                            const int32_t* s0, const int32_t* s1, const int32_t* s2,
                            const int32_t* s3, int64_t n) noexcept nogil

cdef enum:
    MB = 512                 # activations (columns of out) per block: 4 accumulators x 2 KiB in L1
    NU = 4                   # output channels computed together (one activation load, 4 lookups)
    SERIAL_WORK = 65536      # below this many MACs one thread beats a team start-up


cdef inline int _threads(int64_t work) noexcept nogil:
    return 1 if work < SERIAL_WORK else omp_get_max_threads()


cdef void _block(const uint8_t* a_t, Py_ssize_t m_total, const uint8_t* w, Py_ssize_t k_total,
                 const int32_t* tt, int32_t* out, Py_ssize_t n0, Py_ssize_t nn,
                 Py_ssize_t m0, Py_ssize_t mm) noexcept nogil:
    """out[n0:n0+nn, m0:m0+mm] (nn <= NU): k outer, m inner, accumulators in registers/L1.
    Accumulation is in uint32 (wraps like two's-complement int32, without C's signed-overflow
    undefined behaviour)."""
    cdef uint32_t acc0[MB]
    cdef uint32_t acc1[MB]
    cdef uint32_t acc2[MB]
    cdef uint32_t acc3[MB]
    cdef Py_ssize_t k, m
    cdef const uint8_t* arow
    cdef const int32_t* r0
    cdef const int32_t* r1
    cdef const int32_t* r2
    cdef const int32_t* r3
    cdef uint8_t x
    for m in range(mm):
        acc0[m] = 0
        acc1[m] = 0
        acc2[m] = 0
        acc3[m] = 0
    cdef uint32_t* accs[4]
    accs[0] = acc0
    accs[1] = acc1
    accs[2] = acc2
    accs[3] = acc3
    cdef Py_ssize_t j
    cdef Py_ssize_t k2 = k_total - k_total % 2
    if nn == NU:
        for k in range(0, k2, 2):
            arow = a_t + k * m_total + m0
            archsim_tab_acc4x2(acc0, acc1, acc2, acc3, arow, arow + m_total,
                               tt + 256 * <Py_ssize_t>w[(n0 + 0) * k_total + k],
                               tt + 256 * <Py_ssize_t>w[(n0 + 1) * k_total + k],
                               tt + 256 * <Py_ssize_t>w[(n0 + 2) * k_total + k],
                               tt + 256 * <Py_ssize_t>w[(n0 + 3) * k_total + k],
                               tt + 256 * <Py_ssize_t>w[(n0 + 0) * k_total + k + 1],
                               tt + 256 * <Py_ssize_t>w[(n0 + 1) * k_total + k + 1],
                               tt + 256 * <Py_ssize_t>w[(n0 + 2) * k_total + k + 1],
                               tt + 256 * <Py_ssize_t>w[(n0 + 3) * k_total + k + 1], mm)
        for k in range(k2, k_total):
            arow = a_t + k * m_total + m0
            r0 = tt + 256 * <Py_ssize_t>w[(n0 + 0) * k_total + k]
            r1 = tt + 256 * <Py_ssize_t>w[(n0 + 1) * k_total + k]
            r2 = tt + 256 * <Py_ssize_t>w[(n0 + 2) * k_total + k]
            r3 = tt + 256 * <Py_ssize_t>w[(n0 + 3) * k_total + k]
            archsim_tab_acc4(acc0, acc1, acc2, acc3, arow, r0, r1, r2, r3, mm)
    else:
        for k in range(k_total):
            arow = a_t + k * m_total + m0
            for j in range(nn):
                archsim_tab_acc1(accs[j], arow, tt + 256 * <Py_ssize_t>w[(n0 + j) * k_total + k], mm)
    for m in range(mm):
        out[(n0 + 0) * m_total + m0 + m] = <int32_t>acc0[m]
        if nn > 1:
            out[(n0 + 1) * m_total + m0 + m] = <int32_t>acc1[m]
        if nn > 2:
            out[(n0 + 2) * m_total + m0 + m] = <int32_t>acc2[m]
        if nn > 3:
            out[(n0 + 3) * m_total + m0 + m] = <int32_t>acc3[m]


def matmul_table_t(const uint8_t[:, ::1] a_t, const uint8_t[:, ::1] w,
                   const int32_t[:, ::1] tt, int32_t[:, ::1] out):
    """out[n, m] = sum_k tt[w[n, k], a_t[k, m]] in wrapping int32 (shapes checked here)."""
    cdef Py_ssize_t k_total = a_t.shape[0], m_total = a_t.shape[1], n_total = w.shape[0]
    if w.shape[1] != k_total:
        raise ValueError(f"weights have K={w.shape[1]}, activations K={k_total}")
    if tt.shape[0] != 256 or tt.shape[1] != 256:
        raise ValueError(f"product table must be 256x256, got {tt.shape[0]}x{tt.shape[1]}")
    if out.shape[0] != n_total or out.shape[1] != m_total:
        raise ValueError(f"out must be {n_total}x{m_total}")
    if m_total == 0 or n_total == 0:
        return
    if k_total == 0:
        out[:, :] = 0
        return
    cdef Py_ssize_t n_blocks = (n_total + NU - 1) // NU
    cdef Py_ssize_t m_blocks = (m_total + MB - 1) // MB
    cdef Py_ssize_t jobs = n_blocks * m_blocks, job, nb, mb, nn, mm
    cdef int threads = _threads(<int64_t>m_total * n_total * k_total)
    cdef const uint8_t* pa = &a_t[0, 0]
    cdef const uint8_t* pw = &w[0, 0]
    cdef const int32_t* pt = &tt[0, 0]
    cdef int32_t* po = &out[0, 0]
    for job in prange(jobs, nogil=True, schedule="static", num_threads=threads):
        nb = job // m_blocks
        mb = job - nb * m_blocks
        nn = n_total - nb * NU
        if nn > NU:
            nn = NU
        mm = m_total - mb * MB
        if mm > MB:
            mm = MB
        _block(pa, m_total, pw, k_total, pt, po, nb * NU, nn, mb * MB, mm)
