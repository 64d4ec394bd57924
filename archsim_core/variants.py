"""Named multiplier variants and spec dicts: one VariantSpec per multiplier (SPEC-arith §4, §5).

Named variants (FP32 unless stated; all significand netlists are (m+1) x (m+1)):

* `exact`          24x24 ripple-row array of FA cells, rne, ieee.
* `exact-truncate` the same netlist, truncating.
* `da`             Defensive Approximation Ax-FPM: 24x24 = 3x3 blocks of 8x8, each 8x8 = 2x2
                   leaves of 4x4 ripple-row arrays with AMA5 in all 12 cells; exact
                   recombination; truncate; hardware semantics.
* `da-reference`   the same netlist with the published Python's semantics ("da-reference").
* `da-flat`        one flat 24x24 ripple-row array, AMA5 in every cell; truncate.
* `da-bf16`        BF16: one 8x8 block (2x2 AMA5 4x4 leaves); truncate.
* `lsb-<CELL>-<k>` 24x24 ripple-row array with CELL in the lowest k columns, FA elsewhere;
                   rne (the only difference from `exact` is the cells).

A spec dict (e.g. parsed YAML) has the keys: name, base (a named variant to start from),
format, rounding, specials, semantics, cells ({NAME: {sum: [8 bits], cout: [8 bits]}}) and
structure ({kind, cells | assign, k, leaf}); see `structures.parse_structure`.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from archsim_core.errors import SpecError
from archsim_core.cells import cells_from_spec, get_cell
from archsim_core.formats import BF16, FP32, FPFormat, get_format
from archsim_core.netlist import Netlist
from archsim_core.structures import (Assignment, Kind, Structure, build, hierarchical, is_exact,
                                     parse_structure, ripple_row)

ROUNDINGS = ("rne", "truncate")
SPECIALS = ("ieee", "ftz")
SEMANTICS = ("hardware", "da-reference")
_LSB = re.compile(r"^lsb-([A-Za-z_][A-Za-z0-9_]*)-(\d+)$")
_SPEC_KEYS = {"name", "base", "format", "rounding", "specials", "semantics", "cells", "structure"}


@dataclass(frozen=True)
class VariantSpec:
    """Everything that defines a multiplier: format, rounding, specials policy, semantics and
    the significand structure (whose netlist is `build_netlist(spec)`)."""

    name: str
    fmt: FPFormat
    rounding: str
    specials: str
    semantics: str
    structure: Structure

    def __post_init__(self):
        for field, allowed in (("rounding", ROUNDINGS), ("specials", SPECIALS), ("semantics", SEMANTICS)):
            if getattr(self, field) not in allowed:
                raise SpecError(f"variant {self.name}: {field} must be one of {', '.join(allowed)}, "
                                f"got {getattr(self, field)!r}")
        sig = self.fmt.sig_bits
        if (self.structure.n_a, self.structure.n_b) != (sig, sig):
            raise SpecError(f"variant {self.name}: structure is {self.structure.n_a}x{self.structure.n_b}"
                            f" but format {self.fmt.name} needs {sig}x{sig} significands")
        if self.semantics == "da-reference" and self.fmt != FP32:
            raise SpecError(f"variant {self.name}: semantics 'da-reference' is defined for fp32 only")


def _da_block(width: int) -> Structure:
    leaf = ripple_row(4, 4, Assignment("AMA5"))
    block = hierarchical(8, 8, 4, leaf)
    return block if width == 8 else hierarchical(width, width, 8, block)


def _named() -> dict[str, VariantSpec]:
    exact = ripple_row(24, 24)
    da = _da_block(24)
    return {v.name: v for v in (
        VariantSpec("exact", FP32, "rne", "ieee", "hardware", exact),
        VariantSpec("exact-truncate", FP32, "truncate", "ieee", "hardware", exact),
        VariantSpec("da", FP32, "truncate", "ieee", "hardware", da),
        VariantSpec("da-reference", FP32, "truncate", "ieee", "da-reference", da),
        VariantSpec("da-flat", FP32, "truncate", "ieee", "hardware", ripple_row(24, 24, Assignment("AMA5"))),
        VariantSpec("da-bf16", BF16, "truncate", "ieee", "hardware", _da_block(8)),
    )}


NAMED = _named()
LSB_EXAMPLES = tuple(f"lsb-{c}-{k}" for c in ("AMA1", "AMA2", "AMA3", "AMA4", "AMA5") for k in (8, 16))


def list_variants() -> list[str]:
    """Named variants (the lsb family is shown by examples; any lsb-<CELL>-<k> resolves)."""
    return sorted(NAMED) + list(LSB_EXAMPLES)


def _lsb(name: str, cell: str, k: str) -> VariantSpec:
    get_cell(cell)
    cols = int(k)
    if not 1 <= cols <= 48:
        raise SpecError(f"variant {name}: k must be in 1..48 (columns of a 24x24 product), got {cols}")
    structure = ripple_row(24, 24, Assignment("FA", cell, cols))
    return VariantSpec(name, FP32, "rne", "ieee", "hardware", structure)


def _from_name(name: str) -> VariantSpec:
    if name in NAMED:
        return NAMED[name]
    m = _LSB.match(name)
    if m:
        return _lsb(name, m.group(1), m.group(2))
    if name.endswith((".yaml", ".yml")):
        return _from_file(Path(name))
    raise SpecError(f"unknown variant {name!r} (known: {', '.join(sorted(NAMED))}, lsb-<CELL>-<k>, "
                    f"or a spec .yaml file)")


def _from_file(path: Path) -> VariantSpec:
    from archsim_core.yamlio import load_file

    body = load_file(path, SpecError, "variant spec")
    if not isinstance(body, Mapping):
        raise SpecError(f"{path}: a variant spec must be a mapping")
    try:
        return _from_mapping({"name": path.stem, **body})
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None


def _from_mapping(spec: Mapping) -> VariantSpec:
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise SpecError(f"variant spec: unknown keys {sorted(unknown)} (known: {sorted(_SPEC_KEYS)})")
    for key in ("base", "name"):
        if key in spec and not isinstance(spec[key], str):
            raise SpecError(f"variant spec: {key} must be a string, got {spec[key]!r}")
    base = _from_name(spec["base"]) if "base" in spec else NAMED["exact"]
    fmt = get_format(spec["format"]) if "format" in spec else base.fmt
    user = tuple(cells_from_spec(spec.get("cells") or {}).values())
    if "structure" in spec:
        structure = parse_structure(spec["structure"], fmt.sig_bits, fmt.sig_bits, user)
    elif fmt != base.fmt or user:
        raise SpecError("variant spec: a 'structure' is required when the format or cells change")
    else:
        structure = base.structure
    name = str(spec.get("name", "custom"))
    return replace(base, name=name, fmt=fmt, structure=structure,
                   **{k: spec[k] for k in ("rounding", "specials", "semantics") if k in spec})


def structure_notes(spec) -> list[str]:
    """Choices the structure makes silently, in words (commands echo them): a hierarchical
    chunk width k that does not divide the width zero-pads the last chunk."""
    v = resolve_variant(spec)
    notes, s, path = [], v.structure, "structure"
    while s is not None and s.kind is Kind.HIERARCHICAL:
        for n in sorted({s.n_a, s.n_b}):
            if n % s.k:
                notes.append(f"variant {v.name}: {path}.k = {s.k} does not divide the {n}-bit "
                             f"operand: its last chunk is zero-padded ({n % s.k} of {s.k} bits "
                             f"used)")
        s, path = s.leaf, f"{path}.leaf"
    return notes


def resolve_variant(spec) -> VariantSpec:
    """A VariantSpec from a name, a spec mapping, a .yaml path, or itself (SpecError if bad)."""
    if isinstance(spec, VariantSpec):
        return spec
    if isinstance(spec, str):
        return _from_name(spec)
    if isinstance(spec, Path):
        return _from_file(spec)
    if isinstance(spec, Mapping):
        return _from_mapping(spec)
    raise SpecError(f"a variant must be a name, a spec mapping or a VariantSpec, got {type(spec).__name__}")


@functools.lru_cache(maxsize=64)
def _netlist(structure: Structure, name: str) -> Netlist:
    return build(structure, name)


def build_netlist(spec) -> Netlist:
    """The significand netlist of a variant (cached)."""
    v = resolve_variant(spec)
    return _netlist(v.structure, v.name)


def build_engine(spec):
    """The fastest significand engine proven equal to `build_netlist(spec)` (cached).

    Order: plain integer multiply for all-exact designs; the two-multiply closed form for
    hierarchies of AMA5 ripple-row leaves (da, da-bf16, da-flat); a sub-multiplier look-up
    table for hierarchies with leaves of at most 8 bits (and flat designs of at most 8x8);
    otherwise the generic bit-sliced evaluation of the netlist itself. tests/test_engines.py
    proves each choice against the bit-sliced evaluator."""
    v = resolve_variant(spec)
    return _engine(v.structure, v.name)


def _ama5_chunk(s: Structure) -> int | None:
    """Leaf width c when `s` is a hierarchy of c x c all-AMA5 ripple-row leaves whose chunk
    widths are multiples of c at every level (so chunks align globally), else None."""
    if s.kind is Kind.RIPPLE_ROW:
        ok = s.n_a == s.n_b and s.assign.cell_names() == {"AMA5"} and "AMA5" not in s.cell_types
        return s.n_a if ok else None
    if s.kind is Kind.HIERARCHICAL:
        c = _ama5_chunk(s.leaf)
        return c if c is not None and s.k % c == 0 else None
    return None


@functools.lru_cache(maxsize=64)
def _engine(structure: Structure, name: str):
    from archsim_core._eval import BitslicedSigMul
    from archsim_core._sigmul import Ama5ChunkSigMul, ExactSigMul, TableSigMul
    from archsim_core.evaluate import compile_netlist, evaluate

    netlist = _netlist(structure, name)
    n_a, n_b, out_bits = structure.n_a, structure.n_b, netlist.n_outputs
    if is_exact(structure):
        return ExactSigMul(n_a, n_b)
    chunk = _ama5_chunk(structure)
    if chunk is not None:
        return Ama5ChunkSigMul(n_a, n_b, chunk, out_bits)
    if structure.kind is Kind.HIERARCHICAL and structure.k <= 8:
        k, sub = structure.k, _netlist(structure.leaf, f"{name}.leaf")
    elif max(n_a, n_b) <= 8:
        k, sub = max(n_a, n_b), netlist
    else:
        return BitslicedSigMul(compile_netlist(netlist))
    grid = np.arange(1 << (2 * k), dtype=np.uint64)
    a, b = grid >> np.uint64(k), grid & np.uint64((1 << k) - 1)
    inside = (a < (1 << sub.n_a)) & (b < (1 << sub.n_b))
    table = np.zeros(grid.shape, dtype=np.uint64)
    table[inside] = evaluate(sub, a[inside], b[inside])
    return TableSigMul(n_a, n_b, k, table, out_bits)
