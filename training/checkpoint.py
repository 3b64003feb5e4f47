"""Checkpoints: what a trained network is saved with, and how any tool rebuilds it.

A checkpoint carries its own `model_args`, so `export`, `evaluate` and the benchmark's
baseline rebuild the network without knowing how it was trained.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import torch

from training.mnist import SPLITS
from training.model import DigitNet, ModelConfig, count_parameters


def data_sha256(data_dir: Path, extra: list[Path]) -> str:
    """One digest over every training file, so a model names the exact data it learnt from."""
    digest = hashlib.sha256()
    files = [data_dir / name for name in SPLITS["train"]]
    for folder in extra:
        files += sorted(p for p in Path(folder).rglob("*") if p.is_file())
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def save_checkpoint(
    path: Path,
    net: DigitNet,
    config: ModelConfig,
    args: argparse.Namespace,
    history: list[dict],
    test_acc: float,
    train_s: float,
    sha: str,
    calibration: dict,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "model_args": config.to_dict(),
            "state_dict": net.state_dict(),
            "train_args": {
                k: (str(v) if isinstance(v, Path) else v)
                for k, v in vars(args).items()
                if k != "func"
            },
            "history": history,
            "mnist_test_accuracy": test_acc,
            "train_seconds": train_s,
            "train_data_sha256": sha,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **calibration,
        },
        path,
    )
    plot_history(history, path.with_suffix(".png"))
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "mnist_test_accuracy": test_acc,
                "train_seconds": round(train_s, 1),
                "history": history,
                "parameters": count_parameters(net),
                "model_args": config.to_dict(),
                **calibration,
            },
            indent=2,
            default=str,
        )
    )


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


class CheckpointError(ValueError):
    """The file is not a handwriting-model checkpoint."""


def load_checkpoint(path: Path) -> tuple[DigitNet, dict]:
    """Rebuild the network from a checkpoint's own `model_args`."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if ckpt.get("model_args", {}).get("kind") == "printed":
        raise CheckpointError(
            f"{path} is a printed-digit (meter) checkpoint, not a handwriting one; "
            "train and export it with --printed"
        )
    net = DigitNet(ModelConfig.from_dict(ckpt["model_args"]))
    state = dict(ckpt["state_dict"])
    state.setdefault("temperature", torch.tensor(1.0))  # checkpoints from before calibration
    net.load_state_dict(state)
    return net.eval(), ckpt
