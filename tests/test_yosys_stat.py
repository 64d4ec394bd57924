"""Yosys's own `stat -tech cmos` cell and transistor counts beside archsim's, on 24 EvoApproxLib
circuits (generic-gate netlists): the importer keeps every gate, and the default library's
transistor counts are the static-CMOS ones Yosys also uses.

    python tests/test_yosys_stat.py   # prints the table (circuit, yosys cells/T, archsim cells/T)
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evoapprox_data import load_catalogue  # noqa: E402

N_CIRCUITS = 24


def yosys_stat(path: Path) -> tuple[int, int]:
    """(cells, estimated transistors) from Yosys `stat -tech cmos` after the importer's passes."""
    out = subprocess.run(["yosys", "-p", f"read_verilog {path}; hierarchy -auto-top; proc; "
                          "flatten; simplemap; stat -tech cmos"], capture_output=True, text=True,
                         check=True).stdout
    cells = int(re.findall(r"Number of cells:\s+(\d+)", out)[-1])
    transistors = int(re.findall(r"Estimated number of transistors:\s+(\d+)", out)[-1])
    return cells, transistors


def circuits(root: Path):
    """Every 19th catalogued circuit (a spread over all families), those without `+`."""
    picked = [c for c in load_catalogue(root)[::19] if "+" not in c.verilog.read_text()]
    return picked[:N_CIRCUITS]


def rows(root: Path):
    from archsim.cost.timing import netlist_area
    from archsim_core.verilog import import_verilog

    for c in circuits(root):
        net = import_verilog(c.verilog)
        n_cells = len(net.gates) + len(net.cells)
        yield c.name, *yosys_stat(c.verilog), n_cells, netlist_area(net)[0]


def test_yosys_stat_counts_equal_archsim(shared_data):
    table = list(rows(shared_data / "evoapprox"))
    assert len(table) == N_CIRCUITS
    for name, y_cells, y_tr, a_cells, a_tr in table:
        assert (a_cells, a_tr) == (y_cells, y_tr), name


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "evoapprox"
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else root
    print(f"{'circuit':14s} {'yosys cells':>11s} {'yosys T':>8s} {'archsim cells':>13s} {'archsim T':>9s}")
    for name, y_cells, y_tr, a_cells, a_tr in rows(root):
        print(f"{name:14s} {y_cells:11d} {y_tr:8d} {a_cells:13d} {a_tr:9d}")
