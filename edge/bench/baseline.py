"""The side-by-side column of `digitcam bench`: the same weights, run the naive PyTorch way.

The baseline itself lives in training/baseline.py (it needs torch and Pillow, which a device
does not install); this module only looks it up by name, when the `train` extra is there.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.bench.measure import Scenario, is_single_digit, summary, time_calls
from edge.model import DigitModel

logger = logging.getLogger(__name__)

BASELINE_MODULE = "training.baseline"
CHECKPOINT_NAME = Path("checkpoints") / "mnist-cnn.pt"


def default_checkpoint() -> Path | None:
    """training/checkpoints/mnist-cnn.pt beside the training package, found without importing it."""
    spec = importlib.util.find_spec("training")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / CHECKPOINT_NAME


def unavailable_reason(checkpoint: Path | None) -> str | None:
    """Why the PyTorch column cannot be measured here, or None when it can."""
    for module in ("torch", "PIL", "training"):
        if importlib.util.find_spec(module) is None:
            return (
                f"the PyTorch baseline needs the `train` extra ({module} is not installed): "
                "pip install 'digitcam[train]'"
            )
    if checkpoint is None or not checkpoint.is_file():
        return (
            f"the PyTorch baseline needs the checkpoint the ONNX model was exported from "
            f"({checkpoint or CHECKPOINT_NAME} not found); pass --checkpoint PATH"
        )
    return None


def load_baseline(checkpoint: Path) -> Any:
    """training.baseline.NaiveClassifier on one thread (imports torch: call it last)."""
    module = importlib.import_module(BASELINE_MODULE)
    return module.NaiveClassifier(checkpoint, threads=1)


def time_naive_frames(
    naive: Any, frames: list[tuple[str, bytes]], repeats: int
) -> dict[str, dict[str, float]]:
    """Per stage of the naive path on the same frames as ours: PIL decode, squash, eager call."""
    times: dict[str, list[float]] = {"decode": [], "preprocess": [], "inference": [], "frame": []}
    for repeat in range(repeats + 1):  # the first pass warms up and is not counted
        for _, data in frames:
            t0 = time.perf_counter()
            image = naive.decode(data)
            t1 = time.perf_counter()
            batch = naive.to_input(image)
            t2 = time.perf_counter()
            int(np.argmax(naive.infer(batch)[0]))
            t3 = time.perf_counter()
            if repeat:
                for key, span in zip(times, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
                    times[key].append(span * 1000.0)
    return {key: summary(values) for key, values in times.items()}


def naive_accuracy(naive: Any, scenarios: list[Scenario]) -> dict[str, dict[str, int]]:
    """Single-digit frames the naive path reads right, per scenario (a refused file is wrong)."""
    result = {}
    for scenario in scenarios:
        frames = right = 0
        for name, data in scenario.files.items():
            expected = scenario.expected.get(name)
            if expected is None or not is_single_digit(expected):
                continue
            frames += 1
            try:
                right += str(naive.predict(data)) == expected["value"]
            except Exception:  # PIL raises many kinds: the naive path has no guard
                logger.debug("baseline could not read %s/%s", scenario.name, name, exc_info=True)
        result[scenario.name] = {"single_digit_frames": frames, "single_digit_right": right}
    return result


def parity(naive: Any, model: DigitModel, digits: np.ndarray) -> dict[str, Any]:
    """Whether the ONNX model and the checkpoint are the same weights, on our own crops."""
    torch_probs = naive.infer(digits)
    onnx_probs = model.predict(digits)
    agree = int((torch_probs.argmax(axis=1) == onnx_probs.argmax(axis=1)).sum())
    max_diff = float(np.abs(torch_probs - onnx_probs).max())
    return {
        "digits": len(digits),
        "same_prediction": agree,
        "max_prob_diff": max_diff,
        "same_weights": agree == len(digits) and max_diff < 1e-3,
    }


def measure_baseline(
    naive: Any,
    model: DigitModel,
    frames: list[tuple[str, bytes]],
    digits: np.ndarray,
    scenarios: list[Scenario],
    repeats: int,
    calls: int,
) -> dict[str, Any]:
    """Speed and accuracy of the naive path, plus the eager call alone per digit."""
    singles = [digits[i : i + 1] for i in range(len(digits))]
    return {
        "available": True,
        "checkpoint": str(naive.checkpoint),
        "frame_ms": time_naive_frames(naive, frames, repeats),
        "inference_per_digit_ms": summary(time_calls(naive.infer, singles, calls)),
        "accuracy": naive_accuracy(naive, scenarios),
        "parity": parity(naive, model, digits),
    }
