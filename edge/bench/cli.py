"""`digitcam bench`: speed, memory and accuracy in one run, on the same frames, one thread.

    digitcam bench [--quick] [--out artifacts/bench.json] [--frames-dir mock_frames]

Prints a table and writes the figures as JSON. Order matters: the in-process ONNX figures
come first, the PyTorch baseline (which imports torch into this process) after them, and the
daemon subprocess last, alone, so no measurement shares the CPU with another one.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy

from edge.allocator import keep_frame_memory
from edge.bench.baseline import (
    default_checkpoint,
    load_baseline,
    measure_baseline,
    unavailable_reason,
)
from edge.bench.daemon import measure_daemon
from edge.bench.measure import (
    Scenario,
    accuracy,
    camera_frames,
    digit_inputs,
    load_scenarios,
    replay,
    time_inference,
    time_stages,
)
from edge.bench.report import render, targets
from edge.config import RegionSettings, Settings
from edge.model import load_model
from edge.mqtt.discovery import reading_topics
from edge.reader import FrameReader
from edge.rows_model import rows_for
from edge.runs_model import runs_for
from edge.store import Store

logger = logging.getLogger(__name__)

DEFAULT_OUT = Path("artifacts/bench.json")


@dataclass(frozen=True)
class Effort:
    """How long each part runs: the full figures, or a smoke run for tests."""

    frames: int  # 640x480 frames for the stage timing
    repeats: int  # passes over them
    calls: int  # inference calls for the per-digit figures
    replay_frames: int  # at least this many frames per scenario ...
    replay_seconds: float  # ... and at least this long
    daemon_frames: int
    daemon_warmup: int
    cold_starts: int


FULL = Effort(200, 5, 3000, 300, 3.0, 10_000, 200, 3)
QUICK = Effort(12, 1, 50, 10, 0.0, 100, 20, 1)


def default_frames_dir() -> Path:
    """mock_frames/ of the source tree this package runs from, else of the working directory."""
    beside = Path(__file__).resolve().parent.parent / "mock_frames"
    return beside if beside.is_dir() else Path("mock_frames")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digitcam bench", description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="TOML file: the model and min_confidence to measure")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON file to write")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few iterations of everything (a smoke run, not figures to quote)",
    )
    parser.add_argument(
        "--frames-dir",
        type=Path,
        default=None,
        help="folder of scenario folders with expected.json (default mock_frames)",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="PyTorch checkpoint for the baseline (default training/checkpoints/mnist-cnn.pt)",
    )
    parser.add_argument(
        "--daemon-frames",
        type=int,
        default=None,
        help="frames the daemon replays for the memory figure (default 10000)",
    )
    parser.add_argument(
        "--storage-dir",
        type=Path,
        default=None,
        help="where the outbox timing writes its SQLite file (default: a temp "
        "folder); point it at the device's storage to time its fsync",
    )
    return parser


def main(settings: Settings, argv: list[str] | None = None) -> int:
    """Run every measurement, print the table, write the JSON; 1 when no frames were found."""
    args = build_parser().parse_args([] if argv is None else argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    effort = QUICK if args.quick else FULL
    if args.daemon_frames:
        effort = replace(effort, daemon_frames=args.daemon_frames)
    frames_dir = args.frames_dir or default_frames_dir()
    scenarios = load_scenarios(frames_dir) if frames_dir.is_dir() else []
    frames = camera_frames(scenarios, effort.frames)
    if not frames:
        print(
            f"digitcam bench: no scenario folders with an expected.json and 640x480 JPEG "
            f"frames in {frames_dir} (generate them with mock_frames/generate.py, or pass "
            "--frames-dir)",
            file=sys.stderr,
        )
        return 1
    result = run(settings, args, effort, frames_dir, scenarios, frames)
    print(render(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {args.out}")
    return 0


def run(
    settings: Settings,
    args: argparse.Namespace,
    effort: Effort,
    frames_dir: Path,
    scenarios: list[Scenario],
    frames: list[tuple[str, bytes]],
) -> dict[str, Any]:
    """Every measurement in order; returns the JSON document."""
    # One thread for OpenCV too, or its pool would spread resize and threshold over every core.
    cv2.setNumThreads(1)
    # The daemon's allocator settings (edge.daemon), so the frames timed here are its frames.
    allocator = "glibc, frame memory kept" if keep_frame_memory() else "default"
    load_at_start = os.getloadavg()
    model = load_model(settings.model.path, threads=1)
    regions = [RegionSettings()]
    runs = runs_for(settings.model, regions)
    rows = rows_for(settings.model, regions)
    reader = FrameReader(
        model, regions, settings.model.min_confidence, "bench", runs=runs, rows=rows
    )
    topics = reading_topics(settings.mqtt, "bench", "main")  # two outbox rows, as with MQTT on
    with tempfile.TemporaryDirectory(dir=args.storage_dir, prefix="digitcam-bench-") as tmp:
        store = Store(Path(tmp) / "outbox.sqlite", 1_000_000)
        try:
            stages = time_stages(model, reader, frames, effort.repeats, store, topics)
        finally:
            store.close()
    digits = digit_inputs(frames)
    result: dict[str, Any] = {
        "machine": {**machine(), "allocator": allocator},
        "mode": "quick" if args.quick else "full",
        "model": {
            "path": str(model.path),
            "version": model.version,
            # The second networks a number region's frame goes through (None: off).
            "row_reader": rows.version if rows is not None else None,
            "run_reader": runs.version if runs is not None else None,
        },
        "inputs": {
            "frames_dir": str(frames_dir),
            "scenarios": [s.name for s in scenarios],
            "camera_frames": len(frames),
            "digits": len(digits),
            "frames_by_scenario": count_by_scenario(frames),
        },
        "stages_ms": stages,
        "inference_ms": time_inference(model, digits, effort.calls),
        "replay": {
            s.name: replay(s, reader, effort.replay_frames, effort.replay_seconds)
            for s in scenarios
        },
        "accuracy": accuracy(scenarios, reader),
    }
    checkpoint = args.checkpoint or default_checkpoint()
    reason = unavailable_reason(checkpoint)
    if reason is None and checkpoint is not None:
        naive = load_baseline(checkpoint)
        result["baseline"] = measure_baseline(
            naive, model, frames, digits, scenarios, effort.repeats, effort.calls
        )
    else:
        print(f"digitcam bench: skipping the PyTorch column: {reason}", file=sys.stderr)
        result["baseline"] = {"available": False, "reason": reason}
    frame_paths = [frames_dir / label for label, _ in frames]
    result["daemon"] = measure_daemon(
        frame_paths,
        settings.model.path,
        effort.daemon_frames,
        effort.daemon_warmup,
        effort.cold_starts,
    )
    if importlib.util.find_spec("fastapi") is not None:
        result["daemon_api"] = measure_daemon(
            frame_paths,
            settings.model.path,
            max(2 * effort.daemon_warmup, effort.daemon_frames // 5),
            effort.daemon_warmup,
            1,
            api=True,
        )
    result["machine"]["load_average"] = {
        "start": [round(x, 2) for x in load_at_start],
        "end": [round(x, 2) for x in os.getloadavg()],
    }
    result["targets"] = targets(result)
    return result


def count_by_scenario(frames: list[tuple[str, bytes]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for label, _ in frames:
        scenario = label.split("/", 1)[0]
        counts[scenario] = counts.get(scenario, 0) + 1
    return counts


def machine() -> dict[str, Any]:
    """The CPU and software the figures were taken on."""
    # Imported here, after edge.model has switched onnxruntime's telemetry off before its import.
    import onnxruntime

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "arch": platform.machine(),
        # The kernel decides how much of a mapped library counts as resident (the RSS).
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "opencv": cv2.__version__,
        "numpy": numpy.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


def cpu_model() -> str:
    """`model name` on x86, the board's `Model` on a Raspberry Pi, else the platform's guess."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    return fields.get("model name") or fields.get("Model") or platform.processor() or "unknown"


if __name__ == "__main__":
    from edge.config_load import load_settings

    raise SystemExit(main(load_settings(build_parser().parse_args().config), sys.argv[1:]))
