"""`archsim robustness`: bad input exits 2 with one named line and no output; tiny real runs
are deterministic and agree with an independent float64 count."""
import gzip
import os

import numpy as np
import pytest
import yaml

from archsim.cli import main
from nn_reference import run_f64


def _config(tmp_path, shared_data, experiments, **top):
    cfg = {"name": "t", "dataset": {"name": "mnist", "data_dir": str(shared_data)},
           "target": {"architecture": "da-lenet",
                      "weights": "{data_dir}/da_lenet_official.npz"},
           "approximate": "da", "seed": 0, "batch_size": 16, "experiments": experiments}
    cfg.update(top)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _fails(capsys, tmp_path, path, *fragments):
    out = tmp_path / "out"
    assert main(["robustness", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for frag in fragments:
        assert frag in err
    assert not out.exists()


def test_unknown_keys_attacks_and_params_are_named(capsys, tmp_path, shared_data):
    path = _config(tmp_path, shared_data, {
        "clean": {"images": 4, "colour": 1},
        "transfer": {"images": 4, "attacks": {"fgsm": {"eps": 0.1, "epsilon": 2},
                                              "lbfgs": {}}}}, extra=1)
    _fails(capsys, tmp_path, path, "cfg.yaml", "extra: unknown key",
           "experiments.clean.colour: unknown key",
           "experiments.transfer.attacks.fgsm.epsilon: unknown parameter",
           "experiments.transfer.attacks.lbfgs: unknown attack")


def test_bad_variant_and_weights_are_named(capsys, tmp_path, shared_data):
    path = _config(tmp_path, shared_data, {"clean": {"images": 4}}, approximate="da-nope")
    _fails(capsys, tmp_path, path, "da-nope")
    params = dict(np.load(shared_data / "da_lenet_official.npz"))
    params["conv2_weight"] = params["conv2_weight"][:32]
    np.savez(tmp_path / "w.npz", **params)
    path = _config(tmp_path, shared_data, {"clean": {"images": 4}},
                   target={"architecture": "da-lenet", "weights": str(tmp_path / "w.npz")})
    _fails(capsys, tmp_path, path, "w.npz", "'conv2_weight'")


def test_missing_data_dir_is_named(capsys, tmp_path, shared_data, monkeypatch):
    monkeypatch.delenv("ARCHSIM_DATA_DIR", raising=False)
    path = _config(tmp_path, shared_data, {"clean": {"images": 4}},
                   dataset={"name": "mnist", "data_dir": str(tmp_path / "nowhere")})
    _fails(capsys, tmp_path, path, "nowhere")


def test_clean_confidence_noise_run_is_deterministic(tmp_path, shared_data):
    exps = {"clean": {"images": 48, "variants": ["da"]}, "confidence": {"images": 16},
            "noise": {"images": 8, "sigmas": [0.0, 0.5]}}
    path = _config(tmp_path, shared_data, exps)
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert main(["robustness", str(path), "--out", str(out)]) == 0
    for name in ("clean.csv", "confidence.csv", "noise.csv", "results.json", "report.md"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
    assert (outs[0] / "confidence_cdf.png").is_file()
    img = gzip.open(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz").read()
    lab = gzip.open(shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz").read()
    x = np.frombuffer(img, np.uint8, offset=16)[:48 * 784].reshape(48, 1, 28, 28) / 255.0
    y = np.frombuffer(lab, np.uint8, offset=8)[:48]
    ref = int((run_f64(dict(np.load(shared_data / "da_lenet_official.npz")), x).argmax(1)
               == y).sum())
    row = (outs[0] / "clean.csv").read_text().splitlines()[1].split(",")
    assert row[:3] == ["float32-numpy", "48", str(ref)]
    report = (outs[0] / "report.md").read_text()
    assert f"| float32-numpy | 48 | {ref} | {100 * ref / 48:.1f} % |" in report


@pytest.mark.slow
@pytest.mark.torch
def test_attack_experiments_run(tmp_path, shared_data):
    pytest.importorskip("torch")
    pytest.importorskip("art")
    exps = {"transfer": {"images": 6, "attacks": {"fgsm": {"eps": [0.3]}}},
            "whitebox": {"images": 3, "attacks": {"deepfool": {"max_iter": 5}}},
            "blackbox": {"images": 2, "query_budget": 20, "decision_images": 2,
                         "attacks": {"square": {}}}}
    path = _config(tmp_path, shared_data, exps)
    assert main(["robustness", str(path), "--out", str(tmp_path / "o")]) == 0
    rows = (tmp_path / "o" / "blackbox.csv").read_text().splitlines()
    assert len(rows) == 3 and all(float(r.split(",")[-1]) <= 20 for r in rows[1:])
    transfer = (tmp_path / "o" / "transfer.csv").read_text().splitlines()
    assert transfer[1].startswith("mnist,target,fgsm[eps=0.3],fgsm-ce,inf,0.3,")
    assert (tmp_path / "o" / "whitebox_distance.png").is_file()
    wb = (tmp_path / "o" / "whitebox.csv").read_text().splitlines()
    assert wb[0].startswith("dataset,model,attack,norm,eps,n,fooled,success,ci_low,ci_high,")
    claims = (tmp_path / "o" / "claims.csv").read_text().splitlines()
    assert claims[0] == "dataset,claim,paper_value,archsim_value,ci_low,ci_high,verdict"
    assert claims[1].startswith("mnist,\"transfer: reduction = 1 - transfer rate, pooled")


@pytest.mark.torch
def test_decision_attacks_are_reproducible(tmp_path, shared_data, capsys):
    """Boundary and HopSkipJump start from ART's unseeded RandomState unless given a start:
    two runs of the same config must still write identical rows."""
    pytest.importorskip("torch")
    pytest.importorskip("art")
    exps = {"blackbox": {"images": 3, "query_budget": 25, "decision_images": 2,
                         "attacks": {"boundary": {}, "hopskipjump": {"max_iter": 2}}}}
    path = _config(tmp_path, shared_data, exps)
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert main(["robustness", str(path), "--out", str(out)]) == 0
    rows = (outs[0] / "blackbox.csv").read_text().splitlines()
    assert len(rows) == 5 and rows[1].startswith("mnist,boundary,float32-numpy,25,2,")
    assert (outs[0] / "blackbox.csv").read_bytes() == (outs[1] / "blackbox.csv").read_bytes()
    log = [line.split("] ", 1)[1] for line in capsys.readouterr().err.splitlines()
           if line.startswith("archsim robustness: [")]
    assert log[0] == "blackbox: started (3 images)"
    assert log[1].startswith("blackbox boundary on float32-numpy: ")
    assert log[1].endswith("/2 fooled within 25 queries")
    assert len(log) == 2 * 5  # per run: started + 2 attacks x 2 models


def test_relative_data_dir_is_relative_to_the_working_directory(repo_root, shared_data,
                                                                 monkeypatch):
    """`--data-dir ../shared/data` (as in README) means the working directory's ../shared/data,
    while `dataset.data_dir` inside a config is relative to the config file."""
    from archsim.robustness.config import load_config
    monkeypatch.chdir(repo_root)
    rel = os.path.relpath(shared_data, repo_root)
    cfg = load_config(repo_root / "configs" / "robustness_mnist_quick.yaml", rel)
    assert cfg.data_dir == shared_data.resolve()
    assert cfg.target.weights == shared_data.resolve() / "da_lenet_official.npz"
    assert cfg.target.weights.is_file()


@pytest.mark.parametrize("top,exps,fragments", [
    ({}, {"whitebox": {"images": 4, "attacks": {"pgd": {"eps": -0.1}}}},
     ["experiments.whitebox.attacks.pgd.eps: expected a number >= 0"]),
    ({}, {"whitebox": {"images": 4, "attacks": {"pgd": {"max_iter": 0}}}},
     ["experiments.whitebox.attacks.pgd.max_iter: expected an integer >= 1"]),
    ({}, {"whitebox": {"images": 4, "attacks": {"ddn": {"loss": "hinge"}}}},
     ["experiments.whitebox.attacks.ddn.loss: unknown loss 'hinge'"]),
    ({}, {"transfer": {"images": 4, "attacks": {"pgd": {"norm": "l3"}}}},
     ["experiments.transfer.attacks.pgd.norm: expected inf, 1 or 2"]),
    ({"controls": [{"scaled": "da-flat"}]}, {"clean": {"images": 4}},
     ["controls[0].scaled: reference 'da-flat' is not the approximate model"]),
    ({"controls": [{"shifted": "da"}]}, {"clean": {"images": 4}},
     ["controls[0].shifted: unknown control"]),
    ({}, {"transfer": {"images": 4, "sources": ["advtrained"], "attacks": {"fgsm": {}}}},
     ["experiments.transfer.sources: unknown source model 'advtrained'"]),
    ({}, {"clean": {"images": 10001}},
     ["experiments.clean.images: 10001 images after offset 0 exceed the 10000 test images"]),
    ({}, {"blackbox": {"images": 3, "decision_images": 3, "query_budget": 5,
                       "attacks": {"square": {}}}},
     ["experiments.blackbox.decision_images: 3 exceeds the"]),
])
def test_bad_robustness_input_names_the_field(capsys, tmp_path, shared_data, top, exps,
                                              fragments):
    """Negative eps, zero steps, unknown norm/loss, a control without its reference, unknown
    source, a sample size above the test set or the eligible set: one line, exit 2, no output."""
    if "blackbox" in exps:  # images 16-18: one of them ineligible
        exps["blackbox"]["offset"] = 16  # test image 18 is misclassified by the paper's LeNet
    path = _config(tmp_path, shared_data, exps, **top)
    _fails(capsys, tmp_path, path, "cfg.yaml", *fragments)


def test_shipped_robustness_configs_are_valid(repo_root, shared_data):
    """Every configs/robustness_*.yaml (quick, session, full) parses, its controls resolve,
    and the full configs ask for the sizes of issue #14."""
    from archsim.commands.robustness import _check_variants
    from archsim.robustness.config import load_config
    paths = sorted((repo_root / "configs").glob("robustness_*.yaml"))
    assert len(paths) >= 6
    for path in paths:
        cfg = load_config(path, str(shared_data))
        _check_variants(cfg)
        if path.stem.endswith("_full"):
            exps = {e.kind: e for e in cfg.experiments}
            assert exps["transfer"].images >= 1000 and exps["whitebox"].images >= 500
            assert exps["blackbox"].decision_images >= 100
            assert exps["blackbox"].query_budget >= 5000


def test_clean_without_variants_still_scores_the_approximate_model(tmp_path, shared_data):
    """The full configs give `clean: {images: N}` without a variants list: the approximate
    model must still get its row (a run once reported the controls but not `da`)."""
    path = _config(tmp_path, shared_data, {"clean": {"images": 12}})
    out = tmp_path / "out"
    assert main(["robustness", str(path), "--out", str(out)]) == 0
    names = [line.split(",")[0] for line in (out / "clean.csv").read_text().splitlines()[1:]]
    cfg = yaml.safe_load(path.read_text())
    assert names[:2] == ["float32-numpy", cfg["approximate"]]
    assert len(names) == len(set(names))
