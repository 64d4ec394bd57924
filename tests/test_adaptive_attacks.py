"""Tests that fail when an attack is broken (Carlini et al. 2019 sanity checks), controls
that differ from exact by the intended amount, and the start exclusion of decision attacks.

Oracles: the float32 numpy forward pass (labels), torch's own bfloat16 and numpy's float16
rounding, DeepFool (ART) as the minimum-norm reference, and hand-made queries."""
import numpy as np
import pytest

from conftest import da_lenet_correct

from archsim.nn.network import forward

N = 24  # images per check: small, but each property holds with a wide margin


@pytest.fixture(scope="module")
def mnist(shared_data):
    return da_lenet_correct(shared_data, 64, N)


def _clf(net, multiplier=None, loss="margin"):
    import torch
    torch.set_num_threads(1)
    from archsim.nn.torch_bridge import torch_module
    from archsim.robustness.attacks import torch_classifier
    return torch_classifier(torch_module(net, multiplier), net.input_shape, 10, loss)


def _craft(name, kwargs, clf, x, y):
    """The production crafting path (archsim.robustness.threats._craft)."""
    from archsim.robustness.threats import _craft as craft

    class _R:
        config = type("C", (), {"batch_size": 64, "seed": 0})()
        test = type("T", (), {"num_classes": 10})()

        def seed_libraries(self, restart=0):
            np.random.seed(restart)

        def rng(self, salt):
            return np.random.default_rng([0, salt])
    return craft(_R(), name, kwargs, clf, x, y)


def _pgd(eps, steps=20, loss="margin", restarts=1, norm="inf"):
    from archsim.robustness.attacks import AttackSpec
    spec = AttackSpec("pgd", (("eps", eps), ("max_iter", steps), ("rel_step", 2.5),
                              ("loss", loss), ("num_random_init", restarts), ("norm", norm)))
    return spec.runs()[0][1]


def _fooled(net, x_adv, y, multiplier=None):
    return forward(net, x_adv, multiplier).argmax(1) != y


def _l2(a, b):
    return np.sqrt(((a - b) ** 2).reshape(len(a), -1).sum(1))


@pytest.mark.torch
def test_unbounded_attacks_reach_95_percent_on_exact(mnist):
    """With eps = 1 (the whole pixel range) PGD must fool essentially every image, and DDN
    (unbounded by construction) every image; a broken attack cannot."""
    net, x, y, _ = mnist
    clf = _clf(net)
    adv = _craft("pgd", _pgd(1.0, steps=10), clf, x, y)
    assert _fooled(net, adv, y).mean() >= 0.95
    from archsim.robustness.attacks import ATTACKS
    ddn_kw = dict(ATTACKS["ddn"].defaults) | dict(ATTACKS["ddn"].extras) | {"steps": 50}
    adv = _craft("ddn", ddn_kw, clf, x, y)
    assert _fooled(net, adv, y).mean() >= 0.95


@pytest.mark.torch
def test_min_norm_attack_is_below_deepfool(mnist):
    """DDN's median L2 on the exact LeNet is below DeepFool's (ART) on the same images."""
    from archsim.robustness.attacks import ATTACKS
    net, x, y, _ = mnist
    clf = _clf(net)
    ddn_kw = dict(ATTACKS["ddn"].defaults) | dict(ATTACKS["ddn"].extras)
    d_ddn = _l2(a := _craft("ddn", ddn_kw, clf, x, y), x)
    d_ddn[~_fooled(net, a, y)] = np.inf
    df = _craft("deepfool", {"max_iter": 50}, clf, x, y)
    d_df = _l2(df, x)
    d_df[~_fooled(net, df, y)] = np.inf
    assert np.isfinite(np.median(d_ddn))
    assert np.median(d_ddn) < 0.95 * np.median(d_df)


@pytest.mark.torch
def test_bpda_through_bit_level_exact_multiplier_matches_float_whitebox(mnist):
    """BPDA on the bit-level `exact` multiplier (IEEE RNE products, float32 accumulation) must
    give the float white-box result: same success within 1 image, mostly the same images."""
    import archsim_core
    net, x, y, _ = mnist
    x, y = x[:16], y[:16]
    mult = archsim_core.get_multiplier("exact")
    kw = _pgd(0.15, steps=10)
    f_float = _fooled(net, _craft("pgd", kw, _clf(net), x, y), y)
    f_bpda = _fooled(net, _craft("pgd", kw, _clf(net, mult), x, y), y, mult)
    assert f_float.sum() >= 5                                   # the budget is not trivial
    assert abs(int(f_float.sum()) - int(f_bpda.sum())) <= 1
    assert (f_float == f_bpda).mean() >= 0.85


@pytest.mark.torch
def test_whitebox_on_da_is_at_least_its_transfer(mnist):
    """PGD run on `da` itself (BPDA, margin loss) fools da at least as often as the same PGD
    crafted on exact and transferred, and fools it often at eps 0.2."""
    import archsim_core
    net, x, y, _ = mnist
    x, y = x[:16], y[:16]
    da = archsim_core.get_multiplier("da")
    kw = _pgd(0.2, steps=10)
    transfer = _fooled(net, _craft("pgd", kw, _clf(net), x, y), y, da)
    white = _fooled(net, _craft("pgd", kw, _clf(net, da), x, y), y, da)
    assert white.sum() >= transfer.sum() and white.mean() >= 0.5


@pytest.mark.torch
def test_confidence_margin_transfers_to_a_nearby_model(mnist):
    """Examples with a C&W confidence margin of 5 (DDN with the margin criterion) crafted on
    exact fool the fp16-weight twin (a nearby model) on >= 90% of images, and at least as
    often as margin-0 examples do."""
    from archsim.robustness import adaptive
    from archsim.robustness.attacks import ATTACKS
    net, x, y, _ = mnist
    near = adaptive.round_weights(net, "fp16-weights")
    base = dict(ATTACKS["ddn"].defaults) | dict(ATTACKS["ddn"].extras) | {"steps": 50}
    f0 = _fooled(near, _craft("ddn", base, _clf(net), x, y), y)
    f5 = _fooled(near, _craft("ddn", base | {"confidence": 5.0}, _clf(net), x, y), y)
    assert f5.mean() >= 0.9 and f5.sum() >= f0.sum()


def test_bpda_ce_is_masked_by_da_logit_magnification(mnist):
    """The review's finding, as a check of the loss choice: on da, float32 softmax of most
    correctly classified images is exactly 1.0, so cross-entropy gradients vanish; the margin
    loss is unaffected. (Oracle: float64 softmax of the float32 logits.)"""
    import archsim_core
    net, x, y, _ = mnist
    z = forward(net, x, archsim_core.get_multiplier("da"))
    p32 = np.exp(z - z.max(1, keepdims=True)).astype(np.float32)
    p32 = p32 / p32.sum(1, keepdims=True, dtype=np.float32)
    saturated = p32[np.arange(len(y)), y] == np.float32(1.0)
    z_e = forward(net, x)
    q = np.exp(z_e - z_e.max(1, keepdims=True)).astype(np.float32)
    q = q / q.sum(1, keepdims=True, dtype=np.float32)
    assert saturated.mean() > 0.5 > (q[np.arange(len(y)), y] == np.float32(1.0)).mean()


def test_controls_differ_from_exact_by_the_intended_amount(mnist):
    import archsim_core
    import torch
    from archsim.robustness import adaptive
    net, x, y, test = mnist
    calib = test.x[:64]
    w = [layer.weight for layer in net.layers if hasattr(layer, "weight")]
    # fp16 / bf16: numpy's float16 and torch's bfloat16 rounding (independent oracles)
    f16 = [lay.weight for lay in adaptive.round_weights(net, "fp16-weights").layers
           if hasattr(lay, "weight")]
    b16 = [lay.weight for lay in adaptive.round_weights(net, "bf16-weights").layers
           if hasattr(lay, "weight")]
    for a, h, b in zip(w, f16, b16):
        np.testing.assert_array_equal(h, a.astype(np.float16).astype(np.float32))
        np.testing.assert_array_equal(b, torch.from_numpy(np.array(a)).to(torch.bfloat16)
                                      .to(torch.float32).numpy())
        assert not np.array_equal(b, a)
    # the bit-level exact multiplier: gain 1, no residual; da: a systematic gain per layer
    ex = adaptive.measure_layers(net, archsim_core.get_multiplier("exact"), calib)
    assert all(abs(m["gain"] - 1) < 1e-5 and m["residual"] < 1e-5 for m in ex)
    da = archsim_core.get_multiplier("da")
    st = adaptive.measure_layers(net, da, calib)
    assert all(1.2 < m["gain"] < 1.8 for m in st)
    mag = lambda a, b: np.median(np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))
    z_e, z_da = forward(net, calib), forward(net, calib, da)
    scaled = adaptive.scaled_like(net, st, "da")
    assert mag(forward(scaled, calib), z_e) == pytest.approx(mag(z_da, z_e), rel=0.05)
    noisy = adaptive.noise_like(net, st, "da", calib, np.random.default_rng(0))
    assert mag(forward(noisy, calib), z_e) == pytest.approx(1.0, abs=0.1)
    # the noise control's per-layer output error matches da's residual (measured through a
    # "multiplier" that is the noisy network's layer: compare layer outputs directly)
    for (i, lay), m in zip([(i, lay) for i, lay in enumerate(net.layers)
                            if hasattr(lay, "weight")], st):
        h = forward_prefix(net, calib, i)
        e = _layer_out(lay, h)
        d = _layer_out(noisy.layers[i], h) - e
        assert np.sqrt((d ** 2).mean()) / np.sqrt((e ** 2).mean()) == \
            pytest.approx(m["residual"], rel=0.05)


def forward_prefix(net, x, stop):
    from archsim.nn.network import apply_layer
    h = x
    for layer in net.layers[:stop]:
        h = apply_layer(layer, h, None)
    return h


def _layer_out(layer, h):
    from dataclasses import replace
    from archsim.nn.network import apply_layer
    return apply_layer(replace(layer, bias=np.zeros_like(layer.bias)), h, None).astype(np.float64)


def test_decision_success_excludes_the_seeded_start():
    """A query equal to the given start, or made while searching for it, is never the result."""
    from archsim.robustness.attacks import QueryBudget

    def model(b):
        m = b.reshape(len(b), -1).mean(1)
        return np.stack([0.5 - m, m - 0.5], 1)
    qb = QueryBudget(model, budget=10)
    x = np.full((1, 2, 2), 0.2, np.float32)
    qb.reset(x, 0)
    qb.tracking = False
    start = np.full((1, 2, 2), 0.9, np.float32)
    qb(start[None])                           # the search for a start: not tracked
    qb.starting_point(start)
    assert qb.best is None and qb.used == 1
    qb(start[None])                           # the attack re-queries its start: excluded
    assert qb.best is None
    qb(np.full((1, 1, 2, 2), 0.7, np.float32))  # the attack's own adversarial point
    assert qb.best_l2 == pytest.approx(1.0) and qb.used == 3
