"""Refit the "not a digit" output of a trained 11-class model, leaving its digits untouched.

    python -m training.judge --checkpoint training/checkpoints/mnist-cnn.pt \\
        --data-dir ../shared/data/mnist --not-digit artifacts/harvest/not-digit \\
        --digits artifacts/harvest --out artifacts/judged.pt

The judge (edge.reader) leaves out a candidate whose `not_digit` is 0.5 or more. Trained on
synthetic negatives only, it takes some things the finder cuts from photos for digits: two
digits run into one blob above all (a 0 leaning on an 8 read as 8, a 2 touching a 1 as 4),
which then go out `ok` as a number one digit short. `mock_frames/harvest.py` collects such
candidates from wild-renderer photos of MNIST *training* images.

Only the last layer's not-digit row (64 weights and a bias) is refitted, on what the network
already computes for each image; the ten digit rows, and so `probs`, every digit's argmax,
the MNIST accuracy and the calibration of `confidence`, stay exactly as they were. The fit
is a logistic regression of P(not a digit) = softmax(logits / T)[10] against the other ten
logits as they are: on one side MNIST training digits (not the validation images, some
redrawn in continental forms) and the digits the reader cut from photos, on the other the
synthetic negatives and the harvested ones, each source weighted equally. Every fifth
harvested image and the MNIST validation images are kept out of the fit and reported.

`--lone` keeps the not-digit row as it is and stores the refitted one beside it as the
*lone-digit judge* (checkpoint key `lone_not_digit`, exported as the output
`not_digit_lone`): the reader asks it only about a reading of one digit, where a mark on an
empty page (a punched hole, a coffee ring, a hair, glare, the page's edge) is read as a 0 or
a 1, and a judge strict enough for that would drop real digits from numbers:

    python mock_frames/harvest.py --data-dir ../shared/data/mnist --numbers 1500 --single 500 \
        --not-digit-numbers 1500 --train-seed 1 --val-size 2000 --out artifacts/harvest-judge
    python mock_frames/harvest.py --data-dir ../shared/data/mnist --numbers 0 --single 0 \
        --not-digit-flawed 3000 --not-digit-blank 1000 --out artifacts/harvest-pages
    python -m training.judge --checkpoint training/checkpoints/mnist-cnn.pt \
        --data-dir ../shared/data/mnist --not-digit artifacts/harvest-pages/not-digit \
        --not-digit artifacts/harvest-judge/not-digit --digits artifacts/harvest-judge \
        --val-size 2000 --train-seed 1 --lone --out artifacts/mnist-cnn-lone.pt
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import cast

import numpy as np
import torch

from training.checkpoint import load_checkpoint
from training.extra_data import load_extra_data, split_extra
from training.mnist import load_split, resolve_data_dir, validation_split
from training.model import DIGITS, LONE_KEY, NOT_DIGIT, DigitNet
from training.negatives import make_negatives
from training.strokes import StrokeConfig, continental_forms


def embed(net: DigitNet, images: np.ndarray) -> torch.Tensor:
    """What the last layer sees, [N,F], for uint8 or 0..1 float images [N,28,28]."""
    x = torch.from_numpy(np.asarray(images, np.float32))
    if np.asarray(images).dtype == np.uint8:
        x = x / 255
    if len(x) == 0:
        return torch.zeros((0, net.width))
    with torch.no_grad():
        return torch.cat([net.embedding(x[i : i + 2048, None]) for i in range(0, len(x), 2048)])


def not_digit_share(net: DigitNet, features: torch.Tensor, weight, bias) -> np.ndarray:
    """P(not a digit) for each row of features under a not-digit row (weight, bias)."""
    with torch.no_grad():
        logits = net.head[-1](features)
        logits[:, NOT_DIGIT] = features @ weight + bias
        return torch.softmax(logits / net.temperature, dim=1)[:, NOT_DIGIT].numpy()


def fit_row(
    net: DigitNet,
    sources: list[tuple[torch.Tensor, float]],
    steps: int,
    decay: float,
    digit_weight: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The not-digit row that best separates the sources (features, 1.0 not-digit or 0.0)."""
    layer = cast(torch.nn.Linear, net.head[-1])
    weight = layer.weight[NOT_DIGIT].detach().clone().requires_grad_(True)
    bias = layer.bias[NOT_DIGIT].detach().clone().requires_grad_(True)
    with torch.no_grad():  # the digit rows' part of the softmax, fixed
        fixed = [
            (f, torch.logsumexp(layer(f)[:, :DIGITS] / net.temperature, dim=1), t)
            for f, t in sources
        ]
    start = weight.detach().clone()
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=steps, line_search_fn="strong_wolfe")

    def loss_fn() -> torch.Tensor:
        optimizer.zero_grad()
        loss = decay * (weight - start).square().sum()
        for features, others, target in fixed:
            margin = (features @ weight + bias) / net.temperature - others
            goal = torch.full_like(margin, target)
            weight_of = 1.0 if target else digit_weight
            loss = loss + weight_of * torch.nn.functional.binary_cross_entropy_with_logits(
                margin, goal
            )
        loss.backward()
        return loss

    optimizer.step(loss_fn)
    return weight.detach(), bias.detach()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="an 11-class checkpoint")
    parser.add_argument("--data-dir", help="MNIST folder")
    parser.add_argument("--not-digit", type=Path, action="append", required=True,
                        help="IDX folder of harvested not-digit images; repeatable")  # fmt: skip
    parser.add_argument("--digits", type=Path, action="append", default=[],
                        help="IDX folder of digits cut from photos; repeatable")  # fmt: skip
    parser.add_argument("--negatives", type=int, default=20000, help="synthetic negatives")
    parser.add_argument("--steps", type=int, default=200, help="L-BFGS iterations")
    parser.add_argument("--decay", type=float, default=1e-3, help="pull towards the old row")
    parser.add_argument("--digit-weight", type=float, default=1.0, help="of each digit source")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--lone", action="store_true",
                        help="store the refit as the lone-digit judge, not the row")  # fmt: skip
    parser.add_argument("--val-size", type=int, default=5000, help="as digitcam train")
    parser.add_argument("--train-seed", type=int, default=1, help="as digitcam train's --seed")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    net, ckpt = load_checkpoint(args.checkpoint)
    if net.config.num_classes != DIGITS + 1:
        raise SystemExit(f"{args.checkpoint}: a 10-class model has no not-digit output")
    rng = np.random.default_rng(args.seed)
    x_all, y_all = load_split(resolve_data_dir(args.data_dir), "train")
    val, train = validation_split(len(x_all), args.train_seed, args.val_size)
    x_train, y_train = x_all[train], y_all[train]
    digits = continental_forms(x_train.astype(np.float32) / 255, y_train, rng, StrokeConfig())
    synthetic = make_negatives(args.negatives, rng, x_train, y_train)
    val_rng = np.random.default_rng(args.seed + 1)
    val_synthetic = make_negatives(2000, val_rng, x_all[val], y_all[val])
    harvested, _ = load_extra_data(args.not_digit)
    cut, _ = load_extra_data(args.digits) if args.digits else (np.zeros((0, 28, 28)), None)
    held_not, held_cut = split_extra(np.zeros(len(harvested))), split_extra(np.zeros(len(cut)))
    sources = [  # (what the last layer sees, 1.0 not a digit or 0.0 a digit)
        (embed(net, digits), 0.0),
        (embed(net, synthetic), 1.0),
        (embed(net, harvested[~held_not]), 1.0),
        (embed(net, cut[~held_cut]), 0.0),
    ]
    sources = [(features, target) for features, target in sources if len(features)]
    weight, bias = fit_row(net, sources, args.steps, args.decay, args.digit_weight)
    layer = cast(torch.nn.Linear, net.head[-1])
    old = (layer.weight[NOT_DIGIT].detach().clone(), layer.bias[NOT_DIGIT].detach().clone())
    checks = {
        "MNIST validation digits called not-digit": embed(net, x_all[val]),
        "held-out synthetic negatives caught": embed(net, val_synthetic),
        "held-out harvested not-digits caught": embed(net, harvested[held_not]),
        "held-out digits cut from photos called not-digit": embed(net, cut[held_cut]),
    }
    report = {}
    for name, feats in checks.items():
        if len(feats) == 0:
            continue
        share_before = not_digit_share(net, feats, *old)
        share_after = not_digit_share(net, feats, weight, bias)
        before, after = float((share_before >= 0.5).mean()), float((share_after >= 0.5).mean())
        report[name] = {
            "images": len(feats),
            "before": before,
            "after": after,
            "mean_not_digit_before": float(share_before.mean()),
            "mean_not_digit_after": float(share_after.mean()),
        }
        print(f"{name} ({len(feats)}): {before:.2%} -> {after:.2%}")
    if args.lone:  # a second, stricter judge beside the first (training.model.ProbabilityNet)
        ckpt[LONE_KEY] = {"weight": weight.clone(), "bias": bias.clone()}
    else:
        with torch.no_grad():
            layer.weight[NOT_DIGIT] = weight
            layer.bias[NOT_DIGIT] = bias
        ckpt["state_dict"] = net.state_dict()
    # The model now also learnt from the harvested images: its data digest and date say so.
    digest = hashlib.sha256(str(ckpt.get("train_data_sha256", "")).encode())
    for folder in [*args.not_digit, *args.digits]:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(path.read_bytes())
    ckpt["train_data_sha256"] = digest.hexdigest()
    ckpt["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    ckpt["judge_refit"] = {
        "from": str(args.checkpoint),
        "not_digit_data": [str(p) for p in args.not_digit],
        "digit_data": [str(p) for p in args.digits],
        "synthetic_negatives": args.negatives,
        "digit_weight": args.digit_weight,
        "as": "lone-digit judge" if args.lone else "not-digit row",
        "report": report,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, args.out)
    args.out.with_suffix(".judge.json").write_text(json.dumps(ckpt["judge_refit"], indent=1))
    print(f"checkpoint written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
