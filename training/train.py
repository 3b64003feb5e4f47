"""Train the digit CNN on MNIST. Reads top to bottom: arguments, data, model, loop, calibration,
checkpoint.

    digitcam train --out artifacts/mnist-cnn.pt            # 24 epochs
    digitcam train --dry-run            # a few steps, for CI

By default the network has an 11th class, "not a digit", learnt from synthetic negatives
(training/negatives.py), and some 1s, 4s, 7s and 9s are redrawn in continental forms
(training/strokes.py); `--no-negatives` and `--no-strokes` turn those off.

`digitcam train --printed --meter-data DIR` trains the printed-digit model instead
(training/printed_train.py).
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from training.augment import AugmentConfig
from training.batches import BatchMaker, BatchRecipe, validation_negatives
from training.checkpoint import CheckpointError, data_sha256, load_checkpoint, save_checkpoint
from training.extra_data import epoch_order, load_extra_data, split_extra
from training.mnist import ensure_mnist, load_split, resolve_data_dir, validation_split
from training.model import DIGITS, DigitNet, ModelConfig, count_parameters
from training.predict import calibrate, extra_accuracy, predict_logits, validation_figures
from training.strokes import StrokeConfig

logger = logging.getLogger(__name__)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(prog="digitcam train", description=__doc__)
    p.add_argument("--data-dir", help="MNIST folder (default $DIGITCAM_DATA_DIR or ./data/mnist)")
    p.add_argument(
        "--extra-data",
        action="append",
        default=[],
        type=Path,
        help="labelled examples exported by the device (IDX or PNG folder); repeatable",
    )
    p.add_argument(
        "--out", type=Path, default=Path("artifacts/mnist-cnn.pt"), help="checkpoint path"
    )
    p.add_argument("--epochs", type=int, default=24)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=4e-3, help="peak learning rate (one-cycle)")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--channels", type=int, nargs=3, default=list(ModelConfig.channels))
    p.add_argument(
        "--pool",
        type=int,
        choices=(1, 2),
        default=ModelConfig.pool,
        help="the last pooling's grid: 1 the whole map (shipped), 2 four quarters",
    )
    p.add_argument("--val-size", type=int, default=5000, help="training images held out")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    p.add_argument(
        "--init",
        type=Path,
        help="start from this checkpoint's weights (fine-tuning with --extra-data)",
    )
    p.add_argument(
        "--extra-share",
        type=float,
        default=0.3,
        help="share of each batch's digits taken from --extra-data (default 0.3)",
    )
    p.add_argument("--no-augment", action="store_true", help="no augmentation at all")
    p.add_argument("--no-strokes", action="store_true", help="no continental 1s, 4s, 7s, 9s drawn")
    p.add_argument(
        "--elastic",
        type=float,
        default=AugmentConfig.elastic_p,
        help="share of images bent by a smooth random elastic field "
        f"(default {AugmentConfig.elastic_p:g})",
    )
    p.add_argument(
        "--elastic-px",
        type=float,
        default=AugmentConfig.elastic_px,
        help="the elastic field's largest typical displacement in 28x28 pixels "
        f"(default {AugmentConfig.elastic_px:g})",
    )
    p.add_argument(
        "--no-negatives",
        action="store_true",
        help="digits only: a 10-class model without the not-digit class",
    )
    p.add_argument(
        "--negative-share",
        type=float,
        default=BatchRecipe.negative_share,
        help="share of each batch that is synthetic not-digit images",
    )
    p.add_argument(
        "--teacher",
        type=Path,
        help="learn also from this checkpoint's answers (for example a --join pair), "
        "not only from the labels",
    )
    p.add_argument(
        "--teacher-weight",
        type=float,
        default=0.5,
        help="share of the loss that follows the teacher (default 0.5)",
    )
    p.add_argument(
        "--teacher-temperature",
        type=float,
        default=2.0,
        help="softening of both answers before they are compared (default 2)",
    )
    p.add_argument(
        "--ema",
        type=float,
        default=0.0,
        help="keep an exponential moving average of the weights with this decay per step "
        "(e.g. 0.999) and ship the average; 0: off (default)",
    )
    p.add_argument("--dry-run", action="store_true", help="a few steps on a little data")
    return p


def main(argv: list[str] | None = None) -> int:
    if argv is not None and "--printed" in argv:  # the meter-wheel and display model
        from training.printed_train import main as train_printed

        return train_printed(argv)
    if argv is not None and ("--join" in argv or "--soup" in argv):  # networks as one
        from training.join import main as join

        return join(argv)
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except CheckpointError as exc:  # --init or --teacher names a checkpoint of another kind
        raise SystemExit(f"digitcam train: {exc}") from None


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    data_dir = ensure_mnist(resolve_data_dir(args.data_dir))

    x_all, y_all = load_split(data_dir, "train")
    x_test, y_test = load_split(data_dir, "test")
    extra_x, extra_y = load_extra_data(args.extra_data)
    held = split_extra(extra_y)  # the user's examples judge the result, MNIST's cannot
    extra_val_x, extra_val_y = extra_x[held], extra_y[held]
    extra_x, extra_y = extra_x[~held], extra_y[~held]
    val_idx, train_idx = validation_split(len(x_all), args.seed, args.val_size)
    n_mnist = len(train_idx) if not args.dry_run else min(512, len(train_idx))
    x_train = np.concatenate([x_all[train_idx][:n_mnist], extra_x])
    y_train = np.concatenate([y_all[train_idx][:n_mnist], extra_y])
    epochs = 1 if args.dry_run else args.epochs
    print(
        f"data: {n_mnist} MNIST + {len(extra_x)} extra to train on ({len(extra_val_x)} extra "
        f"held out), {len(val_idx)} val, {len(x_test)} test from {data_dir}"
    )

    share = 0.0 if args.no_negatives else args.negative_share
    if args.init:
        net, _ = load_checkpoint(args.init)
        config = net.config
        if config.num_classes == DIGITS and share:
            print("the --init model has no not-digit class: training on digits only")
            share = 0.0
    else:
        config = ModelConfig(
            channels=tuple(args.channels),
            num_classes=DIGITS + (1 if share else 0),
            pool=args.pool,
        )
        net = DigitNet(config)
    print(
        f"model: channels {config.channels}, {config.num_classes} classes, "
        f"{count_parameters(net):,} parameters"
    )
    recipe = BatchRecipe(
        augment=None
        if args.no_augment
        else AugmentConfig(elastic_p=args.elastic, elastic_px=args.elastic_px),
        strokes=None if args.no_augment or args.no_strokes else StrokeConfig(),
        negative_share=share,
    )
    batches = BatchMaker(x_train, y_train, recipe, args.seed)
    teacher = Teacher.load(args) if args.teacher else None
    if teacher is not None and teacher.net.config.num_classes != config.num_classes:
        raise SystemExit(
            f"digitcam train: the teacher has {teacher.net.config.num_classes} classes, "
            f"this network {config.num_classes}"
        )
    negatives = batches.negatives_per_batch(args.batch_size)
    digits_per_batch = args.batch_size - negatives
    x_val, y_val = x_all[val_idx], y_all[val_idx]
    val_neg = validation_negatives(x_val, y_val, len(x_val), share, args.seed + 1)
    print(
        f"batches: {digits_per_batch} digits + {negatives} not-digit images; "
        f"strokes {'on' if recipe.strokes else 'off'}; {len(val_neg)} validation negatives"
    )
    extra_share = args.extra_share if len(extra_x) else 0.0
    if extra_share:
        print(f"each batch: {extra_share:.0%} of its digits from the extra examples")
    extra_before = extra_accuracy(net, extra_val_x, extra_val_y)
    steps_per_epoch = (
        len(epoch_order(n_mnist, len(extra_x), digits_per_batch, extra_share, torch.Generator()))
        // digits_per_batch
    )
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=epochs * steps_per_epoch, pct_start=0.2
    )

    average = WeightAverage(net, args.ema) if args.ema else None
    if average is not None:
        print(f"weights: moving average, decay {args.ema:g} per step")
    history = []
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        epoch_started = time.perf_counter()
        loss = train_epoch(
            net,
            optimizer,
            schedule,
            batches,
            epoch_order(n_mnist, len(extra_x), digits_per_batch, extra_share, batches.gen),
            digits_per_batch,
            negatives,
            f"epoch {epoch}/{epochs}",
            teacher,
            average,
        )
        val = validation_figures(net if average is None else average.module, x_val, y_val, val_neg)
        history.append(
            {
                "epoch": epoch,
                "loss": loss,
                **val,
                "seconds": round(time.perf_counter() - epoch_started, 1),
            }
        )
        print(
            f"epoch {epoch}: loss {loss:.4f}, val accuracy {val['val_accuracy']:.4%}"
            + (
                f", not-digit {val['val_not_digit_recall']:.2%} of negatives, "
                f"{val['val_digits_called_not_digit']:.2%} of digits"
                if len(val_neg)
                else ""
            )
            + f" ({history[-1]['seconds']:.0f} s)",
            flush=True,
        )
        if args.dry_run:
            break
    train_s = time.perf_counter() - started
    if average is not None:
        net.load_state_dict(average.module.state_dict())
    test_logits = predict_logits(net, x_test)
    test_acc = float((test_logits[:, :DIGITS].argmax(1) == y_test).mean())
    print(f"test accuracy {test_acc:.4%} after {train_s:.0f} s of training")
    if len(extra_val_y):
        print(
            f"extra examples held out ({len(extra_val_y)}): {extra_before:.2%} before, "
            f"{extra_accuracy(net, extra_val_x, extra_val_y):.2%} after"
        )
    calibration = calibrate(net, x_val, y_val, val_neg, test_logits, y_test)
    print(
        f"temperature {calibration['temperature']:.4f} (fitted on {len(x_val)} validation "
        f"digits + {len(val_neg)} negatives); MNIST test ECE "
        f"{calibration['mnist_test_ece_before']:.4f} -> {calibration['mnist_test_ece']:.4f}"
    )

    save_checkpoint(
        args.out,
        net,
        config,
        args,
        history,
        test_acc,
        train_s,
        data_sha256(data_dir, args.extra_data),
        calibration,
    )
    print(f"checkpoint written to {args.out}")
    return 0


def train_epoch(
    net,
    optimizer,
    schedule,
    batches: BatchMaker,
    order: np.ndarray,
    digits_per_batch: int,
    negatives: int,
    label: str,
    teacher: Teacher | None = None,
    average: WeightAverage | None = None,
) -> float:
    """One pass over the epoch's digits in `order` (see epoch_order); returns the mean loss."""
    net.train()
    steps = max(1, len(order) // digits_per_batch)
    total = 0.0
    bar = tqdm(range(steps), desc=label, leave=False, mininterval=1.0)
    for step in bar:
        idx = order[step * digits_per_batch : (step + 1) * digits_per_batch]
        images, labels = batches.make(idx, negatives)
        logits = net(images)
        loss = F.cross_entropy(logits, labels, label_smoothing=0.05)
        if teacher is not None:
            loss = (1 - teacher.weight) * loss + teacher.weight * teacher.loss(logits, images)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if average is not None:
            average.update_parameters(net)
        total += loss.item()
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    return total / steps


class WeightAverage(torch.optim.swa_utils.AveragedModel):
    """An exponential moving average of the weights and batch-norm statistics, updated after
    every step (the average of the last 1 / (1 - decay) steps or so, which often generalises
    a little better than the last step's weights; the shipped recipe uses it)."""

    module: DigitNet  # the averaged copy of `net`

    def __init__(self, net: DigitNet, decay: float) -> None:
        super().__init__(
            net,
            multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(decay),
            use_buffers=True,
        )


@dataclass
class Teacher:
    """A trained network whose softened answers the new one learns to give (distillation).

    The loss is the KL divergence between the two softened by `temperature` (the teacher's
    own calibration first), times temperature squared so its gradients keep their size.
    """

    net: DigitNet
    weight: float
    temperature: float

    @classmethod
    def load(cls, args: argparse.Namespace) -> Teacher:
        net, _ = load_checkpoint(args.teacher)
        for param in net.parameters():
            param.requires_grad_(False)
        print(f"teacher: {args.teacher}, {args.teacher_weight:.0%} of the loss")
        return cls(net.eval(), args.teacher_weight, args.teacher_temperature)

    def loss(self, logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = F.softmax(self.net(images) / self.net.temperature / self.temperature, dim=1)
        student = F.log_softmax(logits / self.temperature, dim=1)
        return F.kl_div(student, target, reduction="batchmean") * self.temperature**2


if __name__ == "__main__":
    raise SystemExit(main())
