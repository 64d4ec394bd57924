"""Energy = energy reference table (ERT) x action counts (SPEC-sim §7), pure functions.

The simulator reports what happened as counts keyed by (component, action); this module says
what that costs. A count without a price raises: an action is never silently free.

SRAM energy per access depends on the size of the bank accessed: one half of a
double-buffered SRAM. Between the table's anchor sizes the 32-bit read energy is
interpolated linearly in log(size)-log(energy) (a power law per segment, the shape of
Horowitz's numbers); outside them the nearest segment's power law is extended. A word of
w bytes costs w/4 times the 32-bit figure. DRAM is priced per byte.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from archsim.errors import ArchsimError, ConfigError

Action = tuple[str, str]  # (component, action)
SRAMS = ("ifmap_sram", "filter_sram", "ofmap_sram")


class MissingActionError(ArchsimError, KeyError):
    """An action was counted but the energy table has no price for it."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class EnergyTable:
    """Memory energies of the ERT (MAC energies come per PE variant from the cost model)."""
    name: str
    source: str
    sram_read_pj_per_32bit: tuple[tuple[float, float], ...]  # (size KiB, pJ), increasing size
    sram_write_over_read: float
    dram_read_pj_per_byte: float
    dram_write_pj_per_byte: float


def _positive(doc, path: str, problems: list[str]) -> float:
    keys = path.split(".")
    value = doc
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        problems.append(f"{path}: missing")
        return math.nan
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
            or not math.isfinite(value)):
        problems.append(f"{path}: must be a positive finite number, got {value!r}")
        return math.nan
    return float(value)


def _anchors(doc, problems: list[str]) -> tuple[tuple[float, float], ...]:
    rows = (doc.get("sram") or {}).get("read_pj_per_32bit") if isinstance(doc, dict) else None
    if not isinstance(rows, list) or len(rows) < 2:
        problems.append("sram.read_pj_per_32bit: must list at least two {kib, pj} points")
        return ()
    points = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or set(row) != {"kib", "pj"}:
            problems.append(f"sram.read_pj_per_32bit[{i}]: must be a mapping {{kib, pj}}")
            continue
        points.append((_positive(row, "kib", problems), _positive(row, "pj", problems)))
    sizes = [p[0] for p in points]
    if sizes != sorted(set(sizes)):
        problems.append("sram.read_pj_per_32bit: sizes must be strictly increasing")
    return tuple(points)


def load_ert(path: str | Path | None = None) -> EnergyTable:
    """Read an ERT YAML file (default: the packaged Horowitz 45 nm table)."""
    from archsim_core.yamlio import load_file, loads

    if path is None:
        source = "archsim/data/ert_default.yaml"
        text = resources.files("archsim").joinpath("data/ert_default.yaml").read_text("utf-8")
        doc = loads(text, source, ConfigError)
    else:
        source = str(path)
        doc = load_file(path, ConfigError, "energy table")
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: top level: must be a mapping")
    for key in sorted(set(doc) - {"name", "sram", "dram"}):
        problems.append(f"{key}: unknown key")
    table = EnergyTable(str(doc.get("name", Path(source).stem)), source, _anchors(doc, problems),
                        _positive(doc, "sram.write_over_read", problems),
                        _positive(doc, "dram.read_pj_per_byte", problems),
                        _positive(doc, "dram.write_pj_per_byte", problems))
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
    return table


def sram_read_pj_per_32bit(table: EnergyTable, bank_kib: float) -> float:
    """32-bit read energy of a bank of `bank_kib` KiB (log-log piecewise-linear)."""
    pts = table.sram_read_pj_per_32bit
    seg = next((i for i in range(len(pts) - 1) if bank_kib <= pts[i + 1][0]), len(pts) - 2)
    (s0, e0), (s1, e1) = pts[seg], pts[seg + 1]
    slope = math.log(e1 / e0) / math.log(s1 / s0)
    return e0 * (bank_kib / s0) ** slope


def action_energies_pj(table: EnergyTable, memory, pe) -> dict[Action, float]:
    """Price of every action of one accelerator: memory from `table` and the MemoryConfig,
    the MAC from `pe` (a PECost: mult_energy_pj, add_energy_pj)."""
    prices: dict[Action, float] = {("pe", "multiply"): float(pe.mult_energy_pj),
                                   ("pe", "add"): float(pe.add_energy_pj)}
    for sram in SRAMS:
        bank_kib = getattr(memory, f"{sram}_kib") / 2  # one half of the double buffer
        read = sram_read_pj_per_32bit(table, bank_kib) * memory.word_bytes / 4
        prices[(sram, "read")] = read
        prices[(sram, "write")] = read * table.sram_write_over_read
    prices[("dram", "read")] = table.dram_read_pj_per_byte
    prices[("dram", "write")] = table.dram_write_pj_per_byte
    return prices


def energy_by_action_pj(counts: Mapping[Action, int], prices: Mapping[Action, float]
                        ) -> dict[Action, float]:
    """count x price for every counted action; raises MissingActionError on an unpriced one."""
    out = {}
    for action in sorted(counts):
        if action not in prices:
            raise MissingActionError(f"energy table has no price for {action[0]}.{action[1]}")
        out[action] = counts[action] * prices[action]
    return out
