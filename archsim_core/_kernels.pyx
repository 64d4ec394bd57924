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
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport abort, free, malloc
from libc.string cimport memcpy

from archsim_core._fp cimport (FmtParams, fp_params, fp_sig, fp_mul_fast, fp_mul_general, fp_is_nan,
                               fp_daref_finish, fp_add, fp_from_double, fp_to_double, fp_field, SEM_DA_REFERENCE,
                               SEM_HARDWARE, RND_TRUNCATE)
from archsim_core._sigmul cimport Ama5ChunkSigMul, ExactSigMul, LowTableSigMul, SigMul

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


cdef extern from *:
    """
    /* Blocked FP32 GEMM for significand engines with a closed form of at most two integer
       products, P(A, B) = A1*B1 + A2*B2 (exact: A*B; AMA5 hierarchies of c-bit leaves:
       A1 = A & m, B1 = B, A2 = A & ~m, B2 = 2**c * ((B >> (c-1)) & m)), or of one product and
       a table correction, P(A, B) = A*B + D[A & m, B & m] (low-table engines, see below).

       Each operand is split once, when packing, into two doubles t = Ai * s with the scale
       s = +-2**(e - 150) (e the biased exponent, 1 for subnormals; the sign in s). Then
       a1*b1 = A1*B1 * 2**(ea + eb - 300) is exact in double (A1*B1 < 2**49), and so is the
       sum of both terms (an integer < 2**50 times the same power of two): the double
       v = a1*b1 + a2*b2 is the exact value sign * P * 2**(ea - 127 - 23 + eb - 127 - 23)
       that fp_mul_finish rounds once. Its IEEE conversion to float with round-toward-zero
       (truncate) or to nearest even (rne) is therefore the hardware-semantics product, with
       overflow and gradual underflow as IEEE specifies; zero operands give the signed zero.
       Operands with inf/NaN are not packed: the caller takes the general path.

       Low-table engines (P(A, B) = A*B + D[A mod 2**c, B mod 2**c], |D| < 2**31, no wrap;
       archsim_core.lowtable) use three terms per operand: t1 = A * s, t2 = s (+-0 for a zero
       operand) and t3 = the operand's index into the table ((A & m) << c for the first,
       B & m for the second operand, as an exact double). Then sc = sa*sb is +-2**(ea+eb-300)
       (or a signed zero), D*sc is exact, and v = a1*b1 + D*sc = sign * P * 2**(...) exactly
       (P < 2**53 is an integer); fused or not, the sum is that exact value. Its sign is forced
       to sc's (the sign of sa*sb): a zero operand (sc = +-0) or P = 0 then gives the signed
       zero fp_mul_finish returns, whatever D is.

       Outputs of an MR x NR tile stay in float accumulators for the whole k loop; every
       output is summed in increasing k with IEEE float adds, from -0.0 (-0 + x == x for
       every x, so this equals starting from the first product). */
    #include <stdint.h>
    #include <string.h>
    #include <stdlib.h>
    #include <math.h>
    #if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    #include <immintrin.h>
    #define AG_X86 1
    #define AG_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
    #else
    #define AG_X86 0
    #define AG_CLONES
    #endif
    #define AG_MR 8
    #define AG_NR 16

    typedef void (*ag_kernel_fn)(int64_t K, const double *a, const double *b, float *c,
                                 const int32_t *tab);

    /* sign * 2**(e - 150) for a biased FP32 exponent e (subnormals: e = 1) */
    static inline double ag_scale(uint32_t x) {
        uint32_t e = (x >> 23) & 0xFFu;
        uint64_t ee = (uint64_t)e + (uint64_t)(e == 0);
        uint64_t sb = ((uint64_t)(x >> 31) << 63) | ((ee - 150u + 1023u) << 52);
        double s;
        memcpy(&s, &sb, 8);
        return s;
    }
    static inline uint32_t ag_sig(uint32_t x) {
        uint32_t e = (x >> 23) & 0xFFu;
        return (x & 0x7FFFFFu) | ((uint32_t)(e != 0) << 23);
    }
    /* first operand (activation) terms, t[0 .. nterms-1]:
       1: A*s;  2 (AMA5): (A & m)*s, (A & ~m)*s;  3 (low table): A*s, s (0 for a zero
       operand), (A & m) << c (the row offset into the table) */
    /* (significand parts are < 2**25: converted through int32, one instruction) */
    static inline void ag_split_a(uint32_t x, int nterms, uint64_t m, int c, double *t) {
        uint32_t sig = ag_sig(x);
        double s = ag_scale(x);
        if (nterms == 2) {
            t[0] = (double)(int32_t)(sig & (uint32_t)m) * s;
            t[1] = (double)(int32_t)(sig & ~(uint32_t)m) * s;
        } else {
            t[0] = (double)(int32_t)sig * s;
            if (nterms == 3) {
                t[1] = sig ? s : s * 0.0;
                t[2] = (double)(int32_t)((sig & (uint32_t)m) << c);
            }
        }
    }
    /* second operand (weight) terms: 1: B*s;  2 (AMA5): B*s, 2**c * ((B >> (c-1)) & m) * s;
       3 (low table): B*s, s (0 for a zero operand), B & m (the column into the table) */
    static inline void ag_split_b(uint32_t x, int nterms, uint64_t m, int c, double *t) {
        uint32_t sig = ag_sig(x);
        double s = ag_scale(x);
        t[0] = (double)(int32_t)sig * s;
        if (nterms == 2)
            t[1] = (double)(int32_t)(((sig >> (c - 1)) & (uint32_t)m) << c) * s;
        if (nterms == 3) {
            t[1] = sig ? s : s * 0.0;
            t[2] = (double)(int32_t)(sig & (uint32_t)m);
        }
    }
    /* 1 if any element has an all-ones exponent (inf/NaN) */
    static AG_CLONES int ag_any_special(const uint32_t *x, int64_t n) {
        uint32_t r = 0;
        for (int64_t i = 0; i < n; i++)
            r |= (uint32_t)((x[i] & 0x7F800000u) == 0x7F800000u);
        return r != 0;
    }
    /* W^T [N, K] -> panels p0..p1-1 as [p1-p0][K][nterms][NR] (columns beyond N padded with +0) */
    static AG_CLONES void ag_pack_b(const uint32_t *wt, int64_t N, int64_t K, int nterms, uint64_t m,
                          int c, double *out, int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; p++) {
            double *dst = out + (p - p0) * K * nterms * AG_NR;
            for (int j = 0; j < AG_NR; j++) {
                int64_t col = p * AG_NR + j;
                for (int64_t k = 0; k < K; k++) {
                    double t[3];
                    ag_split_b(col < N ? wt[col * K + k] : 0u, nterms, m, c, t);
                    for (int q = 0; q < nterms; q++)
                        dst[(k * nterms + q) * AG_NR + j] = t[q];
                }
            }
        }
    }
    /* rows [i0, i0 + rows) of X [M, K] -> tiles [rows/MR][K][nterms][MR] (+0 padding) */
    static AG_CLONES void ag_pack_a(const uint32_t *x, int64_t K, int64_t i0, int64_t rows, int nterms,
                          uint64_t m, int c, double *out) {
        int64_t tiles = (rows + AG_MR - 1) / AG_MR;
        for (int64_t t = 0; t < tiles; t++) {
            double *dst = out + t * K * nterms * AG_MR;
            int64_t nr = rows - t * AG_MR < AG_MR ? rows - t * AG_MR : AG_MR;
            const uint32_t *src = x + (i0 + t * AG_MR) * K;
            for (int64_t k = 0; k < K; k++) {
                uint32_t v[AG_MR];
                for (int r = 0; r < AG_MR; r++)
                    v[r] = r < nr ? src[r * K + k] : 0u;
                for (int r = 0; r < AG_MR; r++) {   /* vectorises over the tile's rows */
                    double t[3];
                    ag_split_a(v[r], nterms, m, c, t);
                    for (int q = 0; q < nterms; q++)
                        dst[(k * nterms + q) * AG_MR + r] = t[q];
                }
            }
        }
    }
    /* conv2d, implicit im2col: the input [Nimg, C, H, W] is split once into nterms planes of
       doubles with the padding built in ([Nimg][C][H+2p][W+2p]); row i of the virtual
       im2col matrix is output pixel (n, oy, ox), column k = (c*R + r)*S + s; koff[k] is the
       offset of (c, r, s) in one padded image. */
    static AG_CLONES void ag_pack_a_conv(const double *planes, int64_t plane_size, const int64_t *koff,
                               int64_t K, int64_t i0, int64_t rows, int64_t M, int64_t P,
                               int64_t OW, int64_t stride, int64_t HP, int64_t WP, int64_t C,
                               int nterms, double *out) {
        int64_t tiles = (rows + AG_MR - 1) / AG_MR;
        for (int64_t t = 0; t < tiles; t++) {
            double *dst = out + t * K * nterms * AG_MR;
            for (int r = 0; r < AG_MR; r++) {
                int64_t row = i0 + t * AG_MR + r;
                if (t * AG_MR + r >= rows || row >= M) {
                    for (int64_t k = 0; k < K; k++)
                        for (int q = 0; q < nterms; q++)
                            dst[(k * nterms + q) * AG_MR + r] = 0.0;
                    continue;
                }
                int64_t n = row / P, pix = row % P, oy = pix / OW, ox = pix % OW;
                int64_t base = n * C * HP * WP + oy * stride * WP + ox * stride;
                for (int q = 0; q < nterms; q++) {
                    const double *pq = planes + q * plane_size + base;
                    for (int64_t k = 0; k < K; k++)
                        dst[(k * nterms + q) * AG_MR + r] = pq[koff[k]];
                }
            }
        }
    }
    /* term q of element i goes to out[q * plane_size + i] */
    static AG_CLONES void ag_split_planes(const uint32_t *x, int64_t n, int nterms, uint64_t m, int c,
                                double *out, int64_t plane_size) {
        for (int64_t i = 0; i < n; i++) {
            double t[3];
            ag_split_a(x[i], nterms, m, c, t);
            for (int q = 0; q < nterms; q++)
                out[q * plane_size + i] = t[q];
        }
    }

    /* ---- portable micro-kernel (any x86-64; also the reference for the vector one) ---- */
    static inline double ag_copysign_bits(double v, double sgn) {
        uint64_t u, w;
        memcpy(&u, &v, 8);
        memcpy(&w, &sgn, 8);
        u = (u & 0x7FFFFFFFFFFFFFFFULL) | (w & 0x8000000000000000ULL);
        memcpy(&v, &u, 8);
        return v;
    }
    static inline __attribute__((always_inline)) void ag_body_portable(
            int64_t K, const double *restrict a, const double *restrict b, float *restrict c,
            const int32_t *restrict tab, const int nterms, const int rz) {
        float acc[AG_MR][AG_NR];
        for (int r = 0; r < AG_MR; r++)
            for (int j = 0; j < AG_NR; j++)
                acc[r][j] = -0.0f;
        for (int64_t k = 0; k < K; k++) {
            const double *ak = a + k * nterms * AG_MR, *bk = b + k * nterms * AG_NR;
            for (int r = 0; r < AG_MR; r++) {
                double a1 = ak[r], a2 = nterms >= 2 ? ak[AG_MR + r] : 0.0;
                const int32_t *row = nterms == 3 ? tab + (int32_t)ak[2 * AG_MR + r] : tab;
                for (int j = 0; j < AG_NR; j++) {
                    double v = a1 * bk[j];
                    if (nterms == 2)
                        v = v + a2 * bk[AG_NR + j];
                    if (nterms == 3) {   /* A*B*sc + D*sc, exact; sign of sc = sa*sb */
                        double sc = a2 * bk[AG_NR + j];
                        v = v + (double)row[(int32_t)bk[2 * AG_NR + j]] * sc;
                        v = ag_copysign_bits(v, sc);
                    }
                    float f = (float)v;
                    if (rz) {   /* round toward zero: step back one ulp if RNE went up */
                        uint32_t u;
                        memcpy(&u, &f, 4);
                        u -= (uint32_t)(fabs((double)f) > fabs(v));
                        memcpy(&f, &u, 4);
                    }
                    acc[r][j] = acc[r][j] + f;
                }
            }
        }
        memcpy(c, acc, sizeof acc);
    }
    #define AG_PORTABLE(NAME, NT, RZ) static AG_CLONES void NAME(int64_t K, const double *a, const double *b, \
                                                                 float *c, const int32_t *tab) { \
        ag_body_portable(K, a, b, c, tab, NT, RZ); }
    AG_PORTABLE(ag_kernel_p1n, 1, 0)
    AG_PORTABLE(ag_kernel_p1z, 1, 1)
    AG_PORTABLE(ag_kernel_p2n, 2, 0)
    AG_PORTABLE(ag_kernel_p2z, 2, 1)
    AG_PORTABLE(ag_kernel_p3n, 3, 0)
    AG_PORTABLE(ag_kernel_p3z, 3, 1)

    #if AG_X86
    /* ---- AVX-512 micro-kernel: 8 rows x 16 columns, conversions with embedded rounding ---- */
    #define AG_512 __attribute__((target("avx512f,avx512dq,avx512vl,fma")))
    static inline AG_512 __m256 ag_cvt_rz(__m512d v) {
        return _mm512_cvt_roundpd_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    }
    static inline AG_512 __m256 ag_cvt_rn(__m512d v) {
        return _mm512_cvt_roundpd_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
    static inline AG_512 __attribute__((always_inline)) void ag_body512(
            int64_t K, const double *restrict a, const double *restrict b, float *restrict c,
            const int32_t *restrict tab, const int nterms, const int rz) {
        __m256 acc[AG_MR][2];
        const __m256 nz = _mm256_set1_ps(-0.0f);
        for (int r = 0; r < AG_MR; r++) {
            acc[r][0] = nz;
            acc[r][1] = nz;
        }
        for (int64_t k = 0; k < K; k++) {
            const double *ak = a + k * nterms * AG_MR, *bk = b + k * nterms * AG_NR;
            __m512d b1l = _mm512_loadu_pd(bk), b1h = _mm512_loadu_pd(bk + 8);
            __m512d b2l = b1l, b2h = b1h;
            if (nterms >= 2) {
                b2l = _mm512_loadu_pd(bk + 16);
                b2h = _mm512_loadu_pd(bk + 24);
            }
            #pragma GCC unroll 8
            for (int r = 0; r < AG_MR; r++) {
                __m512d a1 = _mm512_set1_pd(ak[r]);
                __m512d vl = _mm512_mul_pd(a1, b1l), vh = _mm512_mul_pd(a1, b1h);
                if (nterms == 2) {
                    __m512d a2 = _mm512_set1_pd(ak[AG_MR + r]);
                    vl = _mm512_fmadd_pd(a2, b2l, vl);
                    vh = _mm512_fmadd_pd(a2, b2h, vh);
                }
                __m256 fl = rz ? ag_cvt_rz(vl) : ag_cvt_rn(vl);
                __m256 fh = rz ? ag_cvt_rz(vh) : ag_cvt_rn(vh);
                acc[r][0] = _mm256_add_ps(acc[r][0], fl);
                acc[r][1] = _mm256_add_ps(acc[r][1], fh);
            }
        }
        for (int r = 0; r < AG_MR; r++) {
            _mm256_storeu_ps(c + r * AG_NR, acc[r][0]);
            _mm256_storeu_ps(c + r * AG_NR + 8, acc[r][1]);
        }
    }
    #define AG_V512(NAME, NT, RZ) static AG_512 void NAME(int64_t K, const double *a, const double *b, \
                                                          float *c, const int32_t *tab) { \
        ag_body512(K, a, b, c, tab, NT, RZ); }
    AG_V512(ag_kernel_v1n, 1, 0)
    AG_V512(ag_kernel_v1z, 1, 1)
    AG_V512(ag_kernel_v2n, 2, 0)
    AG_V512(ag_kernel_v2z, 2, 1)

    #endif

    /* "avx512" when this CPU runs the AVX-512 kernel, else "portable"; ARCHSIM_KERNEL_ISA=portable
       forces the portable kernel (tests run both). */
    static int ag_isa = -1;
    static int ag_select_isa(void) {
        if (ag_isa < 0) {
            const char *env = getenv("ARCHSIM_KERNEL_ISA");
            int v = 0;
    #if AG_X86
            __builtin_cpu_init();
            v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
                && __builtin_cpu_supports("avx512vl");
    #endif
            if (env && strcmp(env, "portable") == 0)
                v = 0;
            ag_isa = v;
        }
        return ag_isa;
    }
    /* The table form (nterms 3) always runs the portable body, whose x86-64-v4 clone GCC
       vectorises itself: on the dev box's Zen 4 it measured ~20% faster than a hand-written
       AVX-512 body with one 16-lane gather per row (the table look-ups dominate either way). */
    static ag_kernel_fn ag_kernel(int nterms, int rz) {
    #if AG_X86
        if (ag_select_isa() && nterms != 3)
            return nterms == 2 ? (rz ? ag_kernel_v2z : ag_kernel_v2n) : (rz ? ag_kernel_v1z : ag_kernel_v1n);
    #endif
        return nterms == 3 ? (rz ? ag_kernel_p3z : ag_kernel_p3n)
             : nterms == 2 ? (rz ? ag_kernel_p2z : ag_kernel_p2n) : (rz ? ag_kernel_p1z : ag_kernel_p1n);
    }
    /* One task: rows [i0, i0 + rows) x panels [p0, p1), with A packed into `abuf`. The output
       element (i, j) goes to out[row_off(i) + j * col_stride]; row_off(i) = (i / P) * P * F +
       i % P with P the rows per image (P = 1, F = N for a plain matmul). Bias is added last. */
    static void ag_task(ag_kernel_fn kern, const double *apack, const double *bpack, int64_t pbase,
                        int64_t K, int nterms, int64_t i0, int64_t rows, int64_t p0, int64_t p1, int64_t N,
                        const uint32_t *bias, int has_bias, uint32_t *out, int64_t P,
                        int64_t col_stride, const int32_t *tab) {
        float c[AG_MR * AG_NR];
        int64_t tiles = (rows + AG_MR - 1) / AG_MR;
        for (int64_t p = p0; p < p1; p++) {
            const double *bp = bpack + (p - pbase) * K * nterms * AG_NR;
            int64_t j0 = p * AG_NR, nj = N - j0 < AG_NR ? N - j0 : AG_NR;
            for (int64_t t = 0; t < tiles; t++) {
                kern(K, apack + t * K * nterms * AG_MR, bp, c, tab);
                int64_t nr = rows - t * AG_MR < AG_MR ? rows - t * AG_MR : AG_MR;
                for (int r = 0; r < nr; r++) {
                    int64_t i = i0 + t * AG_MR + r;
                    uint32_t *o = out + (i / P) * P * N + i % P + j0 * col_stride;
                    for (int j = 0; j < nj; j++) {
                        float v = c[r * AG_NR + j];
                        if (has_bias) {
                            float fb;
                            memcpy(&fb, &bias[j0 + j], 4);
                            v = v + fb;
                        }
                        memcpy(&o[j * col_stride], &v, 4);
                    }
                }
            }
        }
    }
    /* ---- bit-sliced engines: operands as bit-planes (lane j = column, word w = k) ---- */
    static inline uint32_t bp_sig(uint32_t x) {
        uint32_t e = (x >> 23) & 0xFFu;
        uint32_t sig = (x & 0x7FFFFFu) | ((uint32_t)(e != 0) << 23);
        return sig & -(uint32_t)(e != 0xFFu);
    }
    /* for column group g (64 columns of W^T [N, K]) and k-block kb (16 k): the 24 bit-planes
       [kb][r][16] of the significands, and the FP32 words [k][64] (zero past N / K) */
    static void bp_pack_w(const uint32_t *wt, int64_t N, int64_t K, int64_t nkb, int64_t g,
                          uint64_t *planes, uint32_t *bits) {
        for (int64_t k = 0; k < nkb * 16; k++) {
            uint64_t pl[24] = {0};
            for (int j = 0; j < 64; j++) {
                int64_t col = g * 64 + j;
                uint32_t x = (col < N && k < K) ? wt[col * K + k] : 0u;
                uint32_t sg = bp_sig(x);
                bits[k * 64 + j] = x;
                for (int r = 0; r < 24; r++)
                    pl[r] |= (uint64_t)((sg >> r) & 1u) << j;
            }
            for (int r = 0; r < 24; r++)
                planes[((k / 16) * 24 + r) * 16 + (k % 16)] = pl[r];
        }
    }
    /* the activation x[k0 .. k0+kc) broadcast over the 64 lanes: planes [r][16] and words */
    static void bp_pack_x(const uint32_t *x, int kc, uint64_t *planes, uint32_t *bits) {
        for (int w = 0; w < 16; w++) {
            uint32_t v = w < kc ? x[w] : 0u;
            uint32_t sg = bp_sig(v);
            for (int r = 0; r < 24; r++)
                planes[r * 16 + w] = (uint64_t)0 - (uint64_t)((sg >> r) & 1u);
            for (int j = 0; j < 64; j++)
                bits[w * 64 + j] = v;
        }
    }
    /* acc[j] += pr[64 k + j] for k < kc, in increasing k */
    typedef float bp_v16f __attribute__((vector_size(64)));
    static AG_CLONES void bp_accumulate64(float *restrict acc, const uint32_t *restrict pr, int kc) {
        bp_v16f a[4], v;
        memcpy(a, acc, sizeof a);
        for (int k = 0; k < kc; k++)
            for (int q = 0; q < 4; q++) {
                memcpy(&v, &pr[64 * k + 16 * q], sizeof v);
                a[q] = a[q] + v;
            }
        memcpy(acc, a, sizeof a);
    }
    /* Finish and accumulate for the bit-plane path without inf/NaN operands: the product of
       (significand product p < 2**53) * sa * sb, with sa = +-2**(ea - 150) (+-0 for a zero
       operand) and sb likewise, is exact in double; its conversion to float, toward zero or
       to nearest even, is fp_mul_finish (as for the closed forms above). Products of word w
       (k0 + w) are added to the 64 sums in increasing k. */
    static inline double bp_scale(uint32_t x) {
        double s = ag_scale(x);
        return (x & 0x7FFFFFFFu) ? s : s * 0.0;
    }
    static inline __attribute__((always_inline)) void bp_finish_portable(
            const uint64_t *restrict p, int kc, const double *restrict sa,
            const double *restrict sb, float *restrict acc, const int rz) {
        for (int w = 0; w < kc; w++)
            for (int j = 0; j < 64; j++) {
                double v = (double)(int64_t)p[64 * w + j] * sa[w] * sb[64 * w + j];
                float f = (float)v;
                if (rz) {
                    uint32_t u;
                    memcpy(&u, &f, 4);
                    u -= (uint32_t)(fabs((double)f) > fabs(v));
                    memcpy(&f, &u, 4);
                }
                acc[j] = acc[j] + f;
            }
    }
    static AG_CLONES void bp_finish_pn(const uint64_t *p, int kc, const double *sa, const double *sb, float *acc) { bp_finish_portable(p, kc, sa, sb, acc, 0); }
    static AG_CLONES void bp_finish_pz(const uint64_t *p, int kc, const double *sa, const double *sb, float *acc) { bp_finish_portable(p, kc, sa, sb, acc, 1); }
    #if AG_X86
    static inline AG_512 __attribute__((always_inline)) void bp_finish512(
            const uint64_t *restrict p, int kc, const double *restrict sa,
            const double *restrict sb, float *restrict acc, const int rz) {
        __m256 a[8];
        for (int q = 0; q < 8; q++)
            a[q] = _mm256_loadu_ps(acc + 8 * q);
        for (int w = 0; w < kc; w++) {
            __m512d s = _mm512_set1_pd(sa[w]);
            #pragma GCC unroll 8
            for (int q = 0; q < 8; q++) {
                __m512d d = _mm512_cvtepu64_pd(_mm512_loadu_si512((const void *)(p + 64 * w + 8 * q)));
                d = _mm512_mul_pd(_mm512_mul_pd(d, s), _mm512_loadu_pd(sb + 64 * w + 8 * q));
                a[q] = _mm256_add_ps(a[q], rz ? ag_cvt_rz(d) : ag_cvt_rn(d));
            }
        }
        for (int q = 0; q < 8; q++)
            _mm256_storeu_ps(acc + 8 * q, a[q]);
    }
    static AG_512 void bp_finish_vn(const uint64_t *p, int kc, const double *sa, const double *sb, float *acc) { bp_finish512(p, kc, sa, sb, acc, 0); }
    static AG_512 void bp_finish_vz(const uint64_t *p, int kc, const double *sa, const double *sb, float *acc) { bp_finish512(p, kc, sa, sb, acc, 1); }
    #endif
    typedef void (*bp_finish_fn)(const uint64_t *p, int kc, const double *sa, const double *sb, float *acc);
    static bp_finish_fn bp_finish(int rz) {
    #if AG_X86
        if (ag_select_isa())
            return rz ? bp_finish_vz : bp_finish_vn;
    #endif
        return rz ? bp_finish_pz : bp_finish_pn;
    }
    static void bp_scales(const uint32_t *x, int64_t n, double *out) {
        for (int64_t i = 0; i < n; i++)
            out[i] = bp_scale(x[i]);
    }
    """
    ctypedef void (*ag_kernel_fn)(int64_t K, const double* a, const double* b, float* c,
                                  const int32_t* tab) noexcept nogil
    int ag_any_special(const uint32_t* x, int64_t n) noexcept nogil
    void ag_pack_b(const uint32_t* wt, int64_t N, int64_t K, int nterms, uint64_t m, int c,
                   double* out, int64_t p0, int64_t p1) noexcept nogil
    void ag_pack_a(const uint32_t* x, int64_t K, int64_t i0, int64_t rows, int nterms,
                   uint64_t m, int c, double* out) noexcept nogil
    void ag_pack_a_conv(const double* planes, int64_t plane_size, const int64_t* koff,
                        int64_t K, int64_t i0, int64_t rows, int64_t M, int64_t P, int64_t OW,
                        int64_t stride, int64_t HP, int64_t WP, int64_t C, int nterms,
                        double* out) noexcept nogil
    void ag_split_planes(const uint32_t* x, int64_t n, int nterms, uint64_t m, int c,
                         double* out, int64_t plane_size) noexcept nogil
    int ag_select_isa() noexcept nogil
    ag_kernel_fn ag_kernel(int nterms, int rz) noexcept nogil
    void ag_task(ag_kernel_fn kern, const double* apack, const double* bpack, int64_t pbase, int64_t K,
                 int nterms, int64_t i0, int64_t rows, int64_t p0, int64_t p1, int64_t N,
                 const uint32_t* bias, int has_bias, uint32_t* out, int64_t P,
                 int64_t col_stride, const int32_t* tab) noexcept nogil
    void bp_pack_w(const uint32_t* wt, int64_t N, int64_t K, int64_t nkb, int64_t g,
                   uint64_t* planes, uint32_t* bits) noexcept nogil
    void bp_pack_x(const uint32_t* x, int kc, uint64_t* planes, uint32_t* bits) noexcept nogil
    void bp_accumulate64(float* acc, const uint32_t* pr, int kc) noexcept nogil
    ctypedef void (*bp_finish_fn)(const uint64_t* p, int kc, const double* sa, const double* sb,
                                  float* acc) noexcept nogil
    bp_finish_fn bp_finish(int rz) noexcept nogil
    void bp_scales(const uint32_t* x, int64_t n, double* out) noexcept nogil
    enum:
        AG_MR
        AG_NR


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
    cdef Py_ssize_t step = FAST_CHUNK if type(engine) in (ExactSigMul, Ama5ChunkSigMul, LowTableSigMul) else CHUNK
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
        if f.semantics == SEM_DA_REFERENCE and not pairwise:
            if _matmul_daref(engine, f, x, wt, bias, has_bias, out, bad):
                return
        if f.E == 8 and f.M == 23 and f.semantics == SEM_HARDWARE and not f.ftz and not pairwise and K > 0:
            if _matmul_closed(engine, f, x, wt, bias, has_bias, out):
                return
            if engine.batch_planes(NULL, NULL, NULL, 0) == 0:
                _matmul_planes(engine, f, x, wt, bias, has_bias, out)
                return
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
    cdef Py_ssize_t kcap = (FAST_CHUNK if type(engine) in (ExactSigMul, Ama5ChunkSigMul, LowTableSigMul)
                            else CHUNK) // NB
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


# ---- blocked GEMM for engines with a closed form (<= 2 integer products, or 1 product and a
# ---- table correction; see ag_* above) ----

def kernel_isa():
    """"avx512" if the blocked GEMM runs its AVX-512 micro-kernel on this CPU, else "portable"
    (also when ARCHSIM_KERNEL_ISA=portable was set before the first call)."""
    return "avx512" if ag_select_isa() else "portable"


cdef Py_ssize_t _pack_budget = 64 << 20


def set_pack_budget(Py_ssize_t nbytes):
    """Bytes of packed W per column block of the blocked GEMM (default 64 MiB); returns the
    previous value. Results do not depend on it (tests shrink it to exercise many blocks)."""
    global _pack_budget
    old = _pack_budget
    _pack_budget = max(<Py_ssize_t>1, nbytes)
    return old


cdef int _closed_terms(SigMul engine, uint64_t* m, int* c) noexcept:
    """Terms of the engine's closed form: 1 (plain integer multiply), 2 (AMA5 hierarchy), 3
    (low table: one product plus a table correction, when the table fits int32 and a*b + D
    never wraps), or 0 (no closed form: the caller keeps the general path). 24 x 24
    significands only."""
    cdef LowTableSigMul lt
    m[0] = 0
    c[0] = 1
    if engine.n_a != 24 or engine.n_b != 24:
        return 0
    if type(engine) is ExactSigMul:
        return 1
    if type(engine) is Ama5ChunkSigMul:
        m[0] = (<Ama5ChunkSigMul>engine).mask
        c[0] = (<Ama5ChunkSigMul>engine).chunk
        return 2
    if type(engine) is LowTableSigMul:
        lt = <LowTableSigMul>engine
        if lt.fits32 and not lt.wraps:
            m[0] = lt.mask
            c[0] = lt.k
            return 3
    return 0


cdef const int32_t* _closed_table(SigMul engine) noexcept:
    """The int32 correction table of a 3-term engine (NULL for the others)."""
    if type(engine) is LowTableSigMul:
        return &(<LowTableSigMul>engine).table32[0]
    return NULL


cdef bint _closed_applies(SigMul engine, FmtParams f) noexcept:
    cdef uint64_t m
    cdef int c
    return (f.E == 8 and f.M == 23 and f.semantics == SEM_HARDWARE and not f.ftz
            and _closed_terms(engine, &m, &c) != 0)


cdef int _closed_gemm(SigMul engine, FmtParams f, Py_ssize_t M, Py_ssize_t K, Py_ssize_t N,
                      const uint32_t* x, const double* planes, Py_ssize_t plane_size,
                      const int64_t* koff, Py_ssize_t P, Py_ssize_t OW, Py_ssize_t stride,
                      Py_ssize_t HP, Py_ssize_t WP, Py_ssize_t C, const uint32_t* wt,
                      const uint32_t* bias, bint has_bias, uint32_t* out) except -1:
    """out (M x N, or NCHW for a conv: P = OH*OW rows per image) = X W^T (+ bias) through the
    engine's closed form. X is either dense bits `x` [M, K] or (conv) split input planes.
    Each output is computed by one thread, by the same sequence of operations whatever the
    task split, so results are independent of the thread count."""
    cdef uint64_t m
    cdef int c
    cdef int nterms = _closed_terms(engine, &m, &c)
    cdef int rz = f.rounding == RND_TRUNCATE
    cdef Py_ssize_t n_pan = (N + AG_NR - 1) // AG_NR
    # rows per task: the task's packed A (rows x K x nterms doubles) stays within ~256 KB of L2
    cdef Py_ssize_t rows = (256 * 1024) // (K * nterms * 8)
    rows = max(<Py_ssize_t>AG_MR, min(<Py_ssize_t>128, rows)) // AG_MR * AG_MR
    # packed W in column blocks of at most ~64 MB (one block for every layer of the shipped nets)
    cdef Py_ssize_t pan_bytes = K * nterms * AG_NR * 8
    cdef Py_ssize_t blk_pan = max(<Py_ssize_t>1, min(n_pan, _pack_budget // pan_bytes))
    cdef Py_ssize_t m_chunks = (M + rows - 1) // rows, n_chunks, pan_per, t, mi, ni, i0, nr, p0, p1
    cdef Py_ssize_t cb0, cb1, nb_pan
    cdef ag_kernel_fn kern = ag_kernel(nterms, rz)
    cdef const int32_t* tab = _closed_table(engine) if nterms == 3 else NULL
    cdef int nthreads = _threads(M * N * K)
    bpack_arr = np.empty(blk_pan * K * nterms * AG_NR, np.float64)
    cdef double[::1] bpack = bpack_arr
    cdef double* abuf
    cdef Py_ssize_t col_stride = 1 if planes == NULL else P
    for cb0 in range(0, n_pan, blk_pan):
        cb1 = min(n_pan, cb0 + blk_pan)
        nb_pan = cb1 - cb0
        n_chunks = 1
        if m_chunks < 8:          # few rows (a linear layer): split the columns too
            n_chunks = min(nb_pan, (8 + m_chunks - 1) // m_chunks)
        pan_per = (nb_pan + n_chunks - 1) // n_chunks
        n_chunks = (nb_pan + pan_per - 1) // pan_per
        with nogil:
            for t in prange(cb0, cb1, schedule="static", num_threads=nthreads):
                ag_pack_b(wt, N, K, nterms, m, c, &bpack[(t - cb0) * K * nterms * AG_NR], t, t + 1)
        with nogil, parallel(num_threads=nthreads):
            abuf = <double*>malloc(rows * K * nterms * sizeof(double))
            if abuf == NULL:
                abort()
            for t in prange(m_chunks * n_chunks, schedule="dynamic"):
                mi = t // n_chunks
                ni = t % n_chunks
                i0 = mi * rows
                nr = min(rows, M - i0)
                p0 = cb0 + ni * pan_per
                p1 = min(cb1, p0 + pan_per)
                if planes == NULL:
                    ag_pack_a(x, K, i0, nr, nterms, m, c, abuf)
                else:
                    ag_pack_a_conv(planes, plane_size, koff, K, i0, nr, M, P, OW, stride, HP, WP,
                                   C, nterms, abuf)
                ag_task(kern, abuf, &bpack[0], cb0, K, nterms, i0, nr, p0, p1, N, bias, has_bias,
                        out, 1 if planes == NULL else P, col_stride, tab)
            free(abuf)
    return 0


cdef bint _matmul_closed(SigMul engine, FmtParams f, const uint32_t[:, ::1] x,
                         const uint32_t[:, ::1] wt, const uint32_t[::1] bias, bint has_bias,
                         uint32_t[:, ::1] out) except -1:
    """The blocked closed-form GEMM if it applies (and no operand is inf/NaN); False means the
    caller must take the general path."""
    cdef Py_ssize_t M = x.shape[0], K = x.shape[1], N = wt.shape[0]
    cdef int special
    if not _closed_applies(engine, f):
        return False
    with nogil:
        special = ag_any_special(&x[0, 0], M * K) or ag_any_special(&wt[0, 0], N * K)
    if special:
        return False
    _closed_gemm(engine, f, M, K, N, &x[0, 0], NULL, 0, NULL, 1, 1, 1, 1, 1, 1, &wt[0, 0],
                 &bias[0] if has_bias else NULL, has_bias, &out[0, 0])
    return True


def conv2d_bits(SigMul engine, tuple params, const uint32_t[:, :, :, ::1] x,
                const uint32_t[:, ::1] w, const uint32_t[::1] bias, bint has_bias,
                int stride, int padding, int R, int S, uint32_t[:, :, :, ::1] out):
    """NCHW conv2d (groups = 1) of FP32 encodings without a materialised im2col, through the
    blocked closed-form GEMM: out[n, f, oy, ox] = sum over k = (c*R + r)*S + s, in increasing k,
    of x_padded[n, c, oy*stride + r, ox*stride + s] * w[f, k], then + bias[f]; padding is +0.0
    and its products go through the multiplier. Returns False, leaving `out` untouched, when
    the fast path does not apply (engine without closed form, format or semantics other than
    FP32 hardware without ftz, or an inf/NaN operand): the caller then uses im2col + matmul."""
    cdef FmtParams f = _params(params)
    cdef Py_ssize_t NI = x.shape[0], C = x.shape[1], H = x.shape[2], Wd = x.shape[3]
    cdef Py_ssize_t F = w.shape[0], K = w.shape[1]
    cdef Py_ssize_t OH = out.shape[2], OW = out.shape[3]
    cdef Py_ssize_t HP = H + 2 * padding, WP = Wd + 2 * padding, n_el, k, cc, r, s
    cdef uint64_t m
    cdef int cw, special, nterms
    if K != C * R * S or out.shape[0] != NI or out.shape[1] != F:
        raise ValueError("conv2d_bits: inconsistent shapes")
    if OH != (HP - R) // stride + 1 or OW != (WP - S) // stride + 1:
        raise ValueError("conv2d_bits: output size does not match stride/padding")
    if not _closed_applies(engine, f) or NI == 0 or F == 0 or K == 0:
        return False
    with nogil:
        special = ag_any_special(&x[0, 0, 0, 0], NI * C * H * Wd) or ag_any_special(&w[0, 0], F * K)
    if special:
        return False
    nterms = _closed_terms(engine, &m, &cw)
    xp = np.pad(np.asarray(x), ((0, 0), (0, 0), (padding, padding), (padding, padding))) \
        if padding else np.asarray(x)
    cdef const uint32_t[::1] xpf = np.ascontiguousarray(xp).reshape(-1)
    n_el = xpf.shape[0]
    planes_arr = np.empty(nterms * n_el, np.float64)
    cdef double[::1] planes = planes_arr
    koff_arr = np.empty(K, np.int64)
    cdef int64_t[::1] koff = koff_arr
    for cc in range(C):
        for r in range(R):
            for s in range(S):
                koff[(cc * R + r) * S + s] = cc * HP * WP + r * WP + s
    cdef Py_ssize_t blk = 65536, nb = (n_el + blk - 1) // blk, b
    with nogil:
        for b in prange(nb, schedule="static", num_threads=_threads(n_el)):
            ag_split_planes(&xpf[b * blk], min(blk, n_el - b * blk), nterms, m, cw,
                            &planes[b * blk], n_el)
    _closed_gemm(engine, f, NI * OH * OW, K, F, NULL, &planes[0], n_el, &koff[0], OH * OW, OW,
                 stride, HP, WP, C, &w[0, 0], &bias[0] if has_bias else NULL, has_bias,
                 &out[0, 0, 0, 0])
    return True


cdef void _matmul_planes(SigMul engine, FmtParams f, const uint32_t[:, ::1] x,
                         const uint32_t[:, ::1] wt, const uint32_t[::1] bias, bint has_bias,
                         uint32_t[:, ::1] out) except *:
    """FP32 hardware semantics, k-increasing, no ftz, for engines with a bit-plane entry (the
    bit-sliced netlist evaluator): one task is one row of X against 64 columns of W. W's
    significand bit-planes are built once (lane = column, word = k), the row's activation is
    broadcast over the lanes (no transposes on the operand side); each block of 16 k gives
    1024 products, finished (exactly, in double, as the closed forms; rows or weights with
    inf/NaN take the general vectorised finish) and added to the 64 sums in increasing k,
    from the first product (the sums start at -0.0, and -0.0 + p == p for every p)."""
    cdef Py_ssize_t M = x.shape[0], K = x.shape[1], N = wt.shape[0]
    cdef Py_ssize_t G = (N + 63) // 64, nkb = (K + 15) // 16, t, mi, g, kb, k0, j
    cdef int kc
    cdef bint row_fast
    planes_arr = np.empty(G * nkb * 24 * 16, np.uint64)
    wbits_arr = np.empty(G * nkb * 16 * 64, np.uint32)
    cdef uint64_t[::1] planes = planes_arr
    cdef uint32_t[::1] wbits = wbits_arr
    cdef uint64_t* ap
    cdef uint64_t* prod
    cdef uint32_t* abits
    cdef uint32_t* pr
    cdef float* acc
    cdef float fb
    cdef int nthreads = _threads(M * N * K)
    cdef int special_w
    cdef bint fast = engine.out_bits <= 53      # products convert exactly to double
    cdef bp_finish_fn fin = bp_finish(f.rounding == RND_TRUNCATE)
    wscale_arr = np.empty(G * nkb * 16 * 64, np.float64)
    cdef double[::1] wscale = wscale_arr
    cdef double* xs
    with nogil:
        special_w = ag_any_special(&wt[0, 0], N * K)
        for g in prange(G, schedule="static", num_threads=nthreads):
            bp_pack_w(&wt[0, 0], N, K, nkb, g, &planes[g * nkb * 24 * 16],
                      &wbits[g * nkb * 16 * 64])
            bp_scales(&wbits[g * nkb * 16 * 64], nkb * 16 * 64, &wscale[g * nkb * 16 * 64])
    with nogil, parallel(num_threads=nthreads):
        ap = <uint64_t*>malloc(24 * 16 * sizeof(uint64_t) + 1024 * sizeof(uint64_t)
                               + 2 * 1024 * sizeof(uint32_t) + 64 * sizeof(float))
        xs = <double*>malloc(K * sizeof(double))
        if ap == NULL or xs == NULL:
            abort()
        prod = ap + 24 * 16
        abits = <uint32_t*>(prod + 1024)
        pr = abits + 1024
        acc = <float*>(pr + 1024)
        for t in prange(M * G, schedule="dynamic", chunksize=2):
            mi = t // G
            g = t % G
            for j in range(64):
                acc[j] = -0.0
            # the exact double finish unless an operand of this row or of W is inf/NaN
            row_fast = fast and not special_w and not ag_any_special(&x[mi, 0], K)
            if row_fast:
                bp_scales(&x[mi, 0], K, xs)
            for kb in range(nkb):
                k0 = kb * 16
                kc = <int>min(<Py_ssize_t>16, K - k0)
                bp_pack_x(&x[mi, k0], kc, ap, abits)
                engine.batch_planes(ap, &planes[(g * nkb + kb) * 24 * 16], prod, kc * 64)
                if row_fast:
                    fin(prod, kc, xs + k0, &wscale[(g * nkb + kb) * 16 * 64], acc)
                else:
                    _finish_fp32(&f, abits, &wbits[(g * nkb + kb) * 16 * 64], prod, pr, kc * 64)
                    bp_accumulate64(acc, pr, kc)
            for j in range(min(<Py_ssize_t>64, N - g * 64)):
                if has_bias:
                    memcpy(&fb, &bias[g * 64 + j], 4)
                    acc[j] = acc[j] + fb
                memcpy(&out[mi, g * 64 + j], &acc[j], 4)
        free(ap)
        free(xs)


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


# ---- da-reference FP32 GEMM for the closed-form engines (the published DA Python's semantics) ----

from libc.stdint cimport int32_t

cdef extern from *:
    """
    /* da-reference products (SPEC-arith section 4; fp_daref_finish transcribed branch-free) for
       engines with the closed form P(A, B) = (A & m) * B + 2**c * ((B >> (c-1)) & m) * (A & ~m)
       (exact multiply: m = all ones, so the second term is 0), summed in increasing k.

       Every operand gets a code: its biased exponent field, DR_SPECIAL for inf/NaN, DR_TINY
       when |x| < 1e-36 (every subnormal is; `tiny` is the smallest FP32 encoding >= 1e-36).
       With E = code(a) + code(b) - 127 and e = E + (leading string character is '1'):
       E < DR_ZERO_BELOW <=> an operand is tiny (the reference's first test: +0, not bad);
       otherwise bad <=> e outside 1..254 (a special operand, or the reference's exponent
       leaving the normal range; its clamp to <= 255 cannot bring e back inside) -> default NaN.
       The product as a binary string of max(48, bitlen(p)) characters: the leading character
       is '1' iff p >= 2**47; then the fraction is p >> (bitlen - 24) without its leading one,
       else bits 45..23 of p. With w = p' >> max(bitlen(p) - 24, 23), p' = p with bit 46
       cleared when p < 2**47: w < 2**24, its bit 23 is the leading '1' (so e = E + (w >> 23))
       and (E << 23) + w == (e << 23) | fraction, the result's magnitude bits.

       No product is -0 (a tiny operand gives +0, any other result has e >= 1 or is NaN), so no
       partial sum after the first product is -0 either (x + y == -0 needs x == y == -0).
       Sums therefore start from +0.0 (+0 + x == x for every x != -0: the same as starting
       from the first product) and skip every +0 product (x + +0 == x for x != -0): a row's
       tiny activations (ReLU zeros, padding) are dropped when the row is split, the rest are
       added one by one in increasing k with IEEE float adds. Every NaN reaching the sums is
       the default NaN (bad products, inf - inf), so which operand an add propagates does not
       matter; the bias (any NaN payload) is added by the caller. */
    #include <stdint.h>
    #include <stdlib.h>
    #include <string.h>
    #if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    #include <immintrin.h>
    #define DR_X86 1
    #else
    #define DR_X86 0
    #endif
    #define DR_NB 16
    #define DR_TINY (-1000000)
    #define DR_SPECIAL 100000
    #define DR_ZERO_BELOW (-500000)

    static inline int32_t dr_code(uint32_t x, uint32_t tiny) {
        int32_t e = (int32_t)((x >> 23) & 0xFFu);
        e = e == 0xFF ? DR_SPECIAL : e;
        return (x & 0x7FFFFFFFu) < tiny ? DR_TINY : e;
    }
    /* one row of activations without its tiny ones: k, significand terms, code, sign;
       returns how many */
    static int64_t dr_split_row(const uint32_t *x, int64_t K, uint32_t m, uint32_t tiny,
                                int64_t *kidx, uint64_t *a1, uint64_t *a2, int64_t *ae,
                                uint64_t *as) {
        int64_t n = 0;
        for (int64_t k = 0; k < K; k++) {
            uint32_t v = x[k];
            uint32_t sig = (v & 0x7FFFFFu) | 0x800000u;
            if ((v & 0x7FFFFFFFu) < tiny)
                continue;
            kidx[n] = k;
            a1[n] = sig & m;
            a2[n] = sig & ~m;
            ae[n] = dr_code(v, tiny);
            as[n] = v & 0x80000000u;
            n++;
        }
        return n;
    }
    /* conv2d: the virtual im2col row `base` of the padded input */
    static void dr_gather(const uint32_t *xp, int64_t base, const int64_t *koff, int64_t K,
                          uint32_t *xr) {
        for (int64_t k = 0; k < K; k++)
            xr[k] = xp[base + koff[k]];
    }
    /* column block `blk` of W^T [N, K] -> per k, DR_KW 64-bit words: DR_NB words B | B2 << 32,
       then DR_NB int32 (code - 127), then DR_NB uint32 signs (columns beyond N: +0, tiny) */
    #define DR_KW (2 * DR_NB)
    static void dr_pack_w(const uint32_t *wt, int64_t N, int64_t K, uint32_t tiny, int64_t blk,
                          uint32_t m, int c, uint64_t *out) {
        for (int j = 0; j < DR_NB; j++) {
            int64_t col = blk * DR_NB + j;
            for (int64_t k = 0; k < K; k++) {
                uint32_t w = col < N ? wt[col * K + k] : 0u;
                uint32_t b1 = (w & 0x7FFFFFu) | 0x800000u;
                uint32_t b2 = ((b1 >> (c - 1)) & m) << c;
                uint64_t *o = out + k * DR_KW;
                int32_t ew = dr_code(w, tiny) - 127;
                uint32_t ws = w & 0x80000000u;
                o[j] = (uint64_t)b1 | ((uint64_t)b2 << 32);
                memcpy((char *)(o + DR_NB) + 4 * j, &ew, 4);
                memcpy((char *)(o + DR_NB) + 4 * (DR_NB + j), &ws, 4);
            }
        }
    }
    /* ---- portable kernel: adds one row's products with one column block to acc/cnt ----
       w = p' >> max(bitlen(p) - 24, 23) < 2**24; e = E + (w >> 23) with E = code(a) + code(b)
       - 127; the word is (E << 23) + w = (e << 23) | fraction, or'ed with the sign. */
    static void dr_kernel_portable(int64_t nk, const int64_t *kidx, const uint64_t *a1,
                                   const uint64_t *a2, const int64_t *ae, const uint64_t *as,
                                   const uint64_t *wp, float *acc, int32_t *cnt) {
        float s[DR_NB];
        int32_t nb[DR_NB];
        memcpy(s, acc, sizeof s);
        memcpy(nb, cnt, sizeof nb);
        for (int64_t t = 0; t < nk; t++) {
            const uint64_t *wk = wp + kidx[t] * DR_KW;
            int32_t ek[DR_NB];
            uint32_t sk[DR_NB];
            memcpy(ek, wk + DR_NB, sizeof ek);
            memcpy(sk, (const char *)(wk + DR_NB) + sizeof ek, sizeof sk);
            for (int j = 0; j < DR_NB; j++) {
                uint64_t bw = wk[j];
                uint64_t p = a1[t] * (bw & 0xFFFFFFFFu) + a2[t] * (bw >> 32);
                int bl = p ? 64 - __builtin_clzll(p) : 0;
                int sh = bl - 24 > 23 ? bl - 24 : 23;
                uint64_t pc = p < ((uint64_t)1 << 47) ? p & ~((uint64_t)1 << 46) : p;
                uint32_t w = (uint32_t)(pc >> sh);
                int32_t E = (int32_t)ae[t] + ek[j];
                int32_t e = E + (int32_t)(w >> 23);
                int zero = E < DR_ZERO_BELOW;
                int bad = !zero && (uint32_t)(e - 1) >= 254u;
                uint32_t r = (((uint32_t)E << 23) + w) | ((uint32_t)as[t] ^ sk[j]);
                r = bad ? 0xFFC00000u : r;
                r = zero ? 0u : r;
                float f;
                memcpy(&f, &r, 4);
                s[j] = s[j] + f;
                nb[j] += bad;
            }
        }
        memcpy(acc, s, sizeof s);
        memcpy(cnt, nb, sizeof nb);
    }
    #if DR_X86
    /* ---- AVX-512 kernel: the same operations; products and w in two halves of 8 x 64 bits,
       the rest on 16 x 32 bits ---- */
    #define DR_512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512cd")))
    static inline DR_512 __attribute__((always_inline)) __m256i dr_w8(__m512i A1, __m512i A2,
                                                                     const uint64_t *bwp) {
        const __m512i bw = _mm512_loadu_si512((const void *)bwp);
        __m512i p = _mm512_add_epi64(_mm512_mul_epu32(A1, bw),
                                     _mm512_mul_epu32(A2, _mm512_srli_epi64(bw, 32)));
        __mmask8 low = _mm512_cmplt_epu64_mask(p, _mm512_set1_epi64((int64_t)1 << 47));
        __m512i pc = _mm512_mask_and_epi64(p, low, p, _mm512_set1_epi64(~((int64_t)1 << 46)));
        __m512i sh = _mm512_max_epi64(_mm512_sub_epi64(_mm512_set1_epi64(40), _mm512_lzcnt_epi64(p)),
                                      _mm512_set1_epi64(23));
        return _mm512_cvtepi64_epi32(_mm512_srlv_epi64(pc, sh));
    }
    static DR_512 void dr_kernel_avx512(int64_t nk, const int64_t *kidx, const uint64_t *a1,
                                        const uint64_t *a2, const int64_t *ae, const uint64_t *as,
                                        const uint64_t *wp, float *acc, int32_t *cnt) {
        __m512 s = _mm512_loadu_ps(acc);
        __m512i cn = _mm512_loadu_si512((const void *)cnt);
        const __m512i one = _mm512_set1_epi32(1);
        for (int64_t t = 0; t < nk; t++) {
            const uint64_t *wk = wp + kidx[t] * DR_KW;
            const __m512i A1 = _mm512_set1_epi64((int64_t)a1[t]), A2 = _mm512_set1_epi64((int64_t)a2[t]);
            __m512i w = _mm512_inserti64x4(_mm512_castsi256_si512(dr_w8(A1, A2, wk)),
                                           dr_w8(A1, A2, wk + 8), 1);
            __m512i E = _mm512_add_epi32(_mm512_set1_epi32((int32_t)ae[t]),
                                         _mm512_loadu_si512((const void *)(wk + DR_NB)));
            __m512i e = _mm512_add_epi32(E, _mm512_srli_epi32(w, 23));
            __mmask16 zero = _mm512_cmplt_epi32_mask(E, _mm512_set1_epi32(DR_ZERO_BELOW));
            __mmask16 bad = _mm512_cmpge_epu32_mask(_mm512_sub_epi32(e, one), _mm512_set1_epi32(254));
            bad = _kandn_mask16(zero, bad);
            __m512i r = _mm512_add_epi32(_mm512_slli_epi32(E, 23), w);
            r = _mm512_ternarylogic_epi32(r, _mm512_set1_epi32((int32_t)as[t]),
                                          _mm512_loadu_si512((const void *)(wk + DR_NB + DR_NB / 2)),
                                          0xF6);                  /* r | (sign_a ^ sign_w) */
            r = _mm512_mask_mov_epi32(r, bad, _mm512_set1_epi32((int32_t)0xFFC00000u));
            r = _mm512_mask_mov_epi32(r, zero, _mm512_setzero_si512());
            s = _mm512_add_ps(s, _mm512_castsi512_ps(r));
            cn = _mm512_mask_add_epi32(cn, bad, cn, one);
        }
        _mm512_storeu_ps(acc, s);
        _mm512_storeu_si512((void *)cnt, cn);
    }
    #endif
    typedef void (*dr_kernel_fn)(int64_t nk, const int64_t *kidx, const uint64_t *a1,
                                 const uint64_t *a2, const int64_t *ae, const uint64_t *as,
                                 const uint64_t *wp, float *acc, int32_t *cnt);
    /* the AVX-512 kernel where the CPU has it, unless ARCHSIM_KERNEL_ISA=portable (read once,
       as the closed-form GEMM does) */
    static dr_kernel_fn dr_kernel(void) {
        static int isa = -1;
        if (isa < 0) {
            const char *env = getenv("ARCHSIM_KERNEL_ISA");
            int v = 0;
    #if DR_X86
            __builtin_cpu_init();
            v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
                && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd");
    #endif
            isa = (env && strcmp(env, "portable") == 0) ? 0 : v;
        }
    #if DR_X86
        if (isa)
            return dr_kernel_avx512;
    #endif
        return dr_kernel_portable;
    }
    static int dr_isa_avx512(void) { return dr_kernel() != dr_kernel_portable; }
    #define DR_RB 16
    /* One task: `nrows` (<= DR_RB) split rows (row r's arrays at offset r * K) against every
       column block, blocked over k so that a chunk of packed W (all blocks, `kc` values of k)
       stays in cache while the task's rows use it. Each output's sum still gets its products
       in increasing k: chunks in order, and within a chunk the row's k in order. acc/cnt
       ([nrows][n_blk][DR_NB]) are zeroed here. */
    static void dr_task(dr_kernel_fn kern, int64_t nrows, int64_t K, int64_t n_blk, int64_t kc,
                        const int64_t *nks, const int64_t *kidx, const uint64_t *a1,
                        const uint64_t *a2, const int64_t *ae, const uint64_t *as,
                        const uint64_t *wpack, float *acc, int32_t *cnt) {
        int64_t pos[DR_RB], end[DR_RB];
        memset(acc, 0, (size_t)(nrows * n_blk * DR_NB) * sizeof(float));
        memset(cnt, 0, (size_t)(nrows * n_blk * DR_NB) * sizeof(int32_t));
        for (int64_t r = 0; r < nrows; r++)
            pos[r] = 0;
        for (int64_t k0 = 0; k0 < K; k0 += kc) {
            int64_t k1 = k0 + kc < K ? k0 + kc : K;
            for (int64_t r = 0; r < nrows; r++) {
                const int64_t *ki = kidx + r * K;
                int64_t e = pos[r];
                while (e < nks[r] && ki[e] < k1)
                    e++;
                end[r] = e;
            }
            for (int64_t b = 0; b < n_blk; b++)
                for (int64_t r = 0; r < nrows; r++) {
                    int64_t o = r * K + pos[r];
                    kern(end[r] - pos[r], kidx + o, a1 + o, a2 + o, ae + o, as + o,
                         wpack + b * K * DR_KW, acc + (r * n_blk + b) * DR_NB,
                         cnt + (r * n_blk + b) * DR_NB);
                }
            for (int64_t r = 0; r < nrows; r++)
                pos[r] = end[r];
        }
    }
    """
    int DR_NB
    ctypedef void (*dr_kernel_fn)(int64_t nk, const int64_t* kidx, const uint64_t* a1,
                                  const uint64_t* a2, const int64_t* ae, const uint64_t* as_,
                                  const uint64_t* wp, float* acc, int32_t* cnt) noexcept nogil
    dr_kernel_fn dr_kernel() noexcept nogil
    int dr_isa_avx512() noexcept nogil
    int DR_RB
    int DR_KW
    void dr_task(dr_kernel_fn kern, int64_t nrows, int64_t K, int64_t n_blk, int64_t kc,
                 const int64_t* nks, const int64_t* kidx, const uint64_t* a1, const uint64_t* a2,
                 const int64_t* ae, const uint64_t* as_, const uint64_t* wpack, float* acc,
                 int32_t* cnt) noexcept nogil
    int64_t dr_split_row(const uint32_t* x, int64_t K, uint32_t m, uint32_t tiny, int64_t* kidx,
                         uint64_t* a1, uint64_t* a2, int64_t* ae, uint64_t* as_) noexcept nogil
    void dr_gather(const uint32_t* xp, int64_t base, const int64_t* koff, int64_t K,
                   uint32_t* xr) noexcept nogil
    void dr_pack_w(const uint32_t* wt, int64_t N, int64_t K, uint32_t tiny, int64_t blk,
                   uint32_t m, int c, uint64_t* out) noexcept nogil


cdef bint _daref_fast = True


def set_daref_fast(bint enabled):
    """Enable (default) or disable the blocked da-reference GEMM/conv; returns the previous
    setting. Disabled, matmul_bits takes the general per-element path and conv2d_daref_bits
    declines (tests use this to compare the two bit for bit)."""
    global _daref_fast
    old = _daref_fast
    _daref_fast = enabled
    return old


cdef bint _daref_applies(SigMul engine, FmtParams f, uint32_t* m, int* c) noexcept:
    """FP32 da-reference (no ftz) through an engine whose closed form the da-reference kernel
    knows (24 x 24; AMA5 chunk <= 24, so both terms are 32 x 32-bit products and P < 2**50)."""
    m[0] = 0xFFFFFFFF
    c[0] = 1
    if not (_daref_fast and f.E == 8 and f.M == 23 and f.semantics == SEM_DA_REFERENCE
            and not f.ftz and engine.n_a == 24 and engine.n_b == 24):
        return False
    if type(engine) is ExactSigMul:
        return True
    if type(engine) is Ama5ChunkSigMul and (<Ama5ChunkSigMul>engine).chunk <= 24:
        m[0] = <uint32_t>((<Ama5ChunkSigMul>engine).mask & 0xFFFFFF)
        c[0] = (<Ama5ChunkSigMul>engine).chunk
        return True
    return False


cdef uint32_t _daref_tiny() noexcept nogil:
    """The smallest FP32 encoding whose value is >= 1e-36 (|x| < 1e-36 <=> bits below it)."""
    cdef FmtParams f = fp_params(8, 23, 0, 0, SEM_HARDWARE)
    cdef uint32_t t = <uint32_t>fp_from_double(&f, 1e-36)
    while fp_to_double(&f, t) < 1e-36:
        t += 1
    while t > 0 and fp_to_double(&f, t - 1) >= 1e-36:
        t -= 1
    return t


cdef int _daref_gemm(SigMul engine, FmtParams f, uint32_t m, int c, Py_ssize_t M, Py_ssize_t K,
                     Py_ssize_t N, const uint32_t* x, const int64_t* koff, Py_ssize_t P,
                     Py_ssize_t OW, Py_ssize_t stride, Py_ssize_t HP, Py_ssize_t WP, Py_ssize_t C,
                     const uint32_t* wt, const uint32_t* bias, bint has_bias, uint32_t* out,
                     int* bad) except -1:
    """out/bad = X W^T (+ bias) and the per-output bad-product counts, da-reference semantics.
    X is dense bits `x` [M, K] (koff NULL; out [M, N]) or (conv, koff given) the padded input
    [Nimg, C, HP, WP], row i = output pixel (n, oy, ox) of P = OH*OW per image, out NCHW.
    One thread computes a whole output row by a fixed sequence of operations, so results do
    not depend on the thread count."""
    cdef Py_ssize_t n_blk = (N + DR_NB - 1) // DR_NB, blk, i, j, col, img, pix, base, row_off
    cdef Py_ssize_t col_stride = 1 if koff == NULL else P
    cdef Py_ssize_t blk_words = K * DR_KW
    # k per chunk: the chunk's packed W (every column block) within ~256 KB of L2
    cdef Py_ssize_t kc = max(<Py_ssize_t>8, (256 * 1024) // (n_blk * DR_KW * 8))
    cdef Py_ssize_t n_tasks = (M + DR_RB - 1) // DR_RB, t, i0, nr, rr
    cdef uint32_t tiny = _daref_tiny()
    cdef int nthreads = _threads(M * N * K)
    cdef dr_kernel_fn kern = dr_kernel()
    wpack_arr = np.empty(n_blk * blk_words, np.uint64)
    cdef uint64_t[::1] wpack = wpack_arr
    cdef uint64_t* buf
    cdef uint32_t* xr
    cdef int64_t* kidx
    cdef uint64_t* a1
    cdef uint64_t* a2
    cdef int64_t* ae
    cdef uint64_t* asg
    cdef int64_t* nks
    cdef float* acc
    cdef int32_t* cnt
    cdef uint32_t r
    with nogil:
        for blk in prange(n_blk, schedule="static", num_threads=nthreads):
            dr_pack_w(wt, N, K, tiny, blk, m, c, &wpack[blk * blk_words])
    with nogil, parallel(num_threads=nthreads):
        # per thread: DR_RB split rows (kidx, a1, a2, ae, sign), counts, one gathered row, sums
        buf = <uint64_t*>malloc((5 * DR_RB * K + DR_RB + K + DR_RB * n_blk * DR_NB) * sizeof(uint64_t))
        if buf == NULL:
            abort()
        kidx = <int64_t*>buf
        a1 = buf + DR_RB * K
        a2 = buf + 2 * DR_RB * K
        ae = <int64_t*>(buf + 3 * DR_RB * K)
        asg = buf + 4 * DR_RB * K
        nks = <int64_t*>(buf + 5 * DR_RB * K)
        xr = <uint32_t*>(buf + 5 * DR_RB * K + DR_RB)
        acc = <float*>(buf + 5 * DR_RB * K + DR_RB + K)
        cnt = <int32_t*>(acc + DR_RB * n_blk * DR_NB)
        for t in prange(n_tasks, schedule="dynamic"):
            i0 = t * DR_RB
            nr = min(<Py_ssize_t>DR_RB, M - i0)
            for rr in range(nr):
                i = i0 + rr
                if koff == NULL:
                    nks[rr] = dr_split_row(x + i * K, K, m, tiny, kidx + rr * K, a1 + rr * K,
                                           a2 + rr * K, ae + rr * K, asg + rr * K)
                else:
                    img = i // P
                    pix = i % P
                    base = img * C * HP * WP + (pix // OW) * stride * WP + (pix % OW) * stride
                    dr_gather(x, base, koff, K, xr)
                    nks[rr] = dr_split_row(xr, K, m, tiny, kidx + rr * K, a1 + rr * K,
                                           a2 + rr * K, ae + rr * K, asg + rr * K)
            dr_task(kern, nr, K, n_blk, kc, nks, kidx, a1, a2, ae, asg, &wpack[0], acc, cnt)
            for rr in range(nr):
                i = i0 + rr
                if koff == NULL:
                    row_off = i * N
                else:
                    row_off = (i // P) * N * P + i % P
                for col in range(N):
                    memcpy(&r, &acc[rr * n_blk * DR_NB + col], 4)
                    if has_bias:
                        r = <uint32_t>_acc_add(&f, r, bias[col])
                    out[row_off + col * col_stride] = r
                    bad[row_off + col * col_stride] = cnt[rr * n_blk * DR_NB + col]
        free(buf)
    return 0


def daref_kernel_isa():
    """"avx512" if the da-reference GEMM runs its AVX-512 kernel on this CPU, else "portable"
    (also when ARCHSIM_KERNEL_ISA=portable was set before the first call)."""
    return "avx512" if dr_isa_avx512() else "portable"


cdef bint _matmul_daref(SigMul engine, FmtParams f, const uint32_t[:, ::1] x,
                        const uint32_t[:, ::1] wt, const uint32_t[::1] bias, bint has_bias,
                        uint32_t[:, ::1] out, int[:, ::1] bad) except -1:
    """The blocked da-reference GEMM if it applies (K >= 1); False: the general path."""
    cdef uint32_t m
    cdef int c
    cdef Py_ssize_t M = x.shape[0], K = x.shape[1], N = wt.shape[0]
    if K == 0 or not _daref_applies(engine, f, &m, &c):
        return False
    _daref_gemm(engine, f, m, c, M, K, N, &x[0, 0], NULL, 1, 1, 1, 1, 1, 1, &wt[0, 0],
                &bias[0] if has_bias else NULL, has_bias, &out[0, 0], &bad[0, 0])
    return True


def conv2d_daref_bits(SigMul engine, tuple params, const uint32_t[:, :, :, ::1] x,
                      const uint32_t[:, ::1] w, const uint32_t[::1] bias, bint has_bias,
                      int stride, int padding, int R, int S, uint32_t[:, :, :, ::1] out,
                      int[:, :, :, ::1] bad):
    """NCHW conv2d (groups = 1) of FP32 encodings with da-reference semantics, without a
    materialised im2col: out[n, f, oy, ox] = sum over k = (c*R + r)*S + s, in increasing k from
    the first product, of x_padded[n, c, oy*stride + r, ox*stride + s] * w[f, k] (padding +0.0),
    then + bias[f]; bad[n, f, oy, ox] = that output's count of out-of-domain products (bad
    products are the default NaN in the sum), exactly as im2col + matmul_bits. Returns False,
    leaving out/bad untouched, when the kernel does not apply (semantics/format, engine without
    a closed form, empty operands): the caller then uses im2col + matmul."""
    cdef FmtParams f = _params(params)
    cdef Py_ssize_t NI = x.shape[0], C = x.shape[1], H = x.shape[2], Wd = x.shape[3]
    cdef Py_ssize_t F = w.shape[0], K = w.shape[1]
    cdef Py_ssize_t OH = out.shape[2], OW = out.shape[3]
    cdef Py_ssize_t HP = H + 2 * padding, WP = Wd + 2 * padding, cc, r, s
    cdef uint32_t m
    cdef int cw
    if K != C * R * S or out.shape[0] != NI or out.shape[1] != F:
        raise ValueError("conv2d_daref_bits: inconsistent shapes")
    if (bad.shape[0] != out.shape[0] or bad.shape[1] != out.shape[1] or bad.shape[2] != OH
            or bad.shape[3] != OW):
        raise ValueError("conv2d_daref_bits: bad must have the output's shape")
    if OH != (HP - R) // stride + 1 or OW != (WP - S) // stride + 1:
        raise ValueError("conv2d_daref_bits: output size does not match stride/padding")
    if not _daref_applies(engine, f, &m, &cw) or NI == 0 or F == 0 or K == 0 or OH < 1 or OW < 1:
        return False
    xp = np.pad(np.asarray(x), ((0, 0), (0, 0), (padding, padding), (padding, padding))) \
        if padding else np.asarray(x)
    cdef const uint32_t[::1] xpf = np.ascontiguousarray(xp).reshape(-1)
    koff_arr = np.empty(K, np.int64)
    cdef int64_t[::1] koff = koff_arr
    for cc in range(C):
        for r in range(R):
            for s in range(S):
                koff[(cc * R + r) * S + s] = cc * HP * WP + r * WP + s
    _daref_gemm(engine, f, m, cw, NI * OH * OW, K, F, &xpf[0], &koff[0], OH * OW, OW, stride,
                HP, WP, C, &w[0, 0], &bias[0] if has_bias else NULL, has_bias,
                &out[0, 0, 0, 0], &bad[0, 0, 0, 0])
    return True
