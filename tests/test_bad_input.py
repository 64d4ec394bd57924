"""Non-finite / absurd numbers and config-loading gaps. Every case
is the CLI as a user runs it: exit 2, one stderr line naming file and field, no output."""
import pytest

from archsim import cli

BASE = """name: t
workload:
  inline:
    input: [4, 1, 1]
    layers: [{name: fc, type: fc, out_features: 2}]
array: {rows: 2, cols: 2, dataflow: ws}
memory: {ifmap_sram_kib: 8, filter_sram_kib: 8, ofmap_sram_kib: 8, word_bytes: 1,
         dram_bandwidth_bytes_per_cycle: 4, dram_latency_cycles: 0}
clock: {mode: fixed, clock_mhz: 100}
pe: {variants: [exact]}
"""


def run_cli(argv):
    return cli.main([str(a) for a in argv])


def expect_one_line(capsys, code, *needles):
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if not line.startswith("archsim: ")]
    assert code == 2, captured
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def run_config_text(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    code = run_cli(["run", path, "--out", tmp_path / "out", "--no-plots"])
    return path, code


@pytest.mark.parametrize("old,new,field", [
    ("ifmap_sram_kib: 8", "ifmap_sram_kib: .inf", "memory.ifmap_sram_kib"),
    ("clock_mhz: 100", "clock_mhz: .inf", "clock.clock_mhz"),
    ("clock_mhz: 100", "clock_mhz: .nan", "clock.clock_mhz"),
    ("dram_bandwidth_bytes_per_cycle: 4", "dram_bandwidth_bytes_per_cycle: .inf",
     "memory.dram_bandwidth_bytes_per_cycle"),
    ("clock_mhz: 100", "clock_mhz: 1e-300", "clock.clock_mhz"),
    ("ofmap_sram_kib: 8", "ofmap_sram_kib: 1e30", "memory.ofmap_sram_kib"),
    ("rows: 2, cols: 2", "rows: 1000000000, cols: 1000000000", "array.rows"),
    ("word_bytes: 1", "word_bytes: 4096", "memory.word_bytes"),
    ("dram_latency_cycles: 0", "dram_latency_cycles: 10000000000", "memory.dram_latency_cycles"),
])
def test_non_finite_and_absurd_numbers_are_refused(old, new, field, tmp_path, capsys):
    path, code = run_config_text(tmp_path, BASE.replace(old, new))
    line = expect_one_line(capsys, code, str(path), field)
    assert "must be" in line
    assert not (tmp_path / "out").exists()


def test_energy_table_rejects_infinity(tmp_path, capsys):
    from importlib import resources
    ert = resources.files("archsim").joinpath("data/ert_default.yaml").read_text("utf-8")
    (tmp_path / "ert.yaml").write_text(ert.replace("read_pj_per_byte: 160.0",
                                                   "read_pj_per_byte: .inf"))
    assert "read_pj_per_byte: .inf" in (tmp_path / "ert.yaml").read_text()
    path, code = run_config_text(tmp_path, BASE + "energy: {ert: ert.yaml}\n")
    expect_one_line(capsys, code, "energy.ert", "finite")


@pytest.mark.parametrize("text,key", [
    (BASE + "name: again\n", "'name'"),
    (BASE.replace("word_bytes: 1,", "word_bytes: 1, word_bytes: 2,"), "'word_bytes'"),
    (BASE.replace("out_features: 2}", "out_features: 2, out_features: 3}"), "'out_features'"),
])
def test_duplicate_keys_are_refused_naming_the_key(text, key, tmp_path, capsys):
    path, code = run_config_text(tmp_path, text)
    expect_one_line(capsys, code, str(path), "duplicate key", key)


def test_exponent_without_dot_is_a_number(tmp_path, capsys):
    path, code = run_config_text(tmp_path, BASE.replace("clock_mhz: 100", "clock_mhz: 1e2"))
    assert code == 0, capsys.readouterr().err
    import json
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["variants"]["exact"]["clock_mhz"] == 100.0


def test_missing_key_says_missing(tmp_path, capsys):
    path, code = run_config_text(tmp_path, BASE.replace(" clock_mhz: 100", ""))
    expect_one_line(capsys, code, "clock.clock_mhz: missing")


def test_yaml_syntax_error_is_one_line(tmp_path, capsys):
    path, code = run_config_text(tmp_path, BASE.replace("rows: 2,", "rows: [2,"))
    expect_one_line(capsys, code, str(path), "malformed YAML: line")


def spec_file(tmp_path, body, name="v.yaml"):
    path = tmp_path / name
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    return path


@pytest.mark.parametrize("body,needles", [
    ("cells: [1, 2]\n", ("cells: must be a mapping",)),
    (b"format: fp32\nname: \xff\xfe\n", ("not UTF-8",)),
    ("structure: {kind: ripple\n  cells: AMA5\n", ("malformed YAML: line",)),
    ("structure: {kind: ripple, kind: braun}\n", ("duplicate key 'kind'",)),
    ("structure: {kind: ripple, assign: {lsb_cell: AMA5, lsb_columns: 1000}}\n",
     ("lsb_columns must be in 0..48",)),
    ("structure: {kind: hierarchical, k: 8}\n", ("structure.leaf: missing",)),
    ("structure: {kind: hier}\n", ("structure.k: missing",)),
    ("structure: {kind: wallace}\n", ("unknown structure 'wallace'",)),
    ("base: 5\n", ("base must be a string",)),
    ("structure: {kind: ripple, assign: {lsb_cell: 5, lsb_columns: 3}}\n", ("lsb_cell",)),
])
def test_bad_variant_specs_are_one_line(body, needles, tmp_path, capsys):
    path = spec_file(tmp_path, body)
    code = run_cli(["characterize", path, "--n", "10", "--out", tmp_path / "out"])
    expect_one_line(capsys, code, str(path), *needles)
    assert not (tmp_path / "out").exists()


def test_lsb_bound_is_the_same_for_names_and_specs():
    from archsim_core.errors import SpecError
    from archsim_core.variants import build_netlist, resolve_variant

    for k in (1, 48):
        by_name = resolve_variant(f"lsb-AMA5-{k}")
        by_spec = resolve_variant({"structure": {"kind": "ripple", "assign": {
            "lsb_cell": "AMA5", "lsb_columns": k}}})
        assert build_netlist(by_name).cell_counts() == build_netlist(by_spec).cell_counts()
    for k in (49, 1000):
        with pytest.raises(SpecError, match="48"):
            resolve_variant(f"lsb-AMA5-{k}")
        with pytest.raises(SpecError, match="48"):
            resolve_variant({"structure": {"kind": "ripple", "assign": {
                "lsb_cell": "AMA5", "lsb_columns": k}}})


@pytest.mark.parametrize("short,long", [("ripple", "ripple-row"), ("braun", "carry-save")])
def test_readme_structure_names_are_accepted(short, long):
    from archsim_core.variants import build_netlist, resolve_variant

    a = resolve_variant({"structure": {"kind": short, "cells": "AMA3"}})
    b = resolve_variant({"structure": {"kind": long, "cells": "AMA3"}})
    assert a.structure == b.structure
    assert build_netlist(a).n_outputs == build_netlist(b).n_outputs


def test_hier_short_name_and_padding_note(tmp_path, capsys):
    from archsim_core.variants import resolve_variant, structure_notes

    spec = {"name": "h", "structure": {"kind": "hier", "k": 10, "leaf": {"kind": "ripple"}}}
    assert resolve_variant(spec).structure.k == 10
    assert structure_notes(spec) == [
        "variant h: structure.k = 10 does not divide the 24-bit operand: its last chunk is "
        "zero-padded (4 of 10 bits used)"]
    assert structure_notes({"structure": {"kind": "hier", "k": 8, "leaf": {}}}) == []
    path = spec_file(tmp_path, "structure: {kind: hier, k: 10, leaf: {kind: ripple}}\n")
    assert run_cli(["characterize", path, "--n", "10", "--out", tmp_path / "o"]) == 0
    assert "last chunk is zero-padded" in capsys.readouterr().err


@pytest.mark.parametrize("old,new,field", [
    ("sigmas: [0.0, 0.3]", "sigmas: [0.0, .inf]", "experiments.noise.sigmas"),
    ("pgd: {eps: 0.2,", "pgd: {eps: .nan,", "pgd.eps"),
    ("pgd: {eps: [0.1, 0.2],", "pgd: {eps: [0.1, .inf],", "pgd.eps"),
])
def test_robustness_config_rejects_non_finite_numbers(old, new, field, tmp_path, repo_root):
    from archsim.errors import ConfigError
    from archsim.robustness.config import load_config

    text = (repo_root / "configs/robustness_mnist_quick.yaml").read_text()
    assert old in text
    path = tmp_path / "r.yaml"
    path.write_text(text.replace(old, new))
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")) as exc:
        load_config(path)
    assert "\n" not in str(exc.value) and "finite" in str(exc.value)
