"""Calibration: the ECE, the fitted temperature, and the outputs the device reads."""

from __future__ import annotations

import numpy as np
import torch

from training.calibrate import (
    called_not_digit,
    digit_outputs,
    expected_calibration_error,
    fit_temperature,
    softmax,
)
from training.model import split_outputs


def test_ece_of_calibrated_and_overconfident_predictions() -> None:
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 200_000)
    correct = rng.random(200_000) < confidence  # right exactly as often as it claims
    assert expected_calibration_error(confidence, correct) < 0.01
    claims = np.full(1000, 0.9)
    half_right = np.arange(1000) % 2 == 0
    assert abs(expected_calibration_error(claims, half_right) - 0.4) < 1e-9


def test_temperature_undoes_a_known_sharpening() -> None:
    rng = np.random.default_rng(1)
    true_logits = rng.normal(0.0, 2.0, (20_000, 11))
    cumulative = softmax(true_logits).cumsum(axis=1)
    labels = (rng.random((20_000, 1)) > cumulative).sum(axis=1)  # drawn from the true model
    assert abs(fit_temperature(true_logits * 3.0, labels) - 3.0) < 0.15
    assert abs(fit_temperature(true_logits / 2.0, labels) - 0.5) < 0.03


def test_digit_outputs_are_the_eleven_way_softmax_renormalised() -> None:
    rng = np.random.default_rng(2)
    logits = rng.normal(0.0, 3.0, (500, 11))
    probs, not_digit = digit_outputs(logits, temperature=0.7)
    full = softmax(logits / 0.7)
    assert np.allclose(probs, full[:, :10] / full[:, :10].sum(1, keepdims=True))
    assert np.allclose(not_digit, full[:, 10])
    assert np.array_equal(called_not_digit(probs, not_digit), full.argmax(1) == 10)
    torch_probs, torch_not_digit = split_outputs(torch.from_numpy(logits / 0.7).float())
    assert torch_not_digit is not None
    assert np.allclose(torch_probs.numpy(), probs, atol=1e-5)
    assert np.allclose(torch_not_digit.numpy()[:, 0], not_digit, atol=1e-5)


def test_digit_probabilities_survive_a_certain_not_digit() -> None:
    logits = torch.tensor([[0.0] * 10 + [200.0]])  # float32 softmax gives the digits 0 each
    probs, not_digit = split_outputs(logits)
    assert not_digit is not None and float(not_digit) == 1.0
    assert torch.isfinite(probs).all() and abs(float(probs.sum()) - 1.0) < 1e-6
