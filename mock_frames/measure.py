"""Accuracy and speed of FrameReader + the shipped model on freshly generated held-out frames.

    python mock_frames/measure.py --data-dir data/mnist

The frames are rendered in memory from MNIST test images starting at --first-index (default
6200; the committed folders use indices below 1000, tuning used 1000-4999) with a seed the
pipeline was not tuned on, JPEG-encoded, decoded and read like camera frames. Prints the
share of single-digit frames read correctly, of multi-digit frames read exactly, why the
rest failed, the naive baseline (whole frame resized to 28x28) and the median time per stage
on one thread.

    python mock_frames/measure.py --data-dir data/mnist --single 0 --numbers 0 --hard 0 \
        --blank 0 --wild-numbers 300 --wild-single 300 --wild-crops 300 --save-frames /tmp/wild

measures the wild scenarios (wild.py: real writing's drift, gaps, slant, pens, papers and
tight crops). Those are TUNING frames (MNIST test 2000-4999, seed 20261201): the thresholds
may be tuned on them, so their figures show what to fix, never how well DigitCam reads.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotate import save_annotated
from generate import MockFrame, scenario_frames, write_folder
from readers import add_rows_arguments, rows_from
from wild import DEFAULT_SEED, END_INDEX, FIRST_INDEX
from wild import SCENARIOS as WILD

from edge.bench.measure import stage_seconds
from edge.camera.imageio import ImageError, decode_image
from edge.config import ModelSettings, RegionSettings
from edge.model import load_model
from edge.reader import FrameReader
from edge.runs_model import load_runs
from training.mnist import load_split, resolve_data_dir


def failure(expected: dict, status: str, value: str | None, digits: list) -> str | None:
    """Why a reading differs from the expectation, or None when it is right."""
    want = expected["value"]
    if want is None:
        return None if status == "no_digit" else "reading on a blank frame"
    if value == want:
        return None
    if status == "no_digit":
        return "no digit found"
    if len(digits) < len(want):
        return "digit(s) missed"
    if len(digits) > len(want):
        return "extra digit(s) found"
    if status == "low_confidence":
        guess = "".join(str(d.digit) for d in digits)
        return "low confidence (guess right)" if guess == want else "low confidence (guess wrong)"
    return "misread digit"


# Failure kinds, shortened for the per-condition lines.
SHORT = {
    "no digit found": "none",
    "digit(s) missed": "missed",
    "extra digit(s) found": "extra",
    "low confidence (guess right)": "lowconf-right",
    "low confidence (guess wrong)": "lowconf-wrong",
    "misread digit": "misread",
    "reading on a blank frame": "blank-read",
}


def naive_value(model, gray: np.ndarray) -> str:
    """The whole frame squashed to 28x28 and inverted: what a pipeline without vision does."""
    tiny = cv2.resize(gray, (28, 28), interpolation=cv2.INTER_AREA).astype(np.float32)
    probs = model.predict((1.0 - tiny / 255.0)[None, None])
    return str(int(np.argmax(probs[0])))


def run_scenario(
    name: str,
    frames: list[MockFrame],
    readers: dict[str, FrameReader],
    model,
    failures_dir: Path | None,
) -> dict:
    """Read every frame with the reader of its kind (number or digit) and tally the outcomes."""
    reasons: Counter[str] = Counter()
    published: Counter[str] = Counter()  # the failures that went out with status ok
    by_condition: dict[str, Counter[str]] = {}
    correct = naive_correct = digits_total = digits_right = ok_wrong = 0
    for frame in frames:
        gray = decode_image(frame.data)
        reader = readers[frame.expected.get("kind", "number")]
        reading = reader.read(gray, frame.filename, 0)[0]
        why = failure(frame.expected, reading.status, reading.value, reading.digits)
        correct += why is None
        wrong_ok = why is not None and reading.status == "ok"
        ok_wrong += wrong_ok
        if why:
            reasons[why] += 1
            published[why] += wrong_ok
            if failures_dir:
                save_failure(failures_dir / name, frame, gray, reading, why)
        want = frame.expected["value"]
        if want:
            naive_correct += len(want) == 1 and naive_value(model, gray) == want
            got = [str(d.digit) for d in reading.digits]
            digits_total += len(want)
            if len(got) == len(want):
                digits_right += sum(a == b for a, b in zip(got, want, strict=True))
        conditions = list(frame.expected.get("conditions", []))
        height = frame.expected.get("digit_height_px")
        if height:
            conditions.append(
                "small (<32 px)" if height < 32 else "large (>120 px)" if height > 120 else "medium"
            )
        for c in conditions:
            tally = by_condition.setdefault(c, Counter())
            tally.update(["frames", why or "right"] + ["ok but wrong"] * wrong_ok)
    return {
        "frames": len(frames),
        "correct": correct,
        "ok_wrong": ok_wrong,
        "reasons": reasons,
        "published": published,
        "naive": naive_correct,
        "digits": (digits_right, digits_total),
        "conditions": by_condition,
    }


def save_failure(folder: Path, frame: MockFrame, gray, reading, why: str) -> None:
    slug = "".join(c if c.isalnum() else "-" for c in why).strip("-")
    path = folder / f"{Path(frame.filename).stem}_{slug}.png"
    caption = f"want {frame.expected['value']}: {why}"
    save_annotated(path, gray, reading.digits, caption, frame.expected.get("digit_boxes", ()))


def time_stages(frames: list[MockFrame], model, repeats: int = 3) -> dict[str, float]:
    """Median milliseconds per frame for each stage, one thread."""
    times: dict[str, list[float]] = {
        "decode": [],
        "find digits": [],
        "normalise": [],
        "inference": [],
        "total": [],
    }
    for _ in range(repeats):
        for frame in frames:
            stages = stage_seconds(model, frame.data)
            spans = (*stages, sum(stages))
            for key, value in zip(times, spans, strict=True):
                times[key].append(value * 1000)
    return {k: statistics.median(v) for k, v in times.items()}


def report(name: str, result: dict) -> None:
    frames, correct = result["frames"], result["correct"]
    print(f"\n{name}: {correct}/{frames} frames right = {100 * correct / max(frames, 1):.2f} %")
    right, total = result["digits"]
    if total:
        print(
            f"  digits right (frames with the right count): {right}/{total}"
            f" = {100 * right / total:.2f} %"
        )
    ok_wrong = result["ok_wrong"]
    print(f"  read ok but wrong (published a wrong value): {ok_wrong}/{frames}"
          f" = {100 * ok_wrong / max(frames, 1):.2f} %")  # fmt: skip
    if ok_wrong:
        kinds = ", ".join(f"{SHORT[k]} {v}" for k, v in result["published"].most_common() if v)
        print(f"    of which: {kinds}")
    for reason, n in result["reasons"].most_common():
        print(f"  {n:5d}  {reason}")
    for condition, tally in sorted(result["conditions"].items()):
        n = tally["frames"]
        kinds = ", ".join(
            f"{SHORT.get(k, k)} {v}"
            for k, v in tally.most_common()
            if k not in ("frames", "right", "ok but wrong")
        )
        print(
            f"  {condition:>20s}: {tally['right']}/{n} = {100 * tally['right'] / n:5.1f} % right,"
            f" {100 * tally['ok but wrong'] / n:4.1f} % ok-but-wrong"
            + (f"; {kinds}" if kinds else "")
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST .gz files")
    parser.add_argument("--model", type=Path, default=None, help="ONNX file (default: shipped)")
    parser.add_argument("--first-index", type=int, default=6200)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--single", type=int, default=800, help="single-digit frames")
    parser.add_argument("--numbers", type=int, default=500, help="multi-digit frames")
    parser.add_argument("--hard", type=int, default=150, help="hard-scenario frames")
    parser.add_argument("--blank", type=int, default=100, help="blank frames")
    parser.add_argument(
        "--min-confidence", type=float, default=ModelSettings().min_confidence,
        help="default: model.min_confidence's default",
    )  # fmt: skip
    parser.add_argument("--failures", type=Path, default=None, help="save failing frames here")
    for name in WILD:
        parser.add_argument(f"--{name}", type=int, default=0, help=f"{name} frames (tuning set)")
    parser.add_argument("--wild-seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--wild-first-index", type=int, default=FIRST_INDEX)
    parser.add_argument(
        "--fine-pens",
        action="store_true",
        help="wild photos of writing in fine pens (strokes 2-4.5%% of the digit height)",
    )
    parser.add_argument("--save-frames", type=Path, default=None, help="write the frames here")
    parser.add_argument(
        "--runs",
        type=Path,
        default=None,
        help="run-reader ONNX (digits run together; default none)",
    )
    add_rows_arguments(parser)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    images, labels = load_split(resolve_data_dir(args.data_dir), "test")
    model = load_model(args.model)
    runs = load_runs(args.runs)
    rows = rows_from(args)
    readers = {
        kind: FrameReader(
            model, [RegionSettings(kind=kind)], args.min_confidence, "measure", runs=runs, rows=rows
        )
        for kind in ("number", "digit")
    }
    print(f"model {model.version}")
    if any(count > 0 for count in (args.single, args.numbers, args.hard, args.blank)):
        print(f"held out: MNIST test images from index {args.first_index}, seed {args.seed}")
    # Held-out scenarios and the wild (tuning) ones each draw their own run of test images.
    first = {"held-out": args.first_index, "wild": args.wild_first_index}
    timing_frames: list[MockFrame] = []
    plan = [
        ("single", args.single),
        ("numbers", args.numbers),
        ("hard", args.hard),
        ("blank", args.blank),
        *((name, getattr(args, name.replace("-", "_"))) for name in WILD),
    ]
    for name, count in plan:
        if count <= 0:
            continue
        side = "wild" if name in WILD else "held-out"
        seed = args.wild_seed if side == "wild" else args.seed
        fine = args.fine_pens and side == "wild"
        frames = list(scenario_frames(name, images, labels, count, seed, first[side], fine))
        first[side] += sum(
            len(f.expected.get("mnist_test_indices", []))
            + len(f.expected.get("junk_mnist_test_indices", []))
            for f in frames
        )
        if args.save_frames:
            write_folder(args.save_frames / name, iter(frames))
        try:
            result = run_scenario(name, frames, readers, model, args.failures)
        except ImageError as exc:
            print(f"{name}: a generated frame could not be decoded: {exc}")
            return 1
        if side == "wild":
            print(
                f"\n[TUNING frames, not held out: seed {seed},"
                f" MNIST test {args.wild_first_index}-{END_INDEX - 1}]",
                end="",
            )
        report(name, result)
        if name == "single":
            print(
                f"  naive baseline (whole frame resized to 28x28): {result['naive']}/{count}"
                f" = {100 * result['naive'] / count:.2f} %"
            )
        if side == "held-out":
            timing_frames += frames[:100]
    if timing_frames:
        stages = time_stages(timing_frames, model)
        print(
            "\nmedian ms per 640x480 frame, one thread: "
            + ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
