"""A number region's digits after they are read one by one: second chances and vetoes.

An unsure digit is read again from its model input moved a pixel each way (read_shifted); two
neighbours that are pieces of one digit are joined when the model and the row reader read
them so (join_pieces, union_digit); a digit of a blob the run reader read whole gets its share
of the blob's box (run_digit); 1s standing over one another are no number (stacked_ones).
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np

from edge.judging import Judged, make_digit
from edge.reading import Digit
from edge.rows_model import RowRead
from edge.runs_model import RunDigit
from edge.vision.find import DigitCandidate
from edge.vision.normalise import shifted

logger = logging.getLogger(__name__)

# An unsure digit of a number is read again from its model input moved a pixel up, down, left
# and right, and its probabilities are the mean of the five readings (read_shifted).
LOOK_AGAIN_SHIFTS = ((0, 1), (0, -1), (1, 0), (-1, 0))
# Two pieces of a number joined into one digit (join_pieces) are at most this many times as
# tall as the median of the number's other digits.
JOIN_MAX_HEIGHT = 1.4
# Neighbouring 1s of a number whose boxes share this much of the narrower one's width are
# not published (stacked_ones).
STACKED_SHARE = 0.5

# Digits i and i + 1 of a number as one digit, and its candidate (union_digit with the
# frame's arguments given), or None.
Union = Callable[
    [list[Digit], list[DigitCandidate | None], int], tuple[Digit, DigitCandidate] | None
]


def read_shifted(
    predict: Callable[[np.ndarray], np.ndarray],
    inputs: np.ndarray,
    probs: np.ndarray,
    unsure: list[int],
) -> np.ndarray:
    """`probs` with the rows `unsure` read again: the mean of each one's reading and those of
    its model input (`inputs`) moved a pixel each way (LOOK_AGAIN_SHIFTS), in one model call.

    The network is not indifferent to where a digit sits in its 28x28 field (MNIST centres by
    whole pixels), and an unsure digit is where that decides: the views agreeing make it
    sure, the views split leave it unsure.
    """
    if not unsure:
        return probs
    images = inputs[unsure]
    views = np.concatenate([shifted(images, dy, dx) for dy, dx in LOOK_AGAIN_SHIFTS])
    more = np.asarray(predict(views[:, None]), np.float32)
    more = more.reshape(len(LOOK_AGAIN_SHIFTS), len(unsure), -1)
    probs = probs.copy()
    probs[unsure] = (probs[unsure] + more.sum(axis=0)) / (len(LOOK_AGAIN_SHIFTS) + 1)
    return probs


def join_pieces(
    digits: list[Digit],
    sources: list[DigitCandidate | None],
    sure: float,
    union: Union,
    read_row: Callable[[list[Digit]], RowRead | None],
) -> list[Digit]:
    """A number's digits with pieces of one digit joined (`union`: two neighbours the model
    reads surely as one digit), for a reader with a row reader (`read_row`: its reading of
    the row round some digits). `sources`: each digit's candidate (None for a digit of a run
    read whole, which is never joined).

    First, neighbours one of which is unsure (or unread) are joined, a joined digit with
    its next neighbour too, and kept only when the row reader reads the number so joined.
    Else, when the row reader reads one digit fewer than the digits, two neighbours are
    joined, however sure each is, where that gives exactly the row reader's number.

    A pencil or ballpoint digit whose strokes did not meet (a 4 as a 2 beside a 1, a 0
    as two arcs) is found as two marks, each read on its own, and the number goes out
    with a digit too many (`low_confidence`, or worse). The row reader, which reads the
    row whole, seldom reads a join wrong the same way as the digits (README, "Pieces of
    one digit joined": on 14,750 tuning numbers the first way read 41 more right and 1
    more `ok` but wrong; the second, after it, 24 more right and 2 fewer wrong).
    """
    out, at, joins = list(digits), list(sources), 0
    i = 0
    while i < len(out) - 1:
        unsure = min(out[i].confidence, out[i + 1].confidence) < sure
        made = union(out, at, i) if unsure else None
        if made is None:
            i += 1
            continue
        out[i : i + 2], at[i : i + 2] = [made[0]], [made[1]]
        joins += 1
        i = max(0, i - 1)  # the joined digit may join its left neighbour too
    if joins:
        read = read_row(out)
        if read is not None and read.text == "".join(str(d.digit) for d in out):
            return out
    if len(digits) < 2:
        return digits
    read = read_row(digits)
    if read is None or len(read.text) != len(digits) - 1:
        return digits
    ours = "".join(str(d.digit) for d in digits)
    for i in range(len(digits) - 1):
        if ours[:i] + ours[i + 2 :] != read.text[:i] + read.text[i + 1 :]:
            continue
        made = union(digits, sources, i)
        if made is not None and made[0].digit == int(read.text[i]):
            return [*digits[:i], made[0], *digits[i + 2 :]]
    return digits


def union_digit(
    is_digit: Callable[[Sequence[np.ndarray], Judged], np.ndarray],
    digits: list[Digit],
    sources: list[DigitCandidate | None],
    i: int,
    *,
    judged: Judged,
    sure: float,
    origin: tuple[int, int],
    gray: np.ndarray,
) -> tuple[Digit, DigitCandidate] | None:
    """Digits i and i + 1 read as one, and its candidate, when the finder offers them as
    one, together they stand at most JOIN_MAX_HEIGHT as tall as the other digits and the
    model reads them surely as one digit (`is_digit`: the judge, whose doubt is counted);
    else None."""
    first, second = sources[i], sources[i + 1]
    if first is None or second is None or first.join is None:
        return None
    union = first.join(first, second)
    others = [d.box[3] for k, d in enumerate(digits) if k not in (i, i + 1)]
    if union is None or (others and union.box[3] > JOIN_MAX_HEIGHT * statistics.median(others)):
        return None
    score = float(is_digit([union.ink], judged)[0])
    _, image, probs, _, lone = judged[id(union.ink)]
    probs = probs * score
    if float(probs.max()) < sure:
        return None
    digit = make_digit(probs, image, union.box, origin, gray)
    digit.lone_doubt = lone
    return digit, union


def run_digit(
    run: tuple[RunDigit, np.ndarray],
    blob: DigitCandidate,
    origin: tuple[int, int],
    gray: np.ndarray,
) -> Digit:
    """One digit of a blob read whole: its share of the blob's box."""
    (d, image), (x, y, w, h) = run, blob.box
    left = round(d.left * w)
    right = max(left + 1, round(d.right * w))
    return make_digit(d.probs, image, (x + left, y, right - left, h), origin, gray)


def stacked_ones(digits: list[Digit]) -> list[Digit]:
    """The digits of a number read as nothing but 1s that stand over one another: neighbours
    whose boxes share at least STACKED_SHARE of the narrower one's width (none otherwise).

    A blob with no digit in it (a patch of glare, a smudge, a stain's dark edge) cut at
    its thin places along a slant comes apart in slices that each read as a sure 1, and
    those slices overlap; written 1s stand side by side."""
    if len(digits) < 2 or any(d.digit != 1 for d in digits):
        return []
    stacked: dict[int, Digit] = {}
    for a, b in pairwise(digits):
        (xa, _, wa, _), (xb, _, wb, _) = a.box, b.box
        shared = min(xa + wa, xb + wb) - max(xa, xb)
        if shared >= STACKED_SHARE * max(1, min(wa, wb)):
            stacked[id(a)], stacked[id(b)] = a, b
    return list(stacked.values())
