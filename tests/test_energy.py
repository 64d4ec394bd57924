"""Energy = ERT x counts: Horowitz anchors, the stated interpolation, no free actions."""
import math
from dataclasses import dataclass

import pytest

from archsim.config import MemoryConfig
from archsim.energy import (MissingActionError, action_energies_pj, energy_by_action_pj,
                            load_ert, sram_read_pj_per_32bit)
from archsim.errors import ConfigError


@dataclass(frozen=True)
class FakePE:
    mult_energy_pj: float = 3.0
    add_energy_pj: float = 0.5


def test_default_table_is_horowitz():
    table = load_ert()
    for kib, pj in ((8, 5.0), (32, 10.0), (1024, 50.0)):
        assert sram_read_pj_per_32bit(table, kib) == pytest.approx(pj)
    assert table.dram_read_pj_per_byte * 4 == 640.0


def test_log_log_interpolation_hand_values():
    table = load_ert()
    # 16 KiB is the geometric middle of 8..32 KiB -> geometric middle of 5..10 pJ
    assert sram_read_pj_per_32bit(table, 16) == pytest.approx(math.sqrt(50))
    # 4 KiB extends the first segment's power law (exponent 1/2): 5 / sqrt(2)
    assert sram_read_pj_per_32bit(table, 4) == pytest.approx(5 / math.sqrt(2))
    # 2 MiB extends the last segment (exponent log 5 / log 32): 50 * 2**(log5/log32)
    assert sram_read_pj_per_32bit(table, 2048) == pytest.approx(
        50 * 2 ** (math.log(5) / math.log(32)))


def test_prices_use_half_the_sram_and_scale_with_word_size():
    # 64 KiB double-buffered -> 32 KiB banks -> 10 pJ per 32 bits; 2-byte words -> 5 pJ
    mem = MemoryConfig(64, 16, 2048, 2, 8, 0)
    prices = action_energies_pj(load_ert(), mem, FakePE())
    assert prices[("ifmap_sram", "read")] == pytest.approx(5.0)
    assert prices[("filter_sram", "write")] == pytest.approx(2.5)   # 8 KiB bank: 5 pJ x 1/2
    assert prices[("ofmap_sram", "read")] == pytest.approx(25.0)    # 1 MiB bank: 50 pJ x 1/2
    assert prices[("pe", "multiply")] == 3.0 and prices[("dram", "write")] == 160.0


def test_energy_is_counts_times_prices_and_never_defaults():
    prices = {("pe", "multiply"): 3.0, ("dram", "read"): 160.0}
    got = energy_by_action_pj({("pe", "multiply"): 10, ("dram", "read"): 4}, prices)
    assert got == {("pe", "multiply"): 30.0, ("dram", "read"): 640.0}
    with pytest.raises(MissingActionError, match="leak"):
        energy_by_action_pj({("array", "leak"): 1}, prices)


@pytest.mark.parametrize("body,fragment", [
    ("sram: {read_pj_per_32bit: [{kib: 8, pj: 5}], write_over_read: 1}\n"
     "dram: {read_pj_per_byte: 1, write_pj_per_byte: 1}\n", "at least two"),
    ("sram: {read_pj_per_32bit: [{kib: 8, pj: 5}, {kib: 4, pj: 9}], write_over_read: 1}\n"
     "dram: {read_pj_per_byte: 1, write_pj_per_byte: 1}\n", "strictly increasing"),
    ("sram: {read_pj_per_32bit: [{kib: 8, pj: 5}, {kib: 16, pj: 9}], write_over_read: 1}\n"
     "dram: {read_pj_per_byte: -1, write_pj_per_byte: 1}\n", "dram.read_pj_per_byte"),
    ("sram: {}\ndram: {}\nleak: 3\n", "leak: unknown key"),
])
def test_bad_tables(tmp_path, body, fragment):
    path = tmp_path / "ert.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as exc:
        load_ert(path)
    assert str(path) in str(exc.value) and fragment in str(exc.value)
