"""The white-box speed-ups change the work, not the result.

- BPDA's backward computes only the gradients autograd asks for, with torch's conv/linear
  gradient formulas: checked against torch autograd through the exact layers (the oracle).
- An eps sweep carries images fooled at a smaller eps; restarts run one start at a time on the
  images earlier starts did not fool: checked by the examples' own norms and by re-running
  the pieces independently."""
import numpy as np
import pytest

from conftest import da_lenet_correct

from archsim.nn.network import forward

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def mnist(shared_data):
    return da_lenet_correct(shared_data, 40, 16)[:3]


def _autograd_reference(net, x, seed):
    """Input and weight gradients of a random linear functional of the exact network's
    logits, by plain torch autograd (F.conv2d / F.linear)."""
    import torch.nn.functional as F

    from archsim.nn.network import Conv2d, Linear, MaxPool2d, ReLU
    params = {k: torch.tensor(v, requires_grad=True) for k, v in net.parameters().items()}
    xt = torch.tensor(x, requires_grad=True)
    h = xt
    for layer in net.layers:
        if isinstance(layer, Conv2d):
            h = F.conv2d(h, params[layer.name + "_weight"], params[layer.name + "_bias"],
                         stride=layer.stride, padding=layer.padding)
        elif isinstance(layer, Linear):
            h = F.linear(h, params[layer.name + "_weight"], params[layer.name + "_bias"])
        elif isinstance(layer, ReLU):
            h = F.relu(h)
        elif isinstance(layer, MaxPool2d):
            h = F.max_pool2d(h, layer.kernel, layer.stride)
        else:
            h = torch.flatten(h, 1)
    c = torch.from_numpy(np.random.default_rng(seed).standard_normal(h.shape).astype(np.float32))
    (h * c).sum().backward()
    return c, xt.grad.numpy(), {k: p.grad.numpy() for k, p in params.items()}


def test_bpda_backward_through_exact_multiplier_equals_autograd(mnist):
    """With the bit-level `exact` multiplier the forward activations are IEEE float32's, so
    BPDA's hand-wired backward must equal autograd's gradients of the exact network: inputs
    (frozen module) and every weight and bias (trainable module)."""
    from archsim.nn.torch_bridge import torch_module
    net, x, _ = mnist
    c, gx_ref, gw_ref = _autograd_reference(net, x[:6], seed=1)
    for trainable in (False, True):
        m = torch_module(net, "exact", trainable=trainable)
        xt = torch.tensor(x[:6], requires_grad=True)
        (m(xt) * c).sum().backward()
        scale = np.abs(gx_ref).max()
        assert np.abs(xt.grad.numpy() - gx_ref).max() <= 1e-4 * scale
        for k, p in m.params.items():
            if not trainable:
                assert p.grad is None and not p.requires_grad
                continue
            ref = gw_ref[k]
            assert np.abs(p.grad.numpy() - ref).max() <= 1e-4 * np.abs(ref).max(), k


class _Runner:
    """The slice of Runner the white-box pieces use, over one model and exact float32."""

    def __init__(self, net, multiplier=None):
        from archsim.nn.network import resolve_multiplier
        self.net, self.mult = net, resolve_multiplier(multiplier)
        self.config = type("C", (), {"batch_size": 64, "seed": 0, "dataset": "mnist"})()
        self.test = type("T", (), {"num_classes": 10})()
        self.seeds = []

    def seed_libraries(self, restart=0):
        self.seeds.append(restart)
        np.random.seed(restart)
        torch.manual_seed(restart)

    def model(self, name):
        from archsim.robustness.adaptive import Model
        return Model(name, self.net, None)

    def multiplier(self, variant):
        return None

    def logits(self, name, x):
        return forward(self.net, x, self.mult)

    def rng(self, salt):
        return np.random.default_rng([0, salt])


def _pgd(eps, restarts=1, steps=10):
    from archsim.robustness.attacks import AttackSpec
    spec = AttackSpec("pgd", (("eps", eps), ("max_iter", steps), ("rel_step", 2.5),
                              ("loss", "margin"), ("num_random_init", restarts)))
    return spec.runs()[0][1]


def test_carried_images_keep_their_example_and_the_rest_are_attacked(mnist, monkeypatch):
    from archsim.robustness import threats
    net, x, y = mnist
    torch.set_num_threads(1)
    r = _Runner(net)
    small, f_small = threats._attack_model(r, "pgd", _pgd(0.08), "m", x, y)
    assert 0 < f_small.sum() < len(y)          # some, not all, fooled at the small eps
    assert np.abs(small - x).max() <= 0.08 + 1e-6
    attacked = []
    real = threats._craft

    def spy(runner, attack, kwargs, clf, xs, ys, restart=0):
        attacked.append(len(xs))
        return real(runner, attack, kwargs, clf, xs, ys, restart)

    monkeypatch.setattr(threats, "_craft", spy)
    big, f_big = threats._attack_model(r, "pgd", _pgd(0.2), "m", x, y, small, f_small)
    assert attacked == [int((~f_small).sum())]
    assert np.array_equal(big[f_small], small[f_small])           # carried unchanged
    assert (forward(net, big[f_small]).argmax(1) != y[f_small]).all()
    assert f_big[f_small].all() and f_big.sum() >= f_small.sum()
    assert np.abs(big - x).max() <= 0.2 + 1e-6
    # the images attacked afresh got exactly what an independent run gives them
    monkeypatch.setattr(threats, "_craft", real)
    todo = ~f_small
    alone, f_alone = threats._attack_model(r, "pgd", _pgd(0.2), "m", x[todo], y[todo])
    assert np.array_equal(alone, big[todo]) and np.array_equal(f_alone, f_big[todo])


def test_restarts_run_one_start_at_a_time_on_the_unfooled(mnist, monkeypatch):
    from archsim.robustness import threats
    net, x, y = mnist
    torch.set_num_threads(1)
    r = _Runner(net)
    one, f_one = threats._attack_model(r, "pgd", _pgd(0.06, restarts=1, steps=5), "m", x, y)
    calls = []
    real = threats._craft

    def spy(runner, attack, kwargs, clf, xs, ys, restart=0):
        calls.append((restart, len(xs), kwargs["num_random_init"]))
        return real(runner, attack, kwargs, clf, xs, ys, restart)

    monkeypatch.setattr(threats, "_craft", spy)
    three, f_three = threats._attack_model(r, "pgd", _pgd(0.06, restarts=3, steps=5), "m", x, y)
    assert [c[0] for c in calls] == list(range(len(calls))) and 1 <= len(calls) <= 3
    assert all(c[2] == 1 for c in calls)       # each call is one random start
    assert calls[0][1] == len(y)
    assert calls[1][1] == int((~f_one).sum()) if len(calls) > 1 else f_one.all()
    # start 0 is the single-start run; later starts only add fooled images
    assert np.array_equal(three[f_one], one[f_one]) and (f_three >= f_one).all()
    assert np.abs(three - x).max() <= 0.06 + 1e-6
    labels = forward(net, three).argmax(1)
    assert np.array_equal(labels != y, f_three)
