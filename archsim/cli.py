"""Command-line entry point: `archsim SUBCOMMAND ...`.

Subcommands live in `archsim.commands.<name>`; each module defines
`register(subparsers)`, which adds its parser and sets `handler=<callable(args) -> int>`.
Command modules keep heavy imports inside their handlers so `archsim --help` stays fast.
The library raises `ArchsimError`; this module alone turns it into one stderr line and exit 2.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from archsim import __version__
from archsim.errors import ArchsimError

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every discovered subcommand registered (sorted by name)."""
    import archsim.commands as commands

    parser = argparse.ArgumentParser(
        prog="archsim", description="Design, simulate, cost and attack approximate CNN accelerators.")
    parser.add_argument("--version", action="version", version=f"archsim {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"archsim.commands.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except ArchsimError as exc:
        print(f"archsim {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # safety net: an OS error no command turned into an ArchsimError
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"archsim {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print(f"archsim {args.command}: error: out of memory (the work is too large for this "
              f"machine)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("archsim: interrupted", file=sys.stderr)
        return 130
