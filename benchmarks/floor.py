"""Measured arithmetic floor of the MAC fast paths on this CPU (used by bench_matmul.py).

A small C file is compiled at run time (the system C compiler, -O3, AVX-512 functions chosen
by target attributes) and loaded with ctypes. Each loop executes, with operands held in
registers (no loads or stores, so no cache or memory effects), exactly the vector
instructions one fast path needs per MAC, with enough independent chains to reach the
execution units' throughput. Empty `asm volatile` statements mark the operands as changed
every iteration, so the compiler cannot hoist the arithmetic out of the loop. Loops run on 1
thread and on all cores at once (ctypes releases the GIL); the result is MACs per second:
an upper bound for any kernel built from these instructions.

Floors:
  exact-f32     vmulps + vaddps per 16 MACs (IEEE float product and sum: the native MAC
                without FMA, whose single rounding would change the result)
  exact-dbl     archsim's exact kernel: vmulpd, vcvtpd2ps, vaddps per 8 MACs
  da-dbl        archsim's closed-form kernel: vmulpd, vfmadd231pd, vcvtpd2ps {rz}, vaddps per 8
  da-int        the AMA5 closed form in integers as SPEC-arith writes it: 2 vpmuludq, vpaddq,
                vcvtuqq2pd, 2 vmulpd (exponent scale), vcvtpd2ps {rz}, vaddps per 8 MACs
  ternlog       vpternlogq (any 3-input bit function of 512 lanes): bit-sliced netlists
  gather        vpgatherqq of 8 table entries (L1-resident indices): product tables
"""
from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sysconfig
import tempfile
import threading
import time

C_SOURCE = r"""
#include <immintrin.h>
#include <stdint.h>
#define T __attribute__((target("avx512f,avx512dq,avx512vl,avx512cd,fma"), noinline))
#define KEEPD(x) __asm__ volatile("" : "+v"(x))

int has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512vl");
}

/* 4 rows x 16 columns = 64 MACs per iteration */
T void da_dbl(int64_t n, float *out) {
    __m512d b1l = _mm512_set1_pd(1.5), b1h = _mm512_set1_pd(1.25);
    __m512d b2l = _mm512_set1_pd(0.5), b2h = _mm512_set1_pd(0.75);
    __m512d a1[4], a2[4];
    __m256 acc[4][2];
    for (int r = 0; r < 4; r++) {
        a1[r] = _mm512_set1_pd(1.0 + r); a2[r] = _mm512_set1_pd(2.0 + r);
        acc[r][0] = acc[r][1] = _mm256_setzero_ps();
        KEEPD(a1[r]); KEEPD(a2[r]);
    }
    for (int64_t i = 0; i < n; i++) {
        KEEPD(b1l); KEEPD(b1h); KEEPD(b2l); KEEPD(b2h);
        _Pragma("GCC unroll 16") for (int r = 0; r < 4; r++) {
            __m512d vl = _mm512_fmadd_pd(a2[r], b2l, _mm512_mul_pd(a1[r], b1l));
            __m512d vh = _mm512_fmadd_pd(a2[r], b2h, _mm512_mul_pd(a1[r], b1h));
            acc[r][0] = _mm256_add_ps(acc[r][0], _mm512_cvt_roundpd_ps(vl, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC));
            acc[r][1] = _mm256_add_ps(acc[r][1], _mm512_cvt_roundpd_ps(vh, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC));
        }
    }
    for (int r = 0; r < 4; r++) { _mm256_storeu_ps(out + 16 * r, acc[r][0]); _mm256_storeu_ps(out + 16 * r + 8, acc[r][1]); }
}

T void exact_dbl(int64_t n, float *out) {
    __m512d bl = _mm512_set1_pd(1.5), bh = _mm512_set1_pd(1.25);
    __m512d a1[4];
    __m256 acc[4][2];
    for (int r = 0; r < 4; r++) { a1[r] = _mm512_set1_pd(1.0 + r); acc[r][0] = acc[r][1] = _mm256_setzero_ps(); KEEPD(a1[r]); }
    for (int64_t i = 0; i < n; i++) {
        KEEPD(bl); KEEPD(bh);
        _Pragma("GCC unroll 16") for (int r = 0; r < 4; r++) {
            acc[r][0] = _mm256_add_ps(acc[r][0], _mm512_cvt_roundpd_ps(_mm512_mul_pd(a1[r], bl), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            acc[r][1] = _mm256_add_ps(acc[r][1], _mm512_cvt_roundpd_ps(_mm512_mul_pd(a1[r], bh), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        }
    }
    for (int r = 0; r < 4; r++) { _mm256_storeu_ps(out + 16 * r, acc[r][0]); _mm256_storeu_ps(out + 16 * r + 8, acc[r][1]); }
}

/* 8 rows x 32 columns = 256 MACs per iteration */
T void exact_f32(int64_t n, float *out) {
    __m512 bl = _mm512_set1_ps(1.5f), bh = _mm512_set1_ps(1.25f);
    __m512 a[8], acc[8][2];
    for (int r = 0; r < 8; r++) { a[r] = _mm512_set1_ps(1.0f + r); acc[r][0] = acc[r][1] = _mm512_setzero_ps(); KEEPD(a[r]); }
    for (int64_t i = 0; i < n; i++) {
        KEEPD(bl); KEEPD(bh);
        _Pragma("GCC unroll 16") for (int r = 0; r < 8; r++) {
            acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_mul_ps(a[r], bl));
            acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_mul_ps(a[r], bh));
        }
    }
    for (int r = 0; r < 8; r++) { _mm512_storeu_ps(out + 32 * r, acc[r][0]); _mm512_storeu_ps(out + 32 * r + 16, acc[r][1]); }
}

/* 4 rows x 16 columns = 64 MACs per iteration */
T void da_int(int64_t n, float *out) {
    __m512i b1l = _mm512_set1_epi64(12345), b1h = _mm512_set1_epi64(23456);
    __m512i b2l = _mm512_set1_epi64(345), b2h = _mm512_set1_epi64(456);
    __m512d sbl = _mm512_set1_pd(0.5), sbh = _mm512_set1_pd(0.25);
    __m512i a1[4], a2[4];
    __m512d sa[4];
    __m256 acc[4][2];
    for (int r = 0; r < 4; r++) {
        a1[r] = _mm512_set1_epi64(1000 + r); a2[r] = _mm512_set1_epi64(2000 + r); sa[r] = _mm512_set1_pd(0.125 * (r + 1));
        acc[r][0] = acc[r][1] = _mm256_setzero_ps();
        KEEPD(a1[r]); KEEPD(a2[r]); KEEPD(sa[r]);
    }
    for (int64_t i = 0; i < n; i++) {
        KEEPD(b1l); KEEPD(b1h); KEEPD(b2l); KEEPD(b2h); KEEPD(sbl); KEEPD(sbh);
        _Pragma("GCC unroll 16") for (int r = 0; r < 4; r++) {
            __m512i pl = _mm512_add_epi64(_mm512_mul_epu32(a1[r], b1l), _mm512_mul_epu32(a2[r], b2l));
            __m512i ph = _mm512_add_epi64(_mm512_mul_epu32(a1[r], b1h), _mm512_mul_epu32(a2[r], b2h));
            __m512d dl = _mm512_mul_pd(_mm512_mul_pd(_mm512_cvtepu64_pd(pl), sa[r]), sbl);
            __m512d dh = _mm512_mul_pd(_mm512_mul_pd(_mm512_cvtepu64_pd(ph), sa[r]), sbh);
            acc[r][0] = _mm256_add_ps(acc[r][0], _mm512_cvt_roundpd_ps(dl, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC));
            acc[r][1] = _mm256_add_ps(acc[r][1], _mm512_cvt_roundpd_ps(dh, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC));
        }
    }
    for (int r = 0; r < 4; r++) { _mm256_storeu_ps(out + 16 * r, acc[r][0]); _mm256_storeu_ps(out + 16 * r + 8, acc[r][1]); }
}

/* 16 independent vpternlogq per iteration */
T void ternlog(int64_t n, float *out) {
    __m512i x[16], y = _mm512_set1_epi64(0x5555), z = _mm512_set1_epi64(0x3333);
    for (int q = 0; q < 16; q++) { x[q] = _mm512_set1_epi64(q); KEEPD(x[q]); }
    for (int64_t i = 0; i < n; i++) {
        KEEPD(y); KEEPD(z);
        _Pragma("GCC unroll 16") for (int q = 0; q < 16; q++) x[q] = _mm512_ternarylogic_epi64(x[q], y, z, 0x96);
    }
    int64_t s = 0;
    for (int q = 0; q < 16; q++) s += _mm512_reduce_add_epi64(x[q]);
    out[0] = (float)s;
}

/* 4 independent 8-lane 64-bit gathers per iteration from a table of `size` entries */
T void gather(int64_t n, float *out, const int64_t *table, int64_t size) {
    __m512i idx[4], acc[4];
    for (int q = 0; q < 4; q++) {
        idx[q] = _mm512_set_epi64(7 * q, 911, 4093, 16411, 32771, 49157, 65519 % size, 3 * q);
        idx[q] = _mm512_and_si512(idx[q], _mm512_set1_epi64(size - 1));
        acc[q] = _mm512_setzero_si512();
    }
    for (int64_t i = 0; i < n; i++) {
        _Pragma("GCC unroll 16") for (int q = 0; q < 4; q++) {
            KEEPD(idx[q]);
            acc[q] = _mm512_add_epi64(acc[q], _mm512_i64gather_epi64(idx[q], table, 8));
        }
    }
    int64_t s = 0;
    for (int q = 0; q < 4; q++) s += _mm512_reduce_add_epi64(acc[q]);
    out[0] = (float)s;
}
"""

# name -> (C function, work units per iteration, unit)
LOOPS = {
    "exact-f32": ("exact_f32", 256, "MAC"),
    "exact-dbl": ("exact_dbl", 64, "MAC"),
    "da-dbl": ("da_dbl", 64, "MAC"),
    "da-int": ("da_int", 64, "MAC"),
    "ternlog": ("ternlog", 16, "vpternlogq"),
    "gather": ("gather", 32, "gathered entry"),
}


class FloorUnavailable(RuntimeError):
    """No C compiler, or a CPU without AVX-512: the floor is not measured."""


def _compile() -> ctypes.CDLL:
    cc = shutil.which(os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc").split()[0]) \
        or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise FloorUnavailable("no C compiler found")
    tmp = tempfile.mkdtemp(prefix="archsim-floor-")
    src, lib = os.path.join(tmp, "floor.c"), os.path.join(tmp, "floor.so")
    with open(src, "w", encoding="utf-8") as fh:
        fh.write(C_SOURCE)
    res = subprocess.run([cc, "-O3", "-ffp-contract=off", "-shared", "-fPIC", "-o", lib, src],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise FloorUnavailable(f"floor microbenchmark did not compile: {res.stderr.strip()[:300]}")
    dll = ctypes.CDLL(lib)
    shutil.rmtree(tmp, ignore_errors=True)        # the mapping stays valid after unlinking
    if not dll.has_avx512():
        raise FloorUnavailable("this CPU has no AVX-512 (the floor loops use it)")
    return dll


def measure(seconds: float = 0.3, threads: int | None = None) -> dict[str, dict[str, float]]:
    """{loop: {"per_core": units per wall second on 1 thread, "per_cpu_s": units per second of
    that thread's CPU time (what a core does while it runs us: robust to a loaded machine),
    "all": units per wall second with `threads` threads at once (default: all CPUs),
    "unit": ...}}, best of 3 runs of about `seconds` each."""
    import numpy as np

    dll = _compile()
    threads = threads or os.cpu_count() or 1
    table = np.arange(1 << 16, dtype=np.int64)
    out = np.zeros((max(threads, 1), 256), np.float32)
    results = {}
    for name, (fn_name, per_iter, unit) in LOOPS.items():
        fn = getattr(dll, fn_name)
        fn.restype = None

        def call(n, row):
            ptr = out[row].ctypes.data_as(ctypes.c_void_p)
            if fn_name == "gather":
                fn(ctypes.c_int64(n), ptr, table.ctypes.data_as(ctypes.c_void_p), ctypes.c_int64(table.size))
            else:
                fn(ctypes.c_int64(n), ptr)

        n = 1000
        while True:                                  # calibrate to ~seconds on one thread
            t0 = time.perf_counter()
            call(n, 0)
            dt = time.perf_counter() - t0
            if dt > seconds / 4:
                break
            n *= 4
        n = max(1, int(n * seconds / dt))
        one, cpu_one, many = 0.0, 0.0, 0.0
        for _ in range(3):
            c0, t0 = time.thread_time(), time.perf_counter()
            call(n, 0)
            one = max(one, n * per_iter / (time.perf_counter() - t0))
            cpu_one = max(cpu_one, n * per_iter / max(time.thread_time() - c0, 1e-9))
            workers = [threading.Thread(target=call, args=(n, i)) for i in range(threads)]
            t0 = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            many = max(many, threads * n * per_iter / (time.perf_counter() - t0))
        results[name] = {"per_core": one, "per_cpu_s": cpu_one, "all": many, "unit": unit}
    return results


def bitsliced_ternlogs(program) -> int:
    """Minimum vpternlogq count of one pass of a compiled netlist program over 512 lanes:
    full/half adders need two (sum and carry are each a function of 3 inputs), adders fed by
    a partial product AND three, every other op one."""
    cost = {9: 2, 10: 2, 11: 3, 12: 3}
    return int(sum(cost.get(int(op), 1) for op in program.ops[:, 0]))
