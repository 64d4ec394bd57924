"""Sampling a spec's axes into points: grid, zip, seeded random, Latin hypercube.

A point is a tuple of value indices, one per axis (the last axis varies fastest in a grid).
Random and LHS draw with `numpy.random.default_rng(seed)`, so a spec always gives the same
points; duplicates are dropped (first occurrence kept). Nothing here builds a config.
"""
from __future__ import annotations

import math

import numpy as np

from archsim.errors import ConfigError


def grid_size(spec) -> int:
    """Number of points of the full grid (Python int: may be astronomically large)."""
    return math.prod(len(a.values) for a in spec.axes)


def _decode(index: int, sizes: list[int]) -> tuple[int, ...]:
    out = []
    for size in reversed(sizes):
        index, digit = divmod(index, size)
        out.append(digit)
    return tuple(reversed(out))


def _random(spec, sizes: list[int], total: int) -> list[tuple[int, ...]]:
    rng = np.random.default_rng(spec.seed)
    n = min(spec.samples, total)
    if total <= 10_000_000:
        picks = sorted(int(i) for i in rng.choice(total, size=n, replace=False))
    else:  # too big to permute: draw digits, drop repeats
        seen: set[tuple[int, ...]] = set()
        while len(seen) < n:
            seen.add(tuple(int(rng.integers(s)) for s in sizes))
        return sorted(seen)
    return [_decode(i, sizes) for i in picks]


def _lhs(spec, sizes: list[int]) -> list[tuple[int, ...]]:
    """One stratum of [0, 1) per sample on every axis, strata shuffled per axis."""
    rng = np.random.default_rng(spec.seed)
    n = spec.samples
    columns = []
    for size in sizes:
        u = (rng.permutation(n) + rng.random(n)) / n
        columns.append(np.minimum((u * size).astype(np.int64), size - 1))
    return list(dict.fromkeys(tuple(int(c[i]) for c in columns) for i in range(n)))


def sample_indices(spec) -> list[tuple[int, ...]]:
    """The spec's points as value-index tuples, in point order (ConfigError if too many)."""
    sizes = [len(a.values) for a in spec.axes]
    total = grid_size(spec)
    if spec.sampling == "zip":
        if len(set(sizes)) != 1:
            lengths = ", ".join(f"{a.key}: {len(a.values)}" for a in spec.axes)
            raise ConfigError(f"{spec.source}: axes: zip sampling needs lists of equal length "
                              f"({lengths})")
        return [(i,) * len(sizes) for i in range(sizes[0])]
    if spec.sampling == "grid":
        if total > spec.max_points:
            raise ConfigError(f"{spec.source}: max_points: the grid has {total} points, more "
                              f"than max_points = {spec.max_points} (raise max_points, or "
                              f"sample with random or lhs)")
        return [_decode(i, sizes) for i in range(total)]
    if spec.samples > spec.max_points:
        raise ConfigError(f"{spec.source}: samples: {spec.samples} is more than max_points = "
                          f"{spec.max_points}")
    return _random(spec, sizes, total) if spec.sampling == "random" else _lhs(spec, sizes)
