"""`archsim plot DIR`: redraw the plots of a result directory from its data files."""
from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    """Add the `plot` subcommand."""
    p = subparsers.add_parser("plot", help="redraw the plots of a run (or cost) directory",
                              description=__doc__)
    p.add_argument("dir", help="a directory written by `archsim run` (or `archsim cost`)")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    """Redraw run plots (summary.json) and/or cost plots (cost.json)."""
    from archsim.errors import DataError

    directory = Path(args.dir)
    paths = []
    if (directory / "cost.json").is_file():
        from archsim.cost.report import plot_cost_dir
        paths += plot_cost_dir(directory)
    if (directory / "summary.json").is_file():
        from archsim.plots import plot_run_dir
        paths += plot_run_dir(directory)
    if not paths:
        raise DataError(f"{directory}: no summary.json or cost.json to plot")
    for path in paths:
        print(path)
    return 0
