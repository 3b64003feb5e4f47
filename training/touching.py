"""A reader for digits run together: a small convolutional network read with CTC.

The finder cuts a number into one blob per digit. Digits written touching or overlapping
come out as one blob, and when no cut makes two sure digits the reader marks it `unread` and
the number is not published. This network reads such a blob whole: its columns, left to
right, say which digit (or none) they show, and connectionist temporal classification (CTC)
turns that into a sequence of digits, with no cut at all.

Training data is made here: runs of 1-4 MNIST *training* digits (never the 5,000 that
`digitcam train` keeps for validation with its default seed) pressed together so their
strokes touch or overlap, with the sizes, drift and slant of handwriting, then fitted the
way edge/vision/runs.py fits a blob: the ink's box scaled to RUN_INK_HEIGHT rows, left
aligned in a RUN_HEIGHT x RUN_WIDTH field.

    python -m training.touching --data-dir ../shared/data/mnist --out artifacts/touching.pt
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edge.runs_model import BLANK, decode
from edge.vision.runs import RUN_HEIGHT, RUN_WIDTH, fit_run
from training.mnist import load_split, resolve_data_dir, validation_split


@dataclass(frozen=True)
class RunConfig:
    """How the runs are made."""

    lengths: tuple[int, ...] = (1, 2, 3, 4)
    length_p: tuple[float, ...] = (0.1, 0.55, 0.25, 0.1)
    size: tuple[float, float] = (0.8, 1.1)  # each digit's height, of the run's
    aspect: tuple[float, float] = (0.85, 1.2)  # width stretch per digit
    drift: float = 0.12  # vertical offset per digit, of the height
    overlap: tuple[float, float] = (-0.05, 0.4)  # of the narrower neighbour's width
    slant_deg: float = 15.0
    thickness_p: float = 0.4
    blur_p: float = 0.3


def make_run(digits: list[np.ndarray], rng: np.random.Generator, cfg: RunConfig) -> np.ndarray:
    """Touching MNIST digits (uint8 28x28 each) -> one float32 0..1 ink image of the run."""
    base = 40
    pieces = []
    for image in digits:
        ys, xs = np.nonzero(image > 20)
        crop = image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255
        h = max(4, round(base * rng.uniform(*cfg.size)))
        w = max(2, round(crop.shape[1] * h / crop.shape[0] * rng.uniform(*cfg.aspect)))
        pieces.append(cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR))
    width = sum(p.shape[1] for p in pieces) + 4
    canvas = np.zeros((base * 2, width + base), np.float32)
    x = 0
    for i, piece in enumerate(pieces):
        h, w = piece.shape
        y = int(base * 0.45 + rng.uniform(-cfg.drift, cfg.drift) * base + (base - h) / 2)
        canvas[y : y + h, x : x + w] = np.maximum(canvas[y : y + h, x : x + w], piece)
        if i + 1 < len(pieces):
            narrower = min(w, pieces[i + 1].shape[1])
            x += w - round(rng.uniform(*cfg.overlap) * narrower)
    shear = np.tan(np.radians(rng.uniform(-cfg.slant_deg, cfg.slant_deg)))
    matrix = np.array([[1, -shear, shear * base], [0, 1, 0]], np.float32)
    canvas = cv2.warpAffine(canvas, matrix, (canvas.shape[1], canvas.shape[0]))
    if rng.random() < cfg.thickness_p:
        kernel = np.ones((3, 3), np.uint8)
        canvas = (cv2.dilate if rng.random() < 0.5 else cv2.erode)(canvas, kernel)
    if rng.random() < cfg.blur_p:
        canvas = cv2.GaussianBlur(canvas, (3, 3), 0)
    return np.clip(canvas, 0.0, 1.0)


def make_runs(
    images: np.ndarray, labels: np.ndarray, count: int, seed: int, cfg: RunConfig
) -> tuple[np.ndarray, list[list[int]]]:
    """`count` fitted runs [count, RUN_HEIGHT, RUN_WIDTH] and their digit sequences."""
    rng = np.random.default_rng(seed)
    out = np.zeros((count, RUN_HEIGHT, RUN_WIDTH), np.float32)
    sequences = []
    for n in range(count):
        length = int(rng.choice(cfg.lengths, p=cfg.length_p))
        picks = rng.integers(0, len(images), length)
        out[n] = fit_run(make_run([images[i] for i in picks], rng, cfg))
        sequences.append([int(labels[i]) for i in picks])
    return out, sequences


class RunNet(nn.Module):
    """[N,1,RUN_HEIGHT,RUN_WIDTH] -> log-probabilities [N, RUN_WIDTH/4, 11] per column."""

    def __init__(self, channels: tuple[int, int, int] = (16, 32, 64)) -> None:
        super().__init__()
        a, b, c = channels

        def block(cin: int, cout: int, kernel: tuple[int, int], pad: tuple[int, int]) -> list:
            return [
                nn.Conv2d(cin, cout, kernel, padding=pad, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(),
            ]

        self.features = nn.Sequential(
            *block(1, a, (3, 3), (1, 1)),
            nn.MaxPool2d(2),
            *block(a, b, (3, 3), (1, 1)),
            nn.MaxPool2d(2),
            *block(b, c, (3, 3), (1, 1)),
            *block(c, c, (RUN_HEIGHT // 4, 1), (0, 0)),  # the column's whole height
        )
        self.context = nn.Sequential(
            nn.Conv1d(c, c, 5, padding=2), nn.ReLU(), nn.Conv1d(c, BLANK + 1, 1)
        )
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        columns = self.features(x).squeeze(2)  # [N, C, T]
        return F.log_softmax(self.context(columns).transpose(1, 2), dim=2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.touching", description=__doc__)
    p.add_argument("--data-dir")
    p.add_argument("--out", type=Path, default=Path("artifacts/touching.pt"))
    p.add_argument("--runs", type=int, default=60000, help="training runs made (default 60000)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--val-size",
        type=int,
        default=5000,
        help="MNIST training images kept out, as digitcam train --val-size (its seed 1)",
    )
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--harvest",
        type=Path,
        nargs="*",
        default=[],
        help="blobs of digits run together as the reader cuts them (.npz with x uint8 "
        "[N,28,112] and labels, from mock_frames/harvest.py --runs); every 10th held out",
    )
    p.add_argument(
        "--harvest-share", type=float, default=0.3, help="share of each batch from --harvest"
    )
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    x_all, y_all = load_split(resolve_data_dir(args.data_dir), "train")
    val_idx, train_idx = validation_split(len(x_all), 1, args.val_size)
    cfg = RunConfig()
    started = time.perf_counter()
    x, seqs = make_runs(x_all[train_idx], y_all[train_idx], args.runs, args.seed, cfg)
    xv, seqv = make_runs(x_all[val_idx], y_all[val_idx], min(3000, args.runs), args.seed + 100, cfg)
    print(
        f"{len(x)} runs to train on, {len(xv)} to validate ({time.perf_counter() - started:.0f} s)"
    )
    hx, hseqs, hvx, hvseqs = load_harvest(args.harvest)
    if len(hx):
        # Mixed in by repetition so that they make about --harvest-share of what is seen.
        repeat = max(1, round(args.harvest_share * len(x) / (1 - args.harvest_share) / len(hx)))
        x = np.concatenate([x] + [hx] * repeat)
        seqs = seqs + hseqs * repeat
        print(f"{len(hx)} harvested runs (x{repeat}), {len(hvx)} held out")
    net = RunNet()
    print(f"{sum(q.numel() for q in net.parameters()):,} parameters")
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * (len(x) // args.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    gen = torch.Generator().manual_seed(args.seed)
    history = []
    for epoch in range(1, args.epochs + 1):
        net.train()
        order = torch.randperm(len(x), generator=gen).numpy()
        total = 0.0
        for s in range(len(x) // args.batch_size):
            idx = order[s * args.batch_size : (s + 1) * args.batch_size]
            batch = torch.from_numpy(x[idx])[:, None]
            targets = [seqs[i] for i in idx]
            flat = torch.tensor([d for t in targets for d in t], dtype=torch.long)
            lengths = torch.tensor([len(t) for t in targets], dtype=torch.long)
            logp = net(batch)  # N, T, C
            steps_t = torch.full((len(idx),), logp.shape[1], dtype=torch.long)
            loss = ctc(logp.transpose(0, 1), flat, steps_t, lengths)
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
            total += float(loss.detach())
        right = accuracy(net, xv, seqv)
        real = accuracy(net, hvx, hvseqs) if len(hvx) else float("nan")
        history.append(
            {"epoch": epoch, "loss": total / (s + 1), "val_exact": right, "harvest_exact": real}
        )
        print(
            f"epoch {epoch}: loss {total / (s + 1):.4f}, validation runs read exactly "
            f"{right:.2%}, held-out harvested runs {real:.2%}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"state_dict": net.state_dict(), "channels": net.channels, "history": history},
        args.out,
    )
    args.out.with_suffix(".json").write_text(json.dumps(history, indent=1))
    return 0


def load_harvest(
    paths: list[Path],
) -> tuple[np.ndarray, list[list[int]], np.ndarray, list[list[int]]]:
    """Harvested runs (fitted, uint8) as float32, with every 10th held out."""
    xs, labels = [], []
    for path in paths:
        data = np.load(path)
        xs.append(data["x"].astype(np.float32) / 255)
        labels += [[int(c) for c in str(v)] for v in data["labels"]]
    if not xs:
        empty = np.zeros((0, RUN_HEIGHT, RUN_WIDTH), np.float32)
        return empty, [], empty, []
    x = np.concatenate(xs)
    held = np.arange(len(x)) % 10 == 0
    return (
        x[~held],
        [s for s, h in zip(labels, held, strict=True) if not h],
        x[held],
        [s for s, h in zip(labels, held, strict=True) if h],
    )


def accuracy(net: nn.Module, x: np.ndarray, seqs: list[list[int]]) -> float:
    """Share of runs whose digits, decoded as the device decodes them, are exactly `seqs`."""
    net.eval()
    with torch.no_grad():
        probs = net(torch.from_numpy(x)[:, None]).exp().numpy()
    read = [[int(np.argmax(d.probs)) for d in decode(p, RUN_WIDTH)] for p in probs]
    return float(np.mean([r == s for r, s in zip(read, seqs, strict=True)]))


if __name__ == "__main__":
    raise SystemExit(main())
