"""Touching digits cut apart where the pieces read as digits (edge.vision.apart)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.config import RegionSettings
from edge.model import load_model
from edge.reader import FrameReader
from edge.vision.apart import read_apart
from edge.vision.chains import read_runs
from edge.vision.cuts import cut_at, cut_lines, skew
from edge.vision.find import find_digits
from edge.vision.group import find_components, group_components
from edge.vision.params import DEFAULT
from tests.edge.test_digits import SAMPLE, assert_read_as, draw_digit, paper, to_uint8
from training.mnist import load_split


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return load_split(SAMPLE, "test")


@pytest.fixture(scope="module")
def reader() -> FrameReader:
    return FrameReader(load_model(None), [RegionSettings()], 0.9, "dev")


def touching(images: np.ndarray, labels: np.ndarray, value: str, overlap: int) -> np.ndarray:
    """The digits of `value` written so that each overlaps the one before by `overlap` px."""
    sheet = paper()
    x = 120
    for c in value:
        box = draw_digit(sheet, images[int(np.nonzero(labels == int(c))[0][0])], x, 200, 90)
        x = box[0] + box[2] - overlap
    return to_uint8(sheet)


def leaning(image: np.ndarray, lean: float) -> np.ndarray:
    """An MNIST digit sheared to lean `lean` columns per row down (< 0: forward, like italics)."""
    h, w = image.shape
    wide = np.zeros((h, w + 20), np.uint8)
    wide[:, 10 : 10 + w] = image
    shear = np.float32([[1, lean, -lean * h / 2], [0, 1, 0]])
    return cv2.warpAffine(wide, shear, (w + 20, h))


def touching_slanted(images, labels, value: str, lean: float, overlap: int = 14) -> np.ndarray:
    """The digits of `value` leaning forward, each run into the one before by `overlap` px."""
    sheet = paper()
    x = 120
    for c in value:
        image = leaning(images[int(np.nonzero(labels == int(c))[0][0])], lean)
        box = draw_digit(sheet, image, x, 200, 90)
        x = box[0] + box[2] - overlap
    return to_uint8(sheet)


@pytest.mark.parametrize(("value", "lean"), [("84", -0.35), ("89", -0.45), ("06", -0.35)])
def test_slanted_touching_digits_are_cut_along_their_slant(digits, reader, value, lean) -> None:
    # Digits leaning forward meet along their slant: a vertical cut takes the foot of the
    # one and the head of the other (89 was published as 81, the others left unread).
    reading = reader.read(touching_slanted(*digits, value, lean), "x", 0)[0]
    assert (reading.status, reading.value) == ("ok", value)


@pytest.mark.parametrize(("value", "lean"), [("31", -0.35), ("34", -0.35), ("63", -0.45)])
def test_a_cut_into_more_pieces_never_beats_a_sure_cut_into_fewer(digits, reader, value, lean):
    # Cutting along the slant too gives more ways to explain a blob; a 3 cut into a 1 and
    # the rest reads as surely as the 3 whole. Two sure digits beat three (no extra 1).
    reading = reader.read(touching_slanted(*digits, value, lean), "x", 0)[0]
    assert_read_as(reading, value)


def test_a_leaning_group_is_also_cut_along_its_lean() -> None:
    mask = np.zeros((60, 80), np.uint8)
    strokes = np.zeros((2, 60, 80), bool)
    for row in range(60):  # two strokes leaning forward (top right), 12 px apart
        shift = round(0.3 * (30 - row))
        strokes[0, row, 20 + shift : 26 + shift] = True
        strokes[1, row, 38 + shift : 44 + shift] = True
    mask[strokes.any(axis=0)] = 1
    mask[28:32, 26:38] = 1  # joined in the middle
    parts = find_components(mask)
    (group,) = group_components(parts)
    assert skew(group.own_mask(parts)) == pytest.approx(-0.3, abs=0.05)
    cuts = cut_lines(group, parts)
    assert any(slope == 0.0 for _, slope in cuts)
    slanted = [cut for cut in cuts if cut[1] != 0.0]
    assert slanted and all(slope == -DEFAULT.apart_slant_max for _, slope in slanted)

    def in_frame(piece) -> np.ndarray:
        x, y, w, h = piece.box
        full = np.zeros(mask.shape, bool)
        full[y : y + h, x : x + w] = piece.own_mask(parts) > 0
        return full

    # Along the lean, one cut leaves each stroke whole in its own piece; no vertical cut can.
    def separates(cut) -> bool:
        pieces = cut_at(group, parts, cut)
        if pieces is None:
            return False
        left, right = (in_frame(p) for p in pieces)
        return bool(
            (left | right).sum() == mask.sum()
            and left[strokes[0]].all()
            and right[strokes[1]].all()
        )

    assert any(separates(cut) for cut in slanted)
    assert not any(separates(cut) for cut in cuts if cut[1] == 0.0)
    # A row of upright digits (the row's median lean) keeps the cuts vertical.
    assert all(slope == 0.0 for _, slope in cut_lines(group, parts, slant=0.05))


@pytest.mark.parametrize(("value", "overlap"), [("35", 4), ("47", 8), ("12", 8), ("731", 8)])
def test_touching_digits_are_read_one_by_one(digits, reader, value: str, overlap: int) -> None:
    gray = touching(*digits, value, overlap)
    # Shape rules alone see fewer digits than there are: the digits touch.
    assert len(find_digits(gray, "number")) < len(value)
    reading = reader.read(gray, "x", 0)[0]
    assert_read_as(reading, value)
    boxes = [d.box for d in reading.digits]
    assert boxes == sorted(boxes)


@pytest.mark.parametrize(("value", "overlap"), [("4096", 8), ("35172", 8), ("40961", 6)])
def test_a_number_written_as_one_run_of_touching_digits_is_read(digits, reader, value, overlap):
    # More digits run together than cuts in two and three explain (read_apart); each was
    # `no_digit` or `low_confidence` before runs were read (edge.vision.chains.read_runs).
    gray = touching(*digits, value, overlap)
    assert len(find_digits(gray, "number")) < len(value) - 1
    reading = reader.read(gray, "x", 0)[0]
    assert (reading.status, reading.value) == ("ok", value)


@pytest.mark.parametrize(
    ("value", "lean", "overlap"), [("82", 0.0, 14), ("44", 0.0, 10), ("233", -0.3, 10)]
)
def test_touching_digits_cut_unsurely_are_read_as_a_run_that_is_sure(
    digits, reader, value, lean, overlap
):
    # Cut in two or three, each blob's least sure piece stayed under 0.9 and the number
    # `low_confidence`; read as a run (along another slant) it gives as many digits, each
    # at least 0.99 a digit (edge.vision.apart.read_touching).
    gray = (
        touching_slanted(*digits, value, lean, overlap)
        if lean
        else touching(*digits, value, overlap)
    )
    reading = reader.read(gray, "x", 0)[0]
    assert (reading.status, reading.value) == ("ok", value)


def test_a_blob_no_cut_explains_is_never_published_as_part_of_a_number(digits, reader) -> None:
    gray = touching(*digits, "4096", 20)  # pressed into each other: no straight cut parts them
    reading = reader.read(gray, "x", 0)[0]
    assert reading.value is None and reading.status in ("no_digit", "low_confidence")


def test_a_digit_written_in_two_pieces_is_read_as_one(digits, reader) -> None:
    images, labels = digits
    five = images[int(np.nonzero(labels == 5)[0][1])].copy()
    rows = np.nonzero(five.max(axis=1) > 0)[0]
    middle = int(rows[0] + 0.45 * (rows[-1] - rows[0]))
    five[middle : middle + 4] = 0  # the bar and the bow did not meet
    sheet = paper()
    for value, x in (("7", 150), ("5", 260), ("3", 370)):
        image = five if value == "5" else images[int(np.nonzero(labels == int(value))[0][0])]
        draw_digit(sheet, image, x, 180, 100)
    gray = to_uint8(sheet)
    # Shape rules alone never see the whole 5 (100 px tall), only pieces of it, or nothing.
    found = find_digits(gray, "number")
    assert [c.box[0] // 100 for c in found if c.box[3] > 80] == [1, 3]
    reading = reader.read(gray, "x", 0)[0]
    assert (reading.status, reading.value) == ("ok", "753")


def two_rings_joined() -> np.ndarray:
    """Two hollow boxes joined by a bar too thick for the shape rule's single cut."""
    mask = np.zeros((60, 100), np.uint8)
    for x0 in (10, 60):
        mask[10:50, x0 : x0 + 30] = 1
        mask[20:40, x0 + 8 : x0 + 22] = 0
    mask[24:36, 40:60] = 1  # 12 of 40 rows: thinner than a ring's 20, thicker than a stroke
    return mask


def test_cuts_are_tried_at_the_thinnest_columns_first() -> None:
    parts = find_components(two_rings_joined())
    (group,) = group_components(parts)  # one group: too thick a join for the shape rule
    columns = [column for column, slope in cut_lines(group, parts) if slope == 0.0]
    assert 30 <= columns[0] < 50, "the bar between the rings is where they touch"
    assert 1 < len(columns) <= DEFAULT.apart_max_cuts


def test_a_cut_counts_only_when_every_piece_reads_as_a_digit() -> None:
    parts = find_components(two_rings_joined())
    (group,) = group_components(parts)
    everything = read_apart([group], parts, lambda gs: np.ones(len(gs)), lambda g: True)
    left, right = everything[0]
    assert left.box[0] == 10 and right.box[0] + right.box[2] == 90
    assert 40 <= left.box[0] + left.box[2] == right.box[0] < 60, "cut in the bar"
    # A judge that takes no narrow piece for a digit explains nothing: the group stays whole.
    wide_only = read_apart(
        [group], parts, lambda gs: np.array([g.box[2] > 60 for g in gs], float), lambda g: True
    )
    assert wide_only == {}


def test_a_sure_sliver_does_not_win_a_cut_whose_other_pieces_are_unsure() -> None:
    # Two rings joined by a bar. A stand-in judge is very sure of a ring's narrow left wall
    # (0.99), sure of each whole ring (0.9) and barely takes other pieces for digits (0.6).
    # Cutting off the wall and then the rest in two has a sure first piece but an unsure
    # middle one; the two rings, each read at 0.9, are the better explanation.
    parts = find_components(two_rings_joined())
    (group,) = group_components(parts)

    def judge(groups):
        return np.array(
            [
                0.99
                if g.box[2] <= 12
                else 0.9
                if 37 <= g.box[2] <= 41
                else 0.6
                if g.box[2] <= 45
                else 0.0
                for g in groups
            ]
        )

    found = read_apart([group], parts, judge, lambda g: True)[0]
    assert [(g.box[0], g.box[2]) for g in found] == [(10, 39), (49, 41)]


def rings_in_a_row(count: int) -> np.ndarray:
    """`count` hollow boxes, each joined to the next by a bar too thick for the shape rule's
    cut (as two_rings_joined): one group."""
    mask = np.zeros((60, 20 + 50 * count), np.uint8)
    for k in range(count):
        x0 = 10 + 50 * k
        mask[10:50, x0 : x0 + 30] = 1
        mask[18:42, x0 + 6 : x0 + 24] = 0
        if k:
            mask[24:36, x0 - 20 : x0] = 1
    return mask


def test_a_run_of_more_digits_than_cuts_in_two_and_three_is_read_whole() -> None:
    parts = find_components(rings_in_a_row(5))
    (group,) = group_components(parts)

    def judge(groups):  # sure of a whole ring (30 px and its bars' stubs), of nothing else
        return np.array([0.95 if 30 <= g.box[2] <= 56 else 0.1 for g in groups])

    assert read_apart([group], parts, judge, lambda g: True) == {}, "three pieces at most"
    (found,) = read_runs([group], parts, judge, lambda g: True).values()
    assert len(found) == 5
    lefts = [g.box[0] for g in found]
    assert lefts == sorted(lefts)
    for k, g in enumerate(found):  # each piece holds one ring, cut in the bars between them
        assert g.box[0] <= 10 + 50 * k and g.box[0] + g.box[2] >= 40 + 50 * k


def test_a_run_is_read_in_the_fewest_pieces_when_every_piece_is_sure() -> None:
    parts = find_components(rings_in_a_row(4))
    (group,) = group_components(parts)
    # A judge sure of every piece, the slivers of a ring's walls too: the run cut into the
    # four rings is as sure as cut into more pieces, and the fewest win.
    (found,) = read_runs([group], parts, lambda gs: np.ones(len(gs)), lambda g: True).values()
    assert len(found) == 4
    # A judge that takes nothing for a digit explains nothing: the run stays unread.
    assert read_runs([group], parts, lambda gs: np.zeros(len(gs)), lambda g: True) == {}
