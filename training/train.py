"""Train the digit CNN on MNIST. Reads top to bottom: arguments, data, model, loop, checkpoint.

    digitcam train --epochs 20 --out artifacts/mnist-cnn.pt
    digitcam train --dry-run            # a few steps, for CI
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from training.augment import AugmentConfig, augment
from training.extra_data import load_extra_data
from training.mnist import SPLITS, ensure_mnist, load_split, resolve_data_dir
from training.model import DigitNet, ModelConfig, count_parameters

logger = logging.getLogger(__name__)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(prog="digitcam train", description=__doc__)
    p.add_argument("--data-dir", help="MNIST folder (default $DIGITCAM_DATA_DIR or ./data/mnist)")
    p.add_argument("--extra-data", action="append", default=[], type=Path,
                   help="labelled examples exported by the device (IDX or PNG folder); repeatable")
    p.add_argument("--out", type=Path, default=Path("artifacts/mnist-cnn.pt"),
                   help="checkpoint path")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=4e-3, help="peak learning rate (one-cycle)")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--channels", type=int, nargs=3, default=list(ModelConfig.channels))
    p.add_argument("--val-size", type=int, default=5000, help="training images held out")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    p.add_argument("--init", type=Path,
                   help="start from this checkpoint's weights (fine-tuning with --extra-data)")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--dry-run", action="store_true", help="a few steps on a little data")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args)


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
    perm = np.random.default_rng(args.seed).permutation(len(x_all))
    val_size = min(args.val_size, len(x_all) // 10)
    val_idx, train_idx = perm[:val_size], perm[val_size:]
    x_train = np.concatenate([x_all[train_idx], extra_x])
    y_train = np.concatenate([y_all[train_idx], extra_y])
    epochs = args.epochs
    if args.dry_run:
        x_train, y_train, epochs = x_train[:512], y_train[:512], 1
    print(f"data: {len(x_train)} train ({len(extra_x)} extra), {len(val_idx)} val, "
          f"{len(x_test)} test from {data_dir}")

    if args.init:
        net, _ = load_checkpoint(args.init)
        config = net.config
    else:
        config = ModelConfig(channels=tuple(args.channels))
        net = DigitNet(config)
    print(f"model: channels {config.channels}, {count_parameters(net):,} parameters")
    steps_per_epoch = max(1, len(x_train) // args.batch_size)
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=epochs * steps_per_epoch, pct_start=0.2
    )
    aug_cfg = None if args.no_augment else AugmentConfig()
    gen = torch.Generator().manual_seed(args.seed)

    history = []
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        loss = train_epoch(net, optimizer, schedule, x_train, y_train, args.batch_size,
                           aug_cfg, gen, f"epoch {epoch}/{epochs}")
        val_acc = accuracy(net, x_all[val_idx], y_all[val_idx])
        history.append({"epoch": epoch, "loss": loss, "val_accuracy": val_acc})
        print(f"epoch {epoch}: loss {loss:.4f}, val accuracy {val_acc:.4%}")
        if args.dry_run:
            break
    train_s = time.perf_counter() - started
    test_acc = accuracy(net, x_test, y_test)
    print(f"test accuracy {test_acc:.4%} after {train_s:.0f} s of training")

    save_checkpoint(args.out, net, config, args, history, test_acc, train_s,
                    data_sha256(data_dir, args.extra_data))
    print(f"checkpoint written to {args.out}")
    return 0


def train_epoch(net, optimizer, schedule, x, y, batch_size, aug_cfg, gen, label) -> float:
    """One pass over shuffled training data; returns the mean loss."""
    net.train()
    order = torch.randperm(len(x), generator=gen)
    steps = max(1, len(x) // batch_size)
    total = 0.0
    bar = tqdm(range(steps), desc=label, leave=False, mininterval=1.0)
    for step in bar:
        idx = order[step * batch_size:(step + 1) * batch_size].numpy()
        images = torch.from_numpy(x[idx]).float().div_(255).unsqueeze(1)
        labels = torch.from_numpy(y[idx].astype(np.int64))
        if aug_cfg is not None:
            images = augment(images, aug_cfg, gen)
        loss = F.cross_entropy(net(images), labels, label_smoothing=0.05)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        total += loss.item()
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    return total / steps


@torch.no_grad()
def predict_probs(net: torch.nn.Module, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Softmax probabilities [N,10] for uint8 images [N,28,28]."""
    net.eval()
    out = []
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(images[start:start + batch_size]).float().div_(255).unsqueeze(1)
        out.append(torch.softmax(net(batch), dim=1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 10), np.float32)


def accuracy(net: torch.nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    if len(images) == 0:
        return float("nan")
    return float((predict_probs(net, images).argmax(1) == labels).mean())


def data_sha256(data_dir: Path, extra: list[Path]) -> str:
    """One digest over every training file, so a model names the exact data it learnt from."""
    digest = hashlib.sha256()
    files = [data_dir / name for name in SPLITS["train"]]
    for folder in extra:
        files += sorted(p for p in Path(folder).rglob("*") if p.is_file())
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def save_checkpoint(path: Path, net: DigitNet, config: ModelConfig, args: argparse.Namespace,
                    history: list[dict], test_acc: float, train_s: float, sha: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({
        "model_args": config.to_dict(),
        "state_dict": net.state_dict(),
        "train_args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                       if k != "func"},
        "history": history,
        "mnist_test_accuracy": test_acc,
        "train_seconds": train_s,
        "train_data_sha256": sha,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }, path)
    plot_history(history, path.with_suffix(".png"))
    path.with_suffix(".json").write_text(json.dumps({
        "mnist_test_accuracy": test_acc, "train_seconds": round(train_s, 1), "history": history,
        "parameters": count_parameters(net), "model_args": config.to_dict(),
    }, indent=2, default=str))


def plot_history(history: list[dict], path: Path) -> None:
    """Loss and validation accuracy per epoch, beside the checkpoint."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5), dpi=100)
    left.plot(epochs, [h["loss"] for h in history], marker="o")
    left.set(xlabel="epoch", ylabel="training loss (with label smoothing)")
    right.plot(epochs, [100 * h["val_accuracy"] for h in history], marker="o", color="tab:green")
    right.set(xlabel="epoch", ylabel="validation accuracy (%)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def load_checkpoint(path: Path) -> tuple[DigitNet, dict]:
    """Rebuild the network from a checkpoint's own `model_args`."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    net = DigitNet(ModelConfig.from_dict(ckpt["model_args"]))
    net.load_state_dict(ckpt["state_dict"])
    return net.eval(), ckpt


if __name__ == "__main__":
    raise SystemExit(main())
