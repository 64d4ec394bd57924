"""ResNet-18 (torchvision's definition, ONNX import) on one 224x224 image: seconds per image
through the `da` multiplier beside numpy float32 inference of the same graph, in one run.

Both run archsim.network.execute.forward_graph on the same imported graph and image: float32
is numpy/BLAS (products and sums in float32), `da` runs every Conv/Gemm product through the
Defensive Approximation multiplier's kernel (archsim_core, both cores). Goal: da <= 2 s/image.
Also prints onnxruntime (1 thread) as the outside anchor and the max |da - float32| logit.

    nice -n 10 python benchmarks/bench_onnx_inference.py [--images 1] [--repeats 3]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def best_time(fn, repeats: int) -> tuple[float, object]:
    """(best wall seconds over `repeats` calls, last result)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main(argv: list[str] | None = None) -> int:
    """Print the seconds-per-image table."""
    import torch
    from onnx_models import export, onnxruntime_outputs, torchvision_models

    from archsim.network.execute import forward_graph
    from archsim.network.onnx import load_onnx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "resnet18.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            export(torchvision_models().resnet18(), torch.zeros(1, 3, 224, 224), path)
        graph = load_onnx(path, batch=args.images)
        x = np.random.default_rng(0).random((args.images, 3, 224, 224), dtype=np.float32)
        ort_s, ref = best_time(lambda: onnxruntime_outputs(path, x), args.repeats)
    from archsim_core import get_multiplier
    da = get_multiplier("da")
    f32_s, f32 = best_time(lambda: forward_graph(graph, x, None, args.images), args.repeats)
    da_s, out = best_time(lambda: forward_graph(graph, x, da, args.images), args.repeats)
    n = args.images
    print(f"ResNet-18, {n} image(s) of 3x224x224, {graph.macs / n / 1e9:.3f} GMAC/image, "
          f"best of {args.repeats}")
    print(f"{'path':<24}{'s/image':>10}{'vs float32':>12}")
    for label, secs in (("onnxruntime (1 thread)", ort_s), ("numpy float32", f32_s),
                        ("da (archsim_core)", da_s)):
        print(f"{label:<24}{secs / n:10.3f}{secs / f32_s:11.1f}x")
    print(f"max |float32 - onnxruntime| = {np.abs(f32 - ref).max():.2e}; "
          f"max |da - float32| = {np.abs(out - f32).max():.3g} (max |float32| "
          f"{np.abs(f32).max():.3g}, random weights); "
          f"goal da <= 2 s/image: {'met' if da_s / n <= 2 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
