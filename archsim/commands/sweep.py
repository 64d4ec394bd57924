"""`archsim sweep SPEC --out DIR [--scheduler ADDRESS] [--workers N]`: a design-space sweep.

Points run on a local Dask cluster by default (--workers N processes, all CPUs if omitted),
on a running scheduler with --scheduler tcp://HOST:PORT, or serially in this process with
--workers 0. Rows stream into DIR/results.csv as points finish; a rerun skips finished points;
the final results.csv / results.parquet are in point order (same bytes for any worker count).
"""
from __future__ import annotations

import sys


def register(subparsers) -> None:
    """Add the `sweep` subcommand."""
    p = subparsers.add_parser("sweep", help="design-space sweep (grid/zip/random/lhs) with "
                              "Pareto fronts, serial or on Dask",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("spec", help="sweep spec (YAML): base, axes, sampling, samples, seed, "
                   "constraints, objectives")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="results directory (resumed if it exists)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="a running Dask scheduler, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local Dask worker processes (default: all CPUs; 0 = serial, "
                   "in this process)")
    p.add_argument("--no-plots", action="store_true", help="write the data files only")
    p.set_defaults(handler=handle)


def _quiet_dask() -> None:
    """Dask logs every worker start and stop at INFO on its own loggers: keep warnings only."""
    import logging

    try:
        import distributed  # noqa: F401  (creates its loggers)
    except ImportError:
        return
    for name in list(logging.root.manager.loggerDict):
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.WARNING)


def handle(args) -> int:
    """Validate everything, connect, then run and write (nothing is touched before)."""
    from archsim.errors import ConfigError
    from archsim.sweep.execute import connect, run_dask, run_serial
    from archsim.sweep.point import plan_points
    from archsim.sweep.spec import load_spec
    from archsim.sweep.store import SweepStore

    if args.workers is not None and args.workers < 0:
        raise ConfigError(f"--workers: must be >= 0, got {args.workers}")
    if args.workers == 0 and args.scheduler:
        raise ConfigError("--workers 0 (serial) and --scheduler exclude each other")
    try:
        import pyarrow  # noqa: F401  (results.parquet; fail before computing anything)
    except ImportError:
        raise ConfigError("archsim sweep needs pyarrow for results.parquet: "
                          "pip install 'archsim[sweep]'") from None
    spec = load_spec(args.spec)
    points = plan_points(spec)
    if not points:
        raise ConfigError(f"{args.spec}: constraints: no point of the sweep satisfies them")
    store = SweepStore(args.out, spec, points)
    store.check()
    serial = args.workers == 0
    if not serial and not args.verbose:
        _quiet_dask()
    client = None if serial else connect(args.scheduler, args.workers)
    progress = sys.stderr.isatty()
    try:
        store.start()
        print(f"sweep: {len(points)} points, {len(store.done)} already done", file=sys.stderr)
        if serial:
            run_serial(store, spec, progress)
        else:
            run_dask(store, spec, client, progress)
        store.finish(plots=not args.no_plots)
    finally:
        store.close()
        if client is not None:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    front = sum(1 for _ in open(store.dir / "pareto.csv", encoding="utf-8")) - 1
    print(f"wrote {store.dir}: {len(points)} points, {front} on the Pareto front of "
          f"{', '.join(spec.objectives)}")
    return 0
