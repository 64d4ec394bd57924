"""Named variants, spec dicts/YAML, and their errors."""
import pytest

from archsim.errors import SpecError
from archsim_core.formats import BF16, FP32, FPFormat
from archsim_core.structures import Kind
from archsim_core.variants import VariantSpec, build_netlist, list_variants, resolve_variant


def test_named_variants():
    names = list_variants()
    for name in ("exact", "exact-truncate", "da", "da-reference", "da-flat", "da-bf16", "lsb-AMA5-16"):
        assert name in names
        v = resolve_variant(name)
        assert isinstance(v, VariantSpec) and v.name == name
    exact, da, ref = resolve_variant("exact"), resolve_variant("da"), resolve_variant("da-reference")
    assert (exact.fmt, exact.rounding, exact.specials, exact.semantics) == (FP32, "rne", "ieee", "hardware")
    assert resolve_variant("exact-truncate").rounding == "truncate"
    assert (da.rounding, da.semantics, ref.semantics) == ("truncate", "hardware", "da-reference")
    assert build_netlist("da") is build_netlist("da")
    assert build_netlist("da-reference").cell_counts() == build_netlist("da").cell_counts()
    assert resolve_variant("da-bf16").fmt == BF16 and build_netlist("da-bf16").n_a == 8


def test_da_netlist_shape():
    nl = build_netlist("da")
    counts = nl.cell_counts()
    assert counts["AMA5"] == 9 * 4 * 12 and counts["AND2"] == 576
    assert nl.n_outputs == 49
    flat = build_netlist("da-flat")
    assert flat.cell_counts() == {"AMA5": 23 * 24, "AND2": 576}


def test_lsb_family():
    nl = build_netlist("lsb-AMA3-10")
    assert {c.cell for c in nl.cells if c.col < 10} == {"AMA3"}
    assert {c.cell for c in nl.cells if c.col >= 10} == {"FA"}
    assert resolve_variant("lsb-AMA3-10").rounding == "rne"


def test_spec_dict_with_user_cell():
    spec = {"name": "mine", "format": "bf16", "rounding": "truncate", "specials": "ftz",
            "cells": {"ORC": {"sum": [0, 1, 1, 1, 1, 1, 1, 1], "cout": [0, 0, 0, 1, 0, 1, 1, 1]}},
            "structure": {"kind": "carry-save", "assign": {"cell": "FA", "lsb_cell": "ORC",
                                                           "lsb_columns": 3}}}
    v = resolve_variant(spec)
    assert (v.name, v.fmt, v.rounding, v.specials) == ("mine", BF16, "truncate", "ftz")
    assert v.structure.kind is Kind.CARRY_SAVE
    nl = build_netlist(v)
    assert {c.cell for c in nl.cells if c.col < 3} == {"ORC"}
    assert {c.cell for c in nl.cells if c.col >= 3} == {"FA"}
    assert nl.evaluate(3, 1) == 3  # column 1 adds 1 + 0: ORC is exact there
    assert nl.evaluate(3, 3) != 9  # column 1 adds 1 + 1: ORC's Sum is 1, not 0
    assert resolve_variant(v) is v


def test_spec_base_and_custom_format():
    v = resolve_variant({"base": "da", "semantics": "hardware", "rounding": "rne", "name": "da-rne"})
    assert v.structure == resolve_variant("da").structure and v.rounding == "rne"
    custom = resolve_variant({"format": {"exp_bits": 5, "man_bits": 6},
                              "structure": {"kind": "ripple-row", "cells": "AMA4"}})
    assert custom.fmt == FPFormat(5, 6) and build_netlist(custom).n_a == 7


def test_yaml_file(tmp_path):
    path = tmp_path / "v.yaml"
    path.write_text("format: fp32\nstructure:\n  kind: hierarchical\n  k: 12\n"
                    "  leaf: {kind: ripple-row, cells: AMA1}\n")
    v = resolve_variant(str(path))
    assert v.name == "v" and v.structure.k == 12
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: fp32\nstructure: {kind: ripple-row, cells: NOPE}\n")
    with pytest.raises(SpecError, match=r"bad.yaml: unknown cell 'NOPE'"):
        resolve_variant(str(bad))


@pytest.mark.parametrize("spec, needle", [
    ("da-fast", "unknown variant 'da-fast'"),
    ("lsb-AMA9-8", "unknown cell 'AMA9'"),
    ("lsb-AMA5-0", "k must be in 1..48"),
    ({"colour": "red"}, "unknown keys"),
    ({"rounding": "up"}, "rounding must be one of"),
    ({"specials": "none"}, "specials must be one of"),
    ({"semantics": "da-reference", "format": "bf16", "structure": {"kind": "ripple-row"}}, "fp32 only"),
    ({"format": "bf16"}, "'structure' is required"),
    ({"format": "fp64"}, "unknown format"),
    ({"structure": {"kind": "ripple-row", "cells": "XX"}}, "unknown cell 'XX'"),
    ({"cells": {"Z": {"sum": [0] * 7, "cout": [0] * 8}}, "structure": {"kind": "ripple-row"}}, "8 entries"),
    ({"cells": {"Z": {"sum": [0] * 8}}, "structure": {"kind": "ripple-row"}}, "'sum' and 'cout'"),
    ({"structure": {"kind": "hierarchical", "k": 40, "leaf": {}}}, "chunk width"),
    ({"structure": {"kind": "hierarchical", "k": 2, "leaf": {"kind": "hierarchical", "k": 1}}}, "chunk width"),
    (42, "must be a name"),
])
def test_bad_specs(spec, needle):
    with pytest.raises(SpecError, match=needle):
        resolve_variant(spec)


def test_widest_variant_products_fit():
    """24x24 of 2x2 approximate leaves: the largest recombination a format allows (49 bits)."""
    nl = build_netlist({"structure": {"kind": "hierarchical", "k": 2,
                                      "leaf": {"kind": "ripple-row", "cells": "AMA2"}}})
    assert nl.n_outputs == 49
