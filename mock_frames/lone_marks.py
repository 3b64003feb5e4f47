"""Fit the lone-mark judge of edge/vision/marks.py on tuning frames.

`harvest` reads saved frame folders (measure.py --save-frames: wild-single, wild-blank,
wild-flawed-blank) as whole-image regions and keeps, for every frame whose reading comes to
one digit asked of the lone-digit judge, the measures of that mark (edge.vision.marks.
mark_features), whether the page holds a digit, and what the reading would be if the mark were
kept (right, `ok` but wrong, or unsure). `fit` fits the logistic regression on harvests and
prints the constants for edge/vision/marks.py; `--hold-out` leaves each harvest out in turn
and counts what the judge so fitted does to it (right / `ok` but wrong, against the judge's
doubt alone). Tuning frames only: never the report frames (reportset.py).

    python mock_frames/lone_marks.py harvest FOLDERS... --kind digit --out h16.json
    python mock_frames/lone_marks.py fit h16.json h17.json ... --negative-weight 3 --hold-out
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from readers import add_rows_arguments, region_readers, rows_from  # noqa: E402

from edge.lone import LONE_LIMIT  # noqa: E402
from edge.model import load_model  # noqa: E402
from edge.reading import Digit  # noqa: E402
from edge.runs_model import load_runs  # noqa: E402
from edge.vision.marks import (  # noqa: E402
    FEATURES,
    MIN_DIGIT_CHANCE,
    SURE_DOUBT,
    Box,
    cut_one,
    mark_features,
)

L2 = 1e-2  # ridge on the weights (not the bias), on standardised measures


def harvest(folders: list[Path], kind: str, model_path: Path | None, args) -> list[dict]:
    """One record per frame whose reading came to one digit asked of the lone-digit judge."""
    cv2.setNumThreads(1)
    model = load_model(model_path)
    reader = region_readers(model, 0.95, "lone-marks", load_runs(None), rows_from(args))(kind, None)
    asked: list[tuple[Digit, float, bool]] = []

    def keep_and_note(
        digits: list[Digit], gray: np.ndarray | None = None, region: Box | None = None
    ) -> list[Digit]:
        if cut_one(digits[0].digit, digits[0].box, region):
            return []  # refused before the judge is asked (FrameReader.lone_check)
        doubt = reader.lone_doubt(digits[0])
        if doubt is not None:
            # The reader passes no frame for light writing: that mark is judged alone.
            asked.append((digits[0], doubt, gray is None))
        return digits  # kept: the reading says what keeping the mark gives

    reader.lone_check = keep_and_note  # type: ignore[method-assign]
    records = []
    for folder in folders:
        expected = json.loads((folder / "expected.json").read_text())
        for name in sorted(expected):
            gray = cv2.imread(str(folder / name), cv2.IMREAD_GRAYSCALE)
            asked.clear()
            reading = reader.read(gray, name, 0)[0]
            if not asked:
                continue
            digit, doubt, alone = asked[0]
            value = expected[name].get("value")
            records.append(
                {
                    "frame": f"{folder.name}/{name}",
                    "digit_page": value is not None,
                    "read": digit.digit,
                    "doubt": doubt,
                    "alone": alone,
                    "features": mark_features(gray, digit.box, doubt).tolist(),
                    "right_if_kept": reading.status == "ok" and reading.value == value,
                    "wrong_if_kept": reading.status == "ok" and reading.value != value,
                }
            )
    return records


def fit(records: list[dict], negative_weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means, spreads and weights (bias last) of the logistic regression: digit page or not,
    on the marks the reader weighs (not those it judges alone)."""
    records = [r for r in records if not r.get("alone", False)]
    x = np.array([r["features"] for r in records], np.float64)
    y = np.array([1.0 if r["digit_page"] else 0.0 for r in records])
    means, scales = x.mean(0), x.std(0) + 1e-9
    xs = np.c_[(x - means) / scales, np.ones(len(x))]
    weight = np.where(y == 0, negative_weight, 1.0)
    w = np.zeros(xs.shape[1])
    ridge = L2 * np.eye(len(w))
    ridge[-1, -1] = 0.0
    for _ in range(100):  # Newton's method: a convex problem of eight unknowns
        p = 1.0 / (1.0 + np.exp(-xs @ w))
        grad = xs.T @ ((p - y) * weight) + ridge @ w
        hess = (xs * (p * (1 - p) * weight)[:, None]).T @ xs + ridge
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return means, scales, w


def kept(records: list[dict], model: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Which marks the fitted judge keeps as digits, as FrameReader.lone_check decides: a mark
    the model's judge doubts less than SURE_DOUBT unweighed, light writing by the judge
    alone, the others by their chance."""
    means, scales, w = model
    x = np.array([r["features"] for r in records], np.float64)
    score = ((x - means) / scales) @ w[:-1] + w[-1]
    doubt = np.array([r["doubt"] for r in records])
    alone = np.array([r.get("alone", False) for r in records], bool)
    weighed = 1.0 / (1.0 + np.exp(-score)) >= MIN_DIGIT_CHANCE
    return np.where(alone, doubt < LONE_LIMIT, (doubt < SURE_DOUBT) | weighed)


def tally(records: list[dict], keep: np.ndarray) -> tuple[int, int]:
    """Right readings (a digit read right, an empty page left empty) and `ok` but wrong ones."""
    right = wrong = 0
    for r, k in zip(records, keep, strict=True):
        if k:
            right += r["right_if_kept"]
            wrong += r["wrong_if_kept"]
        else:
            right += not r["digit_page"]
    return right, wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    h = sub.add_parser("harvest", help="the lone marks of saved tuning frames")
    h.add_argument("folders", nargs="+", type=Path)
    h.add_argument("--kind", choices=("number", "digit"), default="digit")
    h.add_argument("--model", type=Path, help="ONNX file (default: the shipped model)")
    add_rows_arguments(h)
    h.add_argument("--out", type=Path, required=True)
    f = sub.add_parser("fit", help="fit the judge on harvests and print its constants")
    f.add_argument("harvests", nargs="+", type=Path)
    f.add_argument("--negative-weight", type=float, default=3.0)
    f.add_argument("--hold-out", action="store_true", help="also leave each harvest out in turn")
    args = parser.parse_args(argv)
    if args.command == "harvest":
        records = harvest(args.folders, args.kind, args.model, args)
        args.out.write_text(json.dumps({"features": FEATURES, "records": records}))
        print(f"{args.out}: {len(records)} lone marks")
        return 0
    sets = [json.loads(p.read_text())["records"] for p in args.harvests]
    if args.hold_out:
        for i, path in enumerate(args.harvests):
            rest = [r for j, s in enumerate(sets) if j != i for r in s]
            alone = np.array([r["doubt"] < LONE_LIMIT for r in sets[i]])
            before = tally(sets[i], alone)
            after = tally(sets[i], kept(sets[i], fit(rest, args.negative_weight)))
            print(
                f"{path} held out: right / ok but wrong {before[0]} / {before[1]} -> "
                f"{after[0]} / {after[1]}"
            )
    everything = [r for s in sets for r in s]
    means, scales, w = fit(everything, args.negative_weight)
    alone = np.array([r["doubt"] < LONE_LIMIT for r in everything])
    weighed = [r for r in everything if not r.get("alone", False)]
    print(
        f"fitted on {len(weighed)} marks ({sum(not r['digit_page'] for r in weighed)} on empty "
        f"pages; {len(everything) - len(weighed)} more judged alone, light writing): right / "
        f"ok but wrong {tally(everything, alone)} with the judge alone, "
        f"{tally(everything, kept(everything, (means, scales, w)))} weighed (fit data)"
    )
    print("FEATURES =", tuple(FEATURES))
    print("MEANS =", tuple(round(float(v), 4) for v in means))
    print("SCALES =", tuple(round(float(v), 4) for v in scales))
    print("WEIGHTS =", tuple(round(float(v), 4) for v in w[:-1]))
    print("BIAS =", round(float(w[-1]), 4))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
