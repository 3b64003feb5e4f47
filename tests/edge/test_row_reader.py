"""The row reader: its window and input, CTC decoding and sureness, and the reader's use of it."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import edge.cell_read
import edge.reader
from edge.config import ModelSettings, RegionSettings
from edge.model import ModelError, bundled_model_path
from edge.reader import FrameReader
from edge.row_rules import RIVAL_SHARE, ROW_AGREE, ROW_RESCUE, ROW_VETO
from edge.rows_model import (
    BLANK,
    ROW_HEIGHT,
    STRIDE,
    RowRead,
    bundled_rows_path,
    greedy,
    light_writing,
    rival_share,
    row_digits,
    row_input,
    row_window,
    rows_for,
    sequence_probabilities,
    sequence_probability,
)
from edge.vision.find import DigitCandidate
from edge.vision.levels import grey_percentile

ROOT = Path(__file__).resolve().parents[2]


def test_greedy_decoding_merges_repeats_and_keeps_a_digit_written_twice() -> None:
    path = [BLANK, 3, 3, BLANK, 3, 7, 7, BLANK]
    probs = np.full((len(path), BLANK + 1), 0.01, np.float32)
    probs[np.arange(len(path)), path] = 0.9
    assert greedy(probs) == "337"
    assert greedy(np.eye(BLANK + 1, dtype=np.float32)[[BLANK] * 5]) == ""


def brute_force(probs: np.ndarray, text: str) -> float:
    """The chance of `text` summed over every path of columns (what CTC defines)."""
    total = 0.0
    for path in itertools.product(range(BLANK + 1), repeat=probs.shape[0]):
        if greedy(np.eye(BLANK + 1)[list(path)]) == text:
            total += float(np.prod(probs[np.arange(len(path)), path]))
    return total


@pytest.mark.parametrize("text", ["", "4", "44", "45", "454"])
def test_sureness_is_the_chance_of_the_number_over_every_path_that_spells_it(text: str) -> None:
    rng = np.random.default_rng(len(text))
    probs = rng.dirichlet(np.ones(BLANK + 1) * 0.3, size=4)
    if text == "":
        return  # nothing read: the reader never asks
    assert sequence_probability(probs, text) == pytest.approx(brute_force(probs, text), rel=1e-9)


def test_numbers_of_one_length_weighed_together_are_each_weighed_as_alone() -> None:
    rng = np.random.default_rng(3)
    for steps in (1, 2, 3, 4):  # every path summed: small rows only
        probs = rng.dirichlet(np.ones(BLANK + 1) * 0.3, size=steps)
        for texts in (["4", "7", "0"], ["44", "47", "74"]):
            exact = [brute_force(probs, t) for t in texts]
            assert sequence_probabilities(probs, texts) == pytest.approx(exact, rel=1e-9)
    long = rng.dirichlet(np.ones(BLANK + 1) * 0.3, size=60)
    texts = ["337", "377", "333", "373"]
    together = sequence_probabilities(long, texts)
    alone = [sequence_probabilities(long, [t])[0] for t in texts]
    assert together == pytest.approx(alone, rel=1e-12) and together.max() > 0


def spelled(path: list[int], p: float) -> np.ndarray:
    """Column probabilities with `p` on each column's label of `path`, the rest spread."""
    probs = np.full((len(path), BLANK + 1), (1 - p) / BLANK, np.float32)
    probs[np.arange(len(path)), path] = p
    return probs


def test_a_rival_one_digit_away_outweighs_a_first_choice_both_readers_doubt() -> None:
    row = spelled([BLANK, 4, BLANK, BLANK, 7, BLANK], 0.9)  # the row reader: 47
    choices = [[(4, 0.999), (9, 0.001), (1, 0.0)], [(1, 0.96), (7, 0.03), (2, 0.01)]]
    share, at = rival_share(row, choices, 0.999)
    assert share < RIVAL_SHARE and at == 1, "47: the row reader and the digit's second choice"
    # The row reader reading 41 backs the first choice; a digit as sure as `expand` has no
    # rival; and a rival the row reader doubts as much as the first choice weighs little.
    assert rival_share(spelled([BLANK, 4, BLANK, BLANK, 1, BLANK], 0.9), choices, 0.999)[0] > 0.99
    assert rival_share(row, choices, 0.95) == (1.0, -1)
    blank = spelled([BLANK] * 6, 0.9)
    assert rival_share(blank, choices, 0.999)[0] == pytest.approx(0.96 / 1.0, abs=0.001)


def test_a_number_read_column_by_column_surely_is_sure_and_a_doubtful_one_is_not() -> None:
    sure = np.full((8, BLANK + 1), 0.001, np.float32)
    sure[np.arange(8), [BLANK, 1, BLANK, BLANK, 2, BLANK, 2, BLANK]] = 0.99
    assert sequence_probability(sure, "122") > 0.9
    assert sequence_probability(sure, "12") < 0.05  # the second 2 is as clear as the first
    doubtful = sure.copy()
    doubtful[4, 2], doubtful[4, 7] = 0.5, 0.49  # a 2 or a 7
    assert 0.4 < sequence_probability(doubtful, "122") < 0.6


def test_the_window_holds_the_digits_with_margins_and_stays_inside_the_frame() -> None:
    boxes = [(100, 50, 20, 30), (130, 55, 20, 30), (160, 50, 20, 40)]
    x, y, w, h = row_window(boxes, (480, 640)) or (0, 0, 0, 0)
    assert (x, y) == (100 - 18, 50 - 11) and (x + w, y + h) == (180 + 18, 90 + 10)  # 10.5
    assert row_window([(0, 0, 20, 30)], (30, 20)) == (0, 0, 20, 30)
    assert row_window([], (480, 640)) is None


@pytest.mark.parametrize("shape", [(32, 40), (32, 41), (1, 1), (3, 5)])
def test_the_inputs_median_is_numpys_to_the_last_bit(shape: tuple[int, int]) -> None:
    # The paper level the input is centred on, taken from the grey levels' histogram.
    levels = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    levels[: shape[0] // 2] = 7  # ties across the middle, as paper makes them
    assert grey_percentile(levels, 50) == float(np.median(levels.astype(np.float32)))


def test_the_input_is_dark_writing_on_paper_near_zero_whichever_the_polarity() -> None:
    page = np.full((60, 200), 200, np.uint8)
    page[20:40, 50:54] = 30  # a dark stroke
    boxes = [(45, 15, 15, 30)]
    assert not light_writing(page, boxes)
    image = row_input(page, (0, 0, 200, 60), boxes)
    assert image.shape[0] == ROW_HEIGHT and image.shape[1] % STRIDE == 0
    assert image.min() < -2 and abs(float(np.median(image))) < 0.05
    board = 255 - page  # chalk on a board
    assert light_writing(board, boxes)
    # The same input, but for the rounding of the scaled grey levels.
    assert np.abs(row_input(board, (0, 0, 200, 60), boxes) - image).max() < 0.1
    # A shadow over half the window does not turn dark writing light.
    shaded = page.copy()
    shaded[:, 100:] = 90
    shaded[20:40, 155:159] = 20  # a digit in the shadow
    assert not light_writing(shaded, [*boxes, (150, 15, 15, 30)])


class FakeModel:
    """The digit model: every digit read as `digit` at `sure`."""

    version = "mnist-cnn-fake"

    def __init__(self, digit: int, sure: float) -> None:
        self.digit, self.sure = digit, sure

    def predict(self, batch: np.ndarray) -> np.ndarray:
        probs = np.full((len(batch), 10), (1 - self.sure) / 9, np.float32)
        probs[:, self.digit] = self.sure
        return probs


class FakeRows:
    """A row reader that reads every row as `text` at `sure`."""

    version = "rows-ctc-fake"

    def __init__(self, text: str, sure: float) -> None:
        self.text, self.sure, self.shown = text, sure, []
        self.probs: np.ndarray | None = None  # column probabilities, when a test needs them

    def read(self, gray: np.ndarray, boxes) -> RowRead:
        self.shown.append(list(boxes))
        return RowRead(self.text, self.sure, self.probs)


def read_with(monkeypatch, rows, sure: float, kind: str = "number"):
    candidates = [
        DigitCandidate((20, 50, 30, 40), np.ones((40, 30), np.float32)),
        DigitCandidate((60, 50, 30, 40), np.ones((40, 30), np.float32)),
    ]
    found = candidates if kind == "number" else candidates[:1]
    monkeypatch.setattr(edge.reader, "find_digits", lambda *a, **k: found)
    reader = FrameReader(FakeModel(4, sure), [RegionSettings(kind=kind)], 0.95, "dev", rows=rows)
    return reader.read(np.full((200, 300), 255, np.uint8), "x", 0)[0]


def test_both_readers_reading_the_same_number_publish_it_as_sure_as_the_surer(monkeypatch) -> None:
    alone = read_with(monkeypatch, None, 0.8)
    assert (alone.status, alone.value) == ("low_confidence", None)
    rows = FakeRows("44", 0.97)
    agreed = read_with(monkeypatch, rows, 0.8)
    assert (agreed.status, agreed.value) == ("ok", "44")
    assert [d.confidence for d in agreed.digits] == pytest.approx([0.97, 0.97])
    assert rows.shown == [[(20, 50, 30, 40), (60, 50, 30, 40)]]
    # The row reader's sureness counts only when it reaches the threshold itself, and
    # ROW_AGREE above a lower threshold: two readers agreeing on a doubtful number are no
    # surer than the surer of them is.
    unsure = read_with(monkeypatch, FakeRows("44", 0.9), 0.8)
    assert (unsure.status, unsure.value) == ("low_confidence", None)
    assert ROW_AGREE > 0.95
    doubtful = read_with(monkeypatch, FakeRows("44", 0.95), 0.8)
    assert (doubtful.status, doubtful.value) == ("low_confidence", None)


def test_a_row_reader_sure_of_another_number_voids_it(monkeypatch) -> None:
    assert read_with(monkeypatch, None, 0.99).value == "44"
    vetoed = read_with(monkeypatch, FakeRows("47", ROW_VETO), 0.99)
    assert (vetoed.status, vetoed.value) == ("low_confidence", None)
    # Only the digit read otherwise is doubted; with another count, every digit is.
    assert [d.confidence for d in vetoed.digits] == pytest.approx([0.99, 1 - ROW_VETO])
    longer = read_with(monkeypatch, FakeRows("447", 0.95), 0.99)
    assert (longer.status, longer.value) == ("low_confidence", None)
    assert [d.confidence for d in longer.digits] == pytest.approx([0.05, 0.05])
    # A doubtful other reading, or none at all, changes nothing.
    assert read_with(monkeypatch, FakeRows("47", ROW_VETO - 0.05), 0.99).value == "44"
    assert read_with(monkeypatch, FakeRows("", 0.0), 0.99).value == "44"


def test_a_doubted_other_number_backed_by_a_digits_second_choice_voids_it(monkeypatch) -> None:
    class OneOrSeven(FakeModel):
        """Every digit a 1 at 0.96, a 7 at 0.03."""

        def predict(self, batch: np.ndarray) -> np.ndarray:
            probs = np.full((len(batch), 10), 0.01 / 8, np.float32)
            probs[:, 1], probs[:, 7] = 0.96, 0.03
            return probs

    candidates = [
        DigitCandidate((20, 50, 30, 40), np.ones((40, 30), np.float32)),
        DigitCandidate((60, 50, 30, 40), np.ones((40, 30), np.float32)),
    ]
    monkeypatch.setattr(edge.reader, "find_digits", lambda *a, **k: candidates)

    def read(text: str, path: list[int]):
        rows = FakeRows(text, 0.0)
        rows.probs = spelled(path, 0.95)
        rows.sure = sequence_probability(rows.probs, text)
        reader = FrameReader(OneOrSeven(1, 0.96), [RegionSettings()], 0.95, "dev", rows=rows)
        return rows.sure, reader.read(np.full((200, 300), 255, np.uint8), "x", 0)[0]

    # The row reader reads 17, under ROW_VETO sure: alone it would change nothing, but the
    # second digit's second choice is its 7, and together they outweigh 11.
    sure, doubted = read("17", [BLANK, 1, BLANK, 7, BLANK])
    assert sure < ROW_VETO
    assert (doubted.status, doubted.value) == ("low_confidence", None)
    assert doubted.digits[0].confidence == pytest.approx(0.96)
    assert doubted.digits[1].confidence < RIVAL_SHARE
    # A reading of 14 is no rival's: 4 is none of the digit's choices, so 11 stands.
    sure, kept = read("14", [BLANK, 1, BLANK, 4, BLANK])
    assert sure < ROW_VETO and (kept.status, kept.value) == ("ok", "11")


def test_a_number_reading_names_the_row_reader_that_weighed_it(monkeypatch) -> None:
    weighed = read_with(monkeypatch, FakeRows("44", 0.99), 0.99)
    assert weighed.row_reader == "rows-ctc-fake"
    assert json.loads(weighed.to_json())["row_reader"] == "rows-ctc-fake"
    # A digit region's digit is weighed too; without the row reader the key is left out.
    digit = read_with(monkeypatch, FakeRows("4", 0.999), 0.99, kind="digit")
    assert digit.row_reader == "rows-ctc-fake" and digit.to_dict()["row_reader"] == digit.row_reader
    assert "row_reader" not in json.loads(read_with(monkeypatch, None, 0.99).to_json())


def test_a_digit_regions_digit_is_weighed_as_a_row_of_one(monkeypatch) -> None:
    # An unsure digit the row reader reads alike, surely, is published; the window it is
    # shown is the digit's own box (row_window adds the margins).
    rows = FakeRows("4", 0.99)
    agreed = read_with(monkeypatch, rows, 0.8, kind="digit")
    assert (agreed.status, agreed.value) == ("ok", "4") and rows.shown == [[(20, 50, 30, 40)]]
    assert read_with(monkeypatch, None, 0.8, kind="digit").status == "low_confidence"
    # A sure digit the row reader is sure is another is not published, as in a number.
    vetoed = read_with(monkeypatch, FakeRows("7", ROW_VETO), 0.99, kind="digit")
    assert (vetoed.status, vetoed.value) == ("low_confidence", None)
    assert read_with(monkeypatch, FakeRows("7", ROW_VETO - 0.05), 0.99, kind="digit").value == "4"


def test_a_tight_crops_cell_takes_only_the_row_readers_agreement(monkeypatch) -> None:
    """A cell's lines in the window make the row reader doubt right digits: its veto is not
    asked there, its agreement is."""
    from edge.vision.cell import CellInk

    ink = np.zeros((40, 30), np.float32)
    ink[5:35, 12:18] = 1.0
    proposal = CellInk(ink=ink, box=(5, 5, 30, 40), frameless=False)
    monkeypatch.setattr(edge.cell_read, "cell_inks", lambda crop: [proposal])
    monkeypatch.setattr(edge.reader, "is_cell", lambda shape: True)

    def read(rows, sure: float):
        reader = FrameReader(
            FakeModel(4, sure), [RegionSettings(kind="digit")], 0.95, "dev", rows=rows
        )
        return reader.read(np.full((50, 40), 255, np.uint8), "x", 0)[0]

    assert read(FakeRows("7", 0.999), 0.99).value == "4", "no veto on a cell"
    assert read(None, 0.8).status == "low_confidence"
    assert (read(FakeRows("4", 0.99), 0.8).status, read(FakeRows("4", 0.99), 0.8).value) == (
        "ok",
        "4",
    )


def columns(text: str, at: list[int], count: int = 14) -> np.ndarray:
    """Column probabilities reading `text`, its digits at the columns `at`, blank elsewhere."""
    path = [BLANK] * count
    for c, column in zip(text, at, strict=True):
        path[column] = int(c)
    return spelled(path, 0.99)


def test_the_row_readers_digits_take_the_found_boxes_where_it_read_them() -> None:
    # The read_with row: boxes at x 20 and 60 (30 wide, 40 high) in a 300-wide frame; its
    # window (0..114) becomes 54 input pixels, columns of about 8.4 frame pixels each.
    boxes = [(20, 50, 30, 40), (60, 50, 30, 40)]
    placed = row_digits(columns("47", [3, 8]), boxes, (200, 300))
    assert [(p.digit, p.box) for p in placed] == [(4, boxes[0]), (7, boxes[1])]
    assert placed[0].top3[0][0] == 4 and placed[0].top3[0][1] > 0.9
    assert sum(share for _, share in placed[0].top3) <= 1.0 + 1e-6
    assert row_digits(columns("", []), boxes, (200, 300)) == []


def test_a_digit_the_finder_left_out_or_ran_together_gets_a_box_of_its_own() -> None:
    # Boxes at x 20 and 120: a window of 0..174, 82 input pixels, 8.5 frame pixels a column.
    apart = [(20, 50, 30, 40), (120, 50, 30, 40)]
    placed = row_digits(columns("417", [4, 9, 15], count=21), apart, (200, 300))
    # The 1 between them, in no found box: round column 9 (x 80.6), 0.7 of the height wide.
    assert [p.box for p in placed] == [apart[0], (67, 50, 28, 40), apart[1]]
    # One found box holding two digits (run together) is cut half-way between them.
    joined = [(20, 50, 70, 40)]
    placed = row_digits(columns("47", [3, 7]), joined, (200, 300))
    assert [(p.digit, p.box) for p in placed] == [(4, (20, 50, 26, 40)), (7, (46, 50, 44, 40))]


def test_unsure_digits_are_the_row_readers_number_when_it_is_that_sure_of_it(monkeypatch) -> None:
    rows = FakeRows("47", ROW_RESCUE)
    rows.probs = columns("47", [3, 8])
    whole = read_with(monkeypatch, rows, 0.8)
    assert (whole.status, whole.value, whole.read_whole) == ("ok", "47", True)
    assert [d.confidence for d in whole.digits] == pytest.approx([ROW_RESCUE] * 2)
    assert [d.box for d in whole.digits] == [(20, 50, 30, 40), (60, 50, 30, 40)]
    # As many digits as found: each keeps the views a correction makes an example of.
    assert all(d.image is not None for d in whole.digits)
    assert json.loads(whole.to_json())["read_whole"] is True
    # Less sure, it only voids the digits (ROW_VETO), as before.
    rows.sure = ROW_RESCUE - 0.001
    doubted = read_with(monkeypatch, rows, 0.8)
    assert (doubted.status, doubted.value, doubted.read_whole) == ("low_confidence", None, False)
    assert "read_whole" not in json.loads(doubted.to_json())


def test_two_readers_sure_of_two_numbers_publish_neither(monkeypatch) -> None:
    rows = FakeRows("47", 0.9999)
    rows.probs = columns("47", [3, 8])
    sure = read_with(monkeypatch, rows, 0.99)  # the digit reader sure of 44
    assert (sure.status, sure.value, sure.read_whole) == ("low_confidence", None, False)
    assert [d.digit for d in sure.digits] == [4, 4]


def test_the_row_readers_number_may_hold_a_digit_the_finder_left_out(monkeypatch) -> None:
    rows = FakeRows("417", 0.9999)
    rows.probs = columns("417", [3, 6, 8])
    whole = read_with(monkeypatch, rows, 0.8)
    assert (whole.status, whole.value, whole.read_whole) == ("ok", "417", True)
    assert [d.digit for d in whole.digits] == [4, 1, 7]
    # Another count than found: no digit keeps views, so a correction of this reading makes
    # no training example from cuts that do not match its digits.
    assert all(d.image is None and d.crop is None for d in whole.digits)
    # A region told its number's length still refuses another count.
    candidates = [
        DigitCandidate((20, 50, 30, 40), np.ones((40, 30), np.float32)),
        DigitCandidate((60, 50, 30, 40), np.ones((40, 30), np.float32)),
    ]
    monkeypatch.setattr(edge.reader, "find_digits", lambda *a, **k: candidates)
    told = FrameReader(
        FakeModel(4, 0.8), [RegionSettings(kind="number", digits=2)], 0.95, "dev", rows=rows
    ).read(np.full((200, 300), 255, np.uint8), "x", 0)[0]
    assert (told.status, told.value) == ("low_confidence", None)


def test_a_digit_regions_unsure_digit_is_not_read_whole(monkeypatch) -> None:
    rows = FakeRows("7", 0.9999)
    rows.probs = columns("7", [3])
    reading = read_with(monkeypatch, rows, 0.8, kind="digit")
    assert (reading.status, reading.read_whole) == ("low_confidence", False)


def test_the_shipped_row_reader_is_on_for_numbers_and_a_wrong_file_is_refused(tmp_path) -> None:
    number, digit = RegionSettings(kind="number"), RegionSettings(kind="digit")
    shipped = rows_for(ModelSettings(), [digit, number])
    assert shipped is not None and shipped.version.startswith("rows-ctc-")
    assert shipped.path == bundled_rows_path()
    assert rows_for(ModelSettings(), [digit]) is not None, "digit regions use it too"
    counter = RegionSettings(kind="counter", box=[0, 0, 10, 10], digits=1)
    assert rows_for(ModelSettings(), [counter]) is None, "printed digits do not"
    assert rows_for(ModelSettings(row_reader=False), [number]) is None, "off when asked"
    wrong = tmp_path / "rows.onnx"
    wrong.write_bytes(b"not a model")
    assert rows_for(ModelSettings(rows_path=wrong), [counter]) is None
    with pytest.raises(ModelError, match=r"model\.rows_path"):
        rows_for(ModelSettings(rows_path=wrong), [number])
    with pytest.raises(ModelError, match="not a DigitCam row reader"):
        rows_for(ModelSettings(rows_path=bundled_model_path()), [number])


def test_check_config_refuses_a_wrong_row_reader_with_exit_78_naming_the_key(tmp_path) -> None:
    config = tmp_path / "digitcam.toml"
    handwriting = ROOT / "edge" / "models" / "mnist-cnn.onnx"
    config.write_text(f'[model]\nrows_path = "{handwriting}"\n')
    command = [sys.executable, "-m", "edge.cli", "check-config", "--config", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 78
    assert "not a DigitCam row reader" in result.stderr and "model.rows_path" in result.stderr
    config.write_text("[model]\n")
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_the_shipped_row_reader_reads_a_written_number_and_voids_a_broken_models_guess() -> None:
    from edge.model import load_model
    from tests.edge.test_digits import SAMPLE
    from tests.edge.test_rows import first_of, write
    from training.mnist import load_split

    images, labels = load_split(SAMPLE, "test")
    frame = write(images, first_of(labels, "4072"), [100, 170, 240, 310], [200] * 4, [70] * 4)
    rows = rows_for(ModelSettings(), [RegionSettings(kind="number")])
    assert rows is not None
    boxes = [(100 + 70 * i, 200, 50, 70) for i in range(4)]
    read = rows.read(frame, boxes)
    assert read is not None and read.text == "4072" and read.sureness() > 0.9
    region = [RegionSettings(kind="number")]
    assert (
        FrameReader(load_model(None), region, 0.95, "dev", rows=rows).read(frame, "x", 0)[0].value
        == "4072"
    )
    # A model that reads every digit as 1 (a broken install) publishes no 1111: the row
    # reader is sure of another number.
    broken = FrameReader(FakeModel(1, 0.999), region, 0.95, "dev", rows=rows)
    reading = broken.read(frame, "x", 0)[0]
    assert (reading.status, reading.value) == ("low_confidence", None)
    alone = FrameReader(FakeModel(1, 0.999), region, 0.95, "dev").read(frame, "x", 0)[0]
    assert alone.value == "1111", "without the row reader the guess goes out"
    # Digits read unsure are the row reader's number when it is sure of it.
    unsure = FrameReader(FakeModel(1, 0.6), region, 0.95, "dev", rows=rows).read(frame, "x", 0)[0]
    assert (unsure.status, unsure.value, unsure.read_whole) == ("ok", "4072", True)


def test_the_shipped_readers_read_whole_a_number_the_finder_cut_wrong() -> None:
    """MNIST's 0, 1 and 8 (sample indices 297, 40, 181) written in a row: the finder takes
    the 0 and the 1, which touch, for one unsure 0; the row reader reads 018, surely."""
    from edge.model import load_model
    from tests.edge.test_digits import SAMPLE
    from tests.edge.test_rows import write
    from training.mnist import load_split

    images, labels = load_split(SAMPLE, "test")
    assert "".join(str(int(labels[i])) for i in (297, 40, 181)) == "018"
    frame = write(images, [297, 40, 181], [100, 174, 248], [200] * 3, [70] * 3)
    region = [RegionSettings(kind="number")]
    alone = FrameReader(load_model(None), region, 0.95, "dev").read(frame, "x", 0)[0]
    assert alone.status == "low_confidence" and len(alone.digits) == 2
    rows = rows_for(ModelSettings(), region)
    reading = FrameReader(load_model(None), region, 0.95, "dev", rows=rows).read(frame, "x", 0)[0]
    assert (reading.status, reading.value, reading.read_whole) == ("ok", "018", True)
    assert reading.confidence is not None and reading.confidence >= ROW_RESCUE
    # Each digit's box lies where it was written (x 100, 174, 248; about 50 wide).
    for (x, _, w, _), written in zip((d.box for d in reading.digits), (100, 174, 248), strict=True):
        assert written - 10 <= x + w / 2 <= written + 60


def test_the_shipped_row_reader_weighs_a_digit_regions_written_digit() -> None:
    from edge.model import load_model
    from tests.edge.test_digits import SAMPLE
    from tests.edge.test_rows import first_of, write
    from training.mnist import load_split

    images, labels = load_split(SAMPLE, "test")
    frame = write(images, first_of(labels, "4"), [280], [200], [80])
    region = [RegionSettings(kind="digit")]
    rows = rows_for(ModelSettings(), region)
    assert rows is not None
    reading = FrameReader(load_model(None), region, 0.95, "dev", rows=rows).read(frame, "x", 0)[0]
    assert (reading.status, reading.value, reading.row_reader) == ("ok", "4", rows.version)
    # A broken model's sure 1 is not published: the row reader reads the 4.
    broken = FrameReader(FakeModel(1, 0.999), region, 0.95, "dev", rows=rows)
    assert broken.read(frame, "x", 0)[0].status == "low_confidence"
    alone = FrameReader(FakeModel(1, 0.999), region, 0.95, "dev").read(frame, "x", 0)[0]
    assert alone.value == "1", "without the row reader the guess goes out"
