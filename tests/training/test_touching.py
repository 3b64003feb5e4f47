"""The run reader for digits run together: made runs, training, export, and the device's load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.config import ModelSettings, RegionSettings
from edge.runs_model import runs_for
from edge.vision.runs import RUN_HEIGHT, RUN_WIDTH
from export.runs_export import main as export_main
from training.mnist import load_split
from training.touching import RunConfig, greedy, main, make_runs


def test_made_runs_hold_their_digits_left_to_right_and_touching(sample_data_dir: Path) -> None:
    images, labels = load_split(sample_data_dir, "train")
    runs, sequences = make_runs(images, labels, 200, 0, RunConfig())
    assert runs.shape == (200, RUN_HEIGHT, RUN_WIDTH)
    assert {len(s) for s in sequences} == {1, 2, 3, 4}
    for run, seq in zip(runs, sequences, strict=True):
        ink = run > 0.3
        cols = np.nonzero(ink.any(axis=0))[0]
        assert cols.size > 0 and float(run.max()) <= 1.0
        if len(seq) >= 2:
            # Touching or overlapping: hardly a column without ink between the ends. (A made
            # gap is at most 5% of the narrower digit, blur and slant may open a hair more.)
            inside = ink[:, cols[0] : cols[-1] + 1].any(axis=0)
            assert inside.mean() > 0.85


def test_trains_exports_and_loads_on_the_device(sample_data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs.pt"
    args = ["--data-dir", str(sample_data_dir), "--out", str(out), "--runs", "256",
            "--epochs", "1", "--val-size", "100", "--batch-size", "64"]  # fmt: skip
    assert main(args) == 0
    onnx_file = tmp_path / "runs.onnx"
    assert export_main([str(out), "--out", str(onnx_file)]) == 0
    model = runs_for(ModelSettings(runs_path=onnx_file), [RegionSettings(kind="number")])
    assert model is not None and model.version.startswith("runs-ctc-")
    ink = np.zeros((40, 90), np.float32)
    ink[5:35, 10:80] = 1.0
    assert isinstance(model.read([ink]), list)


def test_greedy_decoding_in_training_matches_the_device() -> None:
    from edge.runs_model import decode

    rng = np.random.default_rng(3)
    logits = rng.normal(size=(5, 28, 11)).astype(np.float32) * 3
    probs = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    for (digits, sure), p in zip(greedy(np.log(probs)), probs, strict=True):
        device = decode(p, width=100)
        assert digits == [int(np.argmax(d.probs)) for d in device]
        assert sure == pytest.approx([float(d.probs.max()) for d in device], rel=1e-5)
