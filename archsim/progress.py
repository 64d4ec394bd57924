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
