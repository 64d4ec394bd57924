"""Integer circuits: the product-table fast path beside numpy int multiply, and Verilog import.

    python benchmarks/bench_intmul.py [--quick] [--n N] [--repeats R] [--evoapprox DIR]

1. An 8x8 approximate EvoApproxLib multiplier (mul8u_13QR, unsigned, and mul8s_1KVA, signed)
   through `IntMultiplier.multiply` (the exact product table built once by exhaustive netlist
   evaluation, then one lookup per element) beside numpy's `a * b` on the same int64 arrays;
   best of R, ratio archsim/numpy (goal: within 3x). The table build is timed separately.
2. Import time of every Verilog file of the library: cold (empty parse cache, Yosys runs once
   per file) and cached (a new process reading the parse cache), each in a fresh subprocess.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from archsim_core import get_multiplier  # noqa: E402

GOAL = 3.0
CIRCUITS = {"mul8u_13QR": False, "mul8s_1KVA": True}


def best_of(fn, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_table(root: Path, n: int, repeats: int) -> None:
    rng = np.random.default_rng(0)
    for name, signed in CIRCUITS.items():
        path = next(root.rglob(f"{name}.v"))
        t0 = time.perf_counter()
        m = get_multiplier({"verilog": str(path), "signed": signed})
        _ = m.table
        build = time.perf_counter() - t0
        lo, hi = m.operand_range(8)
        a = rng.integers(lo, hi + 1, n).astype(np.int64)
        b = rng.integers(lo, hi + 1, n).astype(np.int64)
        t_np = best_of(lambda: a * b, repeats)
        t_ax = best_of(lambda: m.multiply(a, b), repeats)
        ratio = t_ax / t_np
        print(f"{name:11s} ({'signed' if signed else 'unsigned'}): numpy a*b {t_np * 1e3:8.2f} ms   "
              f"archsim table {t_ax * 1e3:8.2f} ms   ratio {ratio:5.2f}x  "
              f"({'met' if ratio <= GOAL else 'MISSED'} goal {GOAL}x)   import+table build {build * 1e3:.0f} ms")


IMPORT_ALL = """
import sys, time
from pathlib import Path
from archsim_core.verilog import import_verilog
files = sorted(Path(sys.argv[1]).rglob("*.v"))
t0 = time.perf_counter()
for f in files:
    import_verilog(f)
print(len(files), time.perf_counter() - t0)
"""


def bench_import(root: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="archsim-bench-cache-") as cache:
        env = dict(os.environ, ARCHSIM_CACHE_DIR=cache)
        for label in ("cold (Yosys per file)", "cached (new process)"):
            res = subprocess.run([sys.executable, "-c", IMPORT_ALL, str(root)], env=env,
                                 capture_output=True, text=True, check=True, cwd=REPO)
            count, secs = res.stdout.split()
            print(f"import all {count} Verilog files, {label}: {float(secs):7.2f} s "
                  f"({float(secs) / int(count) * 1e3:.1f} ms/file)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--evoapprox", default=str(REPO.parent / "shared" / "data" / "evoapprox"))
    args = ap.parse_args(argv)
    n = args.n or (1_000_000 if args.quick else 4_000_000)
    repeats = args.repeats or (3 if args.quick else 7)
    root = Path(args.evoapprox)
    print(f"n = {n:,} int64 pairs, best of {repeats}; cpus={os.cpu_count()} (shared machine: "
          "timings vary with load)")
    bench_table(root, n, repeats)
    bench_import(root)


if __name__ == "__main__":
    main()
