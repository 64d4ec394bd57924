"""Train the classic LeNet-5 (ReLU, max pooling) on MNIST, deterministically.

    nice -n 10 python workloads/lenet5_mnist/train.py --data-dir ../shared/data/mnist \
        --out workloads/lenet5_mnist/lenet5_mnist.npz

Seed 0, 2 threads, deterministic torch algorithms, a fixed shuffling generator: the same
command gives the same weights on the same machine/torch build. Weights are stored as float16
(npz keys conv1_weight ... fc3_bias); the reported accuracy is measured AFTER the float16
rounding with archsim's own numpy inference. The robustness experiments use this network as
the black-box attacker's proxy model (architecture and training independent of the target).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def init_params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """He-uniform weights, zero biases, for every key of the lenet5 architecture."""
    from archsim.nn.architectures import expected_shapes
    params = {}
    for key, shape in expected_shapes("lenet5").items():
        if key.endswith("_bias"):
            params[key] = np.zeros(shape, np.float32)
        else:
            fan_in = int(np.prod(shape[1:]))
            bound = np.sqrt(6.0 / fan_in)
            params[key] = rng.uniform(-bound, bound, size=shape).astype(np.float32)
    return params


def train(data_dir: str, epochs: int, seed: int, batch_size: int, lr: float):
    """Adam on the 60k training images; returns the trained archsim Network."""
    import torch
    from archsim.nn.architectures import build_network
    from archsim.nn.mnist import load_mnist
    from archsim.nn.torch_bridge import network_from_module, torch_module
    torch.manual_seed(seed)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    net = build_network("lenet5", init_params(np.random.default_rng(seed)), name="lenet5")
    module = torch_module(net)
    train_split = load_mnist(data_dir, "train")
    x, y = torch.from_numpy(train_split.x.copy()), torch.from_numpy(train_split.y.copy())
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        order = torch.randperm(len(y), generator=gen)
        total = 0.0
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            loss = torch.nn.functional.cross_entropy(module(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        print(f"epoch {epoch + 1}/{epochs}: mean loss {total / len(y):.4f}", file=sys.stderr)
    return network_from_module(module, "lenet5", name="lenet5")


def main(argv=None) -> int:
    """Train, store float16 weights, report test accuracy of the stored weights."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", default=str(Path(__file__).with_name("lenet5_mnist.npz")))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args(argv)
    from archsim.nn.architectures import load_network, save_network
    from archsim.nn.mnist import load_mnist
    from archsim.nn.network import predict_labels
    net = train(args.data_dir, args.epochs, args.seed, args.batch_size, args.lr)
    save_network(net, args.out)
    stored = load_network(args.out, "lenet5")
    test = load_mnist(args.data_dir, "test")
    correct = int((predict_labels(stored, test.x) == test.y).sum())
    print(f"{args.out}: test accuracy {correct}/{len(test.y)} = {correct / len(test.y):.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
