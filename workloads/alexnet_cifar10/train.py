"""Train the CIFAR-10 AlexNet (archsim/nn/alexnet_cifar.py) deterministically with PyTorch (optional extra).

    python workloads/alexnet_cifar10/train.py --data-dir CACHE            # the shipped target:
        # --epochs 20 --seed 0 --threads 2 (the defaults), about 17 min on an idle 2-core machine
    python workloads/alexnet_cifar10/train.py --data-dir CACHE --epochs 8 --seed 1 \\
        --out workloads/alexnet_cifar10/alexnet_cifar10_proxy.npz      # the attacker's proxy

Inputs are pixels/255 in [0,1] with no normalisation, so attack budgets are in pixel units.
Determinism: fixed seed for the initial weights (torch.manual_seed), a separate numpy
generator (seeded from the same seed) for the epoch order and the augmentation (random crop
with 4-pixel zero padding, horizontal flip), torch.use_deterministic_algorithms(True) and a
fixed thread count. Same seed + thread count + torch build -> same weights; a different
thread count changes the float summation order and so the weights. Two threads are about
1.8x faster than one on an idle 2-core machine; on an oversubscribed one use --threads 1
(OpenMP workers waiting on each other cost about 4x the CPU per epoch there).
The weights are written as float16 npz with keys conv1_weight, conv1_bias, ..., fc3_bias,
and the clean test accuracy of float32 inference from those float16 weights is printed.
A checkpoint `<out>.epoch<k>.npz` is written after every epoch (a run cut short leaves the
weights of its last finished epoch, which are the same as that epoch's in the full run).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from archsim.nn.cifar10 import load_cifar10_uint8  # noqa: E402

LAYER_NAMES = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc1", "fc2", "fc3")


class AlexNetCifar(nn.Module):
    """The fixed architecture: 5 conv (5,5,3,3,3) + 3 FC, ReLU, three 2x2 max-pools."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 5, padding=2)
        self.conv2 = nn.Conv2d(32, 64, 5, padding=2)
        self.conv3 = nn.Conv2d(64, 96, 3, padding=1)
        self.conv4 = nn.Conv2d(96, 96, 3, padding=1)
        self.conv5 = nn.Conv2d(96, 64, 3, padding=1)
        self.fc1 = nn.Linear(1024, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, x):
        relu, pool = torch.relu, nn.functional.max_pool2d
        x = pool(relu(self.conv1(x)), 2)
        x = pool(relu(self.conv2(x)), 2)
        x = relu(self.conv3(x))
        x = relu(self.conv4(x))
        x = pool(relu(self.conv5(x)), 2)
        x = torch.flatten(x, 1)
        x = relu(self.fc1(x))
        x = relu(self.fc2(x))
        return self.fc3(x)


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random crop (4-pixel zero padding) and horizontal flip of a uint8 [B,3,32,32] batch."""
    b = len(x)
    padded = np.pad(x, ((0, 0), (0, 0), (4, 4), (4, 4)))
    dy, dx = rng.integers(0, 9, size=b), rng.integers(0, 9, size=b)
    flip = rng.random(b) < 0.5
    out = np.empty_like(x)
    for i in range(b):
        crop = padded[i, :, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32]
        out[i] = crop[:, :, ::-1] if flip[i] else crop
    return out


def to_tensor(x_uint8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x_uint8.astype(np.float32) / np.float32(255.0))


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray, batch: int = 1000) -> float:
    """Top-1 accuracy of `model` on uint8 images."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(y), batch):
            pred = model(to_tensor(x[s:s + batch])).argmax(1).numpy()
            correct += int((pred == y[s:s + batch]).sum())
    return correct / len(y)


def save_float16(model: nn.Module, path: Path) -> None:
    arrays = {}
    for name in LAYER_NAMES:
        layer = getattr(model, name)
        arrays[f"{name}_weight"] = layer.weight.detach().numpy().astype(np.float16)
        arrays[f"{name}_bias"] = layer.bias.detach().numpy().astype(np.float16)
    np.savez_compressed(path, **arrays)


def load_float16(model: nn.Module, path: Path) -> None:
    """Load float16 weights back as float32 (what the numpy inference uses)."""
    z = np.load(path)
    with torch.no_grad():
        for name in LAYER_NAMES:
            layer = getattr(model, name)
            layer.weight.copy_(torch.from_numpy(z[f"{name}_weight"].astype(np.float32)))
            layer.bias.copy_(torch.from_numpy(z[f"{name}_bias"].astype(np.float32)))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True, help="directory with cifar-10-batches-py")
    p.add_argument("--out", type=Path, default=Path(__file__).with_name("alexnet_cifar10.npz"))
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3, help="peak AdamW learning rate")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--max-batches", type=int, default=None,
                   help="stop each epoch after this many batches (timing runs only)")
    return p.parse_args(argv)


def train(args) -> float:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)
    x_train, y_train = load_cifar10_uint8(args.data_dir, "train")
    x_test, y_test = load_cifar10_uint8(args.data_dir, "test")
    model = AlexNetCifar()
    steps_per_epoch = len(y_train) // args.batch_size  # drop the ragged last batch
    total = args.epochs * steps_per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total,
                                                pct_start=0.15)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        model.train()
        t0, order, run_loss = time.perf_counter(), rng.permutation(len(y_train)), 0.0
        n_batches = steps_per_epoch if args.max_batches is None else args.max_batches
        for k in range(n_batches):
            idx = order[k * args.batch_size:(k + 1) * args.batch_size]
            xb = to_tensor(augment(x_train[idx], rng))
            loss = loss_fn(model(xb), torch.from_numpy(y_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            run_loss += loss.item()
        train_s = time.perf_counter() - t0
        acc = evaluate(model, x_test[:2000], y_test[:2000])  # progress only: a 2k subset
        print(f"epoch {epoch + 1}/{args.epochs} loss {run_loss / n_batches:.4f} "
              f"test_acc_first2000 {acc:.4f} train_time_s {train_s:.1f}", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        save_float16(model, args.out.with_suffix(f".epoch{epoch + 1}.npz"))
    save_float16(model, args.out)
    load_float16(model, args.out)
    acc16 = evaluate(model, x_test, y_test)
    print(f"saved {args.out}; clean test accuracy (float16 weights, float32 inference) "
          f"{acc16:.4f}", flush=True)
    return acc16


if __name__ == "__main__":
    train(parse_args())
