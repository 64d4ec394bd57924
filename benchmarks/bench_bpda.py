"""White-box attack cost on the approximate network, before and after this round's speed-ups,
beside the float32 anchor, in one run.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_bpda.py --data-dir ../shared/data
        [--variant da] [--images 128] [--sweep-images 64] [--repeats 3]

Part 1, one attack step (forward + input gradient of the margin loss) per image, batch of
`--images` MNIST test images through the DA LeNet:
- anchor: the exact float32 network in torch (autograd);
- BPDA before: the backward re-ran the exact layer under autograd and returned weight and
  bias gradients too (reproduced here as `_NaiveBPDA`, the code this round replaced);
- BPDA after: archsim's torch_bridge (input gradient only, by torch's conv/linear gradient
  formulas; parameters frozen for attacks).
Part 2, the white-box PGD sweep of configs/robustness_mnist_full.yaml (eps 0.05..0.3, margin
loss, 2 random starts; `--steps` per start) on `--sweep-images` images of the variant:
- before: every eps run independently on every image, ART running both starts on all images;
- after: archsim.robustness.threats._attack_model, eps in increasing order carrying images
  already fooled, starts one at a time on the images not yet fooled.
Both report wall time and the number of fooled images per eps (they must agree up to the
carried images, which can only add). The load average is printed: the machine is shared.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_DATA = os.environ.get("ARCHSIM_DATA_DIR", str(REPO.parent / "shared" / "data"))
EPS = (0.05, 0.1, 0.15, 0.2, 0.3)


def _naive_module(net, mult):
    """The BPDA module as it was before: backward recomputes the exact layer under autograd
    and returns input, weight and bias gradients; parameters trainable."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from archsim.nn.network import Conv2d, Linear, MaxPool2d, ReLU, apply_layer

    def exact(layer, x, w, b):
        if isinstance(layer, Conv2d):
            return F.conv2d(x, w, b, stride=layer.stride, padding=layer.padding)
        return F.linear(x, w, b)

    class _NaiveBPDA(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, b, layer):
            ctx.save_for_backward(x, w, b)
            ctx.layer = layer
            out = apply_layer(layer, np.ascontiguousarray(x.detach().numpy()), mult)
            return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))

        @staticmethod
        def backward(ctx, grad):
            x, w, b = ctx.saved_tensors
            with torch.enable_grad():
                xs, ws, bs = (t.detach().requires_grad_() for t in (x, w, b))
                gx, gw, gb = torch.autograd.grad(exact(ctx.layer, xs, ws, bs), (xs, ws, bs),
                                                 grad)
            return gx, gw, gb, None

    class Naive(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.params = torch.nn.ParameterDict({
                k: torch.nn.Parameter(torch.from_numpy(np.array(v, dtype=np.float32)))
                for k, v in net.parameters().items()})

        def forward(self, x):
            for layer in net.layers:
                if isinstance(layer, (Conv2d, Linear)):
                    x = _NaiveBPDA.apply(x, self.params[layer.name + "_weight"],
                                         self.params[layer.name + "_bias"], layer)
                elif isinstance(layer, ReLU):
                    x = F.relu(x)
                elif isinstance(layer, MaxPool2d):
                    x = F.max_pool2d(x, layer.kernel, layer.stride)
                else:
                    x = torch.flatten(x, 1)
            return x

    return Naive()


def _step_time(module, x, y, repeats):
    import torch

    from archsim.robustness.adaptive import loss_module
    crit = loss_module("margin")
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype("int64"))
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        d = xt.clone().requires_grad_(True)
        g, = torch.autograd.grad(crit(module(d), yt), d)
        best = min(best, time.perf_counter() - t)
    return best / len(x), g.numpy()


class _Runner:
    """The slice of the robustness Runner the white-box pieces use (one model, seeded)."""

    def __init__(self, net, variant):
        from archsim.nn.network import resolve_multiplier
        self.net, self.variant, self.mult = net, variant, resolve_multiplier(variant)
        self.config = type("C", (), {"batch_size": 128, "seed": 0, "dataset": "mnist"})()
        self.test = type("T", (), {"num_classes": 10})()

    def seed_libraries(self, restart=0):
        import numpy as np
        import torch
        np.random.seed(restart)
        torch.manual_seed(restart)

    def model(self, name):
        from archsim.robustness.adaptive import Model
        return Model(name, self.net, self.variant)

    def multiplier(self, variant):
        return self.mult

    def logits(self, name, x):
        from archsim.nn.network import forward
        return forward(self.net, x, self.mult)

    def rng(self, salt):
        import numpy as np
        return np.random.default_rng([0, salt])


def _pgd(eps, steps, restarts):
    from archsim.robustness.attacks import AttackSpec
    return AttackSpec("pgd", (("eps", eps), ("max_iter", steps), ("rel_step", 2.5),
                              ("loss", "margin"), ("num_random_init", restarts))).runs()[0][1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=DEFAULT_DATA)
    ap.add_argument("--variant", default="da")
    ap.add_argument("--images", type=int, default=128)
    ap.add_argument("--sweep-images", type=int, default=64)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    import numpy as np
    import torch
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))

    from archsim.nn.architectures import load_network
    from archsim.nn.datasets import load_split
    from archsim.nn.network import forward, resolve_multiplier
    from archsim.nn.torch_bridge import torch_module
    from archsim.robustness import threats
    data = Path(args.data_dir)
    net = load_network(data / "da_lenet_official.npz", "da-lenet")
    test = load_split("mnist", data, "test")
    mult = resolve_multiplier(args.variant)
    print(f"load average at start: {os.getloadavg()[0]:.2f}; torch threads "
          f"{torch.get_num_threads()}")

    x, y = test.x[:args.images].astype(np.float32), test.y[:args.images]
    t_float, _ = _step_time(torch_module(net, trainable=False), x, y, args.repeats)
    t_before, g_before = _step_time(_naive_module(net, mult), x, y, args.repeats)
    t_after, g_after = _step_time(torch_module(net, args.variant, trainable=False), x, y,
                                  args.repeats)
    same = float(np.abs(g_before - g_after).max() / max(np.abs(g_before).max(), 1e-30))
    print(f"\none attack step (forward + input gradient), ms per image, batch {len(x)}")
    print(f"  anchor float32 torch             {t_float * 1e3:8.3f}")
    print(f"  BPDA {args.variant:6s} before             {t_before * 1e3:8.3f}   "
          f"x{t_before / t_float:.2f} the anchor")
    print(f"  BPDA {args.variant:6s} after              {t_after * 1e3:8.3f}   "
          f"x{t_after / t_float:.2f} the anchor; before/after = x{t_before / t_after:.2f}")
    print(f"  gradients before vs after: max relative difference {same:.2e}")

    ok = forward(net, test.x[:4 * args.sweep_images], mult).argmax(1) == \
        test.y[:4 * args.sweep_images]
    xs, ys = test.x[:4 * args.sweep_images][ok][:args.sweep_images], \
        test.y[:4 * args.sweep_images][ok][:args.sweep_images]
    runner = _Runner(net, args.variant)
    clf = threats.model_classifier(runner, "m", "margin")
    print(f"\nPGD sweep eps {list(EPS)}, {args.steps} steps x 2 starts, {len(ys)} images "
          f"on {args.variant}")
    t0 = time.perf_counter()
    before = []
    for eps in EPS:
        adv = threats._craft(runner, "pgd", _pgd(eps, args.steps, 2), clf, xs, ys)
        before.append(int((runner.logits("m", adv).argmax(1) != ys).sum()))
    t_b = time.perf_counter() - t0
    t0 = time.perf_counter()
    after, start, done = [], None, None
    for eps in EPS:
        start, done = threats._attack_model(runner, "pgd", _pgd(eps, args.steps, 2), "m", xs,
                                            ys, start, done)
        after.append(int(done.sum()))
    t_a = time.perf_counter() - t0
    print(f"  fooled per eps, before: {before}")
    print(f"  fooled per eps, after:  {after}   (after carries smaller-eps examples)")
    print(f"  wall before {t_b:7.1f} s, after {t_a:7.1f} s: before/after = x{t_b / t_a:.2f}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
