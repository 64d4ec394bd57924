"""Pareto fronts over any number of objectives (top1 maximised, every other one minimised)."""
from __future__ import annotations

from collections.abc import Sequence

MAXIMISED = frozenset({"top1"})


def _key(row: dict, objectives: Sequence[str]) -> tuple[float, ...]:
    return tuple(-row[o] if o in MAXIMISED else row[o] for o in objectives)


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """a is no worse than b in every objective and better in one (all minimised)."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def pareto_rows(rows: Sequence[dict], objectives: Sequence[str]) -> list[dict]:
    """The feasible rows no other feasible row dominates, in the order given.

    Sorting by the objectives first means a row can only be dominated by one before it, so
    each row is compared with the front found so far (O(n x front))."""
    feasible = [r for r in rows if r.get("feasible", True)]
    order = sorted(range(len(feasible)), key=lambda i: (_key(feasible[i], objectives), i))
    front: list[int] = []
    for i in order:
        k = _key(feasible[i], objectives)
        if not any(dominates(_key(feasible[j], objectives), k) for j in front):
            front.append(i)
    return [feasible[i] for i in sorted(front)]
