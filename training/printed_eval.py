"""Figures of a printed-digit model (`digitcam evaluate --printed MODEL ...`).

    digitcam evaluate --printed edge/models/printed-cnn.onnx \
        --meter-data ../shared/data/meter_digits --lcd-data ../shared/data/lcd_digits

Wheels: the `report` installations (never trained or tuned on) beside the `tune` ones, so the
gap between them shows. Per crop: the digit nearest the window's centre line, the position
within one tenth, and the exact tenth; per digit and per installation. Displays: the real LCD
crops (never trained on; half of them, by file name, may be looked at to improve the
renderer, the other half only counted; the tune half also each 20 times under camera changes,
training/lcd_stress.py, a figure to choose on when every crop of it reads right) beside
rendered digits of a seed training never used:
7-segment displays (the renders of every version) and 5x7 dot-matrix LCDs apart. Wheels
between gaps: every wheel crop again between dark bars of 10, 15 and 20% of its width a
side, squeezed to the crop's size, as a counter window's equal cells hold the gaps beside a
wheel; counted as a counter region publishes them, sure (at least the regions' default
`model.printed_min_confidence`) and right, or sure and wrong. Hidden wheels: every wheel
again under glare burnt white, a sticker, a dark smudge, and as a blank cell
(training/hiders.py), counted when still read surely: a counter would publish that guess.
Every figure is the device's reading (edge.meter.printed.PrintedModel.read): unsure crops
get their second look; `--no-second-look` gives the network's own. Speed: a batch of 8
digits, one thread, median: the network alone on random crops, and as read on the tune wheels
(or random crops without them), 8 at a time, second looks included.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from edge.config import ModelSettings
from edge.meter.printed import PrintedModel
from edge.model import ModelError
from training.evaluate import median_call_ms
from training.hiders import HIDERS, hide
from training.meter_data import CROP_H, CROP_W, WheelCrops, digit_of, load_wheels, tenths_error

RENDER_SEED = 990_001  # rendered display digits for the report: a seed training never uses
MATRIX_SEED = 990_002  # ... and rendered dot-matrix digits
GAP_SHARES = (0.10, 0.15, 0.20)  # a counter window's dark gaps in a cell, a side
GAP_GREY = 20  # how dark
HIDDEN_SEED = 6100  # the draws of the hidden wheels (hidden_report)


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
    p.add_argument(
        "--stress-seed",
        type=int,
        help="draw the stressed LCD tune copies with this seed (default: the one the README's "
        "figures use), for a choice that needs draws nobody has looked at",
    )
    p.add_argument(
        "--no-second-look",
        dest="second_look",
        action="store_false",
        help="the network's own figures, without the device's second look at unsure crops",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        model = PrintedModel(args.model, threads=1)
    except ModelError as exc:  # missing, unreadable or not a printed-digit model: say which
        raise SystemExit(f"digitcam evaluate --printed: {exc}") from None
    look = args.second_look
    report: dict = {"model": str(args.model), "bytes": args.model.stat().st_size}
    report["second_look"] = look
    speed_crops = None
    if args.meter_data:
        sets = load_wheels(args.meter_data)
        speed_crops = sets["tune"].images
        for name in ("tune", "report"):
            report[f"wheels_{name}"] = wheel_report(model, sets[name], look)
            report[f"wheels_{name}_gaps"] = gaps_report(model, sets[name], look)
            wheels = sets[name]
            truth = digit_of(wheels.positions)
            report[f"wheels_{name}_hidden"] = hidden_report(model, wheels.images, truth, look)
    if args.lcd_data:
        from training.sevenseg import load_lcd_crops

        images, labels, names = load_lcd_crops(args.lcd_data)
        half = np.asarray([lcd_half(name) for name in names])
        for name in ("tune", "report"):
            keep = half == name
            report[f"display_real_{name}"] = display_report(model, images[keep], labels[keep], look)
        # Both halves hidden: no digit is left to learn from, so nothing to tune on either.
        report["display_real_hidden"] = hidden_report(model, images, labels, look)
        report["display_real_tune_stressed"] = stressed_report(
            model, args.lcd_data, look, args.stress_seed
        )
    if args.renders:
        from training.sevenseg import SevenSegConfig, render_sevenseg_batch

        for name, seed, matrix_p in (
            ("display_rendered", RENDER_SEED, 0.0),
            ("display_rendered_matrix", MATRIX_SEED, 1.0),
        ):
            rng, cfg = np.random.default_rng(seed), SevenSegConfig(matrix_p=matrix_p)
            images, labels = render_sevenseg_batch(rng, args.renders, cfg)
            report[name] = display_report(model, images, labels, look)
    report["ms_per_digit_network"] = read_ms_per_digit(model, None, second_look=False)
    report["ms_per_digit"] = read_ms_per_digit(model, speed_crops, look)
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def outputs(
    model: PrintedModel, images: np.ndarray, second_look: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """probs [N,10] and positions [N,100] for uint8 crops [N,32,20], read as the device reads
    them (a second look at unsure crops) unless `second_look` is False."""
    probs, positions = [], []
    for start in range(0, len(images), 500):
        batch = images[start : start + 500, None].astype(np.float32) / 255.0
        p, q = model.read(batch, second_look)
        probs.append(p)
        positions.append(q)
    return np.concatenate(probs), np.concatenate(positions)


def wheel_report(model: PrintedModel, wheels: WheelCrops, second_look: bool = True) -> dict:
    _, positions = outputs(model, wheels.images, second_look)
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


def between_gaps(images: np.ndarray, share: float) -> np.ndarray:
    """uint8 crops [N,32,20] squeezed between dark bars of `share` of their width a side."""
    bar = np.full((CROP_H, max(1, round(share * CROP_W))), GAP_GREY, np.uint8)
    return np.stack(
        [
            cv2.resize(np.hstack([bar, image, bar]), (CROP_W, CROP_H), interpolation=cv2.INTER_AREA)
            for image in images
        ]
    )


def gaps_report(model: PrintedModel, wheels: WheelCrops, second_look: bool = True) -> dict:
    """The wheels between dark gaps (GAP_SHARES): the share read surely and right, and surely
    and wrong (nearest digit; sure: the counter regions' default threshold)."""
    sure_at = ModelSettings().printed_min_confidence
    truth = digit_of(wheels.positions)
    out = {}
    for share in GAP_SHARES:
        probs, _ = outputs(model, between_gaps(wheels.images, share), second_look)
        sure, right = probs.max(1) >= sure_at, probs.argmax(1) == truth
        out[f"{share:.2f}"] = {
            "sure_right": float((sure & right).mean()),
            "sure_wrong": float((sure & ~right).mean()),
        }
    return out


def hidden_report(
    model: PrintedModel, images: np.ndarray, truth: np.ndarray, second_look: bool = True
) -> dict:
    """Every crop (uint8 [N,32,20], digits `truth`) hidden under each of training.hiders.
    HIDERS in turn (the same draws for every model: HIDDEN_SEED): the share still read surely
    (a guess a region would publish; sure: the printed regions' default threshold), and
    surely and right."""
    sure_at = ModelSettings().printed_min_confidence
    out = {}
    for k, how in enumerate(HIDERS):
        rng = np.random.default_rng(HIDDEN_SEED + k)
        hidden = images.astype(np.float32) / 255.0
        for crop in hidden:
            hide(crop, rng, how)
        probs, _ = outputs(model, np.round(hidden * 255.0).astype(np.uint8), second_look)
        sure = probs.max(1) >= sure_at
        out[how] = {
            "sure": float(sure.mean()),
            "sure_right": float((sure & (probs.argmax(1) == truth)).mean()),
        }
    return out


def display_report(
    model: PrintedModel, images: np.ndarray, labels: np.ndarray, second_look: bool = True
) -> dict:
    probs, _ = outputs(model, images, second_look)
    right = probs.argmax(1) == labels
    return {
        "crops": len(labels),
        "accuracy": float(right.mean()),
        "per_digit": {str(d): float(right[labels == d].mean()) for d in np.unique(labels)},
    }


def stressed_report(
    model: PrintedModel, lcd_data: Path, second_look: bool = True, seed: int | None = None
) -> dict:
    """The tune half's crops, each as STRESS_COPIES changed copies (training.lcd_stress; `seed`
    draws other changes than the figures quoted, STRESS_SEED's): the share read right, surely
    and right, and surely and wrong (sure: the printed regions' default threshold), and how
    many copies were read surely and wrong."""
    from training.lcd_stress import STRESS_COPIES, STRESS_SEED, stressed
    from training.sevenseg import lcd_paths, read_lcd_crop

    tune = [path for path in lcd_paths(lcd_data) if lcd_half(path.name) == "tune"]
    if not tune:
        return {"crops": 0, "copies": STRESS_COPIES}
    originals = [read_lcd_crop(path) for path in tune]
    labels = np.array([int(p.parent.name) for p in tune])
    seed = STRESS_SEED if seed is None else seed
    images, labels = stressed(originals, labels, seed=seed)
    probs, _ = outputs(model, images, second_look)
    sure = probs.max(1) >= ModelSettings().printed_min_confidence
    right = probs.argmax(1) == labels
    return {
        "crops": len(tune),
        "copies": STRESS_COPIES,
        "seed": seed,
        "accuracy": float(right.mean()),
        "sure_right": float((sure & right).mean()),
        "sure_wrong": float((sure & ~right).mean()),
        "sure_wrong_copies": int((sure & ~right).sum()),
    }


def read_ms_per_digit(
    model: PrintedModel,
    crops: np.ndarray | None,
    second_look: bool = True,
    batch: int = 8,
    runs: int = 1000,
) -> float:
    """As the device reads: the median time of a batch of 8 crops (uint8 [N,32,20] taken 8 at
    a time in turn; random ones when None), second looks included unless `second_look` is
    False (the network alone), divided by 8."""
    if crops is None or len(crops) < batch:
        crops = np.random.default_rng(0).integers(0, 256, (batch * 16, CROP_H, CROP_W), np.uint8)
    x = crops.astype(np.float32)[:, None] / 255.0
    batches = [x[i : i + batch] for i in range(0, len(x) - batch + 1, batch)]

    def read(i: int) -> object:
        return model.read(batches[i % len(batches)], second_look)

    return median_call_ms(read, runs, warm_up=50) / batch


def hidden_line(hidden: dict, indent: str) -> str:
    return (
        f"{indent}hidden (no digit to see), read surely all the same (of which right): "
        + ", ".join(f"{how} {h['sure']:.2%} ({h['sure_right']:.2%})" for how, h in hidden.items())
    )


def format_report(report: dict) -> str:
    look = "" if report.get("second_look", True) else ", no second look"
    lines = [f"{report['model']} ({report['bytes']:,} bytes{look})"]
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
            if f"{name}_gaps" in report:
                lines.append(
                    "  between a window's dark gaps (a side), sure and right / sure and wrong: "
                    + ", ".join(
                        f"{float(share):.0%} {g['sure_right']:.2%} / {g['sure_wrong']:.2%}"
                        for share, g in report[f"{name}_gaps"].items()
                    )
                )
            if f"{name}_hidden" in report:
                lines.append(hidden_line(report[f"{name}_hidden"], "  "))
    for name, title in (
        ("display_real_tune", "real LCD crops, tune half"),
        ("display_real_report", "real LCD crops, report half"),
        ("display_rendered", "rendered 7-segment"),
        ("display_rendered_matrix", "rendered dot-matrix"),
    ):
        if name in report:
            d = report[name]
            lines.append(f"displays, {title} ({d['crops']}): {d['accuracy']:.2%}")
        stressed = report.get("display_real_tune_stressed", {})
        if name == "display_real_tune" and stressed.get("crops"):
            lines.append(
                f"  each {stressed['copies']} times under camera changes (training/lcd_stress.py, "
                f"seed {stressed['seed']}):"
                f" {stressed['accuracy']:.2%} right, surely right {stressed['sure_right']:.2%}, "
                f"surely wrong {stressed['sure_wrong']:.2%} ({stressed['sure_wrong_copies']})"
            )
        if name == "display_real_report" and "display_real_hidden" in report:
            lines.append(
                hidden_line(report["display_real_hidden"], "  real LCD crops (both halves) ")
            )
    how = "second looks included" if report.get("second_look", True) else "no second look"
    lines.append(
        f"speed: {report['ms_per_digit']:.4f} ms per digit as read ({how}), network alone "
        f"{report['ms_per_digit_network']:.4f} ms (batch of 8, 1 thread)"
    )
    return "\n".join(lines)
