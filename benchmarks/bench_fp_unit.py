"""Whole-FP-unit netlists: bit-sliced evaluation beside the FP wrapper's fast path, and
operand capture + toggle pricing of the DA MNIST network, in one run.

    python benchmarks/bench_fp_unit.py [--quick] [--n N] [--repeats R] [--images I]

Part 1: the same FP32 operand words go through `evaluate(m.unit_netlist, a, b)` (the whole
multiplier netlist, bit-sliced) and through `m.multiply_bits(a, b)` (the wrapper's fast path,
the anchor); best of R, ratio netlist / fast path (goal: within 20x). Part 2: capture the GEMM
operands of the DA MNIST network (da_lenet_official.npz) on I test images and price sampled
OS PE windows on the multiplier, adder and register netlists for exact and da (goal: well
under a minute on 2 cores), beside the anchor of one exact numpy float32 forward pass of the
same images. Timings on a shared machine: CPU time is printed beside wall time.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from archsim_core import get_multiplier  # noqa: E402
from archsim_core.evaluate import evaluate  # noqa: E402

SHARED = Path(os.environ.get("ARCHSIM_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def timed(fn):
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def best(fn, repeats):
    fn()
    wall = cpu = float("inf")
    for _ in range(repeats):
        w, c, _ = timed(fn)
        wall, cpu = min(wall, w), min(cpu, c)
    return wall, cpu


def part1(n, repeats):
    rng = np.random.default_rng(0)
    print(f"part 1: {n:,} FP32 operand pairs, best of {repeats}")
    print(f"{'variant':10} {'fast path s':>12} {'netlist s':>10} {'ratio':>7} {'cpu ratio':>9} goal")
    for name in ("exact", "da", "da-flat"):
        m = get_multiplier(name)
        a = rng.uniform(-1, 1, n).astype(np.float32).view(np.uint32)
        b = rng.uniform(-1, 1, n).astype(np.float32).view(np.uint32)
        net = m.unit_netlist
        assert np.array_equal(evaluate(net, a, b).astype(np.uint32), m.multiply_bits(a, b)[0])
        fw, fc = best(lambda: m.multiply_bits(a, b), repeats)
        nw, nc = best(lambda: evaluate(net, a, b), repeats)
        ratio = nw / fw
        print(f"{name:10} {fw:12.4f} {nw:10.4f} {ratio:7.1f} {nc / fc:9.1f} "
              f"{'met' if ratio <= 20 else 'MISSED'} (<= 20x)")


def part2(images):
    from archsim.cost.library import load_library
    from archsim.cost.operands import capture_gemms, price_gemms
    from archsim.cost.pe import variant_spec
    from archsim.nn.architectures import load_network
    from archsim.nn.datasets import load_split
    from archsim.nn.network import forward

    data = SHARED / "data"
    net = load_network(data / "da_lenet_official.npz", "da-lenet")
    x = load_split("mnist", data, "test").x[:images]
    lib = load_library()
    print(f"\npart 2: DA MNIST network, {images} test images, OS 16x16, 32 windows x 256 ops per layer")
    aw, ac, _ = timed(lambda: forward(net, x))
    w0, c0, gemms = timed(lambda: capture_gemms(net, x))
    rows = []
    for name in ("exact", "da"):
        w, c, res = timed(lambda: price_gemms(variant_spec(name), lib, gemms, "os", 16, 16, 32, 0,
                                              256, "bench"))
        rows.append((name, w, c, res))
    total_w = w0 + sum(r[1] for r in rows)
    total_c = c0 + sum(r[2] for r in rows)
    print(f"anchor: numpy float32 forward pass        {aw:8.3f} s wall {ac:8.3f} s cpu")
    print(f"capture of {len(gemms)} GEMMs                      {w0:8.3f} s wall {c0:8.3f} s cpu")
    for name, w, c, res in rows:
        print(f"pricing {name:6} (3 netlists, {len(gemms)} layers) {w:8.3f} s wall {c:8.3f} s cpu   "
              f"mult {res.mult_eu:.1f} +- {res.mult_se:.1f} eu/op")
    print(f"capture + pricing total                 {total_w:8.3f} s wall {total_c:8.3f} s cpu "
          f"({total_w / aw:.0f}x the forward pass; goal well under 60 s: "
          f"{'met' if total_w < 30 else 'MISSED'})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--images", type=int, default=100)
    args = ap.parse_args(argv)
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'default')}, cpus={os.cpu_count()}")
    part1(args.n or (200_000 if args.quick else 2_000_000), args.repeats or (2 if args.quick else 5))
    part2(args.images)


if __name__ == "__main__":
    main()
