"""Progress of long work on stderr: a tqdm bar on a terminal, otherwise one line per step with
the elapsed time (so a run under nohup or in CI is never silent)."""
from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator


def steps(items: Iterable, desc: str, total: int | None = None, unit: str = "step",
          label=None) -> Iterator:
    """Yield `items`, reporting progress on stderr. `label(item)` names a step in the
    non-terminal lines (default: its position)."""
    stream = sys.stderr
    if stream.isatty():
        from tqdm import tqdm
        yield from tqdm(items, desc=desc, total=total, unit=unit, leave=False, file=stream)
        return
    items = list(items)
    n = len(items)
    start = time.perf_counter()
    for i, item in enumerate(items, 1):
        yield item
        name = label(item) if label is not None else ""
        print(f"archsim: {desc}: {unit} {i}/{n}{' ' + name if name else ''} done "
              f"[{time.perf_counter() - start:.1f} s]", file=stream, flush=True)


class _Lines:
    """tqdm's `update` / context-manager subset, printing one line per step."""

    def __init__(self, total: int, desc: str, unit: str):
        self.total, self.desc, self.unit, self.n = total, desc, unit, 0
        self.start = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.n += n
        print(f"archsim: {self.desc}: {self.unit} {self.n}/{self.total} done "
              f"[{time.perf_counter() - self.start:.1f} s]", file=sys.stderr, flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


def counter(total: int, desc: str, unit: str = "step"):
    """A progress counter (`with counter(n, desc) as bar: bar.update()`): tqdm on a terminal,
    one line per step with the elapsed time otherwise."""
    if sys.stderr.isatty():
        from tqdm import tqdm
        return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)
    return _Lines(total, desc, unit)
