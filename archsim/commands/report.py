"""`archsim report DIR [--out FILE]`: one self-contained HTML report of a run or a sweep.

Plots embedded (base64), tables, the configuration echoed. Default FILE: DIR/report.html.
"""
from __future__ import annotations

import os
from pathlib import Path


def register(subparsers) -> None:
    """Add the `report` subcommand."""
    p = subparsers.add_parser("report", help="one self-contained HTML report of a run or sweep",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("directory", help="an `archsim run` or `archsim sweep` output directory")
    p.add_argument("--out", default=None, help="HTML file (default: DIR/report.html)")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    """Render, then write atomically."""
    from archsim.report.html import render_report

    text = render_report(args.directory)
    out = Path(args.out) if args.out else Path(args.directory) / "report.html"
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    print(f"wrote {out}")
    return 0
