"""How the reader does on the REPORT frames (never used to tune), beside the tuning renderer.

    python mock_frames/report.py --per-scenario 300
    python mock_frames/report.py --set both --per-scenario 300 --json report.json

`--set report` (default) renders reportset.py's scenarios from MNIST test images 5000-9999;
`--set tuning` renders generate.py's scenarios (the renderer the vision core was tuned on)
from test index 6200 as measure.py does; `both` prints the two and the gap between them.
Every frame goes JPEG bytes -> decode_image -> FrameReader.read, as in the daemon. Prints per
scenario the share read exactly right, why the rest failed, the share published as `ok` with
a wrong value, the expected calibration error of per-digit confidence and the median latency.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import reportset
from annotate import save_annotated
from readers import add_rows_arguments, region_readers, rows_from

from edge.camera.imageio import decode_image
from edge.config import ModelSettings
from edge.judging import Classifier
from edge.model import load_model
from edge.reader import FrameReader
from edge.reading import Reading
from edge.rows_model import RowModel
from edge.runs_model import RunModel, load_runs
from training.mnist import load_split, resolve_data_dir

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
Frame = tuple[str, str, bytes, dict[str, Any]]  # scenario, name, JPEG, expectation
FAILURES = ("dropped", "extra", "no_digit", "low_confidence", "wrong")
OK_FAILURES = ("dropped", "extra", "wrong")  # the kinds a reading published `ok` can have
ECE_BINS = 15
MATCH_IOU = 0.3  # a found box this close to a drawn digit's box is that digit
REPORT_SEED = 5150
TUNING_SEED, TUNING_FIRST_INDEX = 20261122, 6200  # as measure.py: held out from tuning
TUNING_HARD_MAX = 150  # as measure.py; 500 hard frames would run past the MNIST test set
# Single digits are read as a `digit` region in both sets, so their rows compare like for like.
TUNING_KINDS = {"single": "digit"}
TITLES = {
    "report": "REPORT set (mock_frames/reportset.py; never used to tune)",
    "tuning": "TUNING renderer (mock_frames/generate.py, what the vision core was tuned on)",
}


def default_data_dir(explicit: str | None) -> Path:
    """--data-dir or $DIGITCAM_DATA_DIR, else ../shared/data/mnist when present, else data/mnist."""
    if explicit or os.environ.get("DIGITCAM_DATA_DIR"):
        return resolve_data_dir(explicit)
    shared = HERE.parent.parent / "shared" / "data" / "mnist"
    return shared if shared.is_dir() else resolve_data_dir(None)


def report_set(
    images: np.ndarray,
    labels: np.ndarray,
    count: int,
    seed: int,
    first: int = reportset.FIRST_INDEX,
    end: int = reportset.END_INDEX,
    scenarios: Iterable[str] = reportset.SCENARIOS,
) -> Iterator[Frame]:
    """The REPORT frames, scenario by scenario."""
    for scenario in scenarios:
        for frame in reportset.report_frames(scenario, images, labels, count, seed, first, end):
            yield scenario, frame.name, frame.data, frame.expected


def tuning_set(images: np.ndarray, labels: np.ndarray, count: int, seed: int) -> Iterator[Frame]:
    """The tuning renderer's scenarios on held-out MNIST test images, laid out as measure.py."""
    import generate  # the tuning renderer, only needed for this set

    first = TUNING_FIRST_INDEX
    for scenario in ("single", "numbers", "hard", "blank"):
        n = min(count, TUNING_HARD_MAX) if scenario == "hard" else count
        for frame in list(generate.scenario_frames(scenario, images, labels, n, seed, first)):
            drawn = frame.expected.get("mnist_test_indices", [])
            first += len(drawn) + len(frame.expected.get("junk_mnist_test_indices", []))
            expected = dict(frame.expected, kind=TUNING_KINDS.get(scenario, "number"))
            yield scenario, Path(frame.filename).stem, frame.data, expected


def outcome(want: str | None, reading: Reading) -> str:
    """'right', or why not: dropped, extra, no_digit, low_confidence or wrong."""
    if want is None:
        return "right" if reading.status == "no_digit" else "extra"
    if reading.value == want:
        return "right"
    if reading.status == "no_digit":
        return "no_digit"
    if len(reading.digits) != len(want):
        return "dropped" if len(reading.digits) < len(want) else "extra"
    return "low_confidence" if reading.status == "low_confidence" else "wrong"


def iou(a: list[int] | tuple[int, ...], b: list[int] | tuple[int, ...]) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    return inter / max(a[2] * a[3] + b[2] * b[3] - inter, 1)


def matched(expected: dict[str, Any], reading: Reading) -> list[tuple[float, bool]]:
    """(confidence, right) of each found digit that stands for a drawn one."""
    want, digits = expected["value"], reading.digits
    if not want or not digits:
        return []
    if len(want) == 1 and len(digits) == 1:
        return [(digits[0].confidence, str(digits[0].digit) == want)]
    boxes = expected.get("boxes")
    if not boxes:  # the tuning renderer records no boxes: pair in order when the count agrees
        return (
            [(d.confidence, str(d.digit) == w) for d, w in zip(digits, want, strict=True)]
            if len(digits) == len(want)
            else []
        )
    scores = np.array([[iou(d.box, box) for box in boxes] for d in digits])
    pairs = []
    while scores.size and scores.max() >= MATCH_IOU:
        i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
        pairs.append((digits[i].confidence, str(digits[i].digit) == want[j]))
        scores[i, :], scores[:, j] = -1, -1
    return pairs


def calibration_error(pairs: list[tuple[float, bool]], bins: int = ECE_BINS) -> float | None:
    """Expected calibration error: per confidence bin, |accuracy - mean confidence|, weighted."""
    if not pairs:
        return None
    conf = np.array([p[0] for p in pairs])
    right = np.array([p[1] for p in pairs], np.float64)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(right[inside].mean() - conf[inside].mean())
    return total


def measure(
    frames: Iterable[Frame],
    model: Classifier,
    min_confidence: float,
    failures_dir: Path | None = None,
    runs: RunModel | None = None,
    known_length: bool = False,
    rows: RowModel | None = None,
) -> dict[str, dict[str, Any]]:
    """Read every frame as the daemon would and sum up each scenario.

    With `known_length`, each number frame is read a second time by a region told how many
    digits the number has (`digits = N`), and summed up as the scenario's `+length` row; a
    blank page, by a region told 2 to 6 digits in turn (an empty field of a form).
    """
    reader = region_readers(model, min_confidence, "report", runs, rows)
    tally: dict[str, dict[str, Any]] = {}
    blanks = 0
    for scenario, name, data, expected in frames:
        kind, value = expected["kind"], expected["value"]
        _count(tally, scenario, name, data, expected, reader(kind, None), failures_dir)
        if known_length and kind == "number":
            length = len(value) if value else 2 + blanks % 5
            blanks += not value
            told = reader(kind, length)
            _count(tally, f"{scenario}+length", name, data, expected, told, failures_dir)
    return {scenario: summary(t) for scenario, t in tally.items()}


def _count(
    tally: dict[str, dict[str, Any]],
    scenario: str,
    name: str,
    data: bytes,
    expected: dict[str, Any],
    reader: FrameReader,
    failures_dir: Path | None,
) -> None:
    """Read one frame and add what happened to its scenario's tally."""
    t = tally.setdefault(
        scenario,
        {
            "kind": expected["kind"],
            "outcomes": [],
            "ok_outcomes": [],
            "pairs": [],
            "latency": [],
            "conditions": {},
        },
    )
    if t["kind"] != expected["kind"]:
        t["kind"] = "mixed"
    reading = reader.read(decode_image(data), name, 0)[0]
    got = outcome(expected["value"], reading)
    t["outcomes"].append(got)
    if reading.status == "ok" and got != "right":  # published with a wrong value
        t["ok_outcomes"].append(got)
    t["pairs"] += matched(expected, reading)
    t["latency"].append(reading.latency_ms)
    for tag in expected.get("conditions", []):
        t["conditions"].setdefault(tag, [0, 0])
        t["conditions"][tag][0] += got == "right"
        t["conditions"][tag][1] += 1
    if failures_dir and got != "right":
        save_failure(failures_dir / scenario, name, data, expected, reading, got)


def summary(t: dict[str, Any]) -> dict[str, Any]:
    n = len(t["outcomes"])
    right = t["outcomes"].count("right")
    ece = calibration_error(t["pairs"])
    ok_wrong = len(t["ok_outcomes"])
    return {
        "kind": t["kind"],
        "frames": n,
        "right": right,
        "right_pct": 100 * right / n,
        "failures": {k: t["outcomes"].count(k) for k in FAILURES},
        "ok_but_wrong": ok_wrong,
        "ok_but_wrong_pct": 100 * ok_wrong / n,
        # The failures published `ok`, by kind: where "never a guess" is broken.
        "ok_failures": {k: t["ok_outcomes"].count(k) for k in OK_FAILURES},
        "ece": None if ece is None else round(ece, 4),
        "ece_digits": len(t["pairs"]),
        "latency_ms_median": round(statistics.median(t["latency"]), 3),
        "conditions": {
            k: {"right": r, "frames": m} for k, (r, m) in sorted(t["conditions"].items())
        },
    }


def save_failure(
    folder: Path, name: str, data: bytes, expected: dict[str, Any], reading: Reading, why: str
) -> None:
    """The frame with the drawn digits (green) and what was found (red), named by the failure."""
    caption = f"want {expected['value']}: {why}"
    gray = decode_image(data)
    save_annotated(folder / f"{name}_{why}.png", gray, reading.digits, caption,
                   expected.get("boxes", []))  # fmt: skip


def table(results: dict[str, dict[str, Any]]) -> str:
    """The per-scenario table as printed."""
    wide = max([12, *(len(name) for name in results)])
    head = (
        f"{'scenario':<{wide}} {'kind':<6} {'frames':>6} {'right%':>7} {'ok-but-wrong%':>13} "
        + " ".join(f"{k:>8}" for k in ("dropped", "extra", "no_digit", "low_conf", "wrong"))
        + f" {'ok d/x/w':>9} {'ECE':>6} {'(digits)':>8} {'latency_ms':>10}"
    )
    lines = [head]
    for name, r in results.items():
        ece = "-" if r["ece"] is None else f"{r['ece']:.3f}"
        lines.append(
            f"{name:<{wide}} {r['kind']:<6} {r['frames']:>6} {r['right_pct']:>7.1f} "
            f"{r['ok_but_wrong_pct']:>13.2f} "
            + " ".join(f"{r['failures'][k]:>8}" for k in FAILURES)
            + f" {'/'.join(str(r['ok_failures'][k]) for k in OK_FAILURES):>9}"
            + f" {ece:>6} {r['ece_digits']:>8} {r['latency_ms_median']:>10.2f}"
        )
    return "\n".join(lines)


def gap_table(tuning: dict[str, dict[str, Any]], report: dict[str, dict[str, Any]]) -> str:
    """Right % and ok-but-wrong % of the scenarios both sets have, and the gap."""
    wide = max([12, *(len(name) for name in report)])
    lines = [
        "GAP (same scenario name, TUNING renderer vs REPORT set)",
        f"{'scenario':<{wide}} {'tuning right%':>13} {'report right%':>13} {'gap pp':>7} "
        f"{'tuning okwrong%':>15} {'report okwrong%':>15}",
    ]
    for name in (n for n in report if n in tuning):
        a, b = tuning[name], report[name]
        lines.append(
            f"{name:<{wide}} {a['right_pct']:>13.1f} {b['right_pct']:>13.1f} "
            f"{b['right_pct'] - a['right_pct']:>7.1f} {a['ok_but_wrong_pct']:>15.2f} "
            f"{b['ok_but_wrong_pct']:>15.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", choices=("report", "tuning", "both"), default="report")
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST .gz files")
    parser.add_argument("--model", type=Path, default=None, help="ONNX file (default: shipped)")
    parser.add_argument(
        "--runs",
        type=Path,
        default=None,
        help="run-reader ONNX (digits run together; default none)",
    )
    add_rows_arguments(parser)
    parser.add_argument("--per-scenario", type=int, default=500, help="frames per scenario")
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help=f"default {REPORT_SEED} (report), {TUNING_SEED} (tuning)",
    )
    parser.add_argument("--min-confidence", type=float, default=ModelSettings().min_confidence)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--save-failures", type=Path, default=None, help="failing frames here")
    parser.add_argument(
        "--known-length",
        action="store_true",
        help="also read each number frame as a region told its number's length (digits = N), "
        "as a scenario's +length row",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=reportset.SCENARIOS,
        help="report scenarios to run (repeatable; default all): the same frames as in a full run",
    )
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # latency as on the device: one thread
    data_dir = default_data_dir(args.data_dir)
    images, labels = load_split(data_dir, "test")
    model = load_model(args.model)
    runs = load_runs(args.runs)
    rows = rows_from(args)
    out: dict[str, Any] = {
        "model": model.version,
        "min_confidence": args.min_confidence,
        "per_scenario": args.per_scenario,
        "sets": {},
    }
    for which in ("tuning", "report") if args.set == "both" else (args.set,):
        seed = (
            args.seed
            if args.seed is not None
            else (REPORT_SEED if which == "report" else TUNING_SEED)
        )
        frames = (
            report_set(
                images,
                labels,
                args.per_scenario,
                seed,
                scenarios=args.scenario or reportset.SCENARIOS,
            )
            if which == "report"
            else tuning_set(images, labels, args.per_scenario, seed)
        )
        failures = args.save_failures / which if args.save_failures else None
        results = measure(
            frames, model, args.min_confidence, failures, runs, args.known_length, rows
        )
        span = (
            f"MNIST test {reportset.FIRST_INDEX}-{reportset.END_INDEX - 1}"
            if which == "report"
            else f"MNIST test from {TUNING_FIRST_INDEX}, hard at most {TUNING_HARD_MAX} frames"
        )
        print(
            f"\n{TITLES[which]}: {span}, seed {seed}, model {model.version}, "
            f"min_confidence {args.min_confidence}\n" + table(results)
        )
        out["sets"][which] = {"seed": seed, "scenarios": results}
    if args.set == "both":
        print(
            "\n" + gap_table(out["sets"]["tuning"]["scenarios"], out["sets"]["report"]["scenarios"])
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
