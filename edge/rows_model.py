"""The row reader: an ONNX network that reads a number's whole row at once (CTC).

The finder reads a number digit by digit: it cuts the row into blobs and the digit model
reads each. A second reader that sees the row as one image, without cutting it, errs in
other ways: it is not fooled by a cut through a thin 0 or by a digit the finder left out,
and it cannot be helped by them either. Where both read the same number they are more
often right than either alone; where the row reader is sure of another number, the
digit-by-digit reading is not published as sure (edge.row_rules.weigh_row).

The input is the grey window round the number's digits (row_window), scaled to ROW_HEIGHT
rows, its width in proportion (at most ROW_MAX_WIDTH), dark writing on light paper (a
light-on-dark row is inverted first), each pixel less the window's median over its standard
deviation (row_input). For each group of four columns the network gives the
chance of each digit and of "no digit here" (CTC's blank); the best path through the
columns is the number (greedy decoding), and the chance the network gives that number
over every path that spells it is its sureness (sequence_probability).

Contract: input `image` float32 [N,1,ROW_HEIGHT,W] (any W divisible by 4), output `probs`
float32 [N,W/4,11] (softmax over the ten digits and blank, index 10), metadata `version`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from edge.config import ModelSettings, RegionSettings
from edge.model import SessionModel
from edge.vision.levels import grey_percentile

BLANK = 10
BUNDLED_ROWS = "rows-ctc.onnx"
ROW_HEIGHT = 32
ROW_MAX_WIDTH = 384
STRIDE = 4  # the network pools the width twice by 2
# The window round the digits: this share of their median height left and right (a digit
# the finder left out at either end is still in it) and above and below (drift).
ROW_MARGIN_X = 0.6
ROW_MARGIN_Y = 0.35
# Placing the row reader's digits (row_digits): a found box holds a digit read this share of
# the row's height beyond its sides; a digit no found box holds is this share of it wide.
ROW_PLACE_REACH = 0.15
DIGIT_ASPECT = 0.7
SIGNATURE = {"image": (1, ROW_HEIGHT, 0), "probs": (0, BLANK + 1)}  # 0: any width
EXPECTED = (
    f"a DigitCam row reader has input 'image' float32 [N,1,{ROW_HEIGHT},W] and output "
    f"'probs' float32 [N,W/{STRIDE},{BLANK + 1}]"
)

Box = tuple[int, int, int, int]  # x, y, w, h


@dataclass
class RowDigit:
    """One digit of the row reader's number, placed in the frame (row_digits)."""

    digit: int
    box: Box  # x, y, w, h in frame pixels
    top3: list[tuple[int, float]]


# The region kinds the row reader weighs: a number's row, and a digit region's one digit.
ROW_KINDS = ("number", "digit")


def row_window(
    boxes: Sequence[Box],
    shape: tuple[int, ...],
    margins: tuple[float, float] = (ROW_MARGIN_X, ROW_MARGIN_Y),
) -> Box | None:
    """The window of a frame of `shape` round the digits in `boxes` (frame pixels), or None
    without digits; `margins`: left and right, above and below, of their median height."""
    if not boxes:
        return None
    heights = sorted(b[3] for b in boxes)
    h = heights[len(heights) // 2]
    mx, my = margins[0] * h, margins[1] * h
    x0, y0 = min(b[0] for b in boxes) - mx, min(b[1] for b in boxes) - my
    x1, y1 = max(b[0] + b[2] for b in boxes) + mx, max(b[1] + b[3] for b in boxes) + my
    left, top = max(0, int(x0)), max(0, int(y0))
    right, bottom = min(shape[1], int(x1)), min(shape[0], int(y1))
    if right - left < 2 or bottom - top < 2:
        return None
    return left, top, right - left, bottom - top


def light_writing(small: np.ndarray, boxes: Sequence[Box]) -> bool:
    """Whether the writing in `boxes` (of the grey image `small`) is lighter than its paper:
    in most boxes the far tail of the grey levels (the strokes) lies above the box's median
    (its paper), not below it. Box by box, so a shadow across part of the row does not count
    as writing."""
    votes = 0
    for x, y, w, h in boxes:
        levels = small[max(0, y) : y + h, max(0, x) : x + w].ravel()
        if levels.size:
            at = [int(q * (levels.size - 1)) for q in (0.02, 0.5, 0.98)]
            # The three order statistics alone: where a full sort would put them.
            ranked = np.partition(levels, sorted(set(at)))
            low, mid, high = (float(ranked[i]) for i in at)
            votes += 1 if high - mid > mid - low else -1
    return votes > 0


def input_width(window: Box) -> int:
    """How many columns wide a window (frame pixels) is in the network's input: scaled to
    ROW_HEIGHT rows, its width in proportion, at most ROW_MAX_WIDTH."""
    _, _, w, h = window
    return max(1, min(ROW_MAX_WIDTH, round(w * ROW_HEIGHT / h)))


def row_input(gray: np.ndarray, window: Box, boxes: Sequence[Box] = ()) -> np.ndarray:
    """The network's input for one window of a grey frame: float32 [ROW_HEIGHT, W], W a
    multiple of STRIDE, dark writing (negative values) on paper near 0; when the digits'
    `boxes` (frame pixels) hold light writing (light_writing), it is inverted first."""
    x, y, w, h = window
    crop = gray[y : y + h, x : x + w]
    width = input_width(window)
    small = cv2.resize(crop, (width, ROW_HEIGHT), interpolation=cv2.INTER_AREA)
    across, down = width / w, ROW_HEIGHT / h
    inside = [
        (
            int((bx - x) * across),
            int((by - y) * down),
            max(1, round(bw * across)),
            max(1, round(bh * down)),
        )
        for bx, by, bw, bh in boxes
    ]
    levels = cv2.bitwise_not(small) if light_writing(small, inside) else small
    scaled = levels.astype(np.float32)
    scaled = (scaled - grey_percentile(levels, 50)) / (float(scaled.std()) + 1e-3)
    padded = -(-max(width, 2 * STRIDE) // STRIDE) * STRIDE
    out = np.zeros((ROW_HEIGHT, padded), np.float32)
    out[:, :width] = scaled
    return out


def row_digits(probs: np.ndarray, boxes: Sequence[Box], shape: tuple[int, ...]) -> list[RowDigit]:
    """Where the row reader read each digit of its greedy path through `probs`, for the row
    round `boxes` (frame pixels) of a frame of `shape`, left to right.

    Each digit is placed at the middle of the columns it was read in. A found box (one of
    `boxes`, widened by ROW_PLACE_REACH of the row's median height either side) that holds one
    such place is that digit's box; one that holds several (digits the finder ran together)
    is cut between them, half-way from one place to the next; a digit in none (one the finder
    left out) gets a box DIGIT_ASPECT of the row's median height wide round its place, at the
    found digits' median top and height. Its three likeliest digits are those of the column
    where it is surest, shared among the ten digits (the blank left out).
    """
    window = row_window(boxes, shape)
    if window is None:
        return []
    x = window[0]
    across = input_width(window) / window[2]  # input px per frame px
    spans = greedy_spans(probs)
    places = [x + (first + end + 1) / 2 * STRIDE / across for _, first, end in spans]
    middle = len(boxes) // 2
    top, height = sorted(b[1] for b in boxes)[middle], sorted(b[3] for b in boxes)[middle]
    reach = ROW_PLACE_REACH * height
    owners: list[int | None] = []
    for place in places:
        holding = [
            (abs(b[0] + b[2] / 2 - place), i)
            for i, b in enumerate(boxes)
            if b[0] - reach <= place <= b[0] + b[2] + reach
        ]
        owners.append(min(holding)[1] if holding else None)
    out = []
    for k, ((digit, first, end), place, owner) in enumerate(
        zip(spans, places, owners, strict=True)
    ):
        if owner is None:
            wide = max(1, round(DIGIT_ASPECT * height))
            left = min(max(0, round(place - wide / 2)), max(0, shape[1] - wide))
            box: Box = (left, top, wide, height)
        else:
            bx, by, bw, bh = boxes[owner]
            shared = [j for j, o in enumerate(owners) if o == owner]
            if len(shared) == 1:
                box = boxes[owner]
            else:  # digits run together: cut half-way between their places
                at = shared.index(k)
                left = bx if at == 0 else round((places[shared[at - 1]] + place) / 2)
                right = (
                    bx + bw
                    if at == len(shared) - 1
                    else round((place + places[shared[at + 1]]) / 2)
                )
                left, right = max(bx, left), min(bx + bw, right)
                box = (left, by, max(1, right - left), bh)
        peak = first + int(np.argmax(probs[first : end + 1, digit]))
        shares = probs[peak, :BLANK] / max(float(probs[peak, :BLANK].sum()), 1e-12)
        order = np.argsort(shares)[::-1][:3]
        top3 = [(int(j), float(shares[j])) for j in order]
        out.append(RowDigit(digit, box, top3))
    return out


def greedy_spans(probs: np.ndarray) -> list[tuple[int, int, int]]:
    """Greedy CTC decoding of one row's column probabilities [T,11]: each digit read, left to
    right, with the first and last column of its run (a repeat without a blank between is one
    digit; a blank between two runs of one digit makes two)."""
    spans: list[tuple[int, int, int]] = []
    last = BLANK
    for column, best in enumerate(probs.argmax(axis=1)):
        k = int(best)
        if k != BLANK and k != last:
            spans.append((k, column, column))
        elif k != BLANK:
            spans[-1] = (k, spans[-1][1], column)
        last = k
    return spans


def greedy(probs: np.ndarray) -> str:
    """Greedy CTC decoding of one row's column probabilities [T,11]: the digits, as text."""
    return "".join(str(digit) for digit, _, _ in greedy_spans(probs))


def sequence_probability(probs: np.ndarray, text: str) -> float:
    """The chance the network gives `text` over every path of columns that spells it (the
    CTC forward algorithm, Graves et al. 2006), from its column probabilities [T,11]."""
    return float(sequence_probabilities(probs, [text])[0])


def sequence_probabilities(probs: np.ndarray, texts: Sequence[str]) -> np.ndarray:
    """sequence_probability of several numbers of one length at once, in one pass over the
    columns: float64 [len(texts)]. The forward sums are rescaled to 1 at every column (the
    logarithms of the scales added up), so that a long row does not underflow."""
    labels = np.array([[int(c) for c in text] for text in texts], np.int64).reshape(len(texts), -1)
    count, length = labels.shape
    size = 2 * length + 1
    ext = np.full((count, size), BLANK, np.int64)
    ext[:, 1::2] = labels
    skip = np.zeros((count, size), bool)
    skip[:, 2:] = (ext[:, 2:] != BLANK) & (ext[:, 2:] != ext[:, :-2])
    steps = probs.shape[0]
    if steps == 0 or count == 0:
        return np.zeros(count)
    emit = probs[:, ext].astype(np.float64)  # [T, count, size]
    alpha = np.zeros((count, size))
    alpha[:, 0] = emit[0, :, 0]
    if size > 1:
        alpha[:, 1] = emit[0, :, 1]
    scale = np.zeros(count)
    alive = np.ones(count, bool)
    for t in range(1, steps):
        total = alpha.copy()
        total[:, 1:] += alpha[:, :-1]
        total[:, 2:] += np.where(skip[:, 2:], alpha[:, :-2], 0.0)
        alpha = total * emit[t]
        norm = alpha.sum(axis=1)
        alive &= norm > 0.0
        norm = np.where(norm > 0.0, norm, 1.0)
        alpha /= norm[:, None]
        scale += np.log(norm)
    end = alpha[:, -1] + (alpha[:, -2] if size > 1 else 0.0)
    return np.where(alive & (end > 0.0), np.exp(scale) * end, 0.0)


def rival_share(
    probs: np.ndarray, choices: Sequence[Sequence[tuple[int, float]]], expand: float
) -> tuple[float, int]:
    """How much the number of each digit's first choice weighs against its rivals when the
    digit reader's and the row reader's evidence are put together.

    `choices`: per digit, the digit reader's best choices with their probabilities (top3),
    the first first. A rival differs in one digit whose first choice is under `expand`: that
    digit's second or third choice. Each number weighs the product of its digits'
    probabilities times the row reader's chance of it (sequence_probability over the row's
    column probabilities `probs`). Returns the first-choice number's share of the weight
    and the position of the digit whose rival weighs most (-1, share 1.0: no rival).
    """
    first = [c[0][0] for c in choices]
    texts, weights, where = ["".join(map(str, first))], [1.0], [-1]
    for i, options in enumerate(choices):
        if options[0][1] >= expand:
            continue
        for digit, p in options[1:]:
            rival = list(first)
            rival[i] = digit
            texts.append("".join(map(str, rival)))
            weights.append(p / max(options[0][1], 1e-12))
            where.append(i)
    if len(texts) == 1:
        return 1.0, -1
    scores = np.asarray(weights) * sequence_probabilities(probs, texts)
    total = float(scores.sum())
    if total <= 0.0:
        return 1.0, -1
    strongest = int(np.argmax(scores[1:])) + 1
    return float(scores[0]) / total, where[strongest]


@dataclass
class RowRead:
    """What the row reader reads in one window: the number, and how sure it is of it (worked
    out from the column probabilities when first asked: most frames never need it)."""

    text: str
    sure: float | None = None
    probs: np.ndarray | None = field(default=None, repr=False)

    def sureness(self) -> float:
        if self.sure is None:
            self.sure = 0.0
            if self.text and self.probs is not None:
                self.sure = sequence_probability(self.probs, self.text)
        return self.sure


@dataclass
class RowModel(SessionModel):
    """Reads a number's row whole from the grey frame."""

    KEY = "model.rows_path"
    SIGNATURE = SIGNATURE
    WHAT = "row reader"
    EXPECTED = EXPECTED
    NAME = "rows-ctc"

    def warm_up(self) -> None:
        self.read_input(np.zeros((ROW_HEIGHT, 4 * STRIDE), np.float32))

    def read_input(self, image: np.ndarray) -> RowRead:
        """The number in one prepared input (row_input)."""
        (probs,) = self._session.run(["probs"], {"image": image[None, None]})
        return RowRead(greedy(probs[0]), probs=probs[0])

    def read(self, gray: np.ndarray, boxes: Sequence[Box]) -> RowRead | None:
        """The number written round the digits in `boxes` (frame pixels) of a grey frame;
        None without a window."""
        window = row_window(boxes, gray.shape)
        if window is None:
            return None
        return self.read_input(row_input(gray, window, boxes))


def bundled_rows_path() -> Path:
    """The row reader shipped inside the edge package."""
    return Path(str(resources.files("edge") / "models" / BUNDLED_ROWS))


def load_rows(path: Path | None, threads: int = 1) -> RowModel | None:
    """The row reader in `path`, or None when no path is given."""
    return RowModel(path, threads=threads) if path is not None else None


def rows_for(model: ModelSettings, regions: Sequence[RegionSettings]) -> RowModel | None:
    """The row reader the settings ask for (model.rows_path, else the shipped one), when a
    number or digit region can use it and model.row_reader is on; else None."""
    if not model.row_reader or not any(r.kind in ROW_KINDS for r in regions):
        return None
    return load_rows(model.rows_path or bundled_rows_path(), model.threads)
