"""Figures of a printed-digit model (`digitcam evaluate --printed MODEL ...`).

    digitcam evaluate --printed edge/models/printed-cnn.onnx \
        --meter-data ../shared/data/meter_digits --lcd-data ../shared/data/lcd_digits

Wheels: the `report` installations (never trained or tuned on) beside the `tune` ones, so the
gap between them shows. Per crop: the digit nearest the window's centre line, the position
within one tenth, and the exact tenth; per digit and per installation. Displays: the real LCD
crops (never trained on; half of them, by file name, may be looked at to improve the
renderer, the other half only counted) beside rendered digits of a seed training never used.
Speed: a batch of 8 digits, one thread, median.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from training.evaluate import median_run_ms
from training.meter_data import CROP_H, CROP_W, WheelCrops, digit_of, load_wheels, tenths_error

RENDER_SEED = 990_001  # rendered display digits for the report: a seed training never uses


def lcd_half(name: str) -> str:
    """The real LCD crops in two halves by a hash of the file name. Failures in `tune` may be
    looked at to improve the renderer; `report` is only ever counted."""
    return "tune" if hashlib.sha256(name.encode()).digest()[0] % 2 == 0 else "report"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="digitcam evaluate --printed", description=__doc__)
    p.add_argument("--printed", action="store_true", help="evaluate a printed-digit model")
    p.add_argument("model", type=Path, help="printed-digit model .onnx")
    p.add_argument("--meter-data", type=Path, help="folder of the wheel tar")
    p.add_argument("--lcd-data", type=Path, help="folder of the real LCD crops (0-9/)")
    p.add_argument("--renders", type=int, default=2000, help="rendered display digits")
    p.add_argument("--json", type=Path, help="write the figures as JSON here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    session = _session(args.model)
    report: dict = {"model": str(args.model), "bytes": args.model.stat().st_size}
    if args.meter_data:
        sets = load_wheels(args.meter_data)
        for name in ("tune", "report"):
            report[f"wheels_{name}"] = wheel_report(session, sets[name])
    if args.lcd_data:
        from training.sevenseg import load_lcd_crops

        images, labels, names = load_lcd_crops(args.lcd_data)
        half = np.asarray([lcd_half(name) for name in names])
        for name in ("tune", "report"):
            keep = half == name
            report[f"display_real_{name}"] = display_report(session, images[keep], labels[keep])
    if args.renders:
        from training.sevenseg import render_sevenseg_batch

        images, labels = render_sevenseg_batch(np.random.default_rng(RENDER_SEED), args.renders)
        report["display_rendered"] = display_report(session, images, labels)
    report["ms_per_digit"] = latency_per_digit_ms(session)
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def _session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def outputs(session, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """probs [N,10] and positions [N,100] for uint8 crops [N,32,20]."""
    probs, positions = [], []
    for start in range(0, len(images), 500):
        batch = images[start : start + 500, None].astype(np.float32) / 255.0
        p, q = session.run(["probs", "positions"], {"image": batch})
        probs.append(p)
        positions.append(q)
    return np.concatenate(probs), np.concatenate(positions)


def wheel_report(session, wheels: WheelCrops) -> dict:
    _, positions = outputs(session, wheels.images)
    predicted = positions.argmax(1)
    error = tenths_error(predicted, wheels.positions)
    right = digit_of(predicted) == digit_of(wheels.positions)
    whole = wheels.positions % 10 == 0
    by_source: dict[str, list[bool]] = defaultdict(list)
    for source, ok in zip(wheels.sources, right, strict=True):
        by_source[source].append(bool(ok))
    truth = digit_of(wheels.positions)
    return {
        "crops": len(wheels),
        "digit_accuracy": float(right.mean()),
        "whole_step_crops": int(whole.sum()),
        "whole_step_digit_accuracy": float(right[whole].mean()) if whole.any() else None,
        "within_tenth": float((error <= 1).mean()),
        "exact_tenth": float((error == 0).mean()),
        "mean_tenths_error": float(error.mean()),
        "per_digit": {str(d): float(right[truth == d].mean()) for d in range(10)},
        "per_source": {s: [float(np.mean(v)), len(v)] for s, v in sorted(by_source.items())},
    }


def display_report(session, images: np.ndarray, labels: np.ndarray) -> dict:
    probs, _ = outputs(session, images)
    right = probs.argmax(1) == labels
    return {
        "crops": len(labels),
        "accuracy": float(right.mean()),
        "per_digit": {str(d): float(right[labels == d].mean()) for d in np.unique(labels)},
    }


def latency_per_digit_ms(session, batch: int = 8, runs: int = 1000) -> float:
    """Median time of one batch of 8 digits (a counter's wheels) divided by 8."""
    x = np.random.default_rng(0).random((batch, 1, CROP_H, CROP_W), dtype=np.float32)
    return median_run_ms(session, x, runs, warm_up=50) / batch


def format_report(report: dict) -> str:
    lines = [f"{report['model']} ({report['bytes']:,} bytes)"]
    for name, title in (("wheels_tune", "tune"), ("wheels_report", "report")):
        if name in report:
            w = report[name]
            lines.append(
                f"wheels, {title} installations ({w['crops']} crops): digit "
                f"{w['digit_accuracy']:.2%} (whole-step crops {w['whole_step_digit_accuracy']:.2%}"
                f" of {w['whole_step_crops']}), within one tenth {w['within_tenth']:.2%}, exact "
                f"tenth {w['exact_tenth']:.2%}, mean error {w['mean_tenths_error']:.3f} tenths"
            )
            lines.append(
                "  per digit: " + ", ".join(f"{d} {a:.1%}" for d, a in w["per_digit"].items())
            )
            lines.append(
                "  per installation: "
                + ", ".join(f"{s} {a:.1%} ({n})" for s, (a, n) in w["per_source"].items())
            )
    for name, title in (
        ("display_real_tune", "real LCD crops, tune half"),
        ("display_real_report", "real LCD crops, report half"),
        ("display_rendered", "rendered"),
    ):
        if name in report:
            d = report[name]
            lines.append(f"displays, {title} ({d['crops']}): {d['accuracy']:.2%}")
    lines.append(f"speed: {report['ms_per_digit']:.4f} ms per digit (batch of 8, 1 thread)")
    return "\n".join(lines)
