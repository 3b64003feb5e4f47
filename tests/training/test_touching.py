"""The run reader for digits run together: made runs, training, export, and the device's load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edge.config import ModelSettings, RegionSettings
from edge.runs_model import BLANK, runs_for
from edge.vision.runs import RUN_HEIGHT, RUN_WIDTH
from export.runs_export import main as export_main
from training.mnist import load_split
from training.touching import RunConfig, accuracy, main, make_runs


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


def test_a_run_counts_as_read_only_when_the_device_decodes_exactly_its_digits() -> None:
    # Column paths 3 3 _ 7 and 5: the first run reads 37, the second 5 (not 55).
    paths = [[3, 3, BLANK, 7], [5, BLANK, BLANK, BLANK]]
    logp = torch.full((2, 28, BLANK + 1), -20.0)
    for n, path in enumerate(paths):
        for t in range(28):
            logp[n, t, path[t] if t < len(path) else BLANK] = 0.0

    class Fixed(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return logp

    runs = np.zeros((2, RUN_HEIGHT, RUN_WIDTH), np.float32)
    assert accuracy(Fixed(), runs, [[3, 7], [5, 5]]) == 0.5
    assert accuracy(Fixed(), runs, [[3, 7], [5]]) == 1.0
