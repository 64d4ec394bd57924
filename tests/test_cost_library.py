"""The cell library: published defaults, delays consistent with each cell's logic, bad input."""
import copy

import pytest
import yaml
from archsim_core.cells import BUILTIN_CELLS

from archsim.cost.library import DEFAULT_LIBRARY_PATH, library_from_mapping, load_library
from archsim.errors import SpecError

RAW = yaml.safe_load(DEFAULT_LIBRARY_PATH.read_text(encoding="utf-8"))


def _lib(mutate):
    data = copy.deepcopy(RAW)
    mutate(data)
    return library_from_mapping(data, "test.yaml")


def test_default_library_carries_the_published_figures():
    lib = load_library()
    # Gupta et al., TCAD 2013, 90 nm layout areas (um^2) and the 24-transistor mirror adder
    published = {"FA": 40.66, "AMA1": 29.31, "AMA2": 25.5, "AMA3": 22.56, "AMA4": 23.91}
    for name, area in published.items():
        assert lib.cell(name).area_um2 == area
    assert lib.cell("FA").transistors == 24
    assert lib.cell("AMA5").area_um2 == pytest.approx(2 * 6.77)    # two buffers of 6.77
    assert lib.cell("BUF").area_um2 == 6.77
    assert lib.anchor_energy_pj == 3.7 and lib.anchor_variant == "exact"
    for name in BUILTIN_CELLS:
        assert lib.has(name)


def _depends(table, pin):
    bit = {"A": 4, "B": 2, "Cin": 1}[pin]
    return any(table[i] != table[i ^ bit] for i in range(8))


@pytest.mark.parametrize("name", sorted(BUILTIN_CELLS))
def test_delays_list_exactly_the_pins_each_output_depends_on(name):
    cell, cost = BUILTIN_CELLS[name], load_library().cell(name)
    for out, table in (("Sum", cell.sum_table), ("Cout", cell.cout_table)):
        if name == "HA":        # HA ignores Cin by definition
            table = tuple(table[i & 6] for i in range(8))
        needed = {p for p in ("A", "B", "Cin") if _depends(table, p)}
        assert set(cost.pin_delays(out)) == needed, (name, out)


def test_ama5_is_one_buffer_delay_without_cin():
    cost = load_library().cell("AMA5")
    assert cost.pin_delays("Sum") == {"B": 1.0}
    assert cost.pin_delays("Cout") == {"A": 1.0}


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d["cells"].pop("AMA3"), ["AMA3", "missing"]),
    (lambda d: d["cells"]["FA"]["delay"]["Sum"].__setitem__("A", -1), ["FA", "delay.Sum.A"]),
    (lambda d: d["gates"].__setitem__("NAND3", d["gates"]["AND2"]), ["NAND3", "unknown gate"]),
    (lambda d: d["cells"].__setitem__("FOO", d["cells"]["FA"]), ["FOO", "unknown cell"]),
    (lambda d: d["cells"]["AMA1"]["delay"]["Sum"].pop("Cin"), ["AMA1", "Cin"]),
    (lambda d: d["cells"]["AMA2"].pop("area_um2"), ["AMA2", "area_um2"]),
    (lambda d: d["cells"]["AMA2"].__setitem__("colour", 1), ["AMA2", "colour"]),
    (lambda d: d["cells"]["FA"].__setitem__("transistors", 2.5), ["FA", "transistors"]),
    (lambda d: d["cells"]["FA"]["energy_per_toggle"].pop("Cout"), ["FA", "energy_per_toggle"]),
    (lambda d: d["gates"].pop("MUX2"), ["MUX2", "missing"]),
    (lambda d: d["calibration"].__setitem__("anchor_energy_pj", 0), ["anchor_energy_pj"]),
    (lambda d: d["cells"]["AMA5"]["delay"]["Sum"].__setitem__("Q", 1), ["AMA5", "Q"]),
])
def test_malformed_library_names_cell_and_field(mutate, words):
    with pytest.raises(SpecError) as err:
        _lib(mutate)
    for word in words:
        assert word in str(err.value)


def test_user_cell_with_truth_table_is_accepted():
    def add(d):
        d["cells"]["MYAND"] = {"transistors": 6, "area_um2": 9.0,
                               "truth_table": {"sum": [0, 0, 0, 0, 0, 0, 1, 1],
                                               "cout": [0] * 8},
                               "delay": {"Sum": {"A": 1, "B": 1}, "Cout": {"A": 0}},
                               "energy_per_toggle": {"Sum": 4.5, "Cout": 4.5}}
    lib = _lib(add)
    assert lib.cell("MYAND").area_um2 == 9.0 and "MYAND" in lib.cell_types


def test_unreadable_or_invalid_yaml_names_the_file(tmp_path):
    bad = tmp_path / "lib.yaml"
    bad.write_text("cells: [unclosed\n")
    with pytest.raises(SpecError, match="lib.yaml"):
        load_library(bad)
    with pytest.raises(SpecError, match="nope.yaml"):
        load_library(tmp_path / "nope.yaml")
