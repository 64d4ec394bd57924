"""Garbage .npz files, robustness without its extra, characterize's
'wrote' line, one default output rule, compare's relative columns."""
import numpy as np
import pytest

from archsim import cli


def one_line(capsys, code, *needles):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("archsim: ")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "allow_pickle" not in lines[0]
    return lines[0]


def _garbage(tmp_path, kind):
    path = tmp_path / "p.npz"
    if kind == "text":
        path.write_text("x,y\n1,2\n")
    elif kind == "npy":
        with path.open("wb") as fh:
            np.save(fh, np.ones(3, np.float32))
    elif kind == "objects":
        with path.open("wb") as fh:
            np.savez(fh, x=np.array([{"a": 1}, None], dtype=object), y=np.ones(2))
    elif kind == "truncated":
        with path.open("wb") as fh:
            np.savez(fh, x=np.ones(100, np.float32), y=np.ones(100, np.float32))
        path.write_bytes(path.read_bytes()[:60])
    elif kind == "missing_y":
        with path.open("wb") as fh:
            np.savez(fh, x=np.ones(3, np.float32))
    return path


@pytest.mark.parametrize("kind,needle", [
    ("text", "not an .npz archive"), ("npy", "single .npy array"),
    ("objects", "array 'x' holds Python objects"), ("truncated", "damaged .npz archive"),
    ("missing_y", "missing arrays ['y']")])
def test_garbage_npz_is_one_line_naming_file_and_array(kind, needle, tmp_path, capsys):
    path = _garbage(tmp_path, kind)
    code = cli.main(["characterize", "exact", "--dist", f"pairs:{path}", "--n", "10",
                     "--out", str(tmp_path / "o")])
    one_line(capsys, code, str(path), needle)
    assert not (tmp_path / "o").exists()


def test_functional_weights_garbage_is_one_line(tmp_path, capsys):
    (tmp_path / "w.npz").write_text("not weights")
    (tmp_path / "c.yaml").write_text(
        "workload: {inline: {input: [4, 1, 1], layers: [{name: fc, type: fc, "
        "out_features: 2}]}}\narray: {rows: 2, cols: 2, dataflow: os}\n"
        "memory: {ifmap_sram_kib: 8, filter_sram_kib: 8, ofmap_sram_kib: 8, word_bytes: 4,\n"
        "         dram_bandwidth_bytes_per_cycle: 4, dram_latency_cycles: 0}\n"
        "clock: {mode: fixed, clock_mhz: 100}\npe: {variants: [exact]}\n"
        "functional: {weights: w.npz}\n")
    code = cli.main(["run", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "o")])
    one_line(capsys, code, "w.npz", "not an .npz archive")
    assert not (tmp_path / "o").exists()


def test_robustness_without_torch_fails_first_with_readme_hint(tmp_path, capsys, monkeypatch,
                                                              repo_root):
    import importlib.util

    import archsim.commands.robustness as rob
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("torch", "art") else real(name, *a))
    monkeypatch.setattr(rob, "_check_variants", lambda *_: pytest.fail("ran before checking"))
    code = cli.main(["robustness", str(repo_root / "configs/robustness_mnist_quick.yaml"),
                     "--out", str(tmp_path / "o")])
    line = one_line(capsys, code, "PyTorch and adversarial-robustness-toolbox", rob.INSTALL_HINT)
    assert rob.INSTALL_HINT in (repo_root / "README.md").read_text()
    assert line.endswith(rob.INSTALL_HINT)


def test_characterize_prints_wrote_and_uses_runs_default(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["characterize", "exact", "--n", "10"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "wrote runs/characterize"
    assert (tmp_path / "runs" / "characterize" / "metrics.csv").is_file()


@pytest.mark.parametrize("argv,default", [
    (["cost", "exact", "--no-plot"], "runs/cost"),
    (["scalesim", "-c", "{repo}/tests/data/scalesim/reports/8x8_os/scale.cfg",
      "-t", "{repo}/tests/data/scalesim/topology.csv"], "runs/scalesim/"),
])
def test_default_output_locations_follow_one_rule(argv, default, tmp_path, capsys, monkeypatch,
                                                  repo_root):
    monkeypatch.chdir(tmp_path)
    assert cli.main([a.format(repo=repo_root) for a in argv]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith(f"wrote {default}")
    assert [p.name for p in tmp_path.iterdir()] == ["runs"]


def test_compare_help_documents_relative_columns(capsys):
    with pytest.raises(SystemExit):
        cli.main(["compare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "divided by the first row's" in text
