"""Digits as the reader cuts them from photos, for training: model inputs with true labels.

    python mock_frames/harvest.py --data-dir ../shared/data/mnist --numbers 3000 --single 1000 \\
        --out artifacts/harvest
    digitcam train --extra-data artifacts/harvest --extra-share 0.15 ...

MNIST gives the model clean scans; what it reads on a device is what edge.vision makes of a
photo: strokes thinned or swollen by the threshold, a little of a neighbour left at the
edge, pencil grain, a loop half closed by blur. This renders photos of numbers and single
digits with the wild renderer (mock_frames/wild.py) from MNIST *training* images, never the
images train.py keeps for validation (the same seed and size as `digitcam train`'s
defaults), reads them with this tree's FrameReader and keeps each digit the reader cut
whose box matches one written digit (intersection over union at least --min-iou, a box
that covers two digits run together cannot) and no other (under 0.35):
its 28x28 model input, labelled with the digit written there, however the model read it.
Digits run together, cut in two or lost are not kept (their label would be a guess).

Writes an IDX pair (`images-idx3-ubyte.gz`, `labels-idx1-ubyte.gz`), the layout
`digitcam train --extra-data` reads, and `harvest.json` with the counts and how the shipped
model read the kept digits. Neither the tuning frames (MNIST test 2000-4999) nor the report
frames (test 5000-9999) are touched.

`--not-digit-numbers N` / `--not-digit-blank N` / `--not-digit-flawed N` also keep what the
judge is shown on N photos of numbers (or blank pages, or blank pages with the flaws of real
ones: holes, rings, hairs, glare, the page's edge) that is no digit: a candidate holding two or more
written digits (`pair`: digits run together) or lying clear of every written digit
(`junk`), each distinct image once per photo, in `not-digit/` (label 10, never mixed into
`--extra-data`). `training/judge.py` refits the model's not-digit output on them. The pages
are read as `number` regions; `--not-digit-region digit` reads them as `digit` regions, whose
looks for one digit on an empty page (a second line search, fainter ink) show the judge
other marks.

`--crops N` also reads N tight crops of one digit cut from a form cell or a grid square
(mock_frames/wild_crops.py, strokes touching or crossing the crop's edge, bits of the cell's
lines) as a `digit` region and keeps the digit the reader took. `--fine-pens` writes the
numbers and single digits with fine pens (strokes 2-4.5% of the digit height,
wild_ink.fine_pen) instead of any pen. `--continental N` and `--flawed N` read N more
photos each with flagged 1s and crossed 7s (`wild-continental`) or on flawed pages
(`wild-flawed`), as `number` regions like the numbers.

`--runs N` keeps, from N more photos of numbers, every candidate the judge is shown that
holds two or more written digits run together (each at least 60% inside its box, none cut),
fitted for the run reader, with the digits it holds: `runs.npz` for
`python -m training.touching --harvest`.

`--rows N` keeps, from N more photos of numbers, the window round each number's row as the
row reader sees it, with the number written there: `rows.npz` for `python -m training.rows`.
`--rows-scenario` picks the photos: the wild renderer's numbers (default, `--fine-pens`
applies), the same with continental 1s and 7s (`wild-continental`), or generate.py's
`numbers` or `hard` frames (light on dark, close-ups, dim light) written with the same
training images.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import generate
import render
import wild
import wild_crops

from edge import rows_model
from edge.camera.imageio import decode_image
from edge.config import ModelSettings, RegionSettings
from edge.judging import Judged
from edge.model import load_model
from edge.reader import FrameReader
from edge.vision import find
from edge.vision.crops import to_uint8
from edge.vision.runs import fit_run
from training.mnist import load_split, resolve_data_dir, validation_split, write_idx

SEED = 20261302  # not the tuning seeds (20261201, 7) nor the report set's (5150)


def training_indices(count: int, seed: int, val_size: int) -> np.ndarray:
    """The MNIST training images `digitcam train --seed S --val-size V` trains on, in order."""
    return np.sort(validation_split(count, seed, val_size)[1])


Box = list[int] | tuple[int, ...]  # x, y, w, h


def overlap(a: Box, b: Box) -> int:
    """Pixels two boxes share."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    across = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    return across * max(0, min(ay + ah, by + bh) - max(ay, by))


def iou(a: Box, b: Box) -> float:
    inter = overlap(a, b)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


def matched(digits: list, boxes: list[list[int]], value: str, min_iou: float) -> list[tuple]:
    """(digit read, true label) for each digit read whose box matches one written digit only."""
    pairs = []
    for d in digits:
        if d.confidence == 0.0:  # an unread mark
            continue
        scores = [iou(d.box, b) for b in boxes]
        best = int(np.argmax(scores)) if scores else -1
        if best < 0 or scores[best] < min_iou:
            continue
        if len(scores) > 1 and sorted(scores)[-2] >= 0.35:  # as much a neighbour's box
            continue
        pairs.append((d, int(value[best])))
    return pairs


def photo(
    scenario: str, n: int, source: wild.WildSource, seed: int, fine_pen: bool = False
) -> tuple[np.ndarray, dict]:
    """Photo n of a wild scenario as the camera hands it over (JPEG, decoded), and what it
    shows; reproducible from (seed, scenario, n), as wild.scenario_frames makes them;
    fine_pen: the writing with a fine pen (wild_ink.fine_pen)."""
    rng = np.random.default_rng([seed, wild.SCENARIOS.index(scenario), n])
    frame, expected, quality = wild.scenario_photo(rng, scenario, source, fine_pen)
    return decode_image(render.jpeg(frame, quality)), expected


def harvest_crops(
    count: int, source: wild.WildSource, reader: FrameReader, seed: int
) -> tuple[list[np.ndarray], list[int], list[int]]:
    """Images, labels and the shipped model's answers for `count` tight crops of one digit
    from a form cell or a grid square (wild_crops), read as a `digit` region: the digit the
    reader took, labelled with the digit written, when its box is at least half the crop's
    height (a cell's line alone is not kept with the digit's label)."""
    images, labels, answers = [], [], []
    for n in range(count):
        rng = np.random.default_rng([seed, wild.SCENARIOS.index("wild-crops"), n])
        data, expected = wild_crops.crop_file(rng, source)
        gray = decode_image(data)
        reading = reader.read(gray, f"wild-crops_{n}", n)[0]
        if len(reading.digits) != 1 or reading.digits[0].image is None:
            continue
        d = reading.digits[0]
        if d.box[3] < 0.5 * gray.shape[0]:
            continue
        images.append(to_uint8(d.image))
        labels.append(int(expected["value"]))
        answers.append(d.digit if d.confidence >= reader.min_confidence else -1)
    return images, labels, answers


# id(ink) -> the box of the group the ink was cut from, while find_digits keeps the ink alive.
BOXES: dict[int, tuple[int, int, int, int]] = {}


class Recorder(FrameReader):
    """A FrameReader that keeps every candidate its judge is shown: box and model input."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shown: list[tuple[tuple[int, int, int, int], np.ndarray]] = []
        self.inks: list[np.ndarray] = []  # the ink of each candidate in `shown`

    def is_digit(self, inks, judged: Judged) -> np.ndarray:
        scores = super().is_digit(inks, judged)
        for ink in inks:
            if id(ink) in BOXES:
                self.shown.append((BOXES[id(ink)], judged[id(ink)][1]))
                self.inks.append(ink)
        return scores


def _digit_ink_with_box(inks, parts, group, params=find.DEFAULT):
    """find.digit_ink, remembering which box each ink came from (the judge sees inks only)."""
    ink = _digit_ink(inks, parts, group, params)
    BOXES[id(ink)] = group.box
    return ink


_digit_ink = find.digit_ink


def covered(box: Box, written: Box) -> float:
    """The share of a written digit's box that lies inside `box`."""
    return overlap(box, written) / max(1, written[2] * written[3])


def not_digit_kind(box: tuple[int, ...], written: list[list[int]]) -> str | None:
    """'pair' for a candidate holding two or more written digits, 'junk' for one far from
    every written digit (paper, rules, shadow edges), None for anything in between."""
    if sum(covered(box, b) >= 0.5 for b in written) >= 2:
        return "pair"
    x, y, w, h = box
    margin = max(2, h // 5)
    wider = (x - margin, y - margin, w + 2 * margin, h + 2 * margin)
    return "junk" if all(covered(wider, b) == 0 for b in written) else None


def judged_photos(
    scenario: str, count: int, source: wild.WildSource, reader: Recorder, seed: int
) -> Iterator[tuple[dict, list[tuple[Box, np.ndarray, np.ndarray]]]]:
    """Per photo of `scenario`: what it shows, and every candidate the judge was shown on it
    (box in frame pixels, model input, ink)."""
    find.digit_ink = _digit_ink_with_box
    try:
        for n in range(count):
            gray, expected = photo(scenario, n, source, seed)
            assert find.analysis_scale(gray.shape) == 1.0  # boxes in frame pixels
            reader.shown.clear()
            reader.inks.clear()
            BOXES.clear()
            reader.read(gray, f"{scenario}_{n}", n)
            shown = [
                (box, image, ink)
                for (box, image), ink in zip(reader.shown, reader.inks, strict=True)
            ]
            yield expected, shown
    finally:
        find.digit_ink = _digit_ink


def harvest_not_digits(
    scenario: str, count: int, source: wild.WildSource, reader: Recorder, seed: int
) -> tuple[list[np.ndarray], list[str]]:
    """What the judge is shown on `count` photos that is no digit: pairs run together, junk.

    The same candidate is often shown more than once (cut attempts, a second look): each
    distinct image is kept once per frame.
    """
    images, kinds = [], []
    for expected, shown in judged_photos(scenario, count, source, reader, seed):
        written = expected.get("digit_boxes", [])
        seen = set()
        for box, image, _ in shown:
            kind = not_digit_kind(box, written)
            pixels = to_uint8(image)
            if kind is not None and pixels.tobytes() not in seen:
                seen.add(pixels.tobytes())
                images.append(pixels)
                kinds.append(kind)
    return images, kinds


def run_label(box: Box, written: list[list[int]], value: str) -> str | None:
    """The digits a candidate holds when it is two or more written digits run together:
    each at least 60% inside its box, none cut (15-60% inside); else None."""
    inside = [covered(box, b) for b in written]
    if any(0.15 < c < 0.6 for c in inside):
        return None
    pairs = zip(written, inside, strict=True)
    held = sorted((b[0], value[i]) for i, (b, c) in enumerate(pairs) if c >= 0.6)
    return "".join(d for _, d in held) if len(held) >= 2 else None


def harvest_runs(
    count: int, source: wild.WildSource, reader: Recorder, seed: int
) -> tuple[list[np.ndarray], list[str]]:
    """Candidates the judge is shown on `count` photos of numbers that hold two or more
    written digits run together, fitted for the run reader (edge.vision.runs), with the
    digits they hold; each distinct fitted image once per photo."""
    images, labels = [], []
    for expected, shown in judged_photos("wild-numbers", count, source, reader, seed):
        seen = set()
        for box, _, ink in shown:
            label = run_label(box, expected["digit_boxes"], expected["value"])
            fitted = to_uint8(fit_run(ink))
            if label is not None and fitted.tobytes() not in seen:
                seen.add(fitted.tobytes())
                images.append(fitted)
                labels.append(label)
    return images, labels


def wild_rows(
    count: int,
    source: wild.WildSource,
    seed: int,
    fine_pen: bool = False,
    scenario: str = "wild-numbers",
) -> Iterator[tuple[np.ndarray, str, list[Box]]]:
    """`count` photos of numbers from the wild renderer (`wild-numbers`, or
    `wild-continental`: flagged 1s, crossed 7s): image, number, the written boxes."""
    for n in range(count):
        gray, expected = photo(scenario, n, source, seed, fine_pen)
        yield gray, expected["value"], expected["digit_boxes"]


def tuning_rows(
    scenario: str, count: int, images: np.ndarray, labels: np.ndarray, seed: int
) -> Iterator[tuple[np.ndarray, str, list[Box]]]:
    """`count` frames of generate.py's `numbers` or `hard` scenario (light on dark, close-ups,
    dim light) written with `images`: image and number; that renderer keeps no boxes, so
    the window is the one round the digits the reader found, as on the device."""
    for frame in generate.scenario_frames(scenario, images, labels, count, seed, 0):
        if frame.expected.get("value"):
            yield decode_image(frame.data), frame.expected["value"], []


def harvest_rows(
    photos: Iterable[tuple[np.ndarray, str, list[Box]]], reader: FrameReader, seed: int
) -> tuple[list[np.ndarray], list[str]]:
    """The window round each photo's number as the row reader sees it
    (edge.rows_model.row_input), with the number written there.

    The window holds the digits the reader found and every written digit it knows of (one
    the finder left out is still in the row), with margins drawn from half to one and a half
    times the device's, so that the network sees rows as loosely framed as the device
    frames them.
    """
    rng = np.random.default_rng([seed, 7])
    images, labels = [], []
    for n, (gray, value, written) in enumerate(photos):
        reading = reader.read(gray, f"rows_{n}", n)[0]
        found = [tuple(d.box) for d in reading.digits]
        boxes = found + [tuple(b) for b in written]
        margins = (
            rows_model.ROW_MARGIN_X * rng.uniform(0.5, 1.5),
            rows_model.ROW_MARGIN_Y * rng.uniform(0.6, 1.4),
        )
        window = rows_model.row_window(boxes, gray.shape, margins)
        if window is None:
            continue
        image = rows_model.row_input(gray, window, found or boxes)
        padded = np.zeros((rows_model.ROW_HEIGHT, rows_model.ROW_MAX_WIDTH), np.float16)
        padded[:, : image.shape[1]] = image[:, : rows_model.ROW_MAX_WIDTH]
        images.append(padded)
        labels.append(value)
    return images, labels


def harvest(
    scenario: str,
    count: int,
    source: wild.WildSource,
    reader: FrameReader,
    seed: int,
    min_iou: float,
    fine_pen: bool = False,
) -> tuple[list[np.ndarray], list[int], list[int], int]:
    """Images, labels, the shipped model's answers and the digits written, for `count` photos."""
    images, labels, answers, written = [], [], [], 0
    for n in range(count):
        gray, expected = photo(scenario, n, source, seed, fine_pen)
        reading = reader.read(gray, f"{scenario}_{n}", n)[0]
        written += len(expected["value"])
        for d, label in matched(
            reading.digits, expected["digit_boxes"], expected["value"], min_iou
        ):
            images.append(to_uint8(d.image))
            labels.append(label)
            answers.append(d.digit if d.confidence >= reader.min_confidence else -1)
    return images, labels, answers, written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", help="folder with the MNIST .gz files")
    parser.add_argument("--numbers", type=int, default=3000, help="photos of 2-6 digit numbers")
    parser.add_argument("--single", type=int, default=1000, help="photos of one digit")
    parser.add_argument("--crops", type=int, default=0, help="tight crops of one digit")
    parser.add_argument(
        "--continental", type=int, default=0, help="photos with flagged 1s and crossed 7s"
    )
    parser.add_argument("--flawed", type=int, default=0, help="photos of flawed pages")
    parser.add_argument(
        "--fine-pens", action="store_true", help="numbers and single digits in fine pens"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--min-iou", type=float, default=0.6)
    parser.add_argument("--train-seed", type=int, default=1, help="digitcam train's --seed")
    parser.add_argument("--val-size", type=int, default=5000, help="digitcam train's --val-size")
    parser.add_argument("--first", type=int, default=0, help="skip this many training images")
    parser.add_argument(
        "--not-digit-numbers", type=int, default=0, help="photos of numbers for not-digits"
    )
    parser.add_argument("--not-digit-blank", type=int, default=0, help="blank photos for them")
    parser.add_argument(
        "--not-digit-flawed", type=int, default=0, help="blank photos of flawed pages for them"
    )
    parser.add_argument(
        "--not-digit-region",
        choices=("number", "digit"),
        default="number",
        help="the region kind blank and flawed pages are read as for not-digits",
    )
    parser.add_argument(
        "--runs", type=int, default=0, help="photos of numbers for digits run together"
    )
    parser.add_argument(
        "--rows", type=int, default=0, help="photos of numbers for the row reader (rows.npz)"
    )
    parser.add_argument(
        "--rows-scenario",
        choices=("wild-numbers", "wild-continental", "numbers", "hard"),
        default="wild-numbers",
        help="the photos --rows reads: the wild renderer's numbers, or generate.py's",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    x, y = load_split(resolve_data_dir(args.data_dir), "train")
    order = training_indices(len(x), args.train_seed, args.val_size)[args.first :]
    source = wild.WildSource(x[order], y[order], 0, len(order))
    model = load_model(None)
    confidence = ModelSettings().min_confidence
    images, labels, answers, written = [], [], [], 0
    for scenario, count in (
        ("wild-numbers", args.numbers),
        ("wild-single", args.single),
        ("wild-continental", args.continental),
        ("wild-flawed", args.flawed),
    ):
        kind = "digit" if scenario == "wild-single" else "number"
        reader = FrameReader(model, [RegionSettings(kind=kind)], confidence, "harvest")
        found = harvest(scenario, count, source, reader, args.seed, args.min_iou, args.fine_pens)
        images += found[0]
        labels += found[1]
        answers += found[2]
        written += found[3]
    if args.crops:
        reader = FrameReader(model, [RegionSettings(kind="digit")], confidence, "harvest")
        cropped = harvest_crops(args.crops, source, reader, args.seed)
        images += cropped[0]
        labels += cropped[1]
        answers += cropped[2]
        written += args.crops
    args.out.mkdir(parents=True, exist_ok=True)
    if images:
        write_idx(args.out / "images-idx3-ubyte.gz", np.stack(images))
        write_idx(args.out / "labels-idx1-ubyte.gz", np.array(labels, np.uint8))
    recorder = Recorder(model, [RegionSettings(kind="number")], confidence, "harvest")
    page = Recorder(model, [RegionSettings(kind=args.not_digit_region)], confidence, "harvest")
    negatives, kinds = [], []
    for scenario, count, reader in (
        ("wild-numbers", args.not_digit_numbers, recorder),
        ("wild-blank", args.not_digit_blank, page),
        ("wild-flawed-blank", args.not_digit_flawed, page),
    ):
        found_not = harvest_not_digits(scenario, count, source, reader, args.seed + 1)
        negatives += found_not[0]
        kinds += found_not[1]
    if negatives:
        # Class 10 of an 11-class model: a folder of its own, never mixed into --extra-data.
        (args.out / "not-digit").mkdir(exist_ok=True)
        write_idx(args.out / "not-digit" / "images-idx3-ubyte.gz", np.stack(negatives))
        write_idx(args.out / "not-digit" / "labels-idx1-ubyte.gz", np.full(len(kinds), 10))
    runs, run_labels = harvest_runs(args.runs, source, recorder, args.seed + 2)
    if runs:
        # For training.touching --harvest: fitted blobs and the digits each holds.
        np.savez_compressed(args.out / "runs.npz", x=np.stack(runs), labels=np.array(run_labels))
    reader = FrameReader(model, [RegionSettings(kind="number")], confidence, "harvest")
    if args.rows_scenario in ("wild-numbers", "wild-continental"):
        photos = wild_rows(args.rows, source, args.seed + 3, args.fine_pens, args.rows_scenario)
    else:
        photos = tuning_rows(args.rows_scenario, args.rows, x[order], y[order], args.seed + 3)
    rows, row_labels = harvest_rows(photos, reader, args.seed + 3)
    if rows:
        # For python -m training.rows: windows (float16, zero-padded) and their numbers.
        np.savez_compressed(args.out / "rows.npz", x=np.stack(rows), label=np.array(row_labels))
    right = sum(a == t for a, t in zip(answers, labels, strict=True))
    summary = {
        "digits_written": written,
        "digits_kept": len(labels),
        "training_images_used": len(source.used),
        "seed": args.seed,
        "model": model.version,
        "model_right_and_sure": right,
        "model_unsure": answers.count(-1),
        "per_digit": [labels.count(k) for k in range(10)],
        "not_digit": {kind: kinds.count(kind) for kind in ("pair", "junk")},
        "not_digit_region": args.not_digit_region,
        "runs": len(runs),
        "rows": len(rows),
        "crops": args.crops,
        "continental": args.continental,
        "flawed": args.flawed,
        "fine_pens": args.fine_pens,
        "rows_scenario": args.rows_scenario,
    }
    (args.out / "harvest.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
