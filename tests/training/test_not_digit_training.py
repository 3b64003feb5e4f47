"""The default recipe: an 11th "not a digit" class, a fitted temperature, and the off switches."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.training.conftest import dry_run
from training.checkpoint import load_checkpoint
from training.evaluate import main as evaluate_main
from training.model import DIGITS, ModelConfig


def test_default_dry_run_learns_not_digit_and_is_calibrated(dry_run_checkpoint: Path) -> None:
    net, ckpt = load_checkpoint(dry_run_checkpoint)
    assert ckpt["model_args"]["num_classes"] == DIGITS + 1
    assert ckpt["train_args"]["no_negatives"] is False
    assert 0.05 < ckpt["temperature"] < 20
    assert float(net.temperature) == pytest.approx(ckpt["temperature"], rel=1e-6)
    assert 0 <= ckpt["mnist_test_ece"] <= 1 and 0 <= ckpt["mnist_test_ece_before"] <= 1
    assert ckpt["fitted_on"]["validation_negatives"] > 0
    assert "val_not_digit_recall" in ckpt["history"][0]
    probs, not_digit = net.outputs(torch.rand(4, 1, 28, 28))
    assert probs.shape == (4, 10) and not_digit is not None and not_digit.shape == (4, 1)
    assert torch.allclose(probs.sum(1), torch.ones(4))


def test_switches_give_the_digits_only_model(digits_only_checkpoint: Path) -> None:
    net, ckpt = load_checkpoint(digits_only_checkpoint)
    assert ModelConfig.from_dict(ckpt["model_args"]).num_classes == DIGITS
    assert ckpt["train_args"]["no_strokes"] is True
    assert ckpt["fitted_on"]["validation_negatives"] == 0
    probs, not_digit = net.outputs(torch.zeros(3, 1, 28, 28))
    assert probs.shape == (3, 10) and not_digit is None


def test_fine_tuning_a_digits_only_model_keeps_its_classes(
    digits_only_checkpoint: Path, sample_data_dir: Path, tmp_path: Path, capsys
) -> None:
    dry_run(sample_data_dir, tmp_path / "tuned.pt", "--init", str(digits_only_checkpoint))
    assert "no not-digit class" in capsys.readouterr().out
    assert load_checkpoint(tmp_path / "tuned.pt")[1]["model_args"]["num_classes"] == DIGITS


def test_evaluate_prints_calibration_and_not_digit_figures(
    dry_run_checkpoint: Path, sample_data_dir: Path, capsys
) -> None:
    assert (
        evaluate_main(
            [
                str(dry_run_checkpoint),
                "--data-dir",
                str(sample_data_dir),
                "--limit",
                "300",
                "--negatives",
                "60",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "ECE" in out
    assert "of the test digits called not a digit" in out
    assert "of 60 held-out synthetic negatives" in out
    assert "lone-digit judge" not in out  # a checkpoint without one


def test_evaluate_reports_the_lone_digit_judge_of_a_file_that_has_one(
    sample_data_dir: Path, tmp_path: Path, capsys
) -> None:
    import json

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "report.json"
    args = [str(root / "edge" / "models" / "mnist-cnn.onnx"), "--data-dir", str(sample_data_dir),
            "--limit", "300", "--negatives", "100", "--json", str(out)]  # fmt: skip
    assert evaluate_main(args) == 0
    report = json.loads(out.read_text())
    assert 0 <= report["lone_digits_dropped"] < 0.05  # few digits read alone are dropped
    assert report["lone_negatives_caught"] > 0.9
    assert "lone-digit judge:" in capsys.readouterr().out
