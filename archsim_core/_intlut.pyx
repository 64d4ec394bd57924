# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Product-table lookup of integer circuits (see archsim_core/intmul.py): one pass per element
that range-checks both operands, forms the table index from their raw bit patterns and reads
the result. Unsafe directives: every index is range-checked in the loop before use."""
from cython.parallel import prange
from libc.stdint cimport int64_t, uint64_t

# fixed-size chunks, so the work split never depends on the thread count (results never do)
DEF CHUNK = 65536

ctypedef fused operand_t:
    signed char
    unsigned char
    short
    unsigned short
    int
    unsigned int
    long long
    unsigned long long


ctypedef fused table_t:
    int
    long long


def table_lookup(const table_t[::1] table, const operand_t[::1] a, const operand_t[::1] b,
                 int64_t[::1] out, int n_b, int64_t lo, int64_t hi_a, int64_t hi_b):
    """out[i] = table[(a[i] & mask_a) << n_b | (b[i] & mask_b)] for operands in [lo, hi_a] and
    [lo, hi_b] (masks = hi - lo); returns the number of out-of-range operands (out is then
    unspecified). Parallel over fixed chunks (OpenMP), GIL released."""
    cdef Py_ssize_t i, n = a.shape[0]
    cdef int64_t bad = 0
    cdef uint64_t x, y
    cdef uint64_t span_a = <uint64_t>(hi_a - lo), span_b = <uint64_t>(hi_b - lo)
    cdef uint64_t ulo = <uint64_t>lo
    # (v - lo) as unsigned is <= span exactly when lo <= v <= hi: one compare per operand.
    # The raw bit pattern is (v - lo) xor (lo's pattern within the width) = v & mask.
    for i in prange(n, nogil=True, schedule="static", chunksize=CHUNK):
        x = <uint64_t><int64_t>a[i] - ulo
        y = <uint64_t><int64_t>b[i] - ulo
        if x > span_a or y > span_b:
            bad += 1
        else:
            out[i] = table[(((x + ulo) & span_a) << n_b) | ((y + ulo) & span_b)]
    return bad
