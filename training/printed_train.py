"""Train the printed-digit CNN: real meter wheels plus rendered 7-segment digits.

    digitcam train --printed --meter-data ../shared/data/meter_digits --out artifacts/printed-cnn.pt
    digitcam train --printed --dry-run ...      # a few steps, for CI

Reads top to bottom: arguments, data, model, loop, calibration, checkpoint. The wheels are
split by installation (training/meter_data.py): the network learns from `train`, the epoch
figures and the temperature come from `tune`, and `report` is left for `digitcam evaluate`.
Display digits are rendered (training/sevenseg.py), and so are wheels in typefaces the real
crops lack (training/wheel_render.py); the real LCD crops are never trained on.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from training.calibrate import fit_temperature
from training.hiders import HIDERS, hide
from training.meter_data import (
    CROP_H,
    CROP_W,
    POSITIONS,
    TUNE_SOURCES,
    digit_of,
    installations,
    load_wheels,
    tenths_error,
)
from training.printed_model import PrintedConfig, PrintedNet, join_printed, load_printed_checkpoint
from training.sevenseg import SevenSegConfig, render_sevenseg_batch
from training.wheel_render import render_wheels

LABEL_SIGMA = 0.8  # tenths: the labels themselves are read by eye to about a tenth
# How far a real wheel's picture moves up for each tenth it turns, in the 32x20 crop: the mean
# crops of neighbouring positions of the train wheels line up when moved 2.3-2.5 px a tenth.
TENTH_PX = 2.4
# A window cut into equal cells gives each wheel's cell a part of the dark gaps beside it:
# up to this many pixels a side (of CROP_W) in training (--side-bars).
SIDE_BAR_PX = 4
# A cell of a window cut into equal cells, as --window-cells draws it (in crop pixels): the
# gap between wheels, how far the cell may sit off its wheel, and its width against a crop's.
CELL_GAP_PX = 6
CELL_OFFSET_PX = 5.0
CELL_WIDTH = (0.85, 1.25)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(prog="digitcam train --printed", description=__doc__)
    p.add_argument("--printed", action="store_true", help="train the printed-digit model")
    p.add_argument("--meter-data", type=Path, required=True, help="folder of the wheel tar")
    p.add_argument("--out", type=Path, default=Path("artifacts/printed-cnn.pt"))
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=4e-3)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    # The shipped model's recipe (README, "The printed-digit model"): the defaults reproduce it.
    p.add_argument("--display-renders", type=int, default=10000, help="7-segment renders")
    p.add_argument("--wheel-renders", type=int, default=10000, help="wheels in other fonts")
    p.add_argument(
        "--dot-matrix",
        type=float,
        default=SevenSegConfig.matrix_p,
        metavar="P",
        help="share of the rendered displays drawn as 5x7 dot-matrix LCDs (default 0.2, the "
        "display model's recipe; the counter model, printed-cnn, was trained with 0)",
    )
    p.add_argument(
        "--render-pool",
        type=int,
        default=1,
        metavar="K",
        help="render K times as many displays and wheels and draw each epoch's share from "
        "them afresh (same share per epoch, K times the distinct renders)",
    )
    p.add_argument("--channels", type=int, nargs=3, default=list(PrintedConfig.channels))
    p.add_argument(
        "--column-max",
        action="store_true",
        help="pool each row's strongest response beside its mean (not in the shipped recipe)",
    )
    p.add_argument(
        "--mixstyle",
        type=float,
        default=0.0,
        metavar="P",
        help="while training, mix feature statistics between a batch's images with chance P "
        "after each of the first two poolings (MixStyle; not in the shipped recipe)",
    )
    p.add_argument(
        "--randconv",
        type=float,
        default=0.0,
        metavar="P",
        help="while training, show a batch through a random 1x1-5x5 filter with chance P "
        "(RandConv; not in the shipped recipe)",
    )
    p.add_argument(
        "--fold-in-tune",
        type=Path,
        metavar="CHECKPOINT",
        help="train on the tune wheels too, once a recipe is chosen; the temperature is taken "
        "from CHECKPOINT, the same recipe trained without them (the tune figures printed are "
        "then on wheels trained on)",
    )
    p.add_argument(
        "--tune-installation",
        action="append",
        default=[],
        metavar="ROI/YEAR",
        help="tune on this installation instead of the usual three (repeatable; they train "
        "then): a larger held-out installation to compare recipes on, e.g. dig/2022",
    )
    p.add_argument(
        "--teacher",
        type=Path,
        action="append",
        default=[],
        metavar="CHECKPOINT",
        help="a trained printed model whose softened positions this one also learns "
        "(repeatable: the teachers' answers are averaged); not in the shipped recipe",
    )
    p.add_argument(
        "--teacher-weight", type=float, default=0.5, help="share of the loss (default 0.5)"
    )
    p.add_argument("--teacher-temperature", type=float, default=1.0, help="softening (default 1)")
    p.add_argument(
        "--turn-px",
        type=float,
        default=0.0,
        metavar="PX",
        help="move real wheels up or down by up to PX pixels and their position with them "
        "(TENTH_PX a tenth): wheels caught between the positions labelled (not in the "
        "shipped recipe, whose vertical moves of up to a pixel keep the label)",
    )
    p.add_argument(
        "--side-bars",
        type=float,
        default=0.0,
        metavar="P",
        help="squeeze a share P of the crops sideways between dark bars of up to "
        f"{SIDE_BAR_PX} px a side, as a window's equal cells hold a wheel between its gaps",
    )
    p.add_argument(
        "--window-cells",
        type=float,
        default=0.0,
        metavar="P",
        help="cut a share P of the crops as a window's cell would hold them: between two "
        f"other wheels with dark gaps of up to {CELL_GAP_PX} px, up to {CELL_OFFSET_PX:g} px "
        "off and a little wider or narrower",
    )
    p.add_argument(
        "--hidden",
        type=float,
        default=0.0,
        metavar="P",
        help="hide a share P of the crops under glare, a sticker, a smudge or nothing at all, "
        "taught as every position alike (tried 2026-12-05; not in the shipped recipe)",
    )
    p.add_argument(
        "--hidden-head",
        action="store_true",
        help="with --hidden: learn the hidden crops on an output of their own (the crop shows "
        "no digit) instead of as every position alike; the positions learn the others only "
        "(tried 2026-12-05; not in the shipped recipe)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    p.add_argument("--dry-run", action="store_true", help="a few steps on a little data")
    return p


def main(argv: list[str] | None = None) -> int:
    if argv is not None and "--join" in argv:
        return join_main(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        installations(args.tune_installation)
    except ValueError as exc:
        parser.error(str(exc))
    if args.turn_px < 0:
        parser.error(f"--turn-px is how far a wheel may move, 0 or more pixels, not {args.turn_px}")
    return run(args)


def run(args: argparse.Namespace) -> int:
    if args.hidden_head and args.hidden <= 0:
        raise SystemExit("digitcam train --printed: --hidden-head needs --hidden P (P > 0)")
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    tuned_on = installations(args.tune_installation) if args.tune_installation else TUNE_SOURCES
    sets = load_wheels(args.meter_data, tuned_on)
    train, tune = sets["train"], sets["tune"]
    fitted = None
    if args.fold_in_tune:
        fitted = float(torch.load(args.fold_in_tune, weights_only=False)["temperature"])
        train = train.joined(tune)
    pool = max(1, args.render_pool)
    n_display = 64 if args.dry_run else args.display_renders
    n_wheel = 64 if args.dry_run else args.wheel_renders
    lcd_x, lcd_y = display_renders(n_display * pool, args.seed, args.dot_matrix)
    rng = np.random.default_rng(args.seed + 11)
    wheel_x, wheel_y = render_wheels(rng, n_wheel * pool)
    x = np.concatenate([train.images, lcd_x, wheel_x])
    y = np.concatenate([train.positions, lcd_y * 10, wheel_y])
    real = np.arange(len(x)) < len(train)  # the real wheels (--turn-px turns them)
    # An epoch: every real wheel, n_display displays and n_wheel rendered wheels (drawn afresh
    # from the pools when pool > 1).
    shares = [(0, len(train), len(train)), (len(train), len(lcd_x), n_display)]
    shares.append((len(train) + len(lcd_x), len(wheel_x), n_wheel))
    epochs = args.epochs
    if args.dry_run:
        keep = np.random.default_rng(args.seed).permutation(len(x))[:512]
        x, y, real, epochs, pool = x[keep], y[keep], real[keep], 1, 1
    pooled = f" (drawn from {pool}x as many)" if pool > 1 else ""
    print(
        f"data: {len(train)} wheels + {n_wheel} rendered wheels + {n_display} rendered "
        f"display digits{pooled} an epoch to train on, "
        f"{len(tune)} wheels to tune on ({len(sets['report'])} wheels left for the report)"
    )
    config = PrintedConfig(
        channels=tuple(args.channels),
        column_max=args.column_max,
        mixstyle=args.mixstyle,
        randconv=args.randconv,
        hidden_head=args.hidden_head,
    )
    net = PrintedNet(config)
    params = sum(p.numel() for p in net.parameters())
    print(f"model: channels {config.channels}, {POSITIONS} positions, {params:,} parameters")
    epoch_size = len(x) if pool == 1 else sum(n for _, _, n in shares)
    steps = max(1, epoch_size // args.batch_size)
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=epochs * steps, pct_start=0.2
    )
    teachers = Teachers.load(args) if args.teacher else None
    rng = np.random.default_rng(args.seed)
    targets = soft_targets()
    history, started = [], time.perf_counter()
    seen = " (trained on)" if fitted is not None else ""
    for epoch in range(1, epochs + 1):
        net.train()
        order, total = epoch_order(rng, len(x), shares if pool > 1 else None), 0.0
        for step in range(steps):
            idx = order[step * args.batch_size : (step + 1) * args.batch_size]
            batch = torch.from_numpy(x[idx]).float()[:, None] / 255.0
            if args.turn_px > 0:
                turn = np.where(real[idx], rng.uniform(-1, 1, len(idx)) * args.turn_px, 0)
                images = augment(batch, rng, turn, bars=args.side_bars, cells=args.window_cells)
                wanted = turned_targets(y[idx] + turn / TENTH_PX)
            else:
                images = augment(batch, rng, bars=args.side_bars, cells=args.window_cells)
                wanted = targets[torch.from_numpy(y[idx])]
            if args.hidden_head:
                hidden = torch.from_numpy(hide_wheels(images, rng, args.hidden))
                logits, hidden_logit = net.forward_hidden(images)
                each = -(wanted * F.log_softmax(logits, 1)).sum(1)
                shown = (~hidden).float()
                loss = (each * shown).sum() / shown.sum().clamp_min(1.0)
                loss = loss + F.binary_cross_entropy_with_logits(hidden_logit, hidden.float())
            else:
                if args.hidden > 0:
                    hidden = torch.from_numpy(hide_wheels(images, rng, args.hidden))
                    wanted = wanted.clone()
                    wanted[hidden] = 1.0 / POSITIONS
                logits = net(images)
                loss = -(wanted * F.log_softmax(logits, 1)).sum(1).mean()
            if teachers is not None:
                loss = (1 - teachers.weight) * loss + teachers.weight * teachers.loss(
                    logits, images
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        figures = wheel_figures(predict_logits(net, tune.images), tune.positions)
        history.append({"epoch": epoch, "loss": total / steps, **figures})
        print(
            f"epoch {epoch}: loss {total / steps:.4f}, tune wheels{seen}: digit "
            f"{figures['digit_accuracy']:.2%}, within a tenth {figures['within_tenth']:.2%}",
            flush=True,
        )
    train_s = time.perf_counter() - started
    if fitted is None:
        temperature = fit_temperature(predict_logits(net, tune.images), tune.positions)
        print(
            f"temperature {temperature:.4f} fitted on the {len(tune)} tune wheels; {train_s:.0f} s"
        )
    else:
        temperature = fitted
        print(f"temperature {temperature:.4f} of {args.fold_in_tune} (tune wheels trained on)")
    net.temperature.fill_(temperature)
    save(args, net, config, history, train_s, temperature)
    return 0


@dataclass
class Teachers:
    """Trained printed networks whose averaged, softened answers the new one learns to give.

    Their uncalibrated probabilities are averaged: on the scale the soft labels train the
    logits to (the fitted temperature, about 0.25, would make the target four times sharper
    than the labels beside it). `temperature` softens both sides; the loss is the KL
    divergence from the teachers, times temperature squared.
    """

    nets: list[PrintedNet]
    weight: float
    temperature: float

    @classmethod
    def load(cls, args: argparse.Namespace) -> Teachers:
        nets = []
        for path in args.teacher:
            net, _ = load_printed_checkpoint(path)
            if not isinstance(net, PrintedNet):
                raise SystemExit(
                    f"digitcam train --printed: teacher {path} is a pair; give its members"
                )
            for param in net.parameters():
                param.requires_grad_(False)
            nets.append(net)
        names = ", ".join(str(p) for p in args.teacher)
        print(f"teachers: {names}, {args.teacher_weight:.0%} of the loss")
        return cls(nets, args.teacher_weight, args.teacher_temperature)

    def loss(self, logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = torch.stack(
                [F.softmax(net(images) / self.temperature, 1) for net in self.nets]
            ).mean(0)
        student = F.log_softmax(logits / self.temperature, dim=1)
        return F.kl_div(student, target, reduction="batchmean") * self.temperature**2


def epoch_order(
    rng: np.random.Generator, size: int, shares: list[tuple[int, int, int]] | None
) -> np.ndarray:
    """One epoch's order: all of x, or per (start, pool size, drawn) share a fresh draw."""
    if shares is None:
        return rng.permutation(size)
    drawn = [start + rng.choice(length, n, replace=False) for start, length, n in shares]
    return rng.permutation(np.concatenate(drawn))


def display_renders(
    count: int, seed: int, dot_matrix: float = SevenSegConfig.matrix_p
) -> tuple[np.ndarray, np.ndarray]:
    """Rendered display digits (uint8 [N,32,20], digits [N]): 7-segment, and a `dot_matrix`
    share of 5x7 dot-matrix LCDs (0: the 7-segment renders of earlier versions, to the bit)."""
    if count == 0:
        return np.zeros((0, CROP_H, CROP_W), np.uint8), np.zeros(0, np.int64)
    config = SevenSegConfig(matrix_p=dot_matrix)
    return render_sevenseg_batch(np.random.default_rng(seed + 7), count, config)


def soft_targets(sigma: float = LABEL_SIGMA) -> torch.Tensor:
    """Row p: a circular Gaussian around position p, so 3.6 for 3.7 costs less than 8.2."""
    return turned_targets(np.arange(POSITIONS), sigma)


def turned_targets(positions: np.ndarray, sigma: float = LABEL_SIGMA) -> torch.Tensor:
    """A circular Gaussian round each position (tenths, not necessarily whole ones)."""
    diff = np.abs(np.arange(POSITIONS)[None, :] - (np.asarray(positions)[:, None] % POSITIONS))
    diff = np.minimum(diff, POSITIONS - diff)
    weights = np.exp(-0.5 * (diff / sigma) ** 2)
    return torch.from_numpy(weights / weights.sum(1, keepdims=True)).float()


def augment(
    images: torch.Tensor,
    rng: np.random.Generator,
    turn: np.ndarray | None = None,
    bars: float = 0.0,
    cells: float = 0.0,
) -> torch.Tensor:
    """Camera changes that keep the position: light, polarity, blur, noise, a little shift.

    Vertical shifts stay within a pixel: on a wheel, where the digit sits vertically is the
    label itself (a tenth of a step is about TENTH_PX here). `turn`: the images whose label
    moves with them are moved up by that many pixels instead (0: the usual shift). `bars`:
    the share of crops squeezed between dark side bars (side_bars); `cells`: the share cut as
    a window's cell between two other wheels (window_cells).
    """
    n = images.shape[0]
    if cells > 0:
        images = window_cells(images, rng, cells)
    theta = torch.zeros(n, 2, 3)
    scale = torch.from_numpy(rng.uniform(0.85, 1.15, n)).float()
    theta[:, 0, 0] = scale
    theta[:, 1, 1] = scale * torch.from_numpy(rng.uniform(0.97, 1.03, n)).float()
    theta[:, 0, 1] = torch.from_numpy(rng.uniform(-0.08, 0.08, n)).float()  # slant
    # Sideways shifts cut a stroke off at the edge, as a tight ROI does on real meters.
    theta[:, 0, 2] = torch.from_numpy(rng.uniform(-0.3, 0.3, n)).float()
    shift = rng.uniform(-1, 1, n)
    if turn is not None:
        shift = np.where(turn != 0, turn, shift)
    theta[:, 1, 2] = torch.from_numpy(shift * 2 / CROP_H).float()
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, padding_mode="border", align_corners=False)
    invert = torch.from_numpy(rng.random(n) < 0.3)
    out[invert] = 1.0 - out[invert]
    if bars > 0:
        side_bars(out, rng, bars)
    gain = torch.from_numpy(rng.uniform(0.4, 1.3, (n, 1, 1, 1))).float()
    bias = torch.from_numpy(rng.uniform(-0.2, 0.3, (n, 1, 1, 1))).float()
    out = out * gain + bias
    ramp = torch.linspace(-1, 1, CROP_W).view(1, 1, 1, CROP_W)
    out = out + ramp * torch.from_numpy(rng.uniform(-0.15, 0.15, (n, 1, 1, 1))).float()
    blurred = F.avg_pool2d(out, 3, stride=1, padding=1, count_include_pad=False)
    blur = torch.from_numpy(rng.random((n, 1, 1, 1)) < 0.3).float()
    out = blur * blurred + (1 - blur) * out
    out = out + torch.randn_like(out) * torch.from_numpy(rng.uniform(0, 0.05, (n, 1, 1, 1))).float()
    erase_patches(out, rng)
    return out.clamp(0.0, 1.0)


def side_bars(images: torch.Tensor, rng: np.random.Generator, chance: float) -> None:
    """Squeeze some crops sideways between dark bars, in place: a counter window cut into
    equal cells gives each wheel's cell a part of the gaps beside it (dark whatever the
    wheels' polarity), and a light cell between two dark bars must not read as a 0."""
    for i in np.flatnonzero(rng.random(images.shape[0]) < chance):
        left, right = (int(v) for v in rng.integers(0, SIDE_BAR_PX + 1, 2))
        if left + right == 0:
            continue
        inner = CROP_W - left - right
        squeezed = F.interpolate(
            images[i : i + 1], size=(CROP_H, inner), mode="bilinear", align_corners=False
        )
        images[i, :, :, left : left + inner] = squeezed[0]
        images[i, :, :, :left] = float(rng.uniform(0.0, 0.2))
        images[i, :, :, CROP_W - right :] = float(rng.uniform(0.0, 0.2))


def window_cells(images: torch.Tensor, rng: np.random.Generator, chance: float) -> torch.Tensor:
    """Some crops cut as a window's cell would hold them: the crop between two others of the
    batch (neighbouring wheels) with dark gaps, the cell a little off the wheel and a little
    wider or narrower, resampled to the crop's size. Vertically nothing moves (where the
    digit sits is the label). A new tensor; the others are the crops as they were."""
    out = images.clone()
    n = images.shape[0]
    for i in np.flatnonzero(rng.random(n) < chance):
        left, right = (int(v) for v in rng.integers(0, n, 2))
        gap = int(rng.integers(0, CELL_GAP_PX + 1))
        dark = torch.full((1, CROP_H, gap), float(rng.uniform(0.0, 0.2)))
        strip = torch.cat([images[left], dark, images[i], dark, images[right]], dim=2)
        width = CROP_W * float(rng.uniform(*CELL_WIDTH))
        centre = CROP_W + gap + CROP_W / 2 + float(rng.uniform(-CELL_OFFSET_PX, CELL_OFFSET_PX))
        # The cell [centre - width/2, centre + width/2] of the strip, in grid_sample's -1..1.
        scale, total = width / strip.shape[2], strip.shape[2]
        theta = torch.tensor([[[scale, 0.0, 2 * centre / total - 1], [0.0, 1.0, 0.0]]])
        grid = F.affine_grid(theta, [1, 1, CROP_H, CROP_W], align_corners=False)
        out[i] = F.grid_sample(strip[None], grid, padding_mode="border", align_corners=False)[0]
    return out


def erase_patches(images: torch.Tensor, rng: np.random.Generator, chance: float = 0.3) -> None:
    """A flat patch over part of some digits: stickers, dirt, a glare spot on the window."""
    for i in np.flatnonzero(rng.random(images.shape[0]) < chance):
        h, w = int(rng.integers(3, CROP_H // 3)), int(rng.integers(3, CROP_W // 2))
        y, x = int(rng.integers(0, CROP_H - h)), int(rng.integers(0, CROP_W - w))
        images[i, :, y : y + h, x : x + w] = float(rng.uniform(0, 1))


def hide_wheels(images: torch.Tensor, rng: np.random.Generator, chance: float) -> np.ndarray:
    """Hide a share `chance` of the crops [N,1,H,W] (0..1, after augment) in place, each
    under one of training.hiders.HIDERS; returns which were hidden."""
    hidden = rng.random(images.shape[0]) < chance
    for i in np.flatnonzero(hidden):
        hide(images[i, 0].numpy(), rng, HIDERS[int(rng.integers(len(HIDERS)))])
    return hidden


@torch.no_grad()
def predict_logits(net: PrintedNet, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    net.eval()
    chunks = []
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(images[start : start + batch_size]).float()[:, None] / 255.0
        chunks.append(net(batch).numpy())
    return np.concatenate(chunks) if chunks else np.zeros((0, POSITIONS), np.float32)


def wheel_figures(logits: np.ndarray, positions: np.ndarray) -> dict:
    """Digit (nearest whole step) accuracy and the share within one tenth, on wheels."""
    predicted = logits.argmax(1)
    error = tenths_error(predicted, positions)
    return {
        "digit_accuracy": float((digit_of(predicted) == digit_of(positions)).mean()),
        "within_tenth": float((error <= 1).mean()),
        "exact_tenth": float((error == 0).mean()),
    }


def save(
    args: argparse.Namespace,
    net: PrintedNet,
    config: PrintedConfig,
    history: list[dict],
    train_s: float,
    temperature: float,
) -> None:
    digest = hashlib.sha256((Path(args.meter_data) / "meterdigits-tenths.tar").read_bytes())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "model_args": config.to_dict(),
            "state_dict": net.state_dict(),
            "history": history,
            "train_seconds": round(train_s, 1),
            "train_data_sha256": digest.hexdigest(),
            "temperature": temperature,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "args": {k: str(v) for k, v in vars(args).items()},
            "input": [None, 1, CROP_H, CROP_W],
        },
        args.out,
    )
    print(f"checkpoint written to {args.out}")


def join_main(argv: list[str]) -> int:
    """`digitcam train --printed --join A.pt B.pt --out P.pt`: trained networks read as one
    (training.printed_model.PrintedPair); exported, evaluated and shipped like any printed model."""
    p = argparse.ArgumentParser(
        prog="digitcam train --printed --join", description=join_main.__doc__
    )
    p.add_argument("--printed", action="store_true")
    p.add_argument("--join", type=Path, nargs="+", required=True, metavar="CHECKPOINT")
    p.add_argument("--out", type=Path, required=True, help="the pair's checkpoint")
    args = p.parse_args(argv)
    if len(args.join) < 2:
        p.error("--join needs two checkpoints or more")
    try:
        pair, ckpt = join_printed(args.join)
    except (OSError, KeyError, ValueError) as exc:
        raise SystemExit(f"digitcam train --printed --join: {exc}") from None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, args.out)
    params = sum(q.numel() for q in pair.parameters())
    temps = ", ".join(f"{t:.4f}" for t in pair.temperatures)
    print(f"{len(args.join)} networks joined: {params:,} parameters, temperatures {temps}")
    print(f"checkpoint written to {args.out}")
    return 0
