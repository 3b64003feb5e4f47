"""Calibration: one temperature for the logits, fitted on held-out images, and the ECE.

With label smoothing the network's top probability saturates near 0.95 even when it is
right 99.7% of the time, so a reading's `confidence` understates it; dividing the logits by
a temperature below 1 fixes that without changing any prediction. The temperature is fitted
on the validation images (digits and synthetic negatives), never on the test set, and the
expected calibration error (ECE) is reported on the MNIST test set before and after.
"""

from __future__ import annotations

import logging
import math

import numpy as np

logger = logging.getLogger(__name__)

ECE_BINS = 15
LOG_T_RANGE = (math.log(0.05), math.log(20.0))  # the search interval for log(temperature)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, stable for large logits."""
    z = logits.astype(np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def digit_outputs(logits: np.ndarray, temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The device's outputs from logits: digit probabilities [N,10] and P(not a digit) [N]."""
    scaled = logits / temperature
    probs = softmax(scaled[:, :10])
    not_digit = softmax(scaled)[:, 10] if logits.shape[1] > 10 else np.zeros(len(logits))
    return probs, not_digit


def called_not_digit(probs: np.ndarray, not_digit: np.ndarray) -> np.ndarray:
    """True where the 11-way argmax is the not-digit class, from the two device outputs.

    The 11-way probability of the best digit is (1 - not_digit) times its renormalised one.
    """
    return not_digit > (1.0 - not_digit) * probs.max(axis=1)


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS
) -> float:
    """ECE over equal-width confidence bins: the mean |accuracy - confidence|, bin-weighted."""
    if len(confidence) == 0:
        return float("nan")
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            gap = abs(float(correct[members].mean()) - float(confidence[members].mean()))
            total += gap * members.sum()
    return total / len(confidence)


def digit_ece(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE of the `probs` output on labelled digits: confidence is the top digit probability."""
    return expected_calibration_error(probs.max(axis=1), probs.argmax(axis=1) == labels, bins)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of the labels under softmax(logits / temperature)."""
    z = logits.astype(np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float((log_norm - z[np.arange(len(z)), labels.astype(int)]).mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray, steps: int = 60) -> float:
    """The temperature minimising the NLL, by golden-section search on log(temperature).

    The NLL is convex in 1/temperature, so the one-dimensional search finds the optimum.
    """
    lo, hi = LOG_T_RANGE
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(logits, labels, math.exp(a)), nll(logits, labels, math.exp(b))
    for _ in range(steps):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(logits, labels, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(logits, labels, math.exp(b))
    return math.exp((lo + hi) / 2)
