# Floating-point helpers for formats (1, E, M), E <= 11, M <= 23 (SPEC-arith §5).
# Every value is a raw bit pattern held in a uint64 (sign at bit E+M; up to 35 bits wide);
# arrays store them as uint32 when the format fits, else uint64. All helpers are inline,
# nogil and pure, so kernels may call them from prange threads.
#
# Rounding of a positive value P * 2**exp2 (P a non-zero integer < 2**64) to the format is
# done once, on exact integers (fp_round_pack); products never go through a float type.
from libc.stdint cimport uint64_t, int64_t
from libc.string cimport memcpy
from libc.math cimport ldexp, fabs

cdef extern from *:
    int __builtin_clzll(unsigned long long) nogil

cdef enum:
    RND_RNE = 0
    RND_TRUNCATE = 1
    SEM_HARDWARE = 0
    SEM_DA_REFERENCE = 1

ctypedef struct FmtParams:
    int E                # exponent bits
    int M                # stored fraction bits
    int bias
    uint64_t emax        # all-ones exponent field (inf/NaN)
    uint64_t sign_bit
    uint64_t frac_mask
    uint64_t quiet_bit
    int rounding         # RND_RNE | RND_TRUNCATE (products); additions always round to nearest even
    int ftz              # 1: subnormal inputs and results flush to signed zero
    int semantics        # SEM_HARDWARE | SEM_DA_REFERENCE


cdef inline FmtParams fp_params(int E, int M, int rounding, int ftz, int semantics) noexcept nogil:
    cdef FmtParams f
    f.E = E
    f.M = M
    f.bias = (1 << (E - 1)) - 1
    f.emax = (<uint64_t>1 << E) - 1
    f.sign_bit = <uint64_t>1 << (E + M)
    f.frac_mask = (<uint64_t>1 << M) - 1
    f.quiet_bit = <uint64_t>1 << (M - 1)
    f.rounding = rounding
    f.ftz = ftz
    f.semantics = semantics
    return f


cdef inline uint64_t fp_field(const FmtParams* f, uint64_t x) noexcept nogil:
    """Biased exponent field."""
    return (x >> f.M) & f.emax


cdef inline bint fp_is_nan(const FmtParams* f, uint64_t x) noexcept nogil:
    return fp_field(f, x) == f.emax and (x & f.frac_mask) != 0


cdef inline bint fp_is_zero(const FmtParams* f, uint64_t x) noexcept nogil:
    """True zero, or (under ftz) a subnormal that reads as zero."""
    if fp_field(f, x) != 0:
        return False
    return (x & f.frac_mask) == 0 or f.ftz


cdef inline uint64_t fp_sig(const FmtParams* f, uint64_t x) noexcept nogil:
    """The significand fed to the integer multiplier: hidden one for normals, the bare fraction
    for subnormals (as a single-multiplier datapath sees them), 0 for zero/inf/NaN/ftz.
    Branch-free with masks so the unpacking loop vectorises."""
    cdef uint64_t e = (x >> f.M) & f.emax
    cdef uint64_t sig = (x & f.frac_mask) | (<uint64_t>(e != 0) << f.M)
    sig &= -(<uint64_t>(e != f.emax))
    if f.ftz:
        sig &= -(<uint64_t>(e != 0))
    return sig


cdef inline int fp_exp(const FmtParams* f, uint64_t x) noexcept nogil:
    """Unbiased exponent of the significand's unit bit (subnormals use 1 - bias)."""
    cdef int e = <int>fp_field(f, x)
    return (e if e != 0 else 1) - f.bias


cdef inline uint64_t fp_default_nan(const FmtParams* f) noexcept nogil:
    # x86 SSE default NaN: sign set, quiet, zero payload (what numpy produces for inf*0)
    return f.sign_bit | (f.emax << f.M) | f.quiet_bit


cdef inline uint64_t fp_inf(const FmtParams* f, uint64_t sign) noexcept nogil:
    return sign | (f.emax << f.M)


cdef inline uint64_t fp_shift_round(uint64_t p, int s, int rounding) noexcept nogil:
    """p / 2**s rounded (to nearest even, or toward zero); s may be <= 0 (exact left shift)."""
    cdef uint64_t q, rem, half
    if s <= 0:
        return p << (-s)
    if s >= 64:
        # p < 2**64 <= 2**(s-1) = half unless s == 64 (half = 2**63)
        if s == 64 and rounding == RND_RNE and p > (<uint64_t>1 << 63):
            return 1
        return 0
    q = p >> s
    if rounding == RND_RNE:
        # branch-free: round bits are data-dependent, a branch would mispredict half the time
        rem = p & ((<uint64_t>1 << s) - 1)
        half = <uint64_t>1 << (s - 1)
        q += <uint64_t>(rem > half) | (<uint64_t>(rem == half) & q)
    return q


cdef inline uint64_t fp_overflow(const FmtParams* f, uint64_t sign, int rounding) noexcept nogil:
    # IEEE 754: round-to-nearest overflows to inf, round-toward-zero to the largest finite value
    if rounding == RND_RNE:
        return fp_inf(f, sign)
    return sign | ((f.emax - 1) << f.M) | f.frac_mask


cdef inline uint64_t fp_round_pack(const FmtParams* f, uint64_t sign, int exp2, uint64_t p,
                                   int rounding) noexcept nogil:
    """The format's encoding of sign * p * 2**exp2 (p > 0), rounded once, IEEE overflow and
    gradual underflow; under ftz a subnormal result becomes signed zero."""
    cdef int nbits = 64 - __builtin_clzll(p)
    cdef int lead = exp2 + nbits - 1          # exponent of the leading one
    cdef int emin = 1 - f.bias
    cdef int64_t biased
    cdef uint64_t q, bits
    if lead >= emin:
        if lead + f.bias >= <int>f.emax:
            return fp_overflow(f, sign, rounding)
        biased = lead + f.bias
        q = fp_shift_round(p, nbits - 1 - f.M, rounding)   # in [2**M, 2**(M+1)]
        bits = ((<uint64_t>(biased - 1)) << f.M) + q
    else:
        q = fp_shift_round(p, emin - f.M - exp2, rounding)  # units of the subnormal ulp
        bits = q
    if (bits >> f.M) >= f.emax:
        return fp_overflow(f, sign, rounding)
    if f.ftz and (bits >> f.M) == 0:
        return sign
    return sign | bits


cdef inline uint64_t fp_mul_fast(const FmtParams* f, uint64_t a, uint64_t b,
                                 uint64_t p) noexcept nogil:
    """The common case of `fp_mul_finish` (two normal operands, normal result), or 0 when it
    does not apply (no fast-path result is 0: its exponent field is >= 1)."""
    cdef uint64_t ea = fp_field(f, a), eb = fp_field(f, b), bits
    cdef int nbits
    cdef int64_t biased
    # unsigned wrap-around: e - 1 < emax - 1 <=> 1 <= e <= emax - 1
    if ea - 1 < f.emax - 1 and eb - 1 < f.emax - 1 and p != 0:
        nbits = 64 - __builtin_clzll(p)
        biased = <int64_t>(ea + eb) - f.bias + nbits - 1 - 2 * f.M
        if 0 < biased < <int64_t>f.emax:
            bits = ((<uint64_t>(biased - 1)) << f.M) + fp_shift_round(p, nbits - 1 - f.M, f.rounding)
            if bits < (f.emax << f.M):
                return ((a ^ b) & f.sign_bit) | bits
    return 0


cdef inline uint64_t fp_mul_general(const FmtParams* f, uint64_t a, uint64_t b,
                                    uint64_t p) noexcept nogil:
    """Every case of `fp_mul_finish`: specials, zeros, subnormals, overflow, underflow."""
    cdef uint64_t sign = (a ^ b) & f.sign_bit
    if fp_field(f, a) == f.emax or fp_field(f, b) == f.emax:
        if fp_is_nan(f, a):
            return a | f.quiet_bit
        if fp_is_nan(f, b):
            return b | f.quiet_bit
        if fp_is_zero(f, a) or fp_is_zero(f, b):
            return fp_default_nan(f)          # inf * 0 is invalid
        return fp_inf(f, sign)
    if p == 0 or fp_is_zero(f, a) or fp_is_zero(f, b):
        return sign
    return fp_round_pack(f, sign, fp_exp(f, a) + fp_exp(f, b) - 2 * f.M, p, f.rounding)


cdef inline uint64_t fp_mul_finish(const FmtParams* f, uint64_t a, uint64_t b,
                                   uint64_t p) noexcept nogil:
    """Hardware semantics: specials per policy, then the true leading one of the significand
    product p (which may exceed 2(M+1) bits for approximate engines), then one rounding."""
    cdef uint64_t r = fp_mul_fast(f, a, b, p)
    return r if r else fp_mul_general(f, a, b, p)


cdef inline double fp_to_double(const FmtParams* f, uint64_t x) noexcept nogil:
    """Exact value of a format encoding as a double (every (1,E<=11,M<=23) value fits)."""
    cdef uint64_t e = fp_field(f, x)
    cdef uint64_t d
    cdef double r
    cdef uint64_t frac = x & f.frac_mask
    d = (<uint64_t>((x & f.sign_bit) != 0)) << 63
    if e == f.emax:
        d |= (<uint64_t>0x7FF << 52) | (frac << (52 - f.M))
    elif e == 0:
        if frac == 0 or f.ftz:
            memcpy(&r, &d, 8)
            return r
        r = <double>frac * ldexp(1.0, 1 - f.bias - f.M)   # exact: frac < 2**23
        return -r if (x & f.sign_bit) else r
    else:
        d |= (<uint64_t>(<int>e - f.bias + 1023) << 52) | (frac << (52 - f.M))
    memcpy(&r, &d, 8)
    return r


cdef inline uint64_t fp_from_double(const FmtParams* f, double v) noexcept nogil:
    """Round a double to the format, to nearest even (IEEE convertFormat); NaN payloads keep
    their top bits and become quiet."""
    cdef uint64_t d
    memcpy(&d, &v, 8)
    cdef uint64_t sign = f.sign_bit if (d >> 63) else 0
    cdef int e = <int>((d >> 52) & 0x7FF)
    cdef uint64_t frac = d & ((<uint64_t>1 << 52) - 1)
    if e == 0x7FF:
        if frac:
            return sign | (f.emax << f.M) | f.quiet_bit | <uint64_t>(frac >> (52 - f.M))
        return fp_inf(f, sign)
    if e == 0:
        if frac == 0:
            return sign
        return fp_round_pack(f, sign, -1074, frac, RND_RNE)
    return fp_round_pack(f, sign, e - 1075, frac | (<uint64_t>1 << 52), RND_RNE)


cdef inline uint64_t fp_add(const FmtParams* f, uint64_t a, uint64_t b) noexcept nogil:
    """Correctly rounded (RNE) IEEE addition in the format. The double sum followed by one
    rounding is correct: for results in the format's subnormal range the double sum is exact
    (both operands are multiples of the format's smallest ulp and the sum has <= M+1 bits);
    otherwise 53 >= 2(M+1)+2 makes double rounding innocuous (Figueroa 1995). NaN operands are
    handled before the double addition: which NaN a hardware add returns when both are NaN
    depends on the operand order the C compiler picks, so the first NaN operand propagates,
    quietened (the module's convention, and what numpy float32 addition gives)."""
    if fp_is_nan(f, a):
        return a | f.quiet_bit
    if fp_is_nan(f, b):
        return b | f.quiet_bit
    return fp_from_double(f, fp_to_double(f, a) + fp_to_double(f, b))


cdef inline uint64_t fp_daref_finish(const FmtParams* f, uint64_t a, uint64_t b, uint64_t p,
                                     unsigned char* bad) noexcept nogil:
    """The published DA Python, transcribed (SPEC-arith §4): an operand with |x| < 1e-36
    gives +0; e = ea + eb - bias clamped to <= emax; the product as a binary string of
    max(2(M+1), bitlen) characters; leading '1' -> fraction = chars 1..M, e += 1, else
    chars 2..M+1. Anything the reference cannot encode (final e outside 1..emax-1, inf/NaN
    operands) sets *bad and returns the default NaN."""
    cdef int width, ea, eb, e
    cdef uint64_t frac
    bad[0] = 0
    if fabs(fp_to_double(f, a)) < 1e-36 or fabs(fp_to_double(f, b)) < 1e-36:
        return 0
    ea = <int>fp_field(f, a)
    eb = <int>fp_field(f, b)
    if ea == <int>f.emax or eb == <int>f.emax:
        bad[0] = 1
        return fp_default_nan(f)
    e = ea + eb - f.bias
    if e > <int>f.emax:
        e = <int>f.emax
    width = 64 - __builtin_clzll(p) if p else 0
    if width < 2 * (f.M + 1):
        width = 2 * (f.M + 1)
    if (p >> (width - 1)) & 1:
        frac = p >> (width - 1 - f.M)
        e += 1
    else:
        frac = p >> (width - 2 - f.M)
    if e < 1 or e >= <int>f.emax:
        bad[0] = 1
        return fp_default_nan(f)
    return ((a ^ b) & f.sign_bit) | (<uint64_t>e << f.M) | (<uint64_t>frac & f.frac_mask)
