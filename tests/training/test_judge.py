"""training/judge.py: the not-digit output refitted, the ten digits left exactly as they were."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from training.checkpoint import load_checkpoint
from training.mnist import load_split, write_idx
from training.model import NOT_DIGIT

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "training" / "checkpoints" / "mnist-cnn.pt"


def pairs_folder(images: np.ndarray, folder: Path) -> Path:
    """Two digits side by side, fitted MNIST-style: what a blob of touching digits becomes."""
    from edge.vision.normalise import to_mnist

    starts = range(0, len(images) - 1, 2)
    made = [to_mnist(np.hstack([images[i], images[i + 1]]) / 255.0) for i in starts]
    folder.mkdir(parents=True)
    write_idx(folder / "images-idx3-ubyte.gz", np.round(np.stack(made) * 255))
    write_idx(folder / "labels-idx1-ubyte.gz", np.full(len(made), 10))
    return folder


def refit(sample_data_dir: Path, tmp_path: Path, *flags: str) -> tuple[Path, np.ndarray]:
    """training/judge.py on the shipped checkpoint with pairs of sample digits; the new
    checkpoint and the sample images."""
    from training.judge import main

    images, _ = load_split(sample_data_dir, "test")
    pairs = pairs_folder(images[800:], tmp_path / "pairs")
    out = tmp_path / "judged.pt"
    args = ["--checkpoint", str(SHIPPED), "--data-dir", str(sample_data_dir),
            "--not-digit", str(pairs), "--negatives", "300", "--val-size", "100",
            "--out", str(out), *flags]  # fmt: skip
    assert main(args) == 0
    return out, images


def test_only_the_not_digit_row_moves_and_it_catches_more_pairs(
    sample_data_dir: Path, tmp_path: Path
) -> None:
    out, images = refit(sample_data_dir, tmp_path)
    before, old = load_checkpoint(SHIPPED)
    after, new = load_checkpoint(out)
    x = torch.from_numpy(images[:200, None].astype(np.float32) / 255)
    with torch.no_grad():
        probs_before, not_before = before.outputs(x)
        probs_after, _ = after.outputs(x)
    # Every digit probability the device reads is what it was: same argmax, same confidence.
    assert torch.allclose(probs_before, probs_after, atol=1e-6)
    state_before, state_after = before.state_dict(), after.state_dict()
    changed = [k for k in state_before if not torch.equal(state_before[k], state_after[k])]
    assert sorted(changed) == ["head.2.bias", "head.2.weight"]
    rows = state_before["head.2.weight"] != state_after["head.2.weight"]
    assert rows[NOT_DIGIT].any() and not rows[:NOT_DIGIT].any()
    report = json.loads(out.with_suffix(".judge.json").read_text())["report"]
    caught = report["held-out harvested not-digits caught"]
    assert caught["mean_not_digit_after"] > caught["mean_not_digit_before"]
    assert caught["after"] >= caught["before"]
    assert new["train_data_sha256"] != old["train_data_sha256"]  # it learnt from more data
    assert new["mnist_test_accuracy"] == old["mnist_test_accuracy"]
    assert not_before.shape == (200, 1)


def test_as_the_lone_digit_judge_the_refit_leaves_the_network_as_it_was(
    sample_data_dir: Path, tmp_path: Path
) -> None:
    from training.model import LONE_KEY

    out, _ = refit(sample_data_dir, tmp_path, "--lone")
    before, old = load_checkpoint(SHIPPED)
    after, new = load_checkpoint(out)
    state_before, state_after = before.state_dict(), after.state_dict()
    assert all(torch.equal(state_before[k], state_after[k]) for k in state_before)
    row = new[LONE_KEY]
    assert row["weight"].shape == (before.width,) and row["bias"].shape == ()
    old_row = old.get(LONE_KEY)
    assert old_row is None or not torch.equal(old_row["weight"], row["weight"])
    assert json.loads(out.with_suffix(".judge.json").read_text())["as"] == "lone-digit judge"
