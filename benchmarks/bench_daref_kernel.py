"""da-reference forward pass of the CIFAR-10 AlexNet: the blocked da-reference kernel against
the general per-element path it replaces, beside `da` (hardware semantics, closed-form GEMM)
and exact float32 numpy (the anchor), same images, same run, single thread.

    python benchmarks/bench_daref_kernel.py [--data-dir DIR] [--images 20] [--repeat 3] [--quick]

DIR holds cifar-10-batches-py (default $ARCHSIM_CIFAR10_DIR; build it with
../shared/data/cifar10/to_batches.py DIR); without it the images are uniform random in [0, 1)
(seed 0, said so in the output). Two more images are appended: copies of the first two with a
4 x 4 patch of 2e-36 in channel 0, whose products fall below the reference's exponent range,
so their logits are NaN and the comparison covers NaN positions.

Printed per run: images, best-of-`repeat` wall seconds (the general path runs once: it is
slow), ms per image, and the ratios to the numpy anchor and to the general path. The script
exits 1 unless the blocked kernel's logits equal the general path's bit for bit (NaN
positions and payloads included). OMP_NUM_THREADS is forced to 1 (before archsim_core loads)
unless --threads is given. `--quick`: 4 images, one repeat. On a shared machine wall time varies with load; the load average
is printed before and after.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None, help="cifar-10-batches-py or its parent "
                   "(default $ARCHSIM_CIFAR10_DIR; else random images)")
    p.add_argument("--images", type=int, default=20)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="4 images, one repeat")
    args = p.parse_args(argv)
    if args.quick:
        args.images, args.repeat = 4, 1
    if args.images < 1 or args.repeat < 1 or args.threads < 1:
        p.error("--images, --repeat and --threads must be >= 1")
    os.environ["OMP_NUM_THREADS"] = str(args.threads)

    import numpy as np

    from archsim.nn.architectures import load_network
    from archsim.nn.network import forward
    from archsim_core import _kernels, get_multiplier

    repo = Path(__file__).resolve().parents[1]
    net = load_network(repo / "workloads/alexnet_cifar10/alexnet_cifar10.npz", "alexnet-cifar10")
    data_dir = args.data_dir or os.environ.get("ARCHSIM_CIFAR10_DIR")
    if data_dir:
        from archsim.nn.cifar10 import load_cifar10
        x, _ = load_cifar10(data_dir, "test", limit=args.images)
        source = f"CIFAR-10 test images from {data_dir}"
    else:
        x = np.random.default_rng(0).random((args.images, 3, 32, 32), dtype=np.float32)
        source = "uniform random images (no --data-dir / $ARCHSIM_CIFAR10_DIR)"
    bad = x[np.arange(2) % len(x)].copy()
    bad[:, 0, :4, :4] = np.float32(2e-36)
    x = np.ascontiguousarray(np.concatenate([x, bad]))
    n = len(x)
    print(f"# AlexNet-CIFAR10 forward, {net.macs:,} MACs/image; {args.images} {source} + 2 with "
          f"out-of-domain products; OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, "
          f"da-reference kernel isa {_kernels.daref_kernel_isa()}; cpus={os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}")

    def timed(mult, fast=True, repeat=args.repeat):
        old = _kernels.set_daref_fast(fast)
        try:
            best, out = None, None
            for _ in range(repeat):
                t0 = time.perf_counter()
                out = forward(net, x, mult)
                dt = time.perf_counter() - t0
                best = dt if best is None else min(best, dt)
            return out, best
        finally:
            _kernels.set_daref_fast(old)

    da, ref = get_multiplier("da"), get_multiplier("da-reference")
    runs = [("anchor numpy-f32", *timed(None)),
            ("archsim da (closed-form GEMM)", *timed(da)),
            ("archsim da-reference blocked kernel", *timed(ref)),
            ("archsim da-reference general path", *timed(ref, fast=False, repeat=1))]
    t_np, t_old = runs[0][2], runs[3][2]
    print("run,images,wall_s,ms_per_image,ratio_to_numpy,speedup_vs_general_path")
    for name, _, t in runs:
        print(f"{name},{n},{t:.3f},{1000 * t / n:.2f},{t / t_np:.1f},{t_old / t:.2f}")
    new, old = runs[2][1], runs[3][1]
    same = np.array_equal(new.view(np.uint32), old.view(np.uint32))
    print(f"# blocked kernel == general path, bit for bit: {same}; NaN logits: "
          f"{int(np.isnan(new).sum())} (general path {int(np.isnan(old).sum())}) in "
          f"{int(np.isnan(new).any(axis=1).sum())} images")
    print(f"# load average after: {os.getloadavg()[0]:.2f} (wall times on a shared, loaded machine)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
