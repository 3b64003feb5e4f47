"""Two trained digit networks as one: `digitcam train --join A.pt B.pt --out joined.pt`.

The joined network runs both members' convolutions side by side and one last layer over
their features put together. That layer is the mean of the members' calibrated last
layers, so its logits are the mean of theirs: an ensemble of two, in one graph with one
`probs`, one `not_digit` and one `features` output, which `export`, `--half` and the
device's adapt (a last layer over `features`) handle like any other model.

Two networks trained with different seeds and data err on different images, so the mean is
right more often than either: the shipped pair of harvest-trained networks reads 99.67% and
99.59% of the MNIST test digits alone and 99.75% joined. It costs two networks' time and
weights (stored in half precision, `export --half`, it stays under 300 KB).

`digitcam train --soup A.pt B.pt [C.pt ...] --out soup.pt` averages the weights of networks
fine-tuned from one network (`--init`, other data shares, learning rates or epochs) into one
network of the members' shape and cost, batch-norm statistics included (a "model soup":
Wortsman et al., ICML 2022). Fine-tunes of one network stay close enough for their mean to
read about as well as the best of them; networks trained from scratch do not (join those).

Either way the temperature is fitted again on the MNIST training digits that every member
held out for validation (their seeds' validation splits overlap; with the same seed they are
the same 5,000), with negatives made from them, never on the test set. A lone-digit judge is
not carried over: refit it on the result (`python -m training.judge --lone`).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from pathlib import Path
from typing import cast

import numpy as np
import torch

from training.batches import validation_negatives
from training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from training.mnist import ensure_mnist, load_split, resolve_data_dir, validation_split
from training.model import DIGITS, DigitNet, ModelConfig, Towers, count_parameters
from training.predict import calibrate, predict_logits

logger = logging.getLogger(__name__)


class JoinError(Exception):
    """The networks cannot be joined (different shapes, or already joined)."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="digitcam train --join", description=__doc__.split("\n")[0])
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--join", type=Path, nargs=2, metavar="CHECKPOINT")
    how.add_argument(
        "--soup",
        type=Path,
        nargs="+",
        metavar="CHECKPOINT",
        help="fine-tunes of one network: one network with the mean of their weights",
    )
    p.add_argument("--out", type=Path, required=True, help="the joined checkpoint")
    p.add_argument("--data-dir", help="MNIST folder (default $DIGITCAM_DATA_DIR or ./data/mnist)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    paths = args.join or args.soup
    how = "join" if args.join else "soup"
    try:
        members = [load_checkpoint(path) for path in paths]
        nets = [net for net, _ in members]
        net = join_networks(nets) if args.join else soup_networks(nets)
    except (CheckpointError, JoinError) as exc:
        raise SystemExit(f"digitcam train --{how}: {exc}") from None
    data_dir = ensure_mnist(resolve_data_dir(args.data_dir))
    x_all, y_all = load_split(data_dir, "train")
    x_test, y_test = load_split(data_dir, "test")
    member_args = [ckpt.get("train_args", {}) for _, ckpt in members]
    held = shared_validation(len(x_all), member_args)
    for path, (member, _) in zip(paths, members, strict=True):
        print(f"{path}: MNIST test {accuracy(predict_logits(member, x_test), y_test):.2%}")
    test_logits = predict_logits(net, x_test)
    joined = accuracy(test_logits, y_test)
    calibration = {"temperature": float(net.temperature), "mnist_test_ece_before": float("nan")}
    if len(held):
        share = float(member_args[0].get("negative_share", 0.0))
        negatives = validation_negatives(x_all[held], y_all[held], len(held), share, seed=1)
        calibration = calibrate(net, x_all[held], y_all[held], negatives, test_logits, y_test)
    print(
        f"{how}: {count_parameters(net):,} parameters, MNIST test {joined:.2%}, temperature "
        f"{calibration['temperature']:.4f} (fitted on {len(held)} digits every member held out), "
        f"MNIST test ECE {calibration.get('mnist_test_ece', float('nan')):.4f}"
    )
    digest = hashlib.sha256()
    for _, ckpt in members:
        digest.update(str(ckpt.get("train_data_sha256", "")).encode())
    save_checkpoint(
        args.out,
        net,
        net.config,
        argparse.Namespace(**{how: [str(p) for p in paths], "members": member_args}),
        [],
        joined,
        sum(float(ckpt.get("train_seconds", 0.0)) for _, ckpt in members),
        digest.hexdigest(),
        calibration,
    )
    print(f"checkpoint written to {args.out}")
    return 0


def same_shape(members: list[DigitNet]) -> ModelConfig:
    """The members' shared shape; JoinError where they differ or one is already joined."""
    first = members[0].config
    for member in members:
        if member.config.towers != 1:
            raise JoinError("a joined network cannot be joined again")
        if (member.config.channels, member.config.num_classes, member.config.pool) != (
            first.channels,
            first.num_classes,
            first.pool,
        ):
            raise JoinError(
                "the networks differ in shape: "
                + ", ".join(
                    f"{m.config.channels} {m.config.num_classes} classes pool {m.config.pool}"
                    for m in members
                )
            )
    return first


def soup_networks(members: list[DigitNet]) -> DigitNet:
    """One network of the members' shape with the mean of their weights (batch-norm
    statistics too; the count of batches seen from the first member)."""
    if len(members) < 2:
        raise JoinError("a soup needs at least two networks")
    net = DigitNet(same_shape(members))  # one tower, as every member has
    states = [member.state_dict() for member in members]
    mean = {
        key: torch.stack([state[key].float() for state in states]).mean(0).to(value.dtype)
        if value.is_floating_point()
        else value.clone()
        for key, value in states[0].items()
    }
    net.load_state_dict(mean)  # the members' mean temperature, until fitted again
    return net.eval()


def join_networks(members: list[DigitNet]) -> DigitNet:
    """One network whose logits are the mean of the members' calibrated logits."""
    first = same_shape(members)
    net = DigitNet(
        ModelConfig(first.channels, first.num_classes, first.dropout, len(members), first.pool)
    )
    weights, biases = [], []
    with torch.no_grad():
        towers = cast(Towers, net.features).towers  # ModelConfig(towers=len(members))
        for tower, member in zip(towers, members, strict=True):
            tower.load_state_dict(member.features.state_dict())
            last = cast(torch.nn.Linear, member.head[-1])
            weights.append(last.weight / member.temperature / len(members))
            biases.append(last.bias / member.temperature / len(members))
        head = cast(torch.nn.Linear, net.head[-1])
        head.weight.copy_(torch.cat(weights, dim=1))
        head.bias.copy_(torch.stack(biases).sum(dim=0))
        net.temperature.fill_(1.0)
    return net.eval()


def shared_validation(count: int, train_args: list[dict]) -> np.ndarray:
    """Indices of the MNIST training images that every member held out for validation."""
    held: set[int] | None = None
    for args in train_args:
        if "seed" not in args or "val_size" not in args:
            return np.zeros(0, np.int64)
        indices = set(validation_split(count, int(args["seed"]), int(args["val_size"]))[0].tolist())
        held = indices if held is None else held & indices
    return np.array(sorted(held or ()), np.int64)


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Share of digits whose best digit logit is their label."""
    return float((logits[:, :DIGITS].argmax(1) == labels).mean())
