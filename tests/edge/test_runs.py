"""Digits run together: fitting a blob for the run reader, CTC decoding, and the reader's use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import edge.reader
from edge.config import ModelSettings, RegionSettings
from edge.model import ModelError, bundled_model_path
from edge.reader import FrameReader
from edge.runs_model import BLANK, RunDigit, decode, ink_width, runs_for
from edge.vision.find import DigitCandidate
from edge.vision.runs import MARGIN, RUN_HEIGHT, RUN_INK_HEIGHT, RUN_WIDTH, fit_run

ROOT = Path(__file__).resolve().parents[2]


def columns(path: list[int | None], sure: float = 0.96) -> np.ndarray:
    """Column probabilities [T,11] whose best path is `path` (None: blank)."""
    probs = np.full((len(path), BLANK + 1), (1 - sure) / BLANK, np.float32)
    for t, k in enumerate(path):
        probs[t, BLANK if k is None else k] = sure
    return probs


def test_a_blob_is_fitted_to_the_reader_height_keeping_its_shape() -> None:
    blob = np.zeros((60, 90), np.float32)
    blob[5:55, 10:80] = 1.0  # ink 50 high, 70 wide
    field = fit_run(blob)
    assert field.shape == (RUN_HEIGHT, RUN_WIDTH)
    rows = np.nonzero(field.any(axis=1))[0]
    assert rows[0] == MARGIN and rows[-1] == MARGIN + RUN_INK_HEIGHT - 1
    assert ink_width(field) == round(70 * RUN_INK_HEIGHT / 50)
    assert not field[:, :MARGIN].any(), "left aligned after the margin"


def test_a_blob_too_wide_for_the_field_is_squeezed_into_it_and_nothing_is_empty() -> None:
    field = fit_run(np.ones((20, 400), np.float32))
    assert ink_width(field) == RUN_WIDTH - 2 * MARGIN
    assert not fit_run(np.zeros((20, 40), np.float32)).any()


def test_greedy_decoding_merges_repeats_and_keeps_a_digit_written_twice() -> None:
    # 3 3 _ _ 7 _ 7 7 _: the digits 3, 7, 7 (a blank between the two 7s).
    path = [3, 3, None, None, 7, None, 7, 7, None] + [None] * 19
    digits = decode(columns(path), width=RUN_WIDTH - 2 * MARGIN)
    assert [int(np.argmax(d.probs)) for d in digits] == [3, 7, 7]
    assert all(abs(float(d.probs.max()) - 0.96) < 1e-6 for d in digits)
    # Left to right, touching, covering the blob.
    assert digits[0].left == 0.0 and digits[-1].right == 1.0
    assert digits[0].right == digits[1].left < digits[1].right == digits[2].left


def test_a_digit_is_as_sure_as_its_surest_column() -> None:
    probs = columns([None, 5, 5, None] + [None] * 24)
    probs[1, 5], probs[1, 6] = 0.5, 0.46
    digits = decode(probs, width=50)
    assert len(digits) == 1 and float(digits[0].probs[5]) == pytest.approx(0.96)


def test_nothing_read_in_an_all_blank_run() -> None:
    assert decode(columns([None] * 28), width=40) == []


def test_the_digits_of_a_run_split_its_width_where_they_stand() -> None:
    # Two digits: the first in columns 2-5, the second in 12-15 (4 field pixels a column).
    path = [None] * 28
    path[2:6] = [4] * 4
    path[12:16] = [2] * 4
    width = 80
    first, second = decode(columns(path), width=width)
    boundary = ((2 + 6) / 2 * 4 - MARGIN + (12 + 16) / 2 * 4 - MARGIN) / 2 / width
    assert first.right == pytest.approx(boundary) and second.left == pytest.approx(boundary)


def test_run_digit_probabilities_are_copies() -> None:
    probs = columns([1, None, 2] + [None] * 25)
    digits = decode(probs, width=30)
    probs[:] = 0
    assert isinstance(digits[0], RunDigit) and float(digits[0].probs.max()) > 0.9


class FakeModel:
    """The digit model: every digit read as `digit`, sure."""

    version = "mnist-cnn-fake"

    def __init__(self, digit: int) -> None:
        self.digit = digit

    def predict(self, batch: np.ndarray) -> np.ndarray:
        probs = np.full((len(batch), 10), 0.001, np.float32)
        probs[:, self.digit] = 0.991
        return probs


class FakeRuns:
    """A run reader that reads every blob as `digits`, each at `sure`."""

    version = "runs-ctc-fake"

    def __init__(self, digits: list[int], sure: float = 0.99) -> None:
        self.digits, self.sure, self.shown = digits, sure, []

    def read(self, inks: list[np.ndarray]) -> list[list[RunDigit]]:
        self.shown += inks
        n = len(self.digits)
        return [
            [RunDigit(one_hot(d, self.sure), i / n, (i + 1) / n) for i, d in enumerate(self.digits)]
            for _ in inks
        ]


def one_hot(digit: int, sure: float) -> np.ndarray:
    probs = np.full(10, (1 - sure) / 9, np.float32)
    probs[digit] = sure
    return probs


def read_with(monkeypatch, candidates, runs, digit: int = 4):

    monkeypatch.setattr(edge.reader, "find_digits", lambda *a, **k: candidates)
    reader = FrameReader(FakeModel(digit), [RegionSettings()], 0.9, "dev", runs=runs)
    return reader.read(np.full((200, 300), 255, np.uint8), "x", 0)[0]


def blob(box: tuple[int, int, int, int], unread: bool = False):

    return DigitCandidate(box, np.ones((box[3], box[2]), np.float32), unread)


def test_an_unread_blob_the_run_reader_reads_becomes_its_digits(monkeypatch) -> None:
    found = [blob((20, 50, 30, 40)), blob((60, 50, 70, 40), unread=True)]
    reading = read_with(monkeypatch, found, FakeRuns([4, 4]))
    assert (reading.status, reading.value) == ("ok", "444")
    # The blob's box shared between its digits, left to right.
    assert [d.box for d in reading.digits] == [(20, 50, 30, 40), (60, 50, 35, 40), (95, 50, 35, 40)]
    # Without the run reader the number stays unread.
    unread = read_with(monkeypatch, found, None)
    assert (unread.status, unread.value) == ("low_confidence", None)
    assert unread.digits[1].confidence == 0.0


def test_a_run_read_unsure_or_as_one_digit_keeps_the_number_unread(monkeypatch) -> None:
    found = [blob((20, 50, 30, 40)), blob((60, 50, 70, 40), unread=True)]
    unsure = read_with(monkeypatch, found, FakeRuns([4, 4], sure=0.6))
    assert (unsure.status, unsure.value) == ("low_confidence", None)
    one = read_with(monkeypatch, found, FakeRuns([4]))
    assert (one.status, one.value) == ("low_confidence", None), "a lone digit is no run"
    assert one.digits[1].confidence == 0.0


def test_a_scrap_is_not_shown_to_the_run_reader_and_digits_beside_are_not(monkeypatch) -> None:
    runs = FakeRuns([4, 4])
    found = [blob((20, 50, 30, 40)), blob((60, 50, 20, 40), unread=True)]  # half as wide as tall
    reading = read_with(monkeypatch, found, runs)
    assert reading.value is None and runs.shown == []
    # A number with nothing unread is read as it was.
    clear = read_with(monkeypatch, [blob((20, 50, 30, 40)), blob((60, 50, 30, 40))], runs)
    assert clear.value == "44" and runs.shown == []


def test_a_run_reader_is_loaded_only_when_named_and_a_wrong_file_is_refused(tmp_path) -> None:

    number, digit = RegionSettings(kind="number"), RegionSettings(kind="digit")
    assert runs_for(ModelSettings(), [digit, number]) is None, "none unless named"
    # A wrong file is refused by name, as a wrong digit model is; only when a number
    # region could use it.
    wrong = tmp_path / "runs.onnx"
    wrong.write_bytes(b"not a model")
    assert runs_for(ModelSettings(runs_path=wrong), [digit]) is None
    with pytest.raises(ModelError, match=r"model\.runs_path"):
        runs_for(ModelSettings(runs_path=wrong), [number])
    with pytest.raises(ModelError, match="not a DigitCam run reader"):
        runs_for(ModelSettings(runs_path=bundled_model_path()), [number])


def test_check_config_refuses_a_wrong_run_reader_with_exit_78_naming_the_key(tmp_path) -> None:

    config = tmp_path / "digitcam.toml"
    handwriting = ROOT / "edge" / "models" / "mnist-cnn.onnx"
    config.write_text(f'[model]\nruns_path = "{handwriting}"\n')
    command = [sys.executable, "-m", "edge.cli", "check-config", "--config", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 78
    assert "not a DigitCam run reader" in result.stderr and "model.runs_path" in result.stderr
    config.write_text("[model]\n")
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
