# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Bit-sliced execution of compiled netlist programs (see evaluate.py), toggle counting, and the
generic BitslicedSigMul engine.

Layout: every slot (bit-plane) holds W = 8 words, so one operation of the program advances 512
operand pairs; bit i of word w of a slot is the value for operation 64*w + i of the block.
Operands are turned into bit-planes (and products back) by 64 x 64 bit-matrix transposes.
Streams are split into fixed chunks of CHUNK_BLOCKS blocks for prange; the chunking never
depends on the thread count, and toggle counts are integer sums, so results are identical for
any number of threads.
"""
import numpy as np

cimport openmp
from cython.parallel cimport prange, threadid
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport calloc, free, malloc

from archsim_core._sigmul cimport SigMul

cdef extern from *:
    int popcount64 "__builtin_popcountll"(unsigned long long) nogil

cdef enum:
    W = 8
    BLOCK = 512
    CHUNK_BLOCKS = 64
    OP_AND = 0
    OP_OR = 1
    OP_XOR = 2
    OP_ANDN = 3
    OP_XOR3 = 4
    OP_MAJ = 5
    OP_AO21 = 6
    OP_TABLE3 = 7
    OP_BUF = 8
    OP_FA = 9
    OP_HA = 10
    OP_FIELDS = 7

cdef struct Prog:
    const int32_t* ops
    Py_ssize_t n_ops
    int n_slots
    int n_a
    int n_b
    int n_out
    const int32_t* out_slots


cdef inline void transpose64(uint64_t* x) noexcept nogil:
    """In place: afterwards bit j of x[i] is what bit i of x[j] was."""
    cdef int j = 32, k0, k
    cdef uint64_t m = 0x00000000FFFFFFFFULL, t
    while j:
        k0 = 0
        while k0 < 64:
            for k in range(k0, k0 + j):
                t = ((x[k] >> j) ^ x[k + j]) & m
                x[k + j] ^= t
                x[k] ^= t << j
            k0 += 2 * j
        j >>= 1
        m ^= m << j


cdef void load_block(const Prog* p, const uint64_t* a, const uint64_t* b, Py_ssize_t count,
                     uint64_t* v) noexcept nogil:
    """Bit-planes of up to BLOCK operand pairs into the operand slots (padding with zeros).
    Both operands share one transpose: row i holds a[i] in bits 0..31 and b[i] in 32..63."""
    cdef uint64_t tmp[64]
    cdef int w, i, k
    for w in range(W):
        for i in range(64):
            tmp[i] = (a[64 * w + i] | (b[64 * w + i] << 32)) if 64 * w + i < count else 0
        transpose64(tmp)
        for k in range(p.n_a):
            v[(2 + k) * W + w] = tmp[k]
        for k in range(p.n_b):
            v[(2 + p.n_a + k) * W + w] = tmp[32 + k]


cdef inline uint64_t table3(uint64_t x, uint64_t y, uint64_t z, int32_t tab) noexcept nogil:
    cdef uint64_t r = 0
    cdef int m
    for m in range(8):
        if (tab >> m) & 1:
            r |= (x if m & 4 else ~x) & (y if m & 2 else ~y) & (z if m & 1 else ~z)
    return r


cdef void run_ops(const Prog* p, uint64_t* v) noexcept nogil:
    """Execute the program on one block (all slots W words wide)."""
    cdef Py_ssize_t o
    cdef int w, code
    cdef const int32_t* op
    cdef uint64_t* out
    cdef uint64_t* x
    cdef uint64_t* y
    cdef uint64_t* z
    cdef uint64_t* out2
    cdef uint64_t neg, s, c
    for o in range(p.n_ops):
        op = p.ops + OP_FIELDS * o
        code = op[0]
        out, x, y, z = v + op[1] * W, v + op[2] * W, v + op[3] * W, v + op[4] * W
        neg = (<uint64_t>0) - <uint64_t>(op[5] & 1)
        if code == OP_FA:
            out2 = v + op[6] * W
            for w in range(W):
                s = x[w] ^ y[w]
                c = (x[w] & y[w]) | (z[w] & s)
                out[w] = s ^ z[w]
                out2[w] = c
        elif code == OP_HA:
            out2 = v + op[6] * W
            for w in range(W):
                s = x[w] ^ y[w]
                c = x[w] & y[w]
                out[w] = s
                out2[w] = c
        elif code == OP_AND:
            for w in range(W):
                out[w] = (x[w] & y[w]) ^ neg
        elif code == OP_OR:
            for w in range(W):
                out[w] = (x[w] | y[w]) ^ neg
        elif code == OP_XOR:
            for w in range(W):
                out[w] = (x[w] ^ y[w]) ^ neg
        elif code == OP_ANDN:
            for w in range(W):
                out[w] = (x[w] & ~y[w]) ^ neg
        elif code == OP_XOR3:
            for w in range(W):
                out[w] = (x[w] ^ y[w] ^ z[w]) ^ neg
        elif code == OP_MAJ:
            for w in range(W):
                out[w] = ((x[w] & y[w]) | (z[w] & (x[w] | y[w]))) ^ neg
        elif code == OP_AO21:
            for w in range(W):
                out[w] = (x[w] | (y[w] & z[w])) ^ neg
        elif code == OP_BUF:
            for w in range(W):
                out[w] = x[w] ^ neg
        else:
            for w in range(W):
                out[w] = table3(x[w], y[w], z[w], op[5])


cdef uint64_t* new_planes(const Prog* p) noexcept nogil:
    """Slot storage with the constant slots set (NULL if out of memory). Other slots need no
    initialisation: the program writes every slot before reading it."""
    cdef uint64_t* v = <uint64_t*>malloc(p.n_slots * W * sizeof(uint64_t))
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
    cdef int w, i, j
    if v == NULL:
        return -1
    s = 0
    while s < n:
        count = min(<Py_ssize_t>BLOCK, n - s)
        load_block(p, a + s, b + s, count, v)
        run_ops(p, v)
        for w in range(W):
            for j in range(64):
                tmp[j] = v[p.out_slots[j] * W + w] if j < p.n_out else 0
            transpose64(tmp)
            for i in range(64):
                if 64 * w + i < count:
                    out[s + 64 * w + i] = tmp[i]
        s += BLOCK
    free(v)
    return 0


cdef int count_range(const Prog* p, const uint64_t* a, const uint64_t* b, Py_ssize_t start,
                     Py_ssize_t end, int64_t* cnt) noexcept nogil:
    """Add to cnt[slot] the value changes i-1 -> i for start < i < end; -1 if out of memory."""
    cdef uint64_t* v = new_planes(p)
    cdef uint64_t* prev = <uint64_t*>calloc(p.n_slots, sizeof(uint64_t))
    cdef Py_ssize_t s, count
    cdef int w, slot
    cdef uint64_t valid, carry, t
    if v == NULL or prev == NULL:
        free(v)
        free(prev)
        return -1
    s = start
    while s < end:
        count = min(<Py_ssize_t>BLOCK, end - s)
        load_block(p, a + s, b + s, count, v)
        run_ops(p, v)
        for slot in range(2, p.n_slots):
            for w in range(W):
                if 64 * w >= count:
                    break
                valid = ~(<uint64_t>0) if count - 64 * w >= 64 else \
                    ((<uint64_t>1) << (count - 64 * w)) - 1
                if s == start and w == 0:
                    valid &= ~(<uint64_t>1)  # operation `start` has no predecessor here
                carry = (v[slot * W + w - 1] if w else prev[slot]) >> 63
                t = v[slot * W + w]
                cnt[slot] += popcount64((t ^ ((t << 1) | carry)) & valid)
            prev[slot] = v[slot * W + W - 1]
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
    """Generic engine: runs any netlist's compiled program on 512-operation bit-planes."""

    cdef Prog prog
    cdef object _program  # keeps the arrays behind `prog` alive

    def __init__(self, program):
        self._program = program
        self.prog = make_prog(program, program.ops, program.out_slots)
        self.n_a, self.n_b, self.out_bits = program.n_a, program.n_b, self.prog.n_out

    cdef void batch(self, const uint64_t* a, const uint64_t* b, uint64_t* out,
                    Py_ssize_t n) noexcept nogil:
        products(&self.prog, a, b, out, n)
