"""Shared fixtures for training and export tests: a tiny MNIST folder from the shipped sample."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from training.mnist import SPLITS, load_split, write_idx

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "mnist_sample"


@pytest.fixture(scope="session")
def sample_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with all four MNIST files, made from the 1,000-image test sample.

    The sample's first 800 images stand in for the training split so no test needs
    the full data set or the internet.
    """
    folder = tmp_path_factory.mktemp("mnist")
    for name in SPLITS["test"]:
        shutil.copy(SAMPLE_DIR / name, folder / name)
    images, labels = load_split(SAMPLE_DIR, "test")
    write_idx(folder / SPLITS["train"][0], images[:800])
    write_idx(folder / SPLITS["train"][1], labels[:800])
    return folder


def dry_run(data_dir: Path, out: Path, *flags: str) -> Path:
    """`digitcam train --dry-run` on the sample with these flags; the checkpoint path."""
    from training.train import main

    args = ["--data-dir", str(data_dir), "--dry-run", "--out", str(out), "--val-size", "100"]
    assert main([*args, *flags]) == 0
    return out


@pytest.fixture(scope="session")
def dry_run_checkpoint(sample_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint from `digitcam train --dry-run` on the sample."""
    return dry_run(sample_data_dir, tmp_path_factory.mktemp("ckpt") / "dry.pt")


@pytest.fixture(scope="session")
def digits_only_checkpoint(sample_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10-class checkpoint (`--no-negatives --no-strokes`): the model file before not-digit."""
    out = tmp_path_factory.mktemp("ckpt10") / "digits.pt"
    return dry_run(sample_data_dir, out, "--no-negatives", "--no-strokes")
