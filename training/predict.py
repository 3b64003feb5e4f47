"""The digit network applied to arrays of MNIST-style images: logits, the exported outputs,
and the figures training prints and stores (validation accuracy, the temperature, how the
device's held-out examples are read).
"""

from __future__ import annotations

import numpy as np
import torch

from training.calibrate import called_not_digit, digit_ece, digit_outputs, fit_temperature
from training.model import DIGITS, NOT_DIGIT, DigitNet


@torch.no_grad()
def predict_logits(net: DigitNet, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Raw logits [N,classes] for images [N,28,28]: uint8 0..255 or float 0..1."""
    net.eval()
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    out = [np.zeros((0, net.config.num_classes), np.float32)]
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(images[start : start + batch_size].astype(np.float32) / scale)
        out.append(net(batch.unsqueeze(1)).numpy())
    return np.concatenate(out)


@torch.no_grad()
def predict_outputs(
    net: DigitNet, images: np.ndarray, batch_size: int = 1000
) -> tuple[np.ndarray, np.ndarray | None]:
    """What the exported model returns: `probs` [N,10] and, with 11 classes, `not_digit` [N,1]."""
    net.eval()
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    probs, not_digit = [np.zeros((0, DIGITS), np.float32)], [np.zeros((0, 1), np.float32)]
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(images[start : start + batch_size].astype(np.float32) / scale)
        p, nd = net.outputs(batch.unsqueeze(1))
        probs.append(p.numpy())
        if nd is not None:
            not_digit.append(nd.numpy())
    has_not_digit = net.config.num_classes > DIGITS
    return np.concatenate(probs), np.concatenate(not_digit) if has_not_digit else None


def validation_figures(
    net: DigitNet, x_val: np.ndarray, y_val: np.ndarray, negatives: np.ndarray
) -> dict:
    """Digit accuracy on the validation digits, and how the not-digit class splits them."""
    probs, not_digit = digit_outputs(predict_logits(net, x_val))
    figures = {"val_accuracy": float((probs.argmax(1) == y_val).mean()) if len(y_val) else 0.0}
    if len(negatives):
        neg_probs, neg_nd = digit_outputs(predict_logits(net, negatives))
        figures["val_not_digit_recall"] = float(called_not_digit(neg_probs, neg_nd).mean())
        figures["val_digits_called_not_digit"] = float(called_not_digit(probs, not_digit).mean())
    return figures


def calibrate(
    net: DigitNet,
    x_val: np.ndarray,
    y_val: np.ndarray,
    negatives: np.ndarray,
    test_logits: np.ndarray,
    y_test: np.ndarray,
) -> dict:
    """Fit the temperature on validation digits and negatives, store it in the network."""
    logits = predict_logits(net, np.concatenate([x_val.astype(np.float32) / 255, negatives]))
    labels = np.concatenate([y_val.astype(np.int64), np.full(len(negatives), NOT_DIGIT)])
    net.temperature.fill_(fit_temperature(logits, labels))
    temperature = float(net.temperature)  # as stored: float32
    return {
        "temperature": temperature,
        "mnist_test_ece_before": digit_ece(digit_outputs(test_logits)[0], y_test),
        "mnist_test_ece": digit_ece(digit_outputs(test_logits, temperature)[0], y_test),
        "fitted_on": {"validation_digits": len(x_val), "validation_negatives": len(negatives)},
    }


def extra_accuracy(net: DigitNet, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of the held-out extra examples read right (1.0 when there are none)."""
    if not len(labels):
        return 1.0
    return float((predict_logits(net, images)[:, :DIGITS].argmax(1) == labels).mean())
