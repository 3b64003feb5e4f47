"""The row reader: a small convolutional network that reads a number's whole row with CTC.

The device reads a number digit by digit (edge.vision cuts the row, the digit model reads
each piece). This network reads the same row as one image, without cutting it, as a second
opinion (edge.rows_model, edge.row_rules.weigh_row). It is trained on rows as the
device sees them: `python mock_frames/harvest.py --rows N` renders photos of numbers written
with MNIST *training* digits (never the images `digitcam train` keeps for validation), reads
them with the device's reader and keeps the window round the row (edge.rows_model.row_input)
with the number written there; `mock_frames/harvest_rows.sh` runs it on every core with the
shipped network's mix of photos. Trains on a GPU when there is one (`--device`).

    bash mock_frames/harvest_rows.sh artifacts/harvest-rows 300 16   # 16 cores for 300 s
    python -m training.rows artifacts/harvest-rows/*/rows.npz --out artifacts/rows.pt
    python -m export.rows_export artifacts/rows.pt --out artifacts/rows-ctc.onnx
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edge.rows_model import BLANK, ROW_HEIGHT, greedy


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


def _line(cin: int, cout: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(cin, cout, kernel, padding=kernel // 2), nn.BatchNorm1d(cout), nn.ReLU()
    )


class RowNet(nn.Module):
    """[N,1,ROW_HEIGHT,W] -> logits [N,W/4,11]: four 3x3 convolutions (the height pooled to 4
    rows, the width twice by 2), then three 1-D convolutions along the columns (two of them
    residual) and a last 1x1 to the ten digits and blank."""

    def __init__(self, channels: tuple[int, int, int, int] = (24, 48, 64, 64), line: int = 96):
        super().__init__()
        a, b, c, d = channels
        self.c1, self.c2, self.c3, self.c4 = _block(1, a), _block(a, b), _block(b, c), _block(c, d)
        self.t1 = _line(d * (ROW_HEIGHT // 8), line, 3)
        self.t2 = _line(line, line, 5)
        self.t3 = _line(line, line, 5)
        self.out = nn.Conv1d(line, BLANK + 1, 1)
        self.channels, self.line = channels, line

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.c1(x), 2)
        x = F.max_pool2d(self.c2(x), 2)
        x = F.max_pool2d(self.c3(x), (2, 1))
        x = self.c4(x)
        n, c, h, w = x.shape
        x = self.t1(x.reshape(n, c * h, w))
        x = x + self.t2(x)
        x = x + self.t3(x)
        return self.out(x).permute(0, 2, 1)


def load_checkpoint(path: Path) -> tuple[RowNet, dict]:
    """A trained row network (in eval mode) and its whole checkpoint."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    net = RowNet(tuple(ckpt["channels"]), int(ckpt["line"]))
    net.load_state_dict(ckpt["state_dict"])
    return net.eval(), ckpt


def load_rows(paths: list[Path]) -> tuple[np.ndarray, list[str]]:
    """Windows (float32 [N,ROW_HEIGHT,W], zero-padded to the widest) and their numbers."""
    xs, labels = [], []
    for path in paths:
        data = np.load(path)
        xs.append(data["x"].astype(np.float32))
        labels += [str(v) for v in data["label"]]
    width = max(x.shape[2] for x in xs)
    x = np.concatenate([np.pad(x, ((0, 0), (0, 0), (0, width - x.shape[2]))) for x in xs])
    return x, labels


def exact(net: nn.Module, x: np.ndarray | torch.Tensor, labels: list[str]) -> float:
    """Share of windows whose number, decoded as the device decodes it, is exactly right."""
    net.eval()
    windows = torch.as_tensor(x)
    device = next(net.parameters(), torch.zeros(0)).device
    read = []
    with torch.no_grad():
        for i in range(0, len(windows), 256):
            batch = windows[i : i + 256].to(device).float()[:, None]
            probs = net(batch).softmax(-1).cpu().numpy()
            read += [greedy(p) for p in probs]
    return float(np.mean([r == v for r, v in zip(read, labels, strict=True)])) if read else 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.rows", description=__doc__)
    p.add_argument("rows", type=Path, nargs="+", help="rows.npz from harvest.py --rows")
    p.add_argument("--out", type=Path, default=Path("artifacts/rows.pt"))
    # The shipped network's recipe (README, "The row reader"): the defaults reproduce it.
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="auto", help="torch device (auto: cuda when there is one)")
    p.add_argument("--val-share", type=float, default=0.05, help="windows held out")
    p.add_argument("--channels", type=int, nargs=4, default=[24, 48, 64, 64])
    p.add_argument("--line", type=int, default=96, help="channels along the columns")
    p.add_argument(
        "--init",
        type=Path,
        default=None,
        help="start from this checkpoint's network and weights (its shape wins over "
        "--channels and --line), to fine-tune it on more windows",
    )
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    x_host, labels = load_rows(args.rows)
    x = torch.from_numpy(x_host).to(device)
    del x_host
    order = np.random.default_rng(0).permutation(len(x))
    held = max(1, round(args.val_share * len(x)))
    val, train = order[:held], order[held:]
    if args.init is not None:
        net = load_checkpoint(args.init)[0].to(device)
    else:
        net = RowNet(tuple(args.channels), args.line).to(device)  # type: ignore[arg-type]
    print(
        f"{len(train)} windows to train on, {held} held out; "
        f"{sum(q.numel() for q in net.parameters()):,} parameters, on {device}",
        flush=True,
    )
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * -(-len(train) // args.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    rng = np.random.default_rng(args.seed)
    # What it was trained with, kept in the checkpoint beside the weights.
    recipe = {k: v for k, v in vars(args).items() if k not in ("rows", "out", "init")}
    recipe["init"] = str(args.init) if args.init else None
    recipe |= {"channels": list(net.channels), "line": net.line}  # --init's shape wins
    recipe["windows"] = len(x)
    history = []
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        net.train()
        total = 0.0
        shuffled = rng.permutation(train)
        for s in range(0, len(shuffled), args.batch_size):
            idx = shuffled[s : s + args.batch_size]
            batch = x[torch.from_numpy(idx).to(device)][:, None]
            # Contrast and a little sensor noise on some windows, a row or two up or down.
            batch = batch * torch.empty(len(idx), 1, 1, 1, device=device).uniform_(0.6, 1.4)
            noisy = (torch.rand(len(idx), 1, 1, 1, device=device) < 0.3).float()
            batch = batch + 0.15 * torch.randn_like(batch) * noisy
            batch = torch.roll(batch, int(rng.integers(-2, 3)), 2)
            targets = [[int(c) for c in labels[i]] for i in idx]
            flat = torch.tensor([d for t in targets for d in t], dtype=torch.long)
            lengths = torch.tensor([len(t) for t in targets], dtype=torch.long)
            logp = net(batch).log_softmax(-1).transpose(0, 1)  # T, N, C
            steps_t = torch.full((len(idx),), logp.shape[0], dtype=torch.long)
            loss = ctc(logp, flat.to(device), steps_t, lengths)
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
            total += float(loss.detach()) * len(idx)
        right = exact(net, x[torch.from_numpy(val).to(device)], [labels[i] for i in val])
        history.append({"epoch": epoch, "loss": total / len(train), "val_exact": right})
        print(
            f"epoch {epoch}: loss {total / len(train):.4f}, held-out windows read exactly "
            f"{right:.2%} ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
        save(net, history, args.out, recipe)  # each epoch: a run cut short keeps what it learnt
    return 0


def save(net: RowNet, history: list[dict], out: Path, recipe: dict | None = None) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "state_dict": {k: v.cpu() for k, v in net.state_dict().items()},
            "channels": net.channels,
            "line": net.line,
            "history": history,
            "recipe": recipe or {},
        },
        out,
    )
    out.with_suffix(".json").write_text(json.dumps(history, indent=1))


if __name__ == "__main__":
    raise SystemExit(main())
