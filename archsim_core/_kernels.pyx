# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled FP kernels over a significand engine: elementwise multiply, matmul (k-increasing
accumulation in the format's IEEE addition), format conversion. Operands and results are raw
bit patterns (uint32, or uint64 for formats wider than 32 bits); the Python layer
(multiplier.py) validates, allocates the outputs and converts at the boundary.

Every output element is computed entirely by one thread, so results do not depend on the
number of threads; the engine is called on contiguous batches from each thread.
"""
import numpy as np

from cython.parallel cimport parallel, prange
from openmp cimport omp_get_max_threads
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from archsim_core._fp cimport (FmtParams, fp_params, fp_sig, fp_mul_fast, fp_mul_general, fp_is_nan,
                               fp_daref_finish, fp_add, fp_from_double, fp_to_double, fp_field, SEM_DA_REFERENCE,
                               SEM_HARDWARE, RND_TRUNCATE)
from archsim_core._sigmul cimport Ama5ChunkSigMul, ExactSigMul, SigMul

cdef extern from *:
    """
    /* FP32 hardware-semantics finish, branch-free so it vectorises; compiled for baseline
       x86-64, x86-64-v3 (AVX2) and x86-64-v4 (AVX-512) and picked at load time (results are
       identical: only IEEE double/float operations and integer ops are used).
       A significand product p < 2**52 converts exactly to double (magic-number trick), and
       p * 2**E is exact in double for every FP32 exponent pair, so the IEEE double->float
       conversion rounds the exact product once to nearest even with IEEE overflow and
       gradual underflow: the definition of fp_round_pack. Round-toward-zero steps the RNE
       result down one ulp when it exceeds the exact value (inf becomes the largest finite).
       Elements with an inf/NaN operand or p >= 2**52 get a placeholder and make the
       function return 1; the caller redoes them with the scalar general path. */
    #include <stdint.h>
    #include <string.h>
    #if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    #define ARCHSIM_FP_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
    #else
    #define ARCHSIM_FP_CLONES
    #endif
    static ARCHSIM_FP_CLONES void archsim_fp32_unpack(const uint32_t *restrict x, uint64_t *restrict s,
                                                      int64_t n, int ftz) {
        for (int64_t i = 0; i < n; i++) {
            uint32_t e = (x[i] >> 23) & 0xFFu;
            uint32_t sig = (x[i] & 0x7FFFFFu) | ((uint32_t)(e != 0) << 23);
            sig &= -(uint32_t)(e != 0xFFu);
            sig &= -(uint32_t)(!ftz | (e != 0));
            s[i] = sig;
        }
    }
    static ARCHSIM_FP_CLONES int archsim_fp32_finish(const uint32_t *restrict a, const uint32_t *restrict b,
                                                     const uint64_t *restrict p, uint32_t *restrict out,
                                                     int64_t n, int trunc, int ftz) {
        uint32_t rare = 0;
        for (int64_t i = 0; i < n; i++) {
            uint32_t x = a[i], y = b[i];
            uint32_t ea = (x >> 23) & 0xFFu, eb = (y >> 23) & 0xFFu;
            uint32_t sign = (x ^ y) & 0x80000000u;
            uint64_t q = p[i];
            rare |= (uint32_t)(ea == 0xFFu) | (uint32_t)(eb == 0xFFu) | (uint32_t)((q >> 52) != 0);
            int32_t zero_a = (ea == 0) & (((x & 0x7FFFFFu) == 0) | (ftz != 0));
            int32_t zero_b = (eb == 0) & (((y & 0x7FFFFFu) == 0) | (ftz != 0));
            int64_t e2 = (int64_t)(ea + (ea == 0)) + (int64_t)(eb + (eb == 0)) - 254 - 46;
            uint64_t qb = (q & 0xFFFFFFFFFFFFFULL) | 0x4330000000000000ULL;
            uint64_t sb = (uint64_t)(e2 + 1023) << 52;
            double d, scale;
            memcpy(&d, &qb, 8);
            memcpy(&scale, &sb, 8);
            double v = (d - 4503599627370496.0) * scale;
            float fr = (float)v;
            uint32_t r;
            memcpy(&r, &fr, 4);
            r -= (uint32_t)((trunc != 0) & ((double)fr > v));
            r &= -(uint32_t)(!ftz | (((r >> 23) & 0xFFu) != 0));
            r &= -(uint32_t)!(zero_a | zero_b);
            out[i] = r | sign;
        }
        return rare != 0;
    }
    /* acc[j] += product (k, j) for k < kc, j < 16, in increasing k: independent IEEE float
       adds of 16 outputs, which vectorise without changing any output's order of addition. */
    static ARCHSIM_FP_CLONES void archsim_f32_accumulate16(float *restrict acc,
                                                          const uint32_t *restrict pr, int64_t kc) {
        for (int64_t k = 0; k < kc; k++)
            for (int j = 0; j < 16; j++) {
                float v;
                memcpy(&v, &pr[16 * k + j], 4);
                acc[j] = acc[j] + v;
            }
    }
    """
    void archsim_f32_accumulate16(float* acc, const uint32_t* pr, int64_t kc) noexcept nogil
    void archsim_fp32_unpack(const uint32_t* x, uint64_t* s, int64_t n, int ftz) noexcept nogil
    int archsim_fp32_finish(const uint32_t* a, const uint32_t* b, const uint64_t* p,
                            uint32_t* out, int64_t n, int trunc, int ftz) noexcept nogil


ctypedef fused bits_t:
    uint32_t
    uint64_t

cdef enum:
    CHUNK = 1024             # buffer capacity: one full block of the bit-sliced engine
    FAST_CHUNK = 512         # closed-form engines: three buffers of this many stay in L1
    NB = 16                  # FP32 matmul: outputs of one row accumulated side by side
    SERIAL_WORK = 32768      # below this many element operations one thread beats a team start-up


cdef inline int _threads(Py_ssize_t work) noexcept nogil:
    """Team size: 1 for small jobs (waking a second thread costs more than it saves, and far
    more on a loaded machine), else the OpenMP default."""
    return 1 if work < SERIAL_WORK else omp_get_max_threads()


cdef FmtParams _params(tuple p) except *:
    """(exp_bits, man_bits, rounding, ftz, semantics) -> FmtParams."""
    E, M, rounding, ftz, semantics = p
    if not (2 <= E <= 11 and 1 <= M <= 23):
        raise ValueError(f"format (1,{E},{M}) outside e<=11, m<=23")
    return fp_params(E, M, rounding, ftz, semantics)


cdef uint64_t _mul_rare(const FmtParams* f, uint64_t a, uint64_t b, uint64_t p) noexcept nogil:
    """Out-of-line general case, so the hot loops keep only the fast path inline."""
    return fp_mul_general(f, a, b, p)


cdef inline uint64_t _mul(const FmtParams* f, uint64_t a, uint64_t b, uint64_t p) noexcept nogil:
    cdef uint64_t r = fp_mul_fast(f, a, b, p)
    return r if r else _mul_rare(f, a, b, p)


cdef inline uint64_t _acc_add(const FmtParams* f, uint64_t a, uint64_t b) noexcept nogil:
    """Accumulator add; FP32 uses the native single-precision add (IEEE when compiled without
    fast-math or contraction), other formats the correctly rounded double-based add."""
    cdef float x, y, z
    cdef uint32_t a32 = <uint32_t>a, b32 = <uint32_t>b, r
    if f.E == 8 and f.M == 23:
        if f.ftz:                 # denormals-are-zero on the inputs
            if fp_field(f, a32) == 0:
                a32 &= <uint32_t>f.sign_bit
            if fp_field(f, b32) == 0:
                b32 &= <uint32_t>f.sign_bit
        memcpy(&x, &a32, 4)
        memcpy(&y, &b32, 4)
        z = x + y
        memcpy(&r, &z, 4)
        if (r & 0x7FFFFFFF) > 0x7F800000 and fp_is_nan(f, a32):
            return a32 | <uint32_t>f.quiet_bit   # the first NaN wins, whatever order the C compiler added in
        if f.ftz and fp_field(f, r) == 0:
            r &= <uint32_t>f.sign_bit
        return r
    return fp_add(f, a, b)


def to_bits(tuple params, const double[::1] x, bits_t[::1] out):
    """out[i] = x[i] rounded to the format (to nearest even; ftz flushes subnormals)."""
    cdef FmtParams f = _params(params)
    cdef Py_ssize_t i
    for i in prange(x.shape[0], nogil=True, schedule="static", num_threads=_threads(x.shape[0])):
        out[i] = <bits_t>fp_from_double(&f, x[i])


def to_double(tuple params, const bits_t[::1] bits, double[::1] out):
    """out[i] = the exact value of encoding bits[i]."""
    cdef FmtParams f = _params(params)
    cdef Py_ssize_t i
    for i in prange(bits.shape[0], nogil=True, schedule="static", num_threads=_threads(bits.shape[0])):
        out[i] = fp_to_double(&f, bits[i])


def add_bits(tuple params, const bits_t[::1] a, const bits_t[::1] b, bits_t[::1] out):
    """out = a + b elementwise, correctly rounded in the format (the matmul accumulator's add)."""
    cdef FmtParams f = _params(params)
    cdef Py_ssize_t i
    for i in prange(a.shape[0], nogil=True, schedule="static", num_threads=_threads(a.shape[0])):
        out[i] = <bits_t>_acc_add(&f, a[i], b[i])


def multiply_bits(SigMul engine, tuple params, const bits_t[::1] a, const bits_t[::1] b,
                  bits_t[::1] out, uint8_t[::1] bad):
    """out[i] = a[i] * b[i] through the engine. For da-reference semantics `bad` (length n,
    zeroed) gets 1 at elements outside the reference's domain; otherwise it may be empty."""
    cdef FmtParams f = _params(params)
    cdef Py_ssize_t n = a.shape[0]
    # elementwise, so the chunk length changes nothing but speed
    cdef Py_ssize_t step = FAST_CHUNK if type(engine) in (ExactSigMul, Ama5ChunkSigMul) else CHUNK
    cdef Py_ssize_t n_chunks = (n + step - 1) // step
    cdef Py_ssize_t c, lo
    cdef uint64_t* buf = NULL
    cdef uint8_t* badp = NULL
    if n == 0:
        return
    if f.semantics == SEM_DA_REFERENCE:
        if bad.shape[0] != n:
            raise ValueError("da-reference needs a domain-flag array of the operands' length")
        badp = &bad[0]
    with nogil, parallel(num_threads=_threads(n)):
        buf = <uint64_t*>malloc(3 * CHUNK * sizeof(uint64_t))
        # dynamic: on a shared machine a descheduled thread must not hold back the whole call
        for c in prange(n_chunks, schedule="dynamic", chunksize=4):
            lo = c * step
            _mul_chunk(f, engine, &a[lo], &b[lo], &out[lo], badp + lo if badp else NULL, buf,
                       min(step, n - lo))
        free(buf)


cdef void _mul_chunk(FmtParams f, SigMul engine, const bits_t* a, const bits_t* b, bits_t* out,
                     uint8_t* bad, uint64_t* buf, Py_ssize_t cnt) noexcept nogil:
    """Dispatch: FP32 gets a copy of the chunk loop with its widths as compile-time constants
    (immediate shifts and masks instead of shifts by a register)."""
    if bits_t is uint32_t:
        if f.E == 8 and f.M == 23 and f.semantics == SEM_HARDWARE:
            _mul_chunk_fp32(f, engine, a, b, out, buf, cnt)
            return
    if f.E == 8 and f.M == 23:
        _mul_chunk_impl(fp_params(8, 23, f.rounding, f.ftz, f.semantics), engine, a, b, out, bad,
                        buf, cnt)
    else:
        _mul_chunk_impl(f, engine, a, b, out, bad, buf, cnt)


cdef void _mul_chunk_fp32(FmtParams f, SigMul engine, const uint32_t* a, const uint32_t* b,
                         uint32_t* out, uint64_t* buf, Py_ssize_t cnt) noexcept nogil:
    """FP32 hardware semantics: vectorised unpack and finish around one engine batch."""
    archsim_fp32_unpack(a, buf, cnt, f.ftz)
    archsim_fp32_unpack(b, buf + CHUNK, cnt, f.ftz)
    engine.batch(buf, buf + CHUNK, buf + 2 * CHUNK, cnt)
    _finish_fp32(&f, a, b, buf + 2 * CHUNK, out, cnt)


cdef inline void _finish_fp32(const FmtParams* f, const uint32_t* a, const uint32_t* b,
                              const uint64_t* p, uint32_t* out, Py_ssize_t cnt) noexcept nogil:
    """out = fp_mul_finish(a, b, p) elementwise (FP32, hardware semantics): the vectorised
    pass, then the scalar general path on the rare elements it leaves."""
    cdef Py_ssize_t i
    if archsim_fp32_finish(a, b, p, out, cnt, f.rounding == RND_TRUNCATE, f.ftz):
        for i in range(cnt):
            if fp_field(f, a[i]) == f.emax or fp_field(f, b[i]) == f.emax or p[i] >> 52:
                out[i] = <uint32_t>_mul(f, a[i], b[i], p[i])


def finish_bits(tuple params, const uint32_t[::1] a, const uint32_t[::1] b,
                const uint64_t[::1] p, uint32_t[::1] out, bint reference):
    """FP32 hardware-semantics finish of given significand products: the vectorised path used
    by `multiply_bits`, or (`reference`) the scalar `fp_mul_finish`. Exposed so tests can
    prove the two bit-identical on arbitrary products, not only on an engine's outputs."""
    cdef FmtParams f = _params(params)
    cdef Py_ssize_t i, n = a.shape[0]
    if not (f.E == 8 and f.M == 23 and f.semantics == SEM_HARDWARE):
        raise ValueError("finish_bits is the FP32 hardware-semantics finish")
    if b.shape[0] != n or p.shape[0] != n or out.shape[0] != n:
        raise ValueError("finish_bits: arrays must have equal lengths")
    if n == 0:
        return
    with nogil:
        if reference:
            for i in range(n):
                out[i] = <uint32_t>_mul(&f, a[i], b[i], p[i])
        else:
            _finish_fp32(&f, &a[0], &b[0], &p[0], &out[0], n)


cdef inline void _mul_chunk_impl(FmtParams f, SigMul engine, const bits_t* a, const bits_t* b,
                                 bits_t* out, uint8_t* bad, uint64_t* buf,
                                 Py_ssize_t cnt) noexcept nogil:
    """One chunk: unpack significands, one engine batch, finish. `f` is a by-value copy so the
    compiler keeps its fields in registers across the byte stores to `bad`."""
    cdef Py_ssize_t i
    cdef uint8_t flag = 0
    for i in range(cnt):
        buf[i] = fp_sig(&f, a[i])
        buf[CHUNK + i] = fp_sig(&f, b[i])
    engine.batch(buf, buf + CHUNK, buf + 2 * CHUNK, cnt)
    if f.semantics == SEM_DA_REFERENCE:
        for i in range(cnt):
            out[i] = <bits_t>fp_daref_finish(&f, a[i], b[i], buf[2 * CHUNK + i], &flag)
            if flag:
                bad[i] = 1
    else:
        for i in range(cnt):
            out[i] = <bits_t>_mul(&f, a[i], b[i], buf[2 * CHUNK + i])


def matmul_bits(SigMul engine, tuple params, const bits_t[:, ::1] x, const bits_t[:, ::1] wt,
                const bits_t[::1] bias, bint has_bias, bits_t[:, ::1] out, int[:, ::1] bad,
                bint pairwise=False):
    """out[m, n] = sum_k x[m, k] * wt[n, k] (+ bias[n] last): every product through the
    engine, accumulated with the format's IEEE add in increasing k from the first product
    (or, if `pairwise`, as a fixed binary tree over adjacent k: an adder-tree PE);
    bad[m, n] counts the out-of-domain (da-reference) products of each output."""
    cdef FmtParams f = _params(params)
    cdef Py_ssize_t M = x.shape[0], K = x.shape[1], N = wt.shape[0]
    cdef Py_ssize_t i, k, mi, ni
    cdef uint64_t* prod = NULL
    cdef uint64_t acc
    cdef int nbad
    if M == 0 or N == 0:
        return
    if bits_t is uint32_t:
        if f.E == 8 and f.M == 23 and f.semantics == SEM_HARDWARE and not f.ftz and not pairwise and K > 0:
            _matmul_fp32(engine, f, x, wt, bias, has_bias, out)
            return
    xs_arr, ws_arr = _sigs(&f, x), _sigs(&f, wt)     # unpacked once, reused N (M) times
    cdef const uint64_t[:, ::1] xs = xs_arr
    cdef const uint64_t[:, ::1] ws = ws_arr
    with nogil, parallel(num_threads=_threads(M * N * K)):
        prod = <uint64_t*>malloc((K + 1) * sizeof(uint64_t))
        for i in prange(M * N, schedule="dynamic", chunksize=8):
            mi = i // N
            ni = i % N
            nbad = 0
            acc = 0
            if K > 0:
                engine.batch(&xs[mi, 0], &ws[ni, 0], prod, K)
                if pairwise:
                    acc = _dot_pairwise(&f, &x[mi, 0], &wt[ni, 0], prod, K, &nbad)
                else:
                    acc = _dot(f, &x[mi, 0], &wt[ni, 0], prod, K, &nbad)
            if has_bias:
                acc = _acc_add(&f, acc, bias[ni])
            out[mi, ni] = <bits_t>acc
            bad[mi, ni] = nbad
        free(prod)


cdef void _matmul_fp32(SigMul engine, FmtParams f, const uint32_t[:, ::1] x,
                      const uint32_t[:, ::1] wt, const uint32_t[::1] bias, bint has_bias,
                      uint32_t[:, ::1] out) except *:
    """FP32 hardware semantics, k-increasing, no ftz: each task is one row of X against NB
    columns of W. Products are laid out k-major (NB per k), so the engine, the vectorised
    finish and the float accumulation all work on NB independent outputs at once; every
    output still gets its products added one by one in increasing k, from the first."""
    cdef Py_ssize_t M = x.shape[0], K = x.shape[1], N = wt.shape[0]
    cdef Py_ssize_t n_blk = (N + NB - 1) // NB, t, mi, nb, kb, k0, kk, j, kc
    cdef Py_ssize_t kcap = (FAST_CHUNK if type(engine) in (ExactSigMul, Ama5ChunkSigMul) else CHUNK) // NB
    wpad = np.zeros((n_blk * NB, K), np.uint32)
    wpad[:N] = wt
    wb_arr = np.ascontiguousarray(wpad.reshape(n_blk, NB, K).transpose(0, 2, 1))  # [blk, k, j]
    wsig_arr = np.empty(wb_arr.shape, np.uint64)
    xsig_arr = np.empty((M, K), np.uint64)
    cdef const uint32_t[:, :, ::1] wb = wb_arr
    cdef uint64_t[:, :, ::1] wsig = wsig_arr
    cdef uint64_t[:, ::1] xsig = xsig_arr
    cdef uint32_t* xr
    cdef uint64_t* xsr
    cdef uint64_t* p
    cdef uint32_t* pr
    cdef float* acc
    cdef float fb
    cdef uint32_t r
    with nogil:
        archsim_fp32_unpack(&wb[0, 0, 0], &wsig[0, 0, 0], n_blk * K * NB, 0)
        archsim_fp32_unpack(&x[0, 0], &xsig[0, 0], M * K, 0)
    with nogil, parallel(num_threads=_threads(M * N * K)):
        # per-thread buffers: X bits and significands repeated NB times, products, sums
        xr = <uint32_t*>malloc(CHUNK * (2 * sizeof(uint32_t) + 2 * sizeof(uint64_t))
                               + NB * sizeof(float))
        pr = xr + CHUNK
        xsr = <uint64_t*>(pr + CHUNK)
        p = xsr + CHUNK
        acc = <float*>(p + CHUNK)
        for t in prange(M * n_blk, schedule="dynamic", chunksize=4):
            mi = t // n_blk
            nb = t % n_blk
            for kb in range((K + kcap - 1) // kcap):
                k0 = kb * kcap
                kc = min(kcap, K - k0)
                for kk in range(kc):
                    for j in range(NB):
                        xr[kk * NB + j] = x[mi, k0 + kk]
                        xsr[kk * NB + j] = xsig[mi, k0 + kk]
                engine.batch(xsr, &wsig[nb, k0, 0], p, kc * NB)
                _finish_fp32(&f, xr, &wb[nb, k0, 0], p, pr, kc * NB)
                if k0 == 0:   # the sum starts from the first product, not from +0
                    memcpy(acc, pr, NB * sizeof(float))
                    archsim_f32_accumulate16(acc, pr + NB, kc - 1)
                else:
                    archsim_f32_accumulate16(acc, pr, kc)
            for j in range(min(<Py_ssize_t>NB, N - nb * NB)):
                if has_bias:
                    memcpy(&fb, &bias[nb * NB + j], 4)
                    acc[j] = acc[j] + fb
                memcpy(&r, &acc[j], 4)
                out[mi, nb * NB + j] = r
        free(xr)


cdef uint64_t _dot(FmtParams f, const bits_t* x, const bits_t* w, const uint64_t* prod,
                   Py_ssize_t K, int* nbad) noexcept nogil:
    """Dispatch: FP32 gets a copy with compile-time widths (see `_mul_chunk`)."""
    if f.E == 8 and f.M == 23:
        return _dot_impl(fp_params(8, 23, f.rounding, f.ftz, f.semantics), x, w, prod, K, nbad)
    return _dot_impl(f, x, w, prod, K, nbad)


cdef inline uint64_t _dot_impl(FmtParams f, const bits_t* x, const bits_t* w,
                               const uint64_t* prod, Py_ssize_t K, int* nbad) noexcept nogil:
    """Finish the K significand products of one output and sum them in increasing k (K >= 1).
    `f` is a by-value copy so its fields stay in registers."""
    cdef Py_ssize_t k
    cdef uint64_t acc, r
    cdef uint32_t r32
    cdef float facc, fr
    cdef uint8_t flag = 0
    cdef int count = 0
    if f.semantics == SEM_HARDWARE and f.E == 8 and f.M == 23 and not f.ftz:
        # FP32 IEEE: native single-precision adds (no fast-math, no contraction)
        r32 = <uint32_t>_mul(&f, x[0], w[0], prod[0])
        memcpy(&facc, &r32, 4)
        for k in range(1, K):
            r32 = <uint32_t>_mul(&f, x[k], w[k], prod[k])
            memcpy(&fr, &r32, 4)
            facc = facc + fr
        memcpy(&r32, &facc, 4)
        return r32
    acc = 0
    for k in range(K):
        if f.semantics == SEM_DA_REFERENCE:
            r = fp_daref_finish(&f, x[k], w[k], prod[k], &flag)
            count += flag
        else:
            r = _mul(&f, x[k], w[k], prod[k])
        acc = r if k == 0 else _acc_add(&f, acc, r)
    nbad[0] = count
    return acc


cdef uint64_t _dot_pairwise(const FmtParams* f, const bits_t* x, const bits_t* w,
                            uint64_t* prod, Py_ssize_t K, int* nbad) noexcept nogil:
    """Finish the K products in place, then add adjacent pairs level by level (an odd element
    moves up unchanged); the lower-k partial sum is always the left operand."""
    cdef Py_ssize_t k, step = 1
    cdef uint8_t flag = 0
    cdef int count = 0
    for k in range(K):
        if f.semantics == SEM_DA_REFERENCE:
            prod[k] = fp_daref_finish(f, x[k], w[k], prod[k], &flag)
            count += flag
        else:
            prod[k] = _mul(f, x[k], w[k], prod[k])
    while step < K:
        k = 0
        while k + step < K:
            prod[k] = _acc_add(f, prod[k], prod[k + step])
            k += 2 * step
        step *= 2
    nbad[0] = count
    return prod[0]


cdef object _sigs(const FmtParams* f, const bits_t[:, ::1] v):
    """Significands of a 2-D operand."""
    cdef Py_ssize_t R = v.shape[0], C = v.shape[1], i, j
    arr = np.empty((R, C), dtype=np.uint64)
    cdef uint64_t[:, ::1] s = arr
    for i in prange(R, nogil=True, schedule="static", num_threads=_threads(R * C)):
        for j in range(C):
            s[i, j] = fp_sig(f, v[i, j])
    return arr
