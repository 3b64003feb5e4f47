"""`digitcam model adapt`: the device refits its model's last layer to its user's writing.

The constructed writer leans every digit 40 degrees forward (a tilted page, or a hand that
leans): MNIST digits of the shipped sample, turned and normalised as the reader normalises a
camera digit. 25 of each digit are the user's labelled examples; the writer's other digits
judge the result.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.adapt import read_head
from edge.config import Settings
from edge.model import DigitModel
from edge.model_install import InstallRefused, load_active
from edge.onnx_edit import rewrite
from edge.store import Store
from edge.vision.normalise import to_mnist
from tests.conftest import digitcam_cli
from training.calibrate import softmax
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"


def leaning_writer() -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_split(SAMPLE, "test")
    turn = cv2.getRotationMatrix2D((14, 14), -40, 1)
    leaned = [cv2.warpAffine(image, turn, (28, 28)) for image in images]
    normalised = [to_mnist(image.astype(np.float32) / 255.0) for image in leaned]
    return (np.stack(normalised) * 255 + 0.5).clip(0, 255).astype(np.uint8), labels.astype(int)


def device(tmp_path: Path, labels_of: dict[int, int] | None = None) -> tuple[Settings, np.ndarray]:
    """A device holding 25 labelled examples of each digit; returns the writer's other digits."""
    images, labels = leaning_writer()
    picked = np.concatenate([np.flatnonzero(labels == d)[:25] for d in range(10)])
    store = Store(tmp_path / "state.sqlite", 100)
    for i in picked:
        store.add_label((labels_of or {}).get(int(labels[i]), int(labels[i])), "import", images[i])
    store.close()
    return Settings(storage={"path": tmp_path / "state.sqlite"}), np.setdiff1d(
        np.arange(len(labels)), picked
    )


def adapt(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return digitcam_cli(tmp_path, "model", "adapt", *args)


def accuracy(settings: Settings, images: np.ndarray, labels: np.ndarray) -> float:
    probs = load_active(settings).predict(images[:, None].astype(np.float32) / 255.0)
    return float((probs.argmax(1) == labels).mean())


def test_adapting_to_a_leaning_writer_reads_their_other_digits_better(tmp_path: Path) -> None:
    settings, others = device(tmp_path)
    images, labels = leaning_writer()
    before = accuracy(settings, images[others], labels[others])
    dry = adapt(tmp_path, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stdout and accuracy(settings, images[others], labels[others]) == before
    result = adapt(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "your 250 examples, each read by a memory of the others (4 folds)" in result.stdout
    model = load_active(settings)
    assert "+adapt-" in model.version
    after = accuracy(settings, images[others], labels[others])
    assert after >= before + 0.01, (before, after)
    # The new file describes itself: its parent and what it learnt from.
    shipped = DigitModel(Path(__file__).resolve().parents[2] / "edge/models/mnist-cnn.onnx")
    assert model.metadata["parent"] == shipped.metadata["version"] != model.metadata["version"]
    assert json.loads(model.metadata["adapted"])["examples"] == 250
    assert model.adaptable  # and can be adapted again
    # The graph reads the memory the device wrote: its probabilities are the ones adapt judged.
    head = read_head(model)
    x = images[others, None].astype(np.float32) / 255
    judged = softmax(head.logits(model.features(x))[:, :10])
    assert np.abs(model.predict(x) - judged).max() < 1e-4


def test_a_model_without_a_named_memory_cannot_be_adapted(tmp_path: Path) -> None:
    settings, _ = device(tmp_path)
    model = load_active(settings)
    metadata = {**model.metadata, "head": json.dumps({"output": "features", "weight": "w"})}
    older = tmp_path / "older.onnx"
    older.write_bytes(rewrite(model.path.read_bytes(), [], metadata))
    with pytest.raises(InstallRefused, match="cannot be adapted"):
        read_head(DigitModel(older))
    missing = {**metadata, "head": json.dumps({**json.loads(model.metadata["head"]), "bias": "x"})}
    older.write_bytes(rewrite(model.path.read_bytes(), [], missing))
    with pytest.raises(InstallRefused, match="no initializer with raw data called x"):
        read_head(DigitModel(older))


def test_a_harmful_example_set_is_refused_and_the_model_stays(tmp_path: Path) -> None:
    settings, _ = device(tmp_path, labels_of={d: (d + 1) % 10 for d in range(10)})
    before = load_active(settings).version
    result = adapt(tmp_path)
    assert result.returncode == 1
    # Shifted labels contradict the digits: the writer's 3s, labelled 4, look like MNIST's 3s.
    assert "your examples labelled 4 look like the MNIST sample's 3s" in result.stderr
    assert "not installed" in result.stderr
    assert load_active(settings).version == before
