"""Result files: deterministic JSON/CSV writers and all-or-nothing output directories.

Every command that writes results uses `output_dir(path)` (`archsim.outdir`): files go to a
hidden temporary sibling, which replaces `path` only when the block finishes without error and
only if archsim wrote `path` itself, so bad input never leaves a half-written directory behind
and a user's files are never replaced. JSON has sorted keys and a schema version; CSV headers
carry units in their names. Same input, same bytes.
"""
from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

SCHEMA_VERSION = 1


def _plain(obj):
    """Convert numpy scalars/arrays, tuples, Paths and enums to JSON-able built-ins."""
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        return _plain(obj.tolist())
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "value") and hasattr(obj, "name") and type(obj).__module__ != "builtins":
        return _plain(obj.value)
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)  # JSON has no inf/nan; keep them visible as strings
    return obj


def dumps_json(payload: Mapping) -> str:
    """Serialise with sorted keys, 2-space indent, a schema version and a final newline."""
    body = dict(_plain(payload))
    body.setdefault("schema_version", SCHEMA_VERSION)
    return json.dumps(body, sort_keys=True, indent=2, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike, payload: Mapping) -> Path:
    """Write `payload` as deterministic JSON; returns the path."""
    path = Path(path)
    path.write_text(dumps_json(payload), encoding="utf-8")
    return path


def _cell(value) -> str:
    if isinstance(value, float):
        return repr(value)
    if hasattr(value, "item"):
        return _cell(value.item())
    return str(value)


def write_csv(path: str | os.PathLike, rows: Iterable[Mapping], columns: Sequence[str]) -> Path:
    """Write rows (mappings) with exactly `columns` in that order; floats in round-trip repr."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row[c]) for c in columns])
    return path


def output_dir(path: str | os.PathLike):
    """All-or-nothing output directory; see `archsim.outdir.output_dir` (the one rule)."""
    from archsim.outdir import output_dir as _output_dir
    return _output_dir(path)
