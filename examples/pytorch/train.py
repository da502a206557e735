#!/usr/bin/env python3
"""A small, real PyTorch training run to track with carbontrack.

An MLP learns a synthetic 10-class problem generated here from a fixed seed
(no downloads). It runs on the CPU, or on the first CUDA GPU when there is
one. Each epoch prints, in Keras' format, "Epoch N/TOTAL" when it starts and
a line with its loss and accuracy when it ends, flushed at once, so that

    carbontrack run --epochs 3 --epochs-from keras -- python3 examples/pytorch/train.py --epochs 3

sees every epoch as it happens (no -u needed).

Works with Debian's python3-torch (1.13) and newer.
"""

import argparse
import sys
import time

import torch
from torch import nn


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=3, help="number of epochs (default 3)")
    p.add_argument("--batch-size", type=int, default=128, help="samples per step (default 128)")
    p.add_argument("--samples", type=int, default=16384, help="training samples (default 16384)")
    p.add_argument("--hidden", type=int, default=256, help="width of the hidden layers (default 256)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate (default 0.001)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data and the weights (default 0)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads torch may use (default 2)")
    p.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda[:N]")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.samples < 1:
        p.error("--epochs, --batch-size and --samples must be at least 1")
    return args


def make_data(n, features, classes, generator):
    """Gaussian clusters, several per class, passed through a fixed random
    non-linear map: not linearly separable, learnable by an MLP."""
    per_class = 4
    centers = torch.randn(classes * per_class, features, generator=generator) * 0.6
    which = torch.randint(0, classes * per_class, (n,), generator=generator)
    x = centers[which] + torch.randn(n, features, generator=generator)
    mix = torch.randn(features, features, generator=generator) / features ** 0.5
    x = torch.tanh(x @ mix) + 0.1 * x
    y = which % classes
    return x, y


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)

    features, classes = 64, 10
    g = torch.Generator().manual_seed(args.seed)
    x, y = make_data(args.samples, features, classes, g)
    x, y = x.to(device), y.to(device)

    model = nn.Sequential(
        nn.Linear(features, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, classes),
    ).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    steps = (args.samples + args.batch_size - 1) // args.batch_size
    print(f"training an MLP ({sum(p.numel() for p in model.parameters())} parameters) on "
          f"{args.samples} samples, {steps} steps per epoch, on {device}", flush=True)

    for epoch in range(1, args.epochs + 1):
        print(f"Epoch {epoch}/{args.epochs}", flush=True)
        began = time.perf_counter()
        model.train()
        order = torch.randperm(args.samples, generator=g).to(device)
        total_loss = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.long, device=device)
        for i in range(steps):
            idx = order[i * args.batch_size:(i + 1) * args.batch_size]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            total_loss += loss.detach() * len(idx)
            correct += (out.argmax(1) == yb).sum()
        loss_v = total_loss.item() / args.samples  # .item() waits for a GPU
        acc = correct.item() / args.samples
        secs = time.perf_counter() - began
        # Keras' end-of-epoch line: steps, time, time per step, metrics.
        print(f"{steps}/{steps} - {secs:.1f}s - {secs / steps * 1e3:.0f}ms/step"
              f" - loss: {loss_v:.4f} - accuracy: {acc:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
