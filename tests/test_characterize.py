"""`archsim characterize`: table, CSV/JSON outputs, determinism, bad input."""
import csv
import json

import numpy as np

from archsim.cli import main


def run(args, capsys):
    code = main(["characterize", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_characterize_writes_table_csv_json(tmp_path, capsys):
    out = tmp_path / "res"
    code, stdout, _ = run(["exact", "da", "da-reference", "--n", "20000", "--dist", "gaussian",
                           "--out", str(out)], capsys)
    assert code == 0
    assert "P(|a|>|e|)" in stdout and "da-reference" in stdout
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [r["variant"] for r in rows] == ["exact", "da", "da-reference"]
    assert all(r["n"] == "20000" and r["distribution"] == "gaussian" for r in rows)
    assert float(rows[1]["p_higher"]) > float(rows[2]["p_higher"]) > 0.9
    body = json.loads((out / "metrics.json").read_text())
    assert body["config"]["n"] == 20000 and len(body["results"]) == 3
    first = (out / "metrics.json").read_bytes()
    assert run(["exact", "da", "da-reference", "--n", "20000", "--dist", "gaussian",
                "--out", str(out)], capsys)[0] == 0
    assert (out / "metrics.json").read_bytes() == first  # same input, same bytes


def test_characterize_pairs_file(tmp_path, capsys):
    path = tmp_path / "layer.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.random(500).astype(np.float32), y=rng.normal(0, 0.1, 500).astype(np.float32))
    code, stdout, _ = run(["da", "--dist", f"pairs:{path}", "--out", str(tmp_path / "o")], capsys)
    assert code == 0 and " 500 " in stdout


def test_characterize_bad_input(tmp_path, capsys):
    for args, needle in ((["nope"], "unknown variant 'nope'"),
                         (["da", "--dist", "cauchy"], "unknown distribution 'cauchy'"),
                         (["da", "--dist", f"pairs:{tmp_path}/missing.npz"], "missing.npz"),
                         (["da", "--n", "0"], "--n must be a positive integer")):
        code, stdout, err = run([*args, "--out", str(tmp_path / "bad")], capsys)
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "bad").exists()
