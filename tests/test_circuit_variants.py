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
