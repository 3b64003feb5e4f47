"""The row reader's say in a number: its reading of a row weighed against the digits read
one by one (edge.reader.FrameReader reads both; edge.rows_model is the network).

Two readers that see the row differently (digit by digit after cutting it, and whole)
seldom err the same way. The thresholds below were chosen on the tuning frames (README,
"The row reader").
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from edge.reading import Digit
from edge.rows_model import Box, RowRead, rival_share, row_digits

logger = logging.getLogger(__name__)

# The row reader (edge.rows_model) at least this sure of another number than the digits
# read one by one: no digit of theirs is surer than the chance the row reader is wrong.
ROW_VETO = 0.9
# The row reader reading the same number makes an unsure digit sure only when it is itself
# at least this sure (and at least as sure as the region's threshold). On 5,400 tuning
# number frames 0.9 -> 0.97 published 20 right numbers fewer and 6 wrong ones fewer.
ROW_AGREE = 0.97
# The row reader unsure of another number: the digits' first choices must still hold at least
# this share of the weight against every number differing in one digit (that digit's second
# or third choice, for a digit under RIVAL_EXPAND), each weighed by both readers
# (edge.rows_model.rival_share). On 5,458 tuning numbers published `ok` it voided 8 wrong
# ones and 1 right one.
RIVAL_SHARE = 0.5
RIVAL_EXPAND = 0.999
# A number whose digits were unsure on their own (some digit under the region's threshold
# before the row reader weighed them) is read whole when the row reader is at least this sure
# of its number: its digits, each as sure as it is. Not when the digit reader was sure and the
# row reader read otherwise: two readers sure of two numbers leave neither published. On the
# 5,850 tuning number frames and 800 continental ones 5,222 right / 93 `ok` but wrong ->
# 5,304 / 94 (0.995: 5,366 / 98; 0.99: 5,391 / 104); on 2,700 fresh ones 1,886 / 67 ->
# 1,926 / 67 (README, "The row reader").
ROW_RESCUE = 0.999

# The row reader's readings of one frame, by the boxes of the digits it read round.
RowReads = dict[tuple[Box, ...], RowRead | None]


def weigh_row(
    read: RowRead,
    digits: list[Digit],
    gray: np.ndarray,
    sure: float,
    *,
    agree_only: bool = False,
    rescue: bool = False,
) -> bool:
    """The number's digits (changed in place) weighed against the row reader's reading of
    their row, `read`.

    When the row reader reads the same number, each digit is as sure as the surer of the two
    (the row reader's sureness counts only when it reaches the region's threshold `sure` and
    ROW_AGREE); when it is at least ROW_VETO sure of another number, no digit it reads
    otherwise is surer than the chance it is wrong (every digit, when it reads another
    count), so the number is not published. When it reads another number less surely, the
    two readers' evidence is put together: a rival number one digit away (that digit's
    second or third choice) that outweighs the digits' first choices leaves that digit no
    surer than their share (RIVAL_SHARE). With `agree_only`, only agreement counts (a tight
    crop's cell: its lines, in the row reader's window, make it doubt right digits).

    With `rescue` (a number region), digits unsure on their own that are still unsure
    after all that become the row reader's number when it is ROW_RESCUE sure of it
    (read_whole); returns whether they did.

    A digit region's one digit is weighed so too, the row reader reading the window round
    it. On the 6,400 digit-region tuning frames (single digits on photos, tight crops,
    blank pages) right / `ok` but wrong went 6,169 / 66 -> 6,195 / 65, on 7,000 fresh
    ones 6,735 / 66 -> 6,754 / 63 and four fewer digits read on blank pages (README,
    "The row reader").
    """
    unsure_alone = min(d.confidence for d in digits) < sure
    ours = "".join(str(d.digit) for d in digits)
    if read.text == ours:
        # A number already sure stays as it is (and its sureness is never worked out).
        if unsure_alone and read.sureness() >= max(sure, ROW_AGREE):
            for d in digits:
                d.confidence = max(d.confidence, read.sureness())
    elif agree_only:
        return False
    elif read.sureness() >= ROW_VETO:
        same_count = len(read.text) == len(ours)
        for i, d in enumerate(digits):
            if not same_count or read.text[i] != ours[i]:
                d.confidence = min(d.confidence, 1.0 - read.sureness())
    elif read.probs is not None and all(d.top3 for d in digits):
        share, at = rival_share(read.probs, [d.top3 for d in digits], RIVAL_EXPAND)
        if share < RIVAL_SHARE:
            digits[at].confidence = min(digits[at].confidence, share)
    if not (rescue and unsure_alone and read.text and read.probs is not None):
        return False
    if min(d.confidence for d in digits) >= sure or read.sureness() < ROW_RESCUE:
        return False
    digits[:] = read_whole(read.probs, read.sureness(), digits, gray)
    return True


def read_whole(
    probs: np.ndarray, sureness: float, digits: list[Digit], gray: np.ndarray
) -> list[Digit]:
    """The row reader's number as the reading's digits, each as sure as the number.

    As many digits as were found: each keeps its found digit's box and the views of it
    kept for training (a correction labels what the finder cut there). Another count:
    each digit's box is where the row reader read it (edge.rows_model.row_digits), and
    none keeps views, so a correction makes no training example from cuts that do not
    match the digits. The three likeliest digits are the row reader's.

    Why: where the digits read one by one are unsure, the row reader often reads the
    number right (of the 597 `low_confidence` wild tuning numbers, it read 410 right
    that the digits had wrong); from ROW_RESCUE sure up it is about as seldom wrong
    as the numbers published already (README, "The row reader").
    """
    placed = row_digits(probs, [d.box for d in digits], gray.shape)
    same = len(placed) == len(digits)
    out = []
    for i, p in enumerate(placed):
        if same:
            d = digits[i]
            out.append(replace(d, digit=p.digit, confidence=sureness, top3=p.top3))
        else:
            out.append(Digit(p.digit, sureness, p.box, top3=p.top3))
    return out
