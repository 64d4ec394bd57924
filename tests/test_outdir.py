"""Output directories: archsim never replaces a directory it did not
write, refuses bad targets with one line before any work, and leaves nothing behind on error."""
import os
import stat
from pathlib import Path

import pytest

from archsim import cli
from archsim.errors import OutputError
from archsim.outdir import MARKER, check_output_dir, default_out, output_dir, safe_name

SCALESIM_CFG = "tests/data/scalesim/reports/8x8_os/scale.cfg"
SCALESIM_TOPO = "tests/data/scalesim/topology.csv"
TINY = """
name: {name}
workload:
  inline:
    input: [4, 1, 1]
    layers: [{{name: fc, type: fc, out_features: 2}}]
array: {{rows: 2, cols: 2, dataflow: os}}
memory: {{ifmap_sram_kib: 8, filter_sram_kib: 8, ofmap_sram_kib: 8, word_bytes: 1,
         dram_bandwidth_bytes_per_cycle: 4, dram_latency_cycles: 0}}
clock: {{mode: fixed, clock_mhz: 100}}
pe: {{variants: [exact]}}
"""


def run(argv):
    return cli.main([str(a) for a in argv])


def snapshot(root: Path) -> dict:
    """Every path below root with its bytes (files) or None (directories)."""
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def one_error_line(capsys, *needles):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("archsim: ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "cfg" / "tiny.yaml"
    path.parent.mkdir()
    path.write_text(TINY.format(name="tiny"))
    return path


@pytest.mark.parametrize("command", ["run", "characterize", "cost", "scalesim"])
def test_non_empty_foreign_directory_is_refused_and_kept(command, tmp_path, tiny, capsys,
                                                         monkeypatch, repo_root):
    """`--out DIR` on a user's non-empty directory used to delete it (exit 0)."""
    user = tmp_path / "mine"
    user.mkdir()
    (user / "thesis.tex").write_text("years of work")
    argv = {"run": ["run", tiny, "--out", user, "--no-plots"],
            "characterize": ["characterize", "exact", "--n", "10", "--out", user],
            "cost": ["cost", "exact", "--no-plot", "--out", user],
            "scalesim": ["scalesim", "-c", repo_root / SCALESIM_CFG,
                         "-t", repo_root / SCALESIM_TOPO, "-p", tmp_path]}
    if command == "scalesim":  # reports go to OUT/<run_name>: make that the user's directory
        from archsim.sim.scalesim.compat import read_scalesim_config
        run_name = read_scalesim_config(repo_root / SCALESIM_CFG).run_name
        user.rename(tmp_path / run_name)
        user = tmp_path / run_name
    before = snapshot(tmp_path)
    assert run(argv[command]) == 2
    one_error_line(capsys, str(user), "not written by archsim")
    assert snapshot(tmp_path) == before


def test_working_directory_is_refused(tmp_path, tiny, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    for out in (".", "..", str(tmp_path), "/"):
        assert run(["run", tiny, "--out", out, "--no-plots"]) == 2
        one_error_line(capsys, "refusing")
    assert snapshot(tmp_path) == before


def test_archsim_directory_is_replaced_and_marked(tmp_path, tiny):
    out = tmp_path / "out"
    assert run(["run", tiny, "--out", out, "--no-plots"]) == 0
    assert (out / MARKER).is_file()
    (out / "stale.txt").write_text("left by an earlier archsim version")
    assert run(["run", tiny, "--out", out, "--no-plots"]) == 0
    assert not (out / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cfg", "out"]  # no .tmp-/.old- left


def test_empty_directory_is_used(tmp_path, tiny):
    out = tmp_path / "empty"
    out.mkdir()
    assert run(["run", tiny, "--out", out, "--no-plots"]) == 0
    assert (out / "summary.json").is_file()


def test_directories_get_umask_permissions_not_0700(tmp_path, tiny):
    """mkdtemp's 0700 used to become the output directory's mode."""
    old = os.umask(0o022)
    try:
        assert run(["run", tiny, "--out", tmp_path / "a" / "b", "--no-plots"]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "a" / "b" / "summary.json").stat().st_mode) == 0o644


@pytest.mark.parametrize("name", ["..", "/", "/etc", "../../x", "a/../../b", ".hidden", "~"])
def test_config_name_cannot_escape_runs(name, tmp_path, capsys, monkeypatch):
    """`name: ".."` or an absolute name made the default output escape runs/."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("mine")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(TINY.format(name=f"'{name}'"))
    monkeypatch.chdir(work)
    assert run(["run", cfg, "--no-plots"]) == 0
    assert (work / "keep.txt").read_text() == "mine"
    outs = [p for p in (work / "runs").iterdir()]
    assert len(outs) == 1 and (outs[0] / "summary.json").is_file()
    assert outs[0].parent == work / "runs"


def test_safe_name_and_default_rule():
    assert safe_name("..") == "run" and safe_name("/etc/passwd") == "_etc_passwd"
    assert safe_name("da_mnist") == "da_mnist" and safe_name("a b/c") == "a_b_c"
    assert default_out("cost") == Path("runs") / "cost"
    assert default_out("../x").parent == Path("runs")


@pytest.mark.parametrize("case", ["file", "below_file", "symlink"])
def test_os_level_bad_targets_give_one_line(case, tmp_path, tiny, capsys):
    """--out at a file, below a file, or a link used to raise tracebacks."""
    (tmp_path / "f").write_text("x")
    target = {"file": tmp_path / "f", "below_file": tmp_path / "f" / "sub",
              "symlink": tmp_path / "link"}[case]
    if case == "symlink":
        os.symlink(tmp_path / "cfg", target)
    before = snapshot(tmp_path)
    assert run(["run", tiny, "--out", target, "--no-plots"]) == 2
    one_error_line(capsys, str(target))
    assert snapshot(tmp_path) == before


def test_failure_while_writing_removes_temp_and_created_parents(tmp_path, capsys, monkeypatch):
    """an OS error while writing left hidden .NAME.tmp-* directories behind."""
    import archsim.commands.run as run_command

    def broken(*_a, **_k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(run_command, "write_run", broken)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(TINY.format(name="x"))
    before = snapshot(tmp_path)
    assert run(["run", cfg, "--out", tmp_path / "new" / "deeper" / "out", "--no-plots"]) == 2
    one_error_line(capsys, "No space left on device")
    assert snapshot(tmp_path) == before


def test_unwritable_parent_is_refused_before_work(tmp_path, monkeypatch):
    """A read-only location is refused by the early check (root bypasses modes, so the
    permission probe is simulated)."""
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == tmp_path
                        else real_access(p, m))
    with pytest.raises(OutputError, match="permission denied"):
        check_output_dir(tmp_path / "x")


def test_block_error_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with output_dir(tmp_path / "a" / "out") as tmp:
            (tmp / "half.csv").write_text("partial")
            raise RuntimeError("bad input discovered late")
    assert list(tmp_path.iterdir()) == []


def test_compare_csv_into_missing_directory_is_one_line(tmp_path, tiny, capsys):
    """`compare --csv` into a missing directory used to raise a traceback."""
    out = tmp_path / "out"
    assert run(["run", tiny, "--out", out, "--no-plots"]) == 0
    capsys.readouterr()
    assert run(["compare", out, "--csv", tmp_path / "missing" / "t.csv"]) == 2
    one_error_line(capsys, "does not exist")
    assert run(["compare", out, "--csv", out]) == 2
    one_error_line(capsys, "is a directory")
    assert run(["compare", out, "--csv", tmp_path / "t.csv"]) == 0
    assert (tmp_path / "t.csv").read_text().startswith("run,variant,")


def test_scalesim_output_below_a_file_is_one_line(tmp_path, capsys, repo_root):
    (tmp_path / "f").write_text("x")
    assert run(["scalesim", "-c", repo_root / SCALESIM_CFG,
                "-t", repo_root / SCALESIM_TOPO,
                "-p", tmp_path / "f"]) == 2
    one_error_line(capsys, "not a directory")
    assert (tmp_path / "f").read_text() == "x"
