# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Bit-sliced execution of compiled netlist programs (see evaluate.py), toggle counting, and the
generic BitslicedSigMul engine.

Layout: every slot (bit-plane) holds W = 16 words, so one operation of the program advances 1024
operand pairs (wide enough to amortise the dispatch of each op, small enough that a product
program's ~120 slots stay in L1 cache); bit i of word w of a slot is the value for operation
64*w + i of the block.
Operands are turned into bit-planes (and products back) by 64 x 64 bit-matrix transposes.
Streams are split into fixed chunks of CHUNK_BLOCKS blocks for prange; the chunking never
depends on the thread count, and toggle counts are integer sums, so results are identical for
any number of threads.
"""
import numpy as np

cimport openmp
from cython.parallel cimport prange, threadid
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport abort, calloc, free, malloc
from libc.string cimport memcpy

from archsim_core._sigmul cimport SigMul

cdef enum:
    W = 16
    BLOCK = 1024
    CHUNK_BLOCKS = 32

cdef struct Prog:
    const int32_t* ops
    Py_ssize_t n_ops
    int n_slots
    int n_a
    int n_b
    int n_out
    const int32_t* out_slots


cdef extern from *:
    """
    /* The hot loop in C so it can be compiled twice (x86-64-v3, i.e. AVX2 + POPCNT, and baseline x86-64) and picked at
       load time; results are identical, only the vector width differs. Every op writes slots
       it does not read (evaluate.py allocates outputs before freeing dead inputs), which
       makes the restrict qualifiers valid. */
    #include <stdint.h>
    #include <string.h>
    #if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    #define ARCHSIM_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
    #else
    #define ARCHSIM_CLONES
    #endif
    #define ARCHSIM_W 16
    /* In place: afterwards bit j of x[i] is what bit i of x[j] was. Six block-swap stages
       (32, 16, 8, 4, 2, 1) on 8-word vectors (one AVX-512 register, two AVX2 ones): the first
       three swap whole vectors, the last three swap lanes inside each vector. */
    typedef uint64_t archsim_v8t __attribute__((vector_size(64)));
    typedef int64_t archsim_v8i __attribute__((vector_size(64)));
    #if defined(__clang__)
    #define ARCHSIM_SWAP4(v) __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3)
    #define ARCHSIM_SWAP2(v) __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5)
    #define ARCHSIM_SWAP1(v) __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6)
    #else
    #define ARCHSIM_SWAP4(v) __builtin_shuffle(v, (archsim_v8i){4, 5, 6, 7, 0, 1, 2, 3})
    #define ARCHSIM_SWAP2(v) __builtin_shuffle(v, (archsim_v8i){2, 3, 0, 1, 6, 7, 4, 5})
    #define ARCHSIM_SWAP1(v) __builtin_shuffle(v, (archsim_v8i){1, 0, 3, 2, 5, 4, 7, 6})
    #endif
    static ARCHSIM_CLONES void archsim_transpose64(uint64_t *x) {
        static const uint64_t ms[6] = {
            0x00000000FFFFFFFFULL, 0x0000FFFF0000FFFFULL, 0x00FF00FF00FF00FFULL,
            0x0F0F0F0F0F0F0F0FULL, 0x3333333333333333ULL, 0x5555555555555555ULL};
        archsim_v8t V[8];
        memcpy(V, x, sizeof V);
        for (int s = 0; s < 3; s++) {
            const int j = 32 >> s, d = 4 >> s;
            const archsim_v8t m = {ms[s], ms[s], ms[s], ms[s], ms[s], ms[s], ms[s], ms[s]};
            for (int q = 0; q < 8; q++) {
                if (q & d) continue;
                archsim_v8t t = ((V[q] >> j) ^ V[q + d]) & m;
                V[q + d] ^= t;
                V[q] ^= t << j;
            }
        }
        const archsim_v8t m4 = {ms[3], ms[3], ms[3], ms[3], 0, 0, 0, 0};
        const archsim_v8t m2 = {ms[4], ms[4], 0, 0, ms[4], ms[4], 0, 0};
        const archsim_v8t m1 = {ms[5], 0, ms[5], 0, ms[5], 0, ms[5], 0};
        for (int q = 0; q < 8; q++) {
            archsim_v8t t = ((V[q] >> 4) ^ ARCHSIM_SWAP4(V[q])) & m4;
            V[q] ^= (t << 4) ^ ARCHSIM_SWAP4(t);
            t = ((V[q] >> 2) ^ ARCHSIM_SWAP2(V[q])) & m2;
            V[q] ^= (t << 2) ^ ARCHSIM_SWAP2(t);
            t = ((V[q] >> 1) ^ ARCHSIM_SWAP1(V[q])) & m1;
            V[q] ^= (t << 1) ^ ARCHSIM_SWAP1(t);
        }
        memcpy(x, V, sizeof V);
    }
    /* nw <= ARCHSIM_W lanes of each slot are computed (short batches need fewer than 8). */
    static inline __attribute__((always_inline)) void archsim_ops_body(
            const int32_t *ops, Py_ssize_t n_ops, uint64_t *v, const int nw) {
        for (Py_ssize_t o = 0; o < n_ops; o++) {
            const int32_t *op = ops + 8 * o;
            uint64_t *restrict out = v + (Py_ssize_t)op[1] * ARCHSIM_W;
            const uint64_t *restrict x = v + (Py_ssize_t)op[2] * ARCHSIM_W;
            const uint64_t *restrict y = v + (Py_ssize_t)op[3] * ARCHSIM_W;
            const uint64_t *restrict z = v + (Py_ssize_t)op[4] * ARCHSIM_W;
            const uint64_t neg = (uint64_t)0 - (uint64_t)(op[5] & 1);
            int w, m;
            switch (op[0]) {
            case 9: {  /* FA: Sum -> out, Cout -> out2 */
                uint64_t *restrict out2 = v + (Py_ssize_t)op[6] * ARCHSIM_W;
                for (w = 0; w < nw; w++) {
                    uint64_t s = x[w] ^ y[w];
                    out2[w] = (x[w] & y[w]) | (z[w] & s);
                    out[w] = s ^ z[w];
                }
                break;
            }
            case 10: {  /* HA */
                uint64_t *restrict out2 = v + (Py_ssize_t)op[6] * ARCHSIM_W;
                for (w = 0; w < nw; w++) {
                    out2[w] = x[w] & y[w];
                    out[w] = x[w] ^ y[w];
                }
                break;
            }
            case 11: {  /* FA_AND: FA whose x operand is the partial product x AND x2 */
                uint64_t *restrict out2 = v + (Py_ssize_t)op[6] * ARCHSIM_W;
                const uint64_t *restrict x2 = v + (Py_ssize_t)op[7] * ARCHSIM_W;
                for (w = 0; w < nw; w++) {
                    uint64_t pp = x[w] & x2[w], s = pp ^ y[w];
                    out2[w] = (pp & y[w]) | (z[w] & s);
                    out[w] = s ^ z[w];
                }
                break;
            }
            case 12: {  /* HA_AND */
                uint64_t *restrict out2 = v + (Py_ssize_t)op[6] * ARCHSIM_W;
                const uint64_t *restrict x2 = v + (Py_ssize_t)op[7] * ARCHSIM_W;
                for (w = 0; w < nw; w++) {
                    uint64_t pp = x[w] & x2[w];
                    out2[w] = pp & y[w];
                    out[w] = pp ^ y[w];
                }
                break;
            }
            case 0: for (w = 0; w < nw; w++) out[w] = (x[w] & y[w]) ^ neg; break;
            case 1: for (w = 0; w < nw; w++) out[w] = (x[w] | y[w]) ^ neg; break;
            case 2: for (w = 0; w < nw; w++) out[w] = (x[w] ^ y[w]) ^ neg; break;
            case 3: for (w = 0; w < nw; w++) out[w] = (x[w] & ~y[w]) ^ neg; break;
            case 4: for (w = 0; w < nw; w++) out[w] = (x[w] ^ y[w] ^ z[w]) ^ neg; break;
            case 5:
                for (w = 0; w < nw; w++)
                    out[w] = ((x[w] & y[w]) | (z[w] & (x[w] | y[w]))) ^ neg;
                break;
            case 6: for (w = 0; w < nw; w++) out[w] = (x[w] | (y[w] & z[w])) ^ neg; break;
            case 8: for (w = 0; w < nw; w++) out[w] = x[w] ^ neg; break;
            case 13:  /* MUX: x ? y : z */
                for (w = 0; w < nw; w++) out[w] = ((x[w] & y[w]) | (~x[w] & z[w])) ^ neg;
                break;
            default:  /* 7: any 3-input function, from its table (aux) as a sum of minterms */
                for (w = 0; w < nw; w++) {
                    uint64_t r = 0;
                    for (m = 0; m < 8; m++)
                        if ((op[5] >> m) & 1)
                            r |= ((m & 4) ? x[w] : ~x[w]) & ((m & 2) ? y[w] : ~y[w])
                                 & ((m & 1) ? z[w] : ~z[w]);
                    out[w] = r;
                }
            }
        }
    }
    /* Full blocks: adders (FA, HA and their partial-product forms) keep the previous op's two
       outputs in registers and read an input from there when it is one of them, instead of
       reloading the value just stored: a ripple carry then never waits on a store-to-load
       round trip. The stores still happen, so memory holds every value as before; other ops
       go through the generic body. Same results bit for bit. */
    typedef uint64_t archsim_v8u __attribute__((vector_size(64)));
    #define ARCHSIM_NV (ARCHSIM_W / 8)
    static inline __attribute__((always_inline)) archsim_v8u archsim_ld(const uint64_t *p) {
        archsim_v8u r;
        memcpy(&r, p, sizeof r);
        return r;
    }
    static inline __attribute__((always_inline)) void archsim_st(uint64_t *p, archsim_v8u r) {
        memcpy(p, &r, sizeof r);
    }
    static inline __attribute__((always_inline)) void archsim_fast_body(
            const int32_t *ops, Py_ssize_t n_ops, uint64_t *v, const int nv) {
        archsim_v8u r1[ARCHSIM_NV], r2[ARCHSIM_NV];
        int32_t s1 = -1, s2 = -1;
        for (Py_ssize_t o = 0; o < n_ops; o++) {
            const int32_t *op = ops + 8 * o;
            const int32_t code = op[0];
            if (code < 9 || code > 12) {
                archsim_ops_body(op, 1, v, 8 * nv);
                s1 = s2 = -1;
                continue;
            }
            uint64_t *out = v + (Py_ssize_t)op[1] * ARCHSIM_W;
            uint64_t *out2 = v + (Py_ssize_t)op[6] * ARCHSIM_W;
            const int32_t sy = op[3], sz = op[4];
            for (int h = 0; h < nv; h++) {
                archsim_v8u x = archsim_ld(v + (Py_ssize_t)op[2] * ARCHSIM_W + 8 * h), y, z, s;
                if (code >= 11)
                    x &= archsim_ld(v + (Py_ssize_t)op[7] * ARCHSIM_W + 8 * h);
                if (sy == s1) y = r1[h];
                else if (sy == s2) y = r2[h];
                else y = archsim_ld(v + (Py_ssize_t)sy * ARCHSIM_W + 8 * h);
                s = x ^ y;
                if (code == 9 || code == 11) {           /* full adder */
                    if (sz == s1) z = r1[h];
                    else if (sz == s2) z = r2[h];
                    else z = archsim_ld(v + (Py_ssize_t)sz * ARCHSIM_W + 8 * h);
                    r2[h] = (x & y) | (z & s);
                    r1[h] = s ^ z;
                } else {                                 /* half adder */
                    r2[h] = x & y;
                    r1[h] = s;
                }
                archsim_st(out + 8 * h, r1[h]);
                archsim_st(out2 + 8 * h, r2[h]);
            }
            s1 = op[1];
            s2 = op[6];
        }
    }
    static ARCHSIM_CLONES void archsim_run_ops(const int32_t *ops, Py_ssize_t n_ops, uint64_t *v) {
        archsim_fast_body(ops, n_ops, v, ARCHSIM_NV);
    }
    /* nw < ARCHSIM_W words hold operations: whole 8-word vectors are computed (the words past
       nw hold stale values that nothing reads back) */
    static ARCHSIM_CLONES void archsim_run_ops_n(const int32_t *ops, Py_ssize_t n_ops, uint64_t *v,
                                                 int nw) {
        if (nw <= 8)
            archsim_fast_body(ops, n_ops, v, 1);
        else
            archsim_fast_body(ops, n_ops, v, ARCHSIM_NV);
    }
    /* Products of a block back from the output bit-planes: out[64 w + i] for the first
       `count` operations (word w, bit i). */
    static ARCHSIM_CLONES void archsim_unplane(const uint64_t *v, const int32_t *out_slots,
                                               int n_out, int64_t count, uint64_t *out) {
        uint64_t tmp[64];
        for (int w = 0; 64 * (int64_t)w < count; w++) {
            for (int j = 0; j < n_out; j++)
                tmp[j] = v[(int64_t)out_slots[j] * ARCHSIM_W + w];
            for (int j = n_out; j < 64; j++)
                tmp[j] = 0;
            archsim_transpose64(tmp);
            int64_t rows = count - 64 * (int64_t)w < 64 ? count - 64 * (int64_t)w : 64;
            memcpy(out + 64 * (int64_t)w, tmp, (size_t)rows * 8);
        }
    }
    /* one slot array per thread for planes_products, kept between calls (no allocation and
       zero-fill per block); the constant slots 0 and 1 are the same for every program */
    static __thread uint64_t *archsim_tl_v = NULL;
    static __thread int64_t archsim_tl_slots = 0;
    static uint64_t *archsim_thread_planes(int64_t n_slots) {
        if (n_slots > archsim_tl_slots) {
            free(archsim_tl_v);
            archsim_tl_v = (uint64_t *)calloc((size_t)n_slots * ARCHSIM_W, sizeof(uint64_t));
            archsim_tl_slots = archsim_tl_v ? n_slots : 0;
            if (archsim_tl_v)
                for (int w = 0; w < ARCHSIM_W; w++)
                    archsim_tl_v[ARCHSIM_W + w] = ~(uint64_t)0;
        }
        return archsim_tl_v;
    }
    /* cnt[slot] += value changes between consecutive operations of one block (slots 2..);
       valid[w] masks the operations counted in word w; prev holds the previous block. */
    static ARCHSIM_CLONES void archsim_count(const uint64_t *v, uint64_t *prev, int64_t *cnt,
                                             int n_slots, const uint64_t *valid, int nw) {
        for (int slot = 2; slot < n_slots; slot++) {
            const uint64_t *x = v + (Py_ssize_t)slot * ARCHSIM_W;
            uint64_t carry = prev[slot] >> 63;
            int64_t c = 0;
            for (int w = 0; w < nw; w++) {
                c += __builtin_popcountll((x[w] ^ ((x[w] << 1) | carry)) & valid[w]);
                carry = x[w] >> 63;
            }
            cnt[slot] += c;
            prev[slot] = x[ARCHSIM_W - 1];
        }
    }
    """
    void archsim_run_ops(const int32_t* ops, Py_ssize_t n_ops, uint64_t* v) nogil
    void archsim_run_ops_n(const int32_t* ops, Py_ssize_t n_ops, uint64_t* v, int nw) nogil
    void archsim_count(const uint64_t* v, uint64_t* prev, int64_t* cnt, int n_slots,
                       const uint64_t* valid, int nw) nogil
    void transpose64 "archsim_transpose64"(uint64_t* x) nogil
    void archsim_unplane(const uint64_t* v, const int32_t* out_slots, int n_out, int64_t count,
                         uint64_t* out) nogil
    uint64_t* archsim_thread_planes(int64_t n_slots) nogil


cdef int lanes(Py_ssize_t count) noexcept nogil:
    """Words per slot that hold any of `count` operations (<= W)."""
    return <int>min(<Py_ssize_t>W, (count + 63) // 64)


cdef void load_block(const Prog* p, const uint64_t* a, const uint64_t* b, Py_ssize_t count,
                     uint64_t* v) noexcept nogil:
    """Bit-planes of up to BLOCK operand pairs into the operand slots (padding with zeros).
    Both operands share one transpose: row i holds a[i] in bits 0..31 and b[i] in 32..63."""
    cdef uint64_t tmp[64]
    cdef int w, i, k, rows
    for w in range(lanes(count)):
        rows = <int>min(<Py_ssize_t>64, count - 64 * w)
        for i in range(rows):
            tmp[i] = a[64 * w + i] | (b[64 * w + i] << 32)
        for i in range(rows, 64):
            tmp[i] = 0
        transpose64(tmp)
        for k in range(p.n_a):
            v[(2 + k) * W + w] = tmp[k]
        for k in range(p.n_b):
            v[(2 + p.n_a + k) * W + w] = tmp[32 + k]


cdef inline void run_ops(const Prog* p, uint64_t* v, Py_ssize_t count) noexcept nogil:
    """Execute the program on one block of `count` operations (slots are W words apart)."""
    if count == BLOCK:
        archsim_run_ops(p.ops, p.n_ops, v)
    else:
        archsim_run_ops_n(p.ops, p.n_ops, v, lanes(count))


cdef uint64_t* new_planes(const Prog* p) noexcept nogil:
    """Slot storage with the constant slots set (NULL if out of memory). The program writes
    every slot before reading it; zero-filled all the same, because partial blocks compute
    whole 8-word vectors, past the words that hold operations."""
    cdef uint64_t* v = <uint64_t*>calloc(p.n_slots * W, sizeof(uint64_t))
    cdef int w
    if v != NULL:
        for w in range(W):
            v[w] = 0
            v[W + w] = ~(<uint64_t>0)
    return v


cdef int products(const Prog* p, const uint64_t* a, const uint64_t* b, uint64_t* out,
                  Py_ssize_t n) noexcept nogil:
    """out[i] = netlist product of (a[i], b[i]); returns -1 if out of memory."""
    cdef uint64_t* v = new_planes(p)
    cdef uint64_t tmp[64]
    cdef Py_ssize_t s, count
    cdef int w, i, j, rows
    if v == NULL:
        return -1
    for j in range(p.n_out, 64):
        tmp[j] = 0
    s = 0
    while s < n:
        count = min(<Py_ssize_t>BLOCK, n - s)
        load_block(p, a + s, b + s, count, v)
        run_ops(p, v, count)
        for w in range(lanes(count)):
            for j in range(p.n_out):
                tmp[j] = v[p.out_slots[j] * W + w]
            transpose64(tmp)
            rows = <int>min(<Py_ssize_t>64, count - 64 * w)
            for i in range(rows):
                out[s + 64 * w + i] = tmp[i]
            for j in range(p.n_out, 64):  # the transpose left garbage above the product bits
                tmp[j] = 0
        s += BLOCK
    free(v)
    return 0


cdef int planes_products(const Prog* p, const uint64_t* ap, const uint64_t* bp, uint64_t* out,
                         Py_ssize_t count) noexcept nogil:
    """out[i] = netlist product of operation i < count <= BLOCK whose operand bit-planes are
    given (n_a then n_b planes of W words); -1 if out of memory. Uses the thread's slot array."""
    cdef uint64_t* v = archsim_thread_planes(p.n_slots)
    if v == NULL:
        return -1
    memcpy(&v[2 * W], ap, p.n_a * W * sizeof(uint64_t))
    memcpy(&v[(2 + p.n_a) * W], bp, p.n_b * W * sizeof(uint64_t))
    run_ops(p, v, count)
    archsim_unplane(v, p.out_slots, p.n_out, count, out)
    return 0


cdef int count_range(const Prog* p, const uint64_t* a, const uint64_t* b, Py_ssize_t start,
                     Py_ssize_t end, int64_t* cnt) noexcept nogil:
    """Add to cnt[slot] the value changes i-1 -> i for start < i < end; -1 if out of memory."""
    cdef uint64_t* v = new_planes(p)
    cdef uint64_t* prev = <uint64_t*>calloc(p.n_slots, sizeof(uint64_t))
    cdef Py_ssize_t s, count
    cdef int w
    cdef uint64_t valid[W]
    if v == NULL or prev == NULL:
        free(v)
        free(prev)
        return -1
    s = start
    while s < end:
        count = min(<Py_ssize_t>BLOCK, end - s)
        load_block(p, a + s, b + s, count, v)
        run_ops(p, v, count)
        for w in range(lanes(count)):
            valid[w] = ~(<uint64_t>0) if count - 64 * w >= 64 else \
                ((<uint64_t>1) << (count - 64 * w)) - 1
        if s == start:
            valid[0] &= ~(<uint64_t>1)  # operation `start` has no predecessor here
        archsim_count(v, prev, cnt, p.n_slots, valid, lanes(count))
        s += BLOCK
    free(v)
    free(prev)
    return 0


cdef Prog make_prog(prog, const int32_t[:, ::1] ops, const int32_t[::1] outs) except *:
    cdef Prog p
    p.ops = &ops[0, 0] if ops.shape[0] else NULL
    p.n_ops = ops.shape[0]
    p.n_slots, p.n_a, p.n_b = prog.n_slots, prog.n_a, prog.n_b
    p.n_out = outs.shape[0]
    p.out_slots = &outs[0]
    if ops.shape[1] != 8:
        raise ValueError(f"program rows must have 8 fields, got {ops.shape[1]}")
    if p.n_out > 64 or p.n_a > 32 or p.n_b > 32:
        raise ValueError(f"bit-sliced programs support operands of up to 32 bits and products "
                         f"of up to 64 bits, got {p.n_a}x{p.n_b} -> {p.n_out}")
    return p


def run_products(prog, const uint64_t[::1] a, const uint64_t[::1] b):
    """Products of a compiled program for operand arrays (validated by evaluate.py)."""
    cdef Prog p = make_prog(prog, prog.ops, prog.out_slots)
    cdef Py_ssize_t n = a.shape[0], chunk = BLOCK * CHUNK_BLOCKS, c
    cdef Py_ssize_t n_chunks = (n + chunk - 1) // chunk
    cdef int failed = 0
    res = np.zeros(n, dtype=np.uint64)
    cdef uint64_t[::1] out = res
    if n == 0:
        return res
    for c in prange(n_chunks, nogil=True, schedule="dynamic"):
        failed += products(&p, &a[c * chunk], &b[c * chunk], &out[c * chunk],
                           min(chunk, n - c * chunk)) != 0
    if failed:
        raise MemoryError("bit-sliced evaluation could not allocate its planes")
    return res


def run_toggles(prog, const uint64_t[::1] a, const uint64_t[::1] b):
    """Per-slot toggle counts of a compiled program over an operand stream (int64)."""
    cdef Prog p = make_prog(prog, prog.ops, prog.out_slots)
    cdef Py_ssize_t n = a.shape[0], chunk = BLOCK * CHUNK_BLOCKS, c
    cdef Py_ssize_t n_chunks = (n + chunk - 1) // chunk
    cdef int failed = 0
    per_thread = np.zeros((openmp.omp_get_max_threads(), p.n_slots), dtype=np.int64)
    cdef int64_t[:, ::1] cnt = per_thread
    if n < 2:
        return per_thread[0]
    for c in prange(n_chunks, nogil=True, schedule="dynamic"):
        failed += count_range(&p, &a[0], &b[0], c * chunk, min(n, (c + 1) * chunk),
                              &cnt[threadid(), 0]) != 0
    with nogil:
        for c in range(1, n_chunks):  # the pairs that straddle chunk boundaries
            if count_range(&p, &a[0], &b[0], c * chunk - 1, c * chunk + 1, &cnt[0, 0]) != 0:
                failed = 1
    if failed:
        raise MemoryError("toggle counting could not allocate its planes")
    return per_thread.sum(axis=0)


cdef class BitslicedSigMul(SigMul):
    """Generic engine: runs any netlist's compiled program on 1024-operation bit-planes."""

    cdef Prog prog
    cdef object _program  # keeps the arrays behind `prog` alive

    def __init__(self, program):
        self._program = program
        self.prog = make_prog(program, program.ops, program.out_slots)
        self.n_a, self.n_b, self.out_bits = program.n_a, program.n_b, self.prog.n_out

    cdef void batch(self, const uint64_t* a, const uint64_t* b, uint64_t* out,
                    Py_ssize_t n) noexcept nogil:
        # batch cannot raise; failing to allocate a few KB of planes must not leave `out`
        # silently unwritten, so it stops the process like any C library out of memory
        if products(&self.prog, a, b, out, n) != 0:
            abort()

    cdef int batch_planes(self, const uint64_t* a_planes, const uint64_t* b_planes,
                          uint64_t* out, Py_ssize_t count) noexcept nogil:
        if count > BLOCK:
            abort()
        if count > 0 and planes_products(&self.prog, a_planes, b_planes, out, count) != 0:
            abort()
        return 0
