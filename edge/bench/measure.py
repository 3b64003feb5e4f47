"""In-process measurements of `digitcam bench`: stage latency, inference, replay and accuracy.

Everything here runs on one thread (the caller sets cv2.setNumThreads(1) and loads the model
with one onnxruntime thread) on frames read from `mock_frames/<scenario>/` folders, each with
an expected.json naming the value of every frame.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Any

import numpy as np

from edge.camera.imageio import ImageError, decode_image, image_header
from edge.camera.sources import FolderSource, SourceError, image_names
from edge.meter.settings import PRINTED_KINDS
from edge.model import DigitModel
from edge.reader import FrameReader
from edge.reading import NO_DIGIT
from edge.store import Store
from edge.vision.find import find_digits
from edge.vision.normalise import to_mnist

logger = logging.getLogger(__name__)

CAMERA_SIZE = (640, 480)  # the frame size the latency figures are quoted for


@dataclass
class Scenario:
    """One mock_frames folder: its image files' bytes and what each should read as."""

    name: str
    folder: Path
    files: dict[str, bytes]
    expected: dict[str, dict[str, Any]]


def load_scenarios(frames_dir: Path, names: list[str] | None = None) -> list[Scenario]:
    """Every `<frames_dir>/<scenario>/` holding an expected.json, sorted by name.

    Meter scenarios (kinds counter and display) are left out: they are read through their
    own region boxes and the printed-digit model, whose speed and accuracy `digitcam evaluate
    --printed` reports; read as handwriting they would only slow and blur these figures.
    """
    scenarios = []
    for folder in sorted(p for p in frames_dir.iterdir() if (p / "expected.json").is_file()):
        if names and folder.name not in names:
            continue
        files = {name: (folder / name).read_bytes() for name in image_names(folder)}
        expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
        kinds = {want.get("kind") for want in expected.values()}
        if kinds and kinds <= set(PRINTED_KINDS):
            continue
        scenarios.append(Scenario(folder.name, folder, files, expected))
    return scenarios


def summary(samples_ms: list[float]) -> dict[str, float]:
    """Median and 95th percentile of a list of milliseconds."""
    if not samples_ms:
        return {"median": 0.0, "p95": 0.0, "n": 0}
    return {
        "median": round(statistics.median(samples_ms), 4),
        "p95": round(float(np.percentile(samples_ms, 95)), 4),
        "n": len(samples_ms),
    }


def camera_frames(scenarios: list[Scenario], limit: int) -> list[tuple[str, bytes]]:
    """The 640x480 JPEGs among the scenarios: what a Pi camera hands the daemon."""
    groups = []
    for scenario in scenarios:
        group = []
        for name, data in scenario.files.items():
            try:
                kind = image_header(data)[0]
                height, width = decode_image(data).shape  # a broken file is no camera frame
            except ImageError:
                continue
            if kind == "JPEG" and (width, height) == CAMERA_SIZE:
                group.append((f"{scenario.name}/{name}", data))
        groups.append(group)
    # Interleaved, so a small limit still mixes blank, single and multi-digit frames.
    frames = [f for row in zip_longest(*groups) for f in row if f is not None]
    return frames[:limit]


def time_stages(
    model: DigitModel,
    reader: FrameReader,
    frames: list[tuple[str, bytes]],
    repeats: int,
    store: Store,
    topics: list[str],
) -> dict[str, dict[str, float]]:
    """Median and p95 per stage, then the whole frame through the daemon's own calls."""
    names = ("decode", "find_digits", "normalise", "inference", "frame", "outbox", "frame_outbox")
    times: dict[str, list[float]] = {k: [] for k in names}
    for repeat in range(repeats + 1):  # the first pass warms caches and is not counted
        for source, data in frames:
            stages = stage_seconds(model, data)
            # The same frame again through the daemon's path: decode, FrameReader, outbox.
            t4 = time.perf_counter()
            readings = reader.read(decode_image(data), source, 0)
            t5 = time.perf_counter()
            for reading in readings:
                store.record(reading, topics, 1)
            t6 = time.perf_counter()
            if repeat == 0:
                continue
            spans = (*stages, t5 - t4, t6 - t5, t6 - t4)
            for key, span in zip(names, spans, strict=True):
                times[key].append(span * 1000.0)
    return {key: summary(values) for key, values in times.items()}


def stage_seconds(model: Any, data: bytes) -> tuple[float, float, float, float]:
    """Seconds one frame spends in decode, find digits, normalise and inference."""
    t0 = time.perf_counter()
    gray = decode_image(data)
    t1 = time.perf_counter()
    found = find_digits(gray, "number")
    t2 = time.perf_counter()
    batch = np.stack([to_mnist(c.ink) for c in found])[:, None] if found else None
    t3 = time.perf_counter()
    if batch is not None:
        model.predict(batch)
    t4 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2, t4 - t3


def digit_inputs(frames: list[tuple[str, bytes]]) -> np.ndarray:
    """Every digit the pipeline finds in the frames, as the model's 28x28 inputs [N,1,28,28]."""
    digits = [to_mnist(c.ink) for _, data in frames for c in find_digits(decode_image(data))]
    if not digits:
        raise ValueError("no digit found in the benchmark frames")
    return np.stack(digits)[:, None].astype(np.float32)


def time_calls(
    call: Callable[[np.ndarray], Any], inputs: list[np.ndarray], calls: int
) -> list[float]:
    """Milliseconds per call of `call` on inputs taken in turn, after a short warm-up."""
    for x in inputs[:5]:
        call(x)
    samples = []
    for i in range(calls):
        x = inputs[i % len(inputs)]
        t0 = time.perf_counter()
        call(x)
        samples.append((time.perf_counter() - t0) * 1000.0)
    return samples


def time_inference(model: DigitModel, digits: np.ndarray, calls: int) -> dict[str, Any]:
    """ONNX alone: one digit per call, and batches of 8 (per batch and per digit)."""
    singles = [digits[i : i + 1] for i in range(len(digits))]
    pool = np.concatenate([digits] * -(-8 // len(digits)))  # at least 8 digits
    eights = [pool[i : i + 8] for i in range(0, len(pool) - 7, 8)]
    batch1 = summary(time_calls(model.predict, singles, calls))
    batch8 = summary(time_calls(model.predict, eights, max(10, calls // 4)))
    per_digit8 = {k: round(v / 8, 4) if k != "n" else v for k, v in batch8.items()}
    return {"batch1_per_digit": batch1, "batch8_per_batch": batch8, "batch8_per_digit": per_digit8}


def replay(
    scenario: Scenario, reader: FrameReader, min_frames: int, min_seconds: float
) -> dict[str, Any]:
    """Frames per second reading the folder through FolderSource, lossless, unpaced."""
    source = FolderSource(scenario.folder, loop=False, interval_s=0.0)
    frames = bad = 0
    started = time.perf_counter()
    try:
        while frames < min_frames or time.perf_counter() - started < min_seconds:
            source.open()
            while (frame := source.read()) is not None:
                frames += 1
                if frame.image is None:
                    bad += 1
                else:
                    reader.read(frame.image, frame.source, frame.index)
            source.close()
            source = FolderSource(scenario.folder, loop=False, interval_s=0.0)
    except SourceError as exc:
        return {"frames": 0, "fps": None, "error": str(exc)}
    elapsed = time.perf_counter() - started
    return {
        "frames": frames,
        "bad_frames": bad,
        "seconds": round(elapsed, 3),
        "fps": round(frames / elapsed, 1),
    }


def judge(expected: dict[str, Any], value: str | None, status: str | None) -> bool:
    """Whether a reading (status None: the file was refused) is what expected.json says."""
    if expected.get("status") == "error":
        return status is None
    if expected.get("value") is None:
        return status == NO_DIGIT
    return value == expected["value"]


def accuracy(scenarios: list[Scenario], reader: FrameReader) -> dict[str, dict[str, Any]]:
    """Per scenario: frames read right, and single-digit frames read right, by our path."""
    result = {}
    for scenario in scenarios:
        right = single = single_right = 0
        for name, data in scenario.files.items():
            expected = scenario.expected.get(name)
            if expected is None:
                continue
            try:
                reading = reader.read(decode_image(data), name, 0)[0]
                value, status = reading.value, reading.status
            except ImageError:
                value, status = None, None
            ok = judge(expected, value, status)
            right += ok
            if is_single_digit(expected):
                single += 1
                single_right += ok
        counted = sum(1 for n in scenario.files if n in scenario.expected)
        result[scenario.name] = {
            "frames": counted,
            "right": right,
            "single_digit_frames": single,
            "single_digit_right": single_right,
        }
    return result


def is_single_digit(expected: dict[str, Any]) -> bool:
    value = expected.get("value")
    return expected.get("status") != "error" and isinstance(value, str) and len(value) == 1
