"""`archsim sweep` of ~1000 points, serially in-process and on a local Dask cluster, in one run.

The sweep: the DA MNIST network and ImageNet AlexNet; square arrays 4 to 256; os, ws and is;
three SRAM sizes (all three SRAMs); eleven PE variants (exact, da, da-flat and eight of the
approximate-LSB family). AlexNet runs on arrays of 32 and more only: on a 4x4 weight-stationary
array its SimPy simulation alone takes over two minutes (3.9 M folds), so the spec carries
the constraint {key: array.size, min: 32, where: {workload.path: alexnet}}.

Printed, from the same run:
- the profile of the naive way, `archsim run`'s per-point cost (`run_config`: simulate and
  cost, nothing shared) on a seeded sample of points, extrapolated to the whole sweep;
- the serial sweep (`--workers 0`): points/s, and the share of simulated groups;
- the Dask sweep on a local cluster (`--workers N`, cluster start-up included): points/s;
- the ratio Dask / serial, and whether both results.csv are byte-identical.

    OMP_NUM_THREADS=1 python benchmarks/bench_sweep.py [--workers 2] [--quick] [--keep DIR]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIANTS = ["exact", "da", "da-flat", "{family: lsb-AMA5-k, k: [4, 8, 12, 16, 20]}",
            "lsb-AMA1-8", "lsb-AMA3-8", "lsb-AMA4-8"]


def spec_text(quick: bool) -> str:
    sizes = [4, 16, 64, 256] if quick else [4, 8, 16, 32, 64, 128, 256]
    srams = [64, 512] if quick else [32, 128, 512]
    variants = VARIANTS[:3] if quick else VARIANTS
    return f"""base: {REPO / 'configs' / 'da_mnist.yaml'}
axes:
  workload.path: [{REPO / 'workloads' / 'da_mnist.yaml'}, {REPO / 'workloads' / 'alexnet.yaml'}]
  array.size: {sizes}
  array.dataflow: [os, ws, is]
  memory.sram_kib: {srams}
  pe.variant: [{', '.join(variants)}]
constraints:
  - {{key: array.size, min: 32, where: {{workload.path: {REPO / 'workloads' / 'alexnet.yaml'}}}}}
objectives: [latency, energy, area]
max_points: 5000
"""


def _cpu_s() -> float:
    import time
    return time.process_time()


def run_sweep(spec, out: Path, workers: int):
    """Plan, run and finish one sweep through the library (as the CLI does): wall seconds
    and CPU seconds (this process, plus the workers' own)."""
    from archsim.sweep.execute import connect, run_dask, run_serial
    from archsim.sweep.point import plan_points
    from archsim.sweep.store import SweepStore

    start, cpu = time.perf_counter(), time.process_time()
    store = SweepStore(out, spec, plan_points(spec))
    store.check()
    store.start()
    worker_cpu = 0.0
    if workers == 0:
        run_serial(store, spec, progress=sys.stderr.isatty())
    else:
        client = connect(None, workers)
        try:
            run_dask(store, spec, client, progress=sys.stderr.isatty())
            worker_cpu = sum(client.run(_cpu_s).values())
        finally:
            cluster = client.cluster
            client.close()
            cluster.close()
    store.finish(plots=False)
    return time.perf_counter() - start, time.process_time() - cpu + worker_cpu


def naive_per_point_s(spec, points, n: int) -> float:
    """Mean seconds of `run_config` (archsim run's engine) on n seeded sample points."""
    import json

    from archsim.config import PEVariant, config_from_dict
    from archsim.sim.run import run_config

    total = 0.0
    for p in random.Random(0).sample(points, n):
        start = time.perf_counter()
        cfg = config_from_dict(json.loads(p.group_doc_json), "bench", Path(p.base_dir))
        cfg = dataclasses.replace(cfg, clock=p.clock,
                                  variants=tuple(PEVariant(l, s) for l, s in p.variants))
        run_config(cfg)
        total += time.perf_counter() - start
    return total / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2, help="local Dask workers (default 2)")
    ap.add_argument("--quick", action="store_true", help="a ~100-point sweep")
    ap.add_argument("--naive-samples", type=int, default=12)
    ap.add_argument("--keep", default=None, help="keep the two result directories here")
    args = ap.parse_args()

    import logging

    from archsim.sweep.point import plan_points
    from archsim.sweep.spec import load_spec

    logging.getLogger("distributed").setLevel(logging.WARNING)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_sweep-"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "spec.yaml").write_text(spec_text(args.quick))
    spec = load_spec(work / "spec.yaml")
    points = plan_points(spec)
    groups = len({p.group_key for p in points})
    print(f"sweep: {len(points)} points, {groups} distinct simulations "
          f"(workload x array x dataflow x SRAM), {len(spec.axes[-1].values)} PE variants")

    naive = naive_per_point_s(spec, points, args.naive_samples)
    print(f"profile  archsim run per point (run_config, nothing shared), mean of "
          f"{args.naive_samples} sampled points: {naive:.3f} s -> ~{naive * len(points):.0f} s "
          f"for the sweep ({1 / naive:.2f} points/s, extrapolated)")
    for d in ("serial", "dask"):
        shutil.rmtree(work / d, ignore_errors=True)
    serial_s, serial_cpu = run_sweep(spec, work / "serial", 0)
    dask_s, dask_cpu = run_sweep(spec, work / "dask", args.workers)
    same = ((work / "serial" / "results.csv").read_bytes()
            == (work / "dask" / "results.csv").read_bytes())
    print(f"serial   in-process, shared simulations:       {serial_s:7.1f} s  "
          f"{len(points) / serial_s:7.1f} points/s  (CPU {serial_cpu:.1f} s)")
    print(f"dask     local cluster, {args.workers} workers (start-up incl.): {dask_s:7.1f} s  "
          f"{len(points) / dask_s:7.1f} points/s  (CPU {dask_cpu:.1f} s, client + workers)")
    print(f"machine  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end "
          f"(wall times on a busy machine stretch; CPU seconds do not)")
    print(f"ratio    dask / serial points/s: {serial_s / dask_s:.2f}x; "
          f"serial / naive: {naive * len(points) / serial_s:.1f}x")
    print(f"results.csv byte-identical serial vs dask: {same}")
    if not args.keep:
        shutil.rmtree(work)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
