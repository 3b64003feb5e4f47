"""`digitcam model adapt`: the device learns its user's writing, with numpy and onnxruntime.

The shipped model has a `features` output (what its last layer sees) and that layer's weights
in its metadata (`head`). Adapting refits the layer on features of MNIST digits shipped in the
package mixed with the user's labelled examples weighted up, staying close to the old weights
(an L2 pull), with the calibration temperature kept. A part of the user's examples (every
HOLD_OUT-th of each digit) and half of the MNIST sample are held out: accuracy before and after
is measured on them, and a result is refused when it reads the user's held-out examples no
better, or the MNIST sample worse (by more than one digit in 500). The new weights are written over
the old bytes of a copy of the model (edge.onnx_edit), whose metadata name its parent and the
examples it learnt from; then it is installed through the same check as `model install`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.config import Settings
from edge.model import DigitModel
from edge.model_install import InstallRefused, examples, install, load_active
from edge.onnx_edit import EditError, rewrite
from edge.reading import utc_timestamp
from edge.store import Store

logger = logging.getLogger(__name__)

DIGITS = 10
HOLD_OUT = 4  # every 4th example of each digit is held out: 25% to judge the result on
USER_WEIGHT = 3.0  # one user example counts as this many MNIST digits in the fit
L2_PULL = 0.3  # how strongly the weights stay near the shipped ones
STEPS, LEARNING_RATE = 300, 0.05
MIN_EXAMPLES = 10
# The MNIST sample held out is 500 digits: one of them is 0.2 points, below what the sample can
# tell from noise. A result is refused when it reads them worse by more than that one digit.
MNIST_TOLERANCE = 1 / 500


@dataclass
class Head:
    weight: np.ndarray  # float32 [classes, features]
    bias: np.ndarray  # float32 [classes]
    temperature: float

    def digits(self, features: np.ndarray) -> np.ndarray:
        """The digit each feature row reads as (the not-digit class never wins here)."""
        return (features @ self.weight.T + self.bias)[:, :DIGITS].argmax(1)


@dataclass
class Adapted:
    path: Path | None  # the new model file (None with --dry-run)
    version: str
    figures: dict[str, Any]


def read_head(model: DigitModel) -> Head:
    if not model.adaptable:
        raise InstallRefused(
            f"{model.version} cannot be adapted: it has no 'features' output and 'head' "
            "metadata (export it again with this version's digitcam export)"
        )
    head = json.loads(model.metadata["head"])
    shape = tuple(head["weight_shape"])
    weight = np.frombuffer(base64.b64decode(head["weight"]), "<f4").reshape(shape)
    bias = np.frombuffer(base64.b64decode(head["bias"]), "<f4")
    return Head(weight.copy(), bias.copy(), float(head["temperature"]))


def fit(head: Head, features: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> Head:
    """Weighted cross-entropy over the calibrated logits, with Adam; the not-digit row stays."""
    w0, b0 = head.weight.astype(np.float64), head.bias.astype(np.float64)
    w, b = w0.copy(), b0.copy()
    trainable = np.zeros(w.shape[0], bool)
    trainable[:DIGITS] = True
    moments = [np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)]
    x, share = features.astype(np.float64), weights / weights.sum()
    onehot = np.eye(w.shape[0])[labels]
    for step in range(1, STEPS + 1):
        logits = (x @ w.T + b) / head.temperature
        logits -= logits.max(1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(1, keepdims=True)
        error = (probs - onehot) * share[:, None] / head.temperature
        grad_w = error.T @ x + 2 * L2_PULL * (w - w0)
        grad_b = error.sum(0) + 2 * L2_PULL * (b - b0)
        grad_w[~trainable], grad_b[~trainable] = 0.0, 0.0
        for value, grad, m, v in ((w, grad_w, *moments[:2]), (b, grad_b, *moments[2:])):
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad**2
            value -= LEARNING_RATE * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return Head(w.astype(np.float32), b.astype(np.float32), head.temperature)


def split(labels: np.ndarray) -> np.ndarray:
    """True for the held-out examples: every HOLD_OUT-th of each digit, in order."""
    held = np.zeros(len(labels), bool)
    for digit in range(DIGITS):
        held[np.flatnonzero(labels == digit)[HOLD_OUT - 1 :: HOLD_OUT]] = True
    return held


def adapt(settings: Settings, *, dry_run: bool = False) -> Adapted:
    """Refit, judge, write and (unless dry_run) install an adapted model."""
    from edge.api.samples import load_samples  # numpy only; shipped in the package

    started = time.perf_counter()
    model = load_active(settings)
    head = read_head(model)
    store = Store(settings.storage.path, settings.storage.outbox_max)
    try:
        user_x, user_y = examples(store)
    finally:
        store.close()
    if len(user_y) < MIN_EXAMPLES:
        raise InstallRefused(f"{len(user_y)} labelled examples; adapting needs {MIN_EXAMPLES}")
    mnist = load_samples()
    mnist_fit = np.arange(len(mnist.labels)) % 2 == 0
    held = split(user_y)

    def feats(images: np.ndarray) -> np.ndarray:
        return model.features(images[:, None].astype(np.float32) / 255.0)

    fu, fm = feats(user_x), feats(mnist.images)
    my = mnist.labels.astype(np.int64)
    x = np.concatenate([fm[mnist_fit], fu[~held]])
    y = np.concatenate([my[mnist_fit], user_y[~held]])
    weights = np.concatenate([np.ones(mnist_fit.sum()), np.full((~held).sum(), USER_WEIGHT)])
    new = fit(head, x, y, weights)

    def accuracy(h: Head, f: np.ndarray, truth: np.ndarray) -> float:
        return float((h.digits(f) == truth).mean()) if len(truth) else 1.0

    figures = {
        "examples": len(user_y),
        "examples_held_out": int(held.sum()),
        "user_before": accuracy(head, fu[held], user_y[held]),
        "user_after": accuracy(new, fu[held], user_y[held]),
        "mnist_held_out": int((~mnist_fit).sum()),
        "mnist_before": accuracy(head, fm[~mnist_fit], my[~mnist_fit]),
        "mnist_after": accuracy(new, fm[~mnist_fit], my[~mnist_fit]),
    }
    figures["seconds"] = round(time.perf_counter() - started, 2)
    if figures["user_after"] <= figures["user_before"]:
        # Worse, or no better: nothing learnt that is worth a new model (labels that contradict
        # the digits, e.g. swapped, end here).
        raise InstallRefused(_worse("your held-out examples", figures, "user"))
    if figures["mnist_after"] < figures["mnist_before"] - MNIST_TOLERANCE - 1e-9:
        raise InstallRefused(_worse("the MNIST sample", figures, "mnist"))
    digest = hashlib.sha256(new.weight.tobytes() + new.bias.tobytes()).hexdigest()[:8]
    version = f"{model.metadata.get('version', 'unknown')}+adapt-{digest}"
    if dry_run:
        return Adapted(None, f"mnist-cnn-{version}", figures)
    data = _write(model, head, new, version, user_x, user_y, figures)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "adapted.onnx"
        path.write_bytes(data)
        entry, _ = install(settings, path, source="adapt")
    return Adapted(Path(entry.file), entry.version, figures)


def _worse(what: str, figures: dict[str, Any], key: str) -> str:
    before, after = figures[key + "_before"], figures[key + "_after"]
    how = "worse" if after < before else "no better"
    return (
        f"the adapted model reads {what} {how} ({before:.1%} before, {after:.1%} after): "
        "not installed"
    )


def _write(
    model: DigitModel,
    old: Head,
    new: Head,
    version: str,
    images: np.ndarray,
    labels: np.ndarray,
    figures: dict[str, Any],
) -> bytes:
    metadata = dict(model.metadata)
    head = json.loads(metadata["head"])
    head.update(
        weight=base64.b64encode(new.weight.astype("<f4").tobytes()).decode(),
        bias=base64.b64encode(new.bias.astype("<f4").tobytes()).decode(),
    )
    learnt = hashlib.sha256(images.tobytes() + labels.astype(np.uint8).tobytes()).hexdigest()
    metadata.update(
        version=version,
        head=json.dumps(head),
        parent=model.metadata.get("version", "unknown"),
        adapted=json.dumps({"examples": len(labels), "examples_sha256": learnt, **figures}),
        created=utc_timestamp(),
    )
    replacements = [
        (old.weight.astype("<f4").tobytes(), new.weight.astype("<f4").tobytes()),
        (old.bias.astype("<f4").tobytes(), new.bias.astype("<f4").tobytes()),
    ]
    try:
        return rewrite(model.path.read_bytes(), replacements, metadata)
    except EditError as exc:
        raise InstallRefused(f"{model.path} cannot be rewritten: {exc}") from None
