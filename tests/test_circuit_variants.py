"""Integer circuit specs ({verilog: PATH, signed: BOOL}, verilog:PATH) as run-config PE variants
and in `archsim cost`."""
import json
import os

import numpy as np
import pytest
import yaml

from archsim import cli

SIGNED = "evoapprox/multiplers/8x8_signed/pareto_pwr_ep/mul8s_1KR3.v"
UNSIGNED_8X4 = "evoapprox/multiplers/8x4_unsigned/pareto_pwr_ep/mul8x4u_0AN.v"


def _run_config(tmp_path, name, variant) -> "Path":
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(
        "workload: {inline: {name: w, input: [2, 10, 10], layers: [{name: c, type: conv, "
        "filters: 4, kernel: 3}, {name: f, type: fc, out_features: 10}]}}\n"
        "array: {rows: 8, cols: 8, dataflow: os}\n"
        "memory: {ifmap_sram_kib: 16, filter_sram_kib: 16, ofmap_sram_kib: 16, word_bytes: 4,\n"
        "         dram_bandwidth_bytes_per_cycle: 16, dram_latency_cycles: 20}\n"
        "clock: {mode: critical_path}\n"
        f"pe: {{variants: [exact, {json.dumps(variant)}]}}\n")
    return cfg


def _summary(tmp_path, cfg, out):
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / out), "--no-plots"]) == 0
    return json.loads((tmp_path / out / "summary.json").read_text())["variants"]


def test_dict_verilog_spec_runs_as_the_int8_pe(tmp_path, shared_data):
    src = shared_data / SIGNED
    ref = _summary(tmp_path, _run_config(tmp_path, "ref", f"int8:{src}"), "ref")
    # a relative path in the dict spec is relative to the config file
    rel = os.path.relpath(src, tmp_path)
    got = _summary(tmp_path, _run_config(tmp_path, "dict", {"verilog": rel, "signed": True}),
                   "dict")
    label = "int8:mul8s_1KR3"
    assert set(got) == set(ref) == {"exact", label}
    # same numbers; the PE's variant echo names the same file (path spelled differently)
    gpe, rpe = got[label].pop("pe"), ref[label].pop("pe")
    assert got[label] == ref[label]
    assert os.path.samefile(gpe.pop("variant")[5:], rpe.pop("variant")[5:])
    assert gpe == rpe
    got[label]["pe"] = gpe
    # and the summary differs from the FP baseline's (the int8 PE's words and costs)
    assert got[label]["dram_read_bytes"] < got["exact"]["dram_read_bytes"]


def test_verilog_prefix_spec_is_the_unsigned_int8_pe(tmp_path, shared_data):
    src = shared_data / "evoapprox/multiplers/8x8_unsigned/pareto_pwr_ep"
    v = sorted(p for p in src.glob("mul8u_*.v") if not p.name.endswith("_pdk45.v"))[0]
    ref = _summary(tmp_path, _run_config(tmp_path, "ref", f"uint8:{v}"), "ref")
    got = _summary(tmp_path, _run_config(tmp_path, "pre", f"verilog:{v}"), "pre")
    for s in (got, ref):
        s[f"uint8:{v.stem}"]["pe"].pop("variant")
    assert got == ref


def test_non_8x8_circuit_is_one_line_naming_the_field(tmp_path, shared_data, capsys):
    v = sorted((shared_data / "evoapprox/multiplers/8x4_unsigned").glob("*/mul8x4u_*[!5].v"))[0]
    cfg = _run_config(tmp_path, "bad", {"verilog": str(v), "signed": False})
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pe.variants[1]" in err and "8x4" in err
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ archsim cost on circuits

GSCL = "cell_library_gscl45nm.yaml"
# a 2x2 unsigned array multiplier written by hand: 6 AND2 (4 partial products, 2 carries),
# 2 XOR2 (the two sums)
MUL2X2 = """module mul2x2(input [1:0] a, input [1:0] b, output [3:0] y);
  wire p01 = a[1] & b[0];
  wire p10 = a[0] & b[1];
  wire p11 = a[1] & b[1];
  wire c1 = p01 & p10;
  assign y[0] = a[0] & b[0];
  assign y[1] = p01 ^ p10;
  assign y[2] = p11 ^ c1;
  assign y[3] = p11 & c1;
endmodule
"""


def _library(repo_root):
    path = repo_root / "archsim" / "data" / GSCL
    return path, yaml.safe_load(path.read_text())


def _cost(tmp_path, *argv):
    out = tmp_path / "cost"
    assert cli.main(["cost", *argv, "--out", str(out), "--no-plot"]) == 0
    return json.loads((out / "cost.json").read_text()), (out / "cost.csv").read_text()


def test_cost_of_a_hand_written_2x2_multiplier(tmp_path, repo_root):
    lib_path, lib = _library(repo_root)
    cells = {**lib["cells"], **lib["gates"]}   # cells and plain gates of the YAML
    (tmp_path / "mul2x2.v").write_text(MUL2X2)
    # the same circuit as a dict spec file (relative path) and as verilog:PATH
    (tmp_path / "m.yaml").write_text("verilog: mul2x2.v\nsigned: false\nname: m2\n")
    data, text = _cost(tmp_path, str(tmp_path / "m.yaml"), f"verilog:{tmp_path / 'mul2x2.v'}",
                       "--library", str(lib_path))
    assert data["mode"] == "integer" and data["baseline"] == "m2"
    rows = {r["variant"]: r for r in data["rows"]}
    assert [r["level"] for r in data["rows"]] == ["circuit", "circuit"]   # not 8x8: no int8 PE
    area = 6 * cells["AND2"]["area_um2"] + 2 * cells["G_XOR2"]["area_um2"]
    tr = 6 * cells["AND2"]["transistors"] + 2 * cells["G_XOR2"]["transistors"]
    and_d = cells["AND2"]["delay"]["Y"]["A"]
    xor_d = max(cells["G_XOR2"]["delay"]["Sum"].values())   # gates are cells with a Sum output
    # longest path: a1 -> p01 (AND) -> c1 (AND) -> y2 (XOR) vs -> y3 (AND)
    delay_ns = max(2 * and_d + xor_d, 3 * and_d) * lib["calibration"]["ns_per_delay_unit"]
    for name in ("m2", "mul2x2"):
        r = rows[name]
        assert r["area_um2"] == pytest.approx(area, rel=1e-12)
        assert r["transistors"] == tr
        assert r["delay_ns"] == pytest.approx(delay_ns, rel=1e-12)
        assert r["energy_pj"] > 0
        assert r["edp_pj_ns"] == pytest.approx(r["energy_pj"] * r["delay_ns"])
        assert r["area_um2_rel"] == 1.0 and r["delay_ns_rel"] == 1.0
    assert data["circuits"]["m2"]["n_a"] == 2 and data["circuits"]["m2"]["out_bits"] == 4
    assert text.splitlines()[0].startswith("variant,level,area_um2,transistors,")


def test_cost_of_an_evoapprox_8x8_circuit_and_its_int8_mac(tmp_path, repo_root, shared_data):
    from archsim_core.intmul import get_int_multiplier
    from archsim.cost.timing import effective_cell

    lib_path, lib = _library(repo_root)
    cells = {**lib["cells"], **lib["gates"]}   # cells and plain gates of the YAML
    src = shared_data / SIGNED
    spec = tmp_path / "s.yaml"
    spec.write_text(f"verilog: {src}\nsigned: true\n")
    data, _ = _cost(tmp_path, str(spec), "--library", str(lib_path))
    rows = {r["level"]: r for r in data["rows"]}
    net = get_int_multiplier({"verilog": str(src), "signed": True}).netlist
    area = (len(net.gates) * cells["AND2"]["area_um2"]
            + sum(cells[effective_cell(net, i)]["area_um2"] for i in range(len(net.cells))))
    assert rows["circuit"]["area_um2"] == pytest.approx(area, rel=1e-12)
    # the int8 MAC adds an int32 ripple adder (HA + 31 FA) and a 32-bit register (32 DFF);
    # a signed circuit needs no sign-magnitude wrapper
    extra = cells["HA"]["area_um2"] + 31 * cells["FA"]["area_um2"] + 32 * cells["DFF"]["area_um2"]
    assert rows["int8_mac"]["area_um2"] == pytest.approx(area + extra, rel=1e-9)
    extra_tr = (cells["HA"]["transistors"] + 31 * cells["FA"]["transistors"]
                + 32 * cells["DFF"]["transistors"])
    assert rows["int8_mac"]["transistors"] == rows["circuit"]["transistors"] + extra_tr
    assert rows["int8_mac"]["delay_ns"] > rows["circuit"]["delay_ns"]
    assert data["pe"]["s"]["mac_delay_ns"] == pytest.approx(rows["int8_mac"]["delay_ns"])


def test_cost_bad_integer_input_is_one_line(tmp_path, shared_data, capsys):
    bad = tmp_path / "bad.v"
    bad.write_text("module m(input [1:0] a, input [1:0] b, output [3:0] y);\n  assign y = a &&& ;\n")
    cases = (([f"verilog:{bad}"], "bad.v"),
             (["exact", f"int8:{shared_data / SIGNED}"], "separate runs"),
             ([f"int8:{shared_data / SIGNED}", "--baseline", "exact"], "separate runs"))
    for argv, named in cases:
        out = tmp_path / "o"
        assert cli.main(["cost", *argv, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err and named in err
        assert not out.exists()


def test_cost_int8_pe_names_beside_a_circuit(tmp_path, shared_data):
    data, text = _cost(tmp_path, "int8", "uint8-da", f"int8:{shared_data / SIGNED}")
    levels = [(r["variant"], r["level"]) for r in data["rows"]]
    # the exact int8 PE's circuit is its Baugh-Wooley array (archsim_core.intarray)
    assert levels == [("int8", "circuit"), ("int8", "int8_mac"), ("uint8-da", "circuit"),
                      ("uint8-da", "int8_mac"), ("mul8s_1KR3", "circuit"),
                      ("mul8s_1KR3", "int8_mac")]
    base = {r["level"]: r for r in data["rows"][:2]}
    for r in data["rows"]:
        b = base[r["level"]]
        assert r["area_um2_rel"] == pytest.approx(r["area_um2"] / b["area_um2"])
        assert r["edp_pj_ns_rel"] == pytest.approx(r["edp_pj_ns"] / b["edp_pj_ns"])
    # an 8x4 baseline has no int8_mac row: the CSV leaves those relative cells empty
    v8x4 = sorted((shared_data / "evoapprox/multiplers/8x4_unsigned").glob("*/mul8x4u_*.v"))[0]
    data, text = _cost(tmp_path, f"verilog:{v8x4}", "int8")
    levels = [(r["level"], r["area_um2_rel"]) for r in data["rows"]]
    assert levels[0] == ("circuit", 1.0) and levels[2] == ("int8_mac", None)
    assert text.splitlines()[3].endswith(",,,,,")


def test_module_key_names_the_top_module_or_fails(tmp_path, shared_data, capsys):
    from archsim.config import load_config

    src = shared_data / SIGNED
    cfg = _run_config(tmp_path, "m", {"verilog": str(src), "signed": True, "module": src.stem})
    assert [v.label for v in load_config(cfg).variants] == ["exact", f"int8:{src.stem}"]
    (tmp_path / "two.v").write_text(MUL2X2 + MUL2X2.replace("mul2x2", "other"))
    bad = _run_config(tmp_path, "b", {"verilog": "two.v", "module": "nope"})
    assert cli.main(["run", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pe.variants[1]" in err and "nope" in err
