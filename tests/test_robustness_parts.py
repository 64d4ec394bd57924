"""`archsim robustness --part K/N` and `archsim robustness-merge`: a run split into image ranges
(and by --only) and merged writes the same files as the unsplit run; bad input is one line,
exit 2, nothing written.

The parity run uses deterministic attacks only (FGSM, PGD without random init, DeepFool, DDN,
Square with its per-image seeded start) and batch_size 1: ART's random starts (PGD
num_random_init, APGD nb_random_init) and JSMA's random targets are drawn per batch, and torch's
float32 forward/backward of an image changes in the last bits with the size of its batch (LeNet
on this CPU: batches of 1-3 images differ from a batch of 16), so with larger batches a split
run is the same attack computed with other rounding (and random draws), not the same bytes."""
import json
import re
import zipfile

import numpy as np
import pytest
import yaml

from archsim.cli import main

EXPERIMENTS = {
    "clean": {"images": 10, "variants": ["da", {"da-reference": 5}]},
    "confidence": {"images": 7},
    "noise": {"images": 6, "sigmas": [0.0, 0.4]},
    "transfer": {"images": 6, "attacks": {"fgsm": {"eps": [0.1, 0.25]},
                                          "ddn": {"steps": 4, "confidence": [0.0, 3.0]}}},
    "blackbox": {"images": 6, "query_budget": 12, "decision_images": 4,
                 "attacks": {"square": {"eps": 0.3, "max_iter": 10}}},
    "whitebox": {"images": 7, "models": ["float32-numpy", "da"],
                 "attacks": {"pgd": {"eps": [0.15, 0.25], "max_iter": 3, "rel_step": 2.5,
                                     "num_random_init": 0, "loss": "margin"},
                             "deepfool": {"max_iter": 4}, "ddn": {"steps": 4}}},
}
OTHERS = "clean,confidence,noise,transfer,blackbox"


def _config(path, shared_data, experiments, **top):
    cfg = {"name": "parts", "dataset": {"name": "mnist", "data_dir": str(shared_data)},
           "target": {"architecture": "da-lenet",
                      "weights": "{data_dir}/da_lenet_official.npz"},
           "approximate": "da", "controls": ["fp16-weights"], "calibration_images": 8,
           "seed": 3, "batch_size": 4, "experiments": experiments}
    cfg.update(top)
    path.write_text(yaml.safe_dump(cfg))
    return path


def _run(cfg, out, *extra):
    assert main(["robustness", str(cfg), "--out", str(out), *extra]) == 0
    return out


@pytest.fixture(scope="module")
def split_runs(tmp_path_factory, shared_data):
    """An unsplit run, and the same config in four pieces: whitebox in two image ranges
    (--only whitebox), the other experiments in two ranges (--only ...)."""
    pytest.importorskip("torch")
    pytest.importorskip("art")
    tmp = tmp_path_factory.mktemp("parts")
    cfg = _config(tmp / "cfg.yaml", shared_data, EXPERIMENTS, batch_size=1)
    whole = _run(cfg, tmp / "whole")
    parts = [_run(cfg, tmp / "wb2", "--only", "whitebox", "--part", "2/2"),
             _run(cfg, tmp / "o1", "--only", OTHERS, "--part", "1/2"),
             _run(cfg, tmp / "wb1", "--only", "whitebox", "--part", "1/2"),
             _run(cfg, tmp / "o2", "--only", OTHERS, "--part", "2/2")]
    assert main(["robustness-merge", *map(str, parts), "--out", str(tmp / "merged")]) == 0
    return {"tmp": tmp, "cfg": cfg, "whole": whole, "parts": parts, "merged": tmp / "merged"}


def _files(d):
    return sorted(p.name for p in d.iterdir() if not p.name.startswith("."))


def _without_coverage(path):
    meta = json.loads(path.read_text())
    return {k: v for k, v in meta.items() if k != "coverage"}


@pytest.mark.torch
def test_split_and_merged_run_equals_the_unsplit_run(split_runs):
    whole, merged = split_runs["whole"], split_runs["merged"]
    names = _files(whole)
    assert names == _files(merged)
    for csv in ("clean.csv", "confidence.csv", "noise.csv", "transfer.csv", "blackbox.csv",
                "whitebox.csv", "curves.csv", "claims.csv"):
        assert csv in names
    for name in names:
        if name in ("results.json", "report.md"):
            continue
        assert (whole / name).read_bytes() == (merged / name).read_bytes(), name
    assert _without_coverage(whole / "results.json") == \
        _without_coverage(merged / "results.json")
    # report.md: the same text, plus the merged run's coverage section
    text_w, text_m = (whole / "report.md").read_text(), (merged / "report.md").read_text()
    assert "## Coverage" not in text_w and "Merged from 4 runs" in text_m
    assert re.sub(r"\n## Coverage.*?\n(?=\n## Figures)", "", text_m, flags=re.S) == text_w
    cov = json.loads((merged / "results.json").read_text())["coverage"]
    assert cov["experiments"]["whitebox"] == {"subset": [0, 7], "covered": [[0, 7]],
                                              "missing": []}
    # the tables are not trivially empty: attacks fooled something on both models
    wb = (whole / "whitebox.csv").read_text().splitlines()
    assert wb[0].startswith("dataset,model,attack,norm,eps,n,fooled,success,ci_low,ci_high,")
    fooled = [int(r.split(",")[6]) for r in wb[1:]]
    assert len(fooled) == 8 and max(fooled) > 0


@pytest.mark.torch
def test_parts_record_their_ranges_and_per_image_indices(split_runs):
    """Each part's results.json names its part and test-image range; per_image.npz holds the
    test-set indices of the images it attacked, inside that range; the parts' ranges tile
    the subset (sizes floor((K-1)n/N) .. floor(Kn/N))."""
    from archsim.robustness.parts import load_per_image
    wb1, wb2 = split_runs["parts"][2], split_runs["parts"][0]
    c1 = json.loads((wb1 / "results.json").read_text())["coverage"]
    c2 = json.loads((wb2 / "results.json").read_text())["coverage"]
    assert c1["part"] == [1, 2] and c2["part"] == [2, 2]
    assert c1["experiments"] == {"whitebox": {"subset": [0, 7], "covered": [[0, 3]],
                                              "missing": []}}
    assert c2["experiments"]["whitebox"]["covered"] == [[3, 7]]
    idx = [load_per_image(d / "per_image.npz")["whitebox"]["index"] for d in (wb1, wb2)]
    assert idx[0].max() < 3 <= idx[1].min()
    whole = load_per_image(split_runs["whole"] / "per_image.npz")["whitebox"]
    assert np.array_equal(np.concatenate(idx), whole["index"])
    # black-box: the first decision_images eligible images of the whole subset, each
    # attacked by the part whose range holds it (both parts attack some)
    o1, o2 = split_runs["parts"][1], split_runs["parts"][3]
    dec = [load_per_image(d / "per_image.npz")["blackbox"]["decision"][0]["index"]
           for d in (o1, o2)]
    assert len(dec[0]) and len(dec[1]) and dec[0].max() < 3 <= dec[1].min()
    assert len(dec[0]) + len(dec[1]) == 4
    runs = {r["label"]: r for r in whole["runs"]}
    small, big = runs["pgd[eps=0.15]"]["models"], runs["pgd[eps=0.25]"]["models"]
    assert len(small) == 2 and set(small[0]) == {"fooled", "carried", "l2", "linf", "psnr_db"}
    # eps runs in increasing order: nothing carried at 0.15; 0.25 carries exactly the images
    # fooled at 0.15 (per model), and keeps them fooled
    assert not any(m["carried"].any() for m in small)
    for m_small, m_big in zip(small, big):
        assert np.array_equal(m_big["carried"], m_small["fooled"])
        assert not (m_small["fooled"] & ~m_big["fooled"]).any()
    assert any(m["carried"].any() for m in big)


def test_per_image_file_is_deterministic_and_round_trips(tmp_path):
    from archsim.robustness.parts import load_per_image, save_per_image
    data = {"k": {"names": ["a", "b"], "x": 1.5, "nan": float("nan"),
                  "runs": [{"f": np.array([True, False]), "d": np.array([np.inf, 0.25])}],
                  "i": np.arange(3, dtype=np.int64)}}
    a = save_per_image(tmp_path / "a.npz", data)
    b = save_per_image(tmp_path / "b.npz", data)
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    back = load_per_image(a)
    assert back["k"]["names"] == ["a", "b"] and back["k"]["x"] == 1.5
    assert np.isnan(back["k"]["nan"])
    assert np.array_equal(back["k"]["runs"][0]["d"], [np.inf, 0.25])
    assert back["k"]["runs"][0]["f"].dtype == bool and back["k"]["i"].dtype == np.int64


@pytest.mark.parametrize("images,n", [(7, 2), (10, 3), (5, 5), (1, 1), (1000, 7)])
def test_spans_tile_the_subset(images, n):
    from archsim.robustness.parts import span
    spans = [span(images, (k, n)) for k in range(1, n + 1)]
    assert spans[0][0] == 0 and spans[-1][1] == images
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    sizes = [hi - lo for lo, hi in spans]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


def _one_line(capsys, *fragments):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for f in fragments:
        assert f in err, err


@pytest.mark.parametrize("part,fragment", [
    ("3/2", "--part: K must be in 1..2"), ("0/2", "--part: K must be in 1..2"),
    ("1/0", "--part: N must be >= 1"), ("2", "--part: expected K/N"),
    ("a/b", "--part: expected K/N"), ("1/5", "--part: N=5 exceeds the 4 images of "
                                            "experiments.clean")])
def test_bad_part_is_one_line(capsys, tmp_path, shared_data, part, fragment):
    cfg = _config(tmp_path / "cfg.yaml", shared_data, {"clean": {"images": 4},
                                                       "confidence": {"images": 8}})
    out = tmp_path / "out"
    assert main(["robustness", str(cfg), "--out", str(out), "--part", part]) == 2
    _one_line(capsys, fragment)
    assert not out.exists()


@pytest.fixture
def clean_parts(tmp_path, shared_data):
    cfg = _config(tmp_path / "cfg.yaml", shared_data, {"clean": {"images": 9},
                                                       "noise": {"images": 4,
                                                                 "sigmas": [0.2]}})
    return cfg, [_run(cfg, tmp_path / f"p{k}", "--part", f"{k}/3") for k in (1, 2, 3)]


def test_merge_refuses_bad_input(capsys, tmp_path, shared_data, clean_parts):
    cfg, (p1, p2, p3) = clean_parts
    out = tmp_path / "merged"

    def fails(*runs, frags):
        capsys.readouterr()
        assert main(["robustness-merge", *map(str, runs), "--out", str(out)]) == 2
        _one_line(capsys, *frags)
        assert not out.exists()

    fails(p1, p2, p3, tmp_path, frags=[str(tmp_path), "not an archsim robustness run"])
    fails(p1, p2, p2, p3, frags=["experiments.clean test images [3, 6) overlap"])
    fails(p1, p3, frags=["experiments.clean: test images [3, 6) of its subset [0, 9) are "
                         "in none of the runs"])
    other = _config(tmp_path / "other.yaml", shared_data, {"clean": {"images": 9},
                                                           "noise": {"images": 4,
                                                                     "sigmas": [0.3]}})
    q2 = _run(other, tmp_path / "q2", "--part", "2/3")
    fails(p1, q2, p3, frags=["config differs", "config field experiments.noise.sigmas"])
    (p2 / "per_image.npz").unlink()
    fails(p1, p2, p3, frags=["no per_image.npz"])


def test_merge_allow_missing_states_the_gap(tmp_path, clean_parts):
    _, (p1, p2, p3) = clean_parts
    out = tmp_path / "merged"
    assert main(["robustness-merge", str(p3), str(p1), "--out", str(out),
                 "--allow-missing"]) == 0
    cov = json.loads((out / "results.json").read_text())["coverage"]
    assert cov["experiments"]["clean"] == {"subset": [0, 9], "covered": [[0, 3], [6, 9]],
                                           "missing": [[3, 6]]}
    assert "**missing [3, 6)**" in (out / "report.md").read_text()
    rows = (out / "clean.csv").read_text().splitlines()
    assert rows[1].startswith("float32-numpy,6,")   # the 6 images present
    # the complete merge equals the unsplit run's clean and noise tables
    whole = _run(clean_parts[0], tmp_path / "whole")
    assert main(["robustness-merge", str(p2), str(p3), str(p1), "--out", str(out)]) == 0
    for name in ("clean.csv", "noise.csv", "per_image.npz", "claims.csv"):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name
