"""tools/mutation_check.py keeps working: a cheap mutation is killed by the tests meant to catch
it, survives a test file that cannot see it (exit 1), every mutation's target still exists,
and bad arguments exit 2 with one line."""
import subprocess
import sys

TOOL = "tools/mutation_check.py"


def _run(repo_root, *args):
    return subprocess.run([sys.executable, TOOL, *args], cwd=repo_root, capture_output=True,
                          text=True, timeout=300)


def test_cheap_mutation_is_killed_and_the_baseline_passes(repo_root):
    res = _run(repo_root, "-m", "wilson-0-1", "--tests", "tests/test_robustness_stats.py")
    assert res.returncode == 0, res.stdout + res.stderr
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")
            for line in res.stdout.splitlines() if line.startswith("| ")}
    assert rows["(none: baseline)"][1] == "pass" and rows["(none: baseline)"][2].startswith("0/")
    assert rows["wilson-0-1"][1] == "killed"
    failed, total = map(int, rows["wilson-0-1"][2].split("/"))
    assert 0 < failed < total and "test_wilson_matches_scipy" in rows["wilson-0-1"][3]


def test_surviving_mutation_gives_exit_1(repo_root, tmp_path):
    blind = tmp_path / "test_blind.py"
    blind.write_text("def test_arithmetic():\n    assert 2 + 2 == 4\n")
    res = _run(repo_root, "--no-baseline", "-m", "wilson-0-1", "--tests", str(blind))
    assert res.returncode == 1, res.stdout + res.stderr
    assert "| wilson-0-1 | SURVIVED | 0/1 | - |" in res.stdout


def test_every_mutation_target_exists(repo_root):
    """Applying each mutation in a scratch interpreter raises nothing (a renamed function
    would make the check report ERROR instead of killed)."""
    code = ("import sys; sys.path.insert(0, 'tools'); import mutation_check as m\n"
            "for name, (_, apply) in m.MUTATIONS.items():\n"
            "    apply()\n"
            "print(len(m.MUTATIONS))\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert int(res.stdout.strip()) >= 10


def test_bad_arguments_exit_2_with_one_line(repo_root):
    res = _run(repo_root, "-m", "no-such-mutation")
    assert res.returncode == 2 and res.stdout == ""
    assert len(res.stderr.strip().splitlines()) == 1 and "no-such-mutation" in res.stderr
    res = _run(repo_root, "--tests", "tests/test_nowhere.py")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "test_nowhere.py" in res.stderr
