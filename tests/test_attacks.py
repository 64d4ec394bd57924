"""Attack registry, query budget, metrics (hand-computed oracles), BPDA gradients, ART wiring."""
import numpy as np
import pytest

from archsim.nn.network import Linear, Network, ReLU, Flatten, forward
from archsim.robustness import metrics
from archsim.robustness.attacks import BudgetExhausted, QueryBudget, parse_attacks


def _parse(raw, role="exact"):
    errors = []
    specs = parse_attacks(raw, "experiments.transfer.attacks", role,
                          lambda p, m: errors.append(f"{p}: {m}"))
    return specs, errors


def test_sweep_expands_with_library_defaults():
    specs, errors = _parse({"pgd": {"eps": [0.1, 0.2], "max_iter": 7}})
    assert errors == []
    runs = specs[0].runs()
    assert [label for label, _ in runs] == ["pgd[eps=0.1]", "pgd[eps=0.2]"]
    assert runs[1][1] == {"norm": np.inf, "eps": 0.2, "eps_step": 0.1, "max_iter": 7,
                          "num_random_init": 0, "loss": "ce", "rel_step": None}


def test_step_tied_to_eps_and_extras_kept_out_of_art():
    from archsim.robustness.attacks import split_extras
    specs, errors = _parse({"pgd": {"eps": [0.1, 0.3], "max_iter": 100, "rel_step": 2.5,
                                    "loss": "margin"}}, role="whitebox")
    assert errors == []
    kw = specs[0].runs()[1][1]
    assert kw["eps_step"] == pytest.approx(2.5 * 0.3 / 100)
    art_kw, extras = split_extras("pgd", kw)
    assert extras == {"loss": "margin", "rel_step": 2.5} and "loss" not in art_kw


def test_sweep_labels_are_short_and_kwargs_exact():
    specs, _ = _parse({"fgsm": {"eps": [2 / 255, 16 / 255, 1]}})
    runs = specs[0].runs()
    assert [label for label, _ in runs] == ["fgsm[eps=0.007843]", "fgsm[eps=0.06275]",
                                            "fgsm[eps=1]"]
    assert runs[0][1]["eps"] == 2 / 255


def test_bad_attack_config_names_the_key():
    _, errors = _parse({"fgsmm": {}, "cw": {"lr": 1}, "pgd": {"eps": [0.1], "max_iter": [1, 2]},
                        "square": {}})
    assert "experiments.transfer.attacks.fgsmm: unknown attack" in errors[1]
    assert errors[0].startswith("experiments.transfer.attacks.cw.lr: unknown parameter")
    assert "at most one swept" in errors[2]
    assert "square: cannot run as a exact attack" in errors[3]


@pytest.mark.parametrize("params,fragment", [
    ({"pgd": {"eps": -0.1}}, "pgd.eps: expected a number >= 0"),
    ({"pgd": {"eps": [0.1, -0.2]}}, "pgd.eps: expected a number >= 0"),
    ({"pgd": {"max_iter": 0}}, "pgd.max_iter: expected an integer >= 1"),
    ({"ddn": {"steps": 0}}, "ddn.steps: expected an integer >= 1"),
    ({"pgd": {"norm": 3}}, "pgd.norm: expected inf, 1 or 2"),
    ({"pgd": {"loss": "hinge"}}, "pgd.loss: unknown loss 'hinge'"),
])
def test_bad_attack_values_name_the_field(params, fragment):
    _, errors = _parse(params, role="whitebox")
    assert len(errors) == 1 and fragment in errors[0]


class _Threshold:
    """Class 1 iff mean pixel > 0.5 (two logits); counts calls."""

    def __call__(self, x):
        m = x.reshape(len(x), -1).mean(axis=1)
        return np.stack([0.5 - m, m - 0.5], axis=1).astype(np.float32)


def test_query_budget_is_exact_and_keeps_the_closest_adversarial():
    qb = QueryBudget(_Threshold(), budget=5)
    original = np.full((1, 2, 2), 0.4, np.float32)
    qb.reset(original, 0)
    batch = np.stack([np.full((1, 2, 2), v, np.float32) for v in (0.45, 0.9, 0.6)])
    assert qb(batch).shape == (3, 2)
    assert qb.used == 3 and np.isclose(qb.best_l2, np.sqrt(4 * 0.2 ** 2))
    with pytest.raises(BudgetExhausted):
        qb(np.stack([np.full((1, 2, 2), v, np.float32) for v in (0.55, 0.2, 0.7)]))
    assert qb.used == 5                       # only 2 of the 3 rows were answered
    assert np.isclose(qb.best_l2, np.sqrt(4 * 0.15 ** 2))
    np.testing.assert_array_equal(qb.best, np.full((1, 2, 2), 0.55, np.float32))


def test_success_stats_by_hand():
    y = np.array([0, 1, 2, 3, 4, 5])
    clean_e = np.array([0, 1, 2, 3, 4, 9])      # image 5 wrong on exact -> not eligible
    clean_a = np.array([0, 1, 2, 3, 9, 5])      # image 4 wrong on approx -> not eligible
    adv_e = np.array([7, 7, 2, 7, 7, 7])        # fools 0, 1, 3 among eligible {0,1,2,3}
    adv_a = np.array([7, 1, 7, 3, 7, 7])        # fools 0, 2
    s = metrics.success_stats(y, clean_e, clean_a, adv_e, adv_a)
    assert s["eligible"] == 4 and s["fooled_exact"] == 3 and s["fooled_approx"] == 2
    assert s["success_rate_exact"] == 0.75 and s["success_rate_approx"] == 0.5
    assert s["transfer_rate"] == pytest.approx(1 / 3)
    assert s["success_reduction"] == pytest.approx(1 - 0.5 / 0.75)


def test_perturbation_metrics_by_hand():
    x = np.zeros((2, 1, 2, 2))
    adv = x.copy()
    adv[0] += 0.1                               # mse 0.01 -> 20 dB, L2 = sqrt(4 * 0.01)
    p = metrics.perturbation(adv, x)
    assert p["mse"][0] == pytest.approx(0.01) and p["psnr_db"][0] == pytest.approx(20.0)
    assert p["l2"][0] == pytest.approx(0.2) and p["linf"][0] == pytest.approx(0.1)
    assert p["psnr_db"][1] == np.inf
    z = np.array([[3.0, 4.0], [0.0, 0.0]])
    assert metrics.top1_confidence(z)[1] == 0.5
    assert metrics.logit_magnification(2 * z[:1], z[:1])[0] == pytest.approx(2.0)


def _tiny_net(seed=0):
    rng = np.random.default_rng(seed)
    return Network("tiny", (1, 4, 4), (Flatten(), Linear("fc1", rng.normal(size=(8, 16)),
                                                         rng.normal(size=8) * 0.1), ReLU(),
                                       Linear("fc2", rng.normal(size=(3, 8)), np.zeros(3))))


@pytest.mark.torch
def test_bpda_forward_is_approximate_and_backward_exact_at_approx_activations():
    torch = pytest.importorskip("torch")
    import archsim_core as core
    from archsim.nn.torch_bridge import torch_module
    net, m = _tiny_net(), core.get_multiplier("da")
    x = np.random.default_rng(1).random((2, 1, 4, 4)).astype(np.float32)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    out = torch_module(net, m)(xt)
    np.testing.assert_array_equal(out.detach().numpy(), forward(net, x, multiplier=m))
    out[:, 2].sum().backward()
    w1, w2 = net.layers[1].weight.astype(np.float64), net.layers[3].weight.astype(np.float64)
    h1 = m.matmul(x.reshape(2, 16), np.ascontiguousarray(w1.T.astype(np.float32)),
                  net.layers[1].bias)                          # approximate pre-activations
    grad = ((h1 > 0) * w2[2]) @ w1                              # chain rule by hand
    np.testing.assert_allclose(xt.grad.numpy().reshape(2, 16), grad, rtol=1e-5, atol=1e-6)


@pytest.mark.torch
def test_art_fgsm_on_exact_model_matches_hand_gradient():
    pytest.importorskip("torch")
    pytest.importorskip("art")
    from archsim.nn.torch_bridge import torch_module
    from archsim.robustness.attacks import make_attack, torch_classifier
    rng = np.random.default_rng(2)
    net = Network("lin", (1, 3, 3), (Flatten(), Linear("fc", rng.normal(size=(4, 9)),
                                                       rng.normal(size=4))))
    x = rng.random((5, 1, 3, 3)).astype(np.float32) * 0.6 + 0.2
    clf = torch_classifier(torch_module(net), net.input_shape, 4)
    adv = make_attack("fgsm", {"eps": 0.1}, clf, batch_size=5).generate(x)
    z = forward(net, x).astype(np.float64)
    y = z.argmax(1)                                             # ART labels = predictions
    p = metrics.softmax(z)
    p[np.arange(5), y] -= 1.0                                   # d CE / d z
    g = p @ net.layers[1].weight.astype(np.float64)             # d CE / d x
    np.testing.assert_allclose(adv.reshape(5, 9), np.clip(x.reshape(5, 9) + 0.1 * np.sign(g),
                                                           0, 1), atol=1e-6)


def test_missing_extras_fail_with_install_hint(monkeypatch):
    import sys
    from archsim.errors import ConfigError
    from archsim.nn.torch_bridge import require_torch
    from archsim.robustness.attacks import require_art
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "art", None)
    monkeypatch.setitem(sys.modules, "art.attacks.evasion", None)
    with pytest.raises(ConfigError, match=r"BPDA needs PyTorch.*archsim\[robust\]"):
        require_torch("BPDA")
    with pytest.raises(ConfigError, match=r"adversarial-robustness-toolbox.*archsim\[robust\]"):
        require_art("attack fgsm")


def test_no_eligible_images_give_empty_results_not_a_crash():
    """A subset where no image is classified correctly by both networks (e.g. a barely trained
    model) must give empty adversarial batches and NaN summaries, not an ART crash."""
    from archsim.robustness.threats import _craft
    x = np.zeros((0, 1, 4, 4), np.float32)
    adv = _craft(None, "deepfool", {}, None, x, np.zeros(0, np.int64))
    assert adv.shape == (0, 1, 4, 4) and adv.dtype == np.float32
    pert = metrics.perturbation(adv, x)
    assert all(v.shape == (0,) for v in pert.values())
    assert np.isnan(metrics.summary(pert["l2"])["mean"])


def test_hopskipjump_start_is_seeded_and_misclassified():
    """ART's HopSkipJump draws its starting image from an unseeded RandomState; we hand it a
    start drawn from our seeded generator instead, so runs are reproducible."""
    from archsim.robustness.threats import seeded_start
    x = np.zeros((1, 4, 4), np.float32)
    predict = lambda b: np.stack([b.reshape(len(b), -1).mean(1), np.full(len(b), 0.5)], 1)
    a = seeded_start(predict, np.random.default_rng([0, 3]), x, label=0, trials=50)
    b = seeded_start(predict, np.random.default_rng([0, 3]), x, label=0, trials=50)
    assert a is not None and np.array_equal(a, b)
    assert a.shape == x.shape and a.mean() <= 0.5      # class 1 wins: misclassified
    always_right = lambda b: np.tile([1.0, 0.0], (len(b), 1))
    assert seeded_start(always_right, np.random.default_rng(0), x, 0, trials=5) is None
