"""The pure core of the daemon: one frame in, one Reading per configured region out.

No camera, no network, no clock other than the latency measurement: everything the daemon,
`digitcam predict` and the HTTP API read goes through FrameReader.read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np

from edge.cell_read import read_cell
from edge.config import RegionSettings, Settings
from edge.judging import Box, Classifier, Judged, classify, doubt, judge_inks, make_digit
from edge.lone import lone_check, lone_doubt
from edge.meter.align import Alignment, bounding, inside, moved
from edge.meter.level import Leveller
from edge.meter.read import PrintedClassifier, meter_value, read_meters, region_cells
from edge.meter.settings import PRINTED_KINDS
from edge.number_read import join_pieces, read_shifted, run_digit, stacked_ones, union_digit
from edge.reading import LOW_CONFIDENCE, NO_DIGIT, OK, Digit, Reading, Status
from edge.row_rules import RowReads, weigh_row
from edge.rows_model import ROW_KINDS, RowModel, RowRead
from edge.runs_model import RunDigit, RunModel, read_blobs
from edge.vision.cell import is_cell
from edge.vision.find import DigitCandidate, find_digits

logger = logging.getLogger(__name__)

# Region kinds whose digits' confidence counts the judge's doubt (see FrameReader.read).
JOINT_KINDS = ("number",)


@dataclass
class _Found:
    region: RegionSettings
    origin: tuple[int, int]
    candidates: list[DigitCandidate]
    cell: bool = False  # read as a tight crop's cell (edge.vision.cell), not found on a photo


def region_box(box: Sequence[float] | None, width: int, height: int) -> Box:
    """A region's [x, y, w, h] in frame pixels, clamped to the frame (may come out empty).

    Every value <= 1.0 means fractions of the frame; otherwise pixels. None: the whole frame.
    """
    if box is None:
        return 0, 0, width, height
    bx, by, bw, bh = (float(v) for v in box)
    if max(bx, by, bw, bh) <= 1.0:
        bx, bw = bx * width, bw * width
        by, bh = by * height, bh * height
    x0, y0 = min(max(round(bx), 0), width), min(max(round(by), 0), height)
    x1, y1 = min(max(round(bx + bw), x0), width), min(max(round(by + bh), y0), height)
    return x0, y0, x1 - x0, y1 - y0


def to_gray(frame: np.ndarray) -> np.ndarray:
    """Camera frames arrive as BGR (OpenCV) or already grey."""
    if frame.ndim == 2:
        return frame if frame.dtype == np.uint8 else np.clip(frame, 0, 255).astype(np.uint8)
    code = cv2.COLOR_BGRA2GRAY if frame.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return cv2.cvtColor(frame, code) if frame.shape[2] in (3, 4) else frame[:, :, 0].copy()


class FrameReader:
    """Finds and classifies the digits of every region of a frame with one model call."""

    def __init__(
        self,
        model: Classifier,
        regions: list[RegionSettings],
        min_confidence: float,
        device_id: str,
        printed: PrintedClassifier | None = None,
        runs: RunModel | None = None,
        *,
        printed_min_confidence: float | None = None,
        rows: RowModel | None = None,
        display: PrintedClassifier | None = None,
    ) -> None:
        """`min_confidence` holds for handwriting (number and digit regions),
        `printed_min_confidence` for counter and display regions (default: the same).
        `printed` reads counter regions, and display regions too unless `display` is given."""
        if not regions:
            raise ValueError("FrameReader needs at least one region")
        if printed is None and any(r.kind == "counter" for r in regions):
            raise ValueError("counter regions need the printed-digit model")
        if printed is None and display is None and any(r.kind == "display" for r in regions):
            raise ValueError("display regions need a printed-digit model")
        self.model = model
        self.printed = printed
        self.display = display
        self.runs = runs
        self.rows = rows
        self.regions = list(regions)
        self.min_confidence = min_confidence
        self.printed_min_confidence = (
            min_confidence if printed_min_confidence is None else printed_min_confidence
        )
        self.device_id = device_id
        self.rejects = bool(getattr(model, "rejects", False))
        # The daemon's: moves aligned meter regions' boxes with the camera (edge.meter.align).
        self.aligner: Alignment | None = None
        # The daemon's: levels the cells of counter regions with `level` (edge.meter.level).
        self.leveller: Leveller | None = None
        # A lone digit's judge weighs the page round it (lone_check); off: the judge alone.
        self.weigh_page = True
        # A number's unsure digits are read again from shifted views (looked_again); off: once.
        self.look_again = True

    @classmethod
    def configured(
        cls,
        settings: Settings,
        model: Classifier,
        regions: list[RegionSettings] | None = None,
        printed: PrintedClassifier | None = None,
        runs: RunModel | None = None,
        rows: RowModel | None = None,
        display: PrintedClassifier | None = None,
    ) -> FrameReader:
        """The reader `settings` ask for: their regions (unless others are given), both
        confidence thresholds and the device id, as the daemon, `digitcam predict` and the
        API all read."""
        return cls(
            model,
            settings.regions if regions is None else regions,
            settings.model.min_confidence,
            settings.device_id,
            printed,
            runs,
            printed_min_confidence=settings.model.printed_min_confidence,
            rows=rows,
            display=display,
        )

    def printed_for(self, region: RegionSettings) -> PrintedClassifier:
        """The printed-digit model a counter or display region is read with."""
        if region.kind == "display" and self.display is not None:
            return self.display
        assert self.printed is not None  # __init__ refuses meter regions without their model
        return self.printed

    def threshold(self, region: RegionSettings) -> float:
        """The confidence each digit of `region` needs for the reading to be published: the
        region's own `min_confidence`, else the reader's for its kind."""
        if region.min_confidence is not None:
            return region.min_confidence
        return self.printed_min_confidence if region.kind in PRINTED_KINDS else self.min_confidence

    def use_model(self, model: Classifier) -> None:
        """Read with another handwriting model from the next call on."""
        self.model = model
        self.rejects = bool(getattr(model, "rejects", False))

    def read(self, frame: np.ndarray, source: str, index: int) -> list[Reading]:
        """One Reading per region, in the order the regions are configured."""
        started = time.perf_counter()
        gray = to_gray(frame)
        height, width = gray.shape[:2]
        found = []
        meters: list[tuple[RegionSettings, list[Box]]] = []
        judged: Judged = {}  # per call: one reader may serve several threads
        rows_read: RowReads = {}  # the row reader's readings of this frame (read_row)
        judge = partial(self.is_digit, judged=judged) if self.rejects else None
        boxes: dict[str, Box] = {}
        shifts: dict[str, tuple[int, int]] = {}  # aligned meter regions: how far they moved
        references: dict[str, Box] = {}  # aligned meter regions still without a reference
        for region in self.regions:
            x, y, w, h = boxes[region.name] = region_box(region.box, width, height)
            if region.kind == "counter" or region.kind == "display":
                cells = self.meter_cells(region, gray, boxes, shifts, references)
                meters.append((region, cells))
                continue
            crop = gray[y : y + h, x : x + w]
            kind = region.kind
            candidates, cell = [], False
            if w > 0 and h > 0:
                if kind == "digit" and is_cell(crop.shape):
                    candidates = read_cell(self.model, crop, judged, self.threshold(region), judge)
                    cell = bool(candidates)
                if not candidates:
                    candidates = find_digits(crop, kind, judge=judge)
            found.append(_Found(region, (x, y), candidates, cell))
        candidates = [c for f in found for c in f.candidates]
        # The digits a ruled line touched are read a second time with its ink put back.
        lined = [(c, c.lined) for c in candidates if c.lined is not None]
        more = [DigitCandidate(c.box, ink) for c, ink in lined]
        inputs, probs = self.classify(candidates + more, judged)
        lined_probs = {id(c): p for (c, _), p in zip(lined, probs[len(candidates) :], strict=True)}
        runs = self.read_runs(found)
        probs = self.looked_again(found, inputs, probs, judged, runs)
        meter_digits = read_meters(self.printed_for, gray, meters) if meters else []
        latency_ms = (time.perf_counter() - started) * 1000.0
        by_region: dict[str, tuple[list[Digit], str | None]] = {}
        whole: set[str] = set()  # the regions whose number the row reader read whole
        row = 0
        for f in found:
            sure = self.threshold(f.region)
            rows = slice(row, row + len(f.candidates))
            row = rows.stop
            digits, sources = self.region_digits(
                f, probs[rows], inputs[rows], judged, runs, lined_probs, gray
            )
            if f.region.kind == "number" and self.rows is not None:
                union = partial(
                    union_digit, self.is_digit, judged=judged, sure=sure, origin=f.origin, gray=gray
                )
                row_of = partial(self.read_row, gray, reads=rows_read)
                digits = join_pieces(digits, sources, sure, union, row_of)
            if self.weighs(f.region, digits):
                # A digit region's digit is a row of one; a tight crop's cell takes only the
                # row reader's agreement (edge.row_rules.weigh_row).
                read = self.read_row(gray, digits, rows_read)
                number = f.region.kind == "number"
                if read is not None and weigh_row(
                    read, digits, gray, sure, agree_only=f.cell, rescue=number
                ):
                    whole.add(f.region.name)
            if f.region.kind == "number":
                for digit in stacked_ones(digits):
                    digit.confidence = 0.0
            if len(digits) == 1 and not f.cell:
                light = any(c.light for c in f.candidates)
                digits = self.lone_check(digits, None if light else gray, boxes[f.region.name])
            by_region[f.region.name] = (digits, None)
        for (region, cells), digits in zip(meters, meter_digits, strict=True):
            by_region[region.name] = (digits, meter_value(region, digits))
            if self.leveller is not None and region.level and cells:
                self.leveller.observe(region.name, digits, cells[0][3])
        readings = []
        for region in self.regions:
            digits, shown = by_region[region.name]
            reading = self.reading(region, digits, latency_ms, source, index, shown)
            reading.read_whole = region.name in whole
            reading.shift = shifts.get(region.name)
            if region.name in references and reading.status == OK and self.aligner is not None:
                # The box shows digits: this frame is how the meter looks where it was set.
                self.aligner.take_reference(region, gray, references[region.name])
            x, y, w, h = boxes[region.name]
            reading.region_image, reading.region_origin = gray[y : y + h, x : x + w], (x, y)
            readings.append(reading)
        return readings

    def region_digits(
        self,
        f: _Found,
        probs: np.ndarray,
        inputs: np.ndarray,
        judged: Judged,
        runs: dict[int, list[tuple[RunDigit, np.ndarray]]],
        lined_probs: dict[int, np.ndarray],
        gray: np.ndarray,
    ) -> tuple[list[Digit], list[DigitCandidate | None]]:
        """The digits of one region's candidates, from their rows of the frame's one model
        call (`probs`, `inputs`), each with its candidate (None: a digit of a run read whole,
        edge.runs_model.read_blobs)."""
        digits: list[Digit] = []
        sources: list[DigitCandidate | None] = []
        sure = self.threshold(f.region)
        for c, p, image in zip(f.candidates, probs, inputs, strict=True):
            if f.region.kind in JOINT_KINDS:
                # The model's chance of each digit among eleven outcomes (ten digits or no
                # digit at all): a candidate the judge doubts (two digits run together, a
                # scrap of a line) is not published as surely as a clean digit.
                p = p * judged[id(c.ink)][3]
            if id(c) in runs:  # digits run together, read whole
                digits += [run_digit(d, c, f.origin, gray) for d in runs[id(c)]]
                sources += [None] * len(runs[id(c)])
                continue
            digit = make_digit(p, image, c.box, f.origin, gray)
            digit.lone_doubt = judged[id(c.ink)][4]
            if c.grow is not None and digit.confidence < sure:
                digit = self.grown(digit, c.grow, f.origin, gray, sure)
            if c.unread:  # on the row, but no digit: the number is incomplete
                digit.confidence = 0.0
            digit.confidence = min(digit.confidence, c.ceiling)
            if id(c) in lined_probs and not c.unread:
                # Read again with the ink along a ruled line put back: a sure other digit
                # (a 7 whose bar lay on the rule, read as a 1) leaves neither sure.
                ceiling = doubt(digit.digit, lined_probs[id(c)], sure)
                digit.confidence = min(digit.confidence, ceiling)
            digits.append(digit)
            sources.append(c)
        return digits, sources

    def meter_cells(
        self,
        region: RegionSettings,
        gray: np.ndarray,
        boxes: dict[str, Box],
        shifts: dict[str, tuple[int, int]],
        references: dict[str, Box],
    ) -> list[Box]:
        """A counter or display region's cells (frame pixels) where the meter is in this frame.

        With `align`, the cells follow the camera's shift (edge.meter.align), or this frame's
        window is noted in `references` when the region has no reference yet; with `level`,
        the wheels' own level after that (edge.meter.level). The region's box in `boxes` moves
        with them and `shifts` records how far."""
        height, width = gray.shape[:2]
        frame_box = partial(region_box, width=width, height=height)
        cells = region_cells(region, boxes[region.name], frame_box)
        if self.aligner is not None and region.align and cells:
            window = bounding(cells)
            if self.aligner.wants_reference(region, (width, height), window):
                references[region.name] = window
            else:
                seen = self.aligner.shift(region, gray, window)
                dx, dy = shifts[region.name] = inside(window, *seen, (width, height))
                cells = [moved(c, dx, dy) for c in cells]
                boxes[region.name] = moved(boxes[region.name], dx, dy)
        level = self.leveller.dy(region.name) if self.leveller and region.level else 0
        if level and cells:  # after the camera's shift: the wheels' own level
            _, up_down = inside(bounding(cells), 0, level, (width, height))
            dx, dy = shifts.get(region.name, (0, 0))
            shifts[region.name] = (dx, dy + up_down)
            cells = [moved(c, 0, up_down) for c in cells]
            boxes[region.name] = moved(boxes[region.name], 0, up_down)
        return cells

    def read_runs(self, found: list[_Found]) -> dict[int, list[tuple[RunDigit, np.ndarray]]]:
        """The unread blobs of number regions read whole by the run reader, by id: each
        digit with the probabilities it is published with (edge.runs_model.read_blobs)."""
        if self.runs is None:
            return {}
        blobs = [c for f in found if f.region.kind == "number" for c in f.candidates if c.unread]
        return read_blobs(self.runs, self.model.predict, blobs)

    def looked_again(
        self,
        found: list[_Found],
        inputs: np.ndarray,
        probs: np.ndarray,
        judged: Judged,
        runs: dict[int, list[tuple[RunDigit, np.ndarray]]],
    ) -> np.ndarray:
        """`probs` (one row per candidate of `found`, in order) with each unsure digit of a
        number region read again from shifted views (edge.number_read.read_shifted).

        Unsure: under the region's threshold with the judge's doubt counted, as the digit is
        published. Sure digits are never read again, so a sure reading never changes; digit
        regions are not read again (a crop's second look made no difference:
        mock_frames/JOURNAL.md, "Tried and not kept").
        """
        if not self.look_again:
            return probs
        unsure: list[int] = []
        row = 0
        for f in found:
            sure = self.threshold(f.region)
            for c in f.candidates:
                number = f.region.kind == "number" and not c.unread and id(c) not in runs
                if number and float((probs[row] * judged[id(c.ink)][3]).max()) < sure:
                    unsure.append(row)
                row += 1
        return read_shifted(self.model.predict, inputs, probs, unsure)

    def weighs(self, region: RegionSettings, digits: list[Digit]) -> bool:
        """Whether the row reader weighs these digits: a number's, or a digit region's one."""
        if self.rows is None or not digits or region.kind not in ROW_KINDS:
            return False
        return region.kind == "number" or len(digits) == 1

    def read_row(self, gray: np.ndarray, digits: list[Digit], reads: RowReads) -> RowRead | None:
        """The row reader's reading of the row round `digits`, read once per frame and set of
        boxes (`reads`: joining and weighing the digits ask for the same row)."""
        assert self.rows is not None
        boxes = tuple(d.box for d in digits)
        if boxes not in reads:
            reads[boxes] = self.rows.read(gray, list(boxes))
        return reads[boxes]

    def lone_check(
        self, digits: list[Digit], gray: np.ndarray | None = None, region: Box | None = None
    ) -> list[Digit]:
        """A reading of one digit asked again of the model's stricter judge, weighed with its
        page unless `weigh_page` is off (edge.lone.lone_check)."""
        return lone_check(self.model, digits, gray, region, weigh_page=self.weigh_page)

    def lone_doubt(self, digit: Digit) -> float | None:
        """The lone-digit judge's doubt about `digit` (edge.lone.lone_doubt)."""
        return lone_doubt(self.model, digit)

    def grown(
        self,
        digit: Digit,
        grow: Callable[[], DigitCandidate | None],
        origin: tuple[int, int],
        gray: np.ndarray,
        sure: float,
    ) -> Digit:
        """An unsure digit of a digit region read again with the fainter ink round it joined
        (edge.vision.fainter.grown_ink): that reading when it is sure, else the digit as it was.

        Only an unsure reading is read again, so a sure one never changes. On 5,900 tuning
        frames read as digit regions (single digits on photos, tight crops, blank pages) 15
        unsure readings became sure, 14 of them right, about what the 0.9 they had to reach
        then (min_confidence) promises; in number regions the same rescue published a wrong
        number for every two or three right ones (an unsure digit there often stands for a
        row read wrong), so it is not used there.
        """
        more = grow()
        if more is None:
            return digit
        inputs, probs = self.classify([more])
        if float(probs[0].max()) < sure:
            return digit
        return make_digit(probs[0], inputs[0], more.box, origin, gray)

    def is_digit(self, inks: Sequence[np.ndarray], judged: Judged) -> np.ndarray:
        """How likely each candidate ink is a digit (1 - not_digit); remembers what it computed
        (edge.judging.judge_inks)."""
        return judge_inks(self.model, inks, judged)

    def classify(
        self, candidates: list[DigitCandidate], judged: Judged | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs [N,28,28] and probabilities [N,10] for all digits, in one model call
        (edge.judging.classify)."""
        return classify(self.model, candidates, judged)

    def reading(
        self,
        region: RegionSettings,
        digits: list[Digit],
        latency_ms: float,
        source: str,
        index: int,
        shown: str | None = None,
    ) -> Reading:
        """One region's Reading; `shown` is a meter's value with its decimal point."""
        status: Status = NO_DIGIT
        value: str | None = None
        confidence: float | None = None
        sure = self.threshold(region)
        if digits:
            confidence = min(d.confidence for d in digits)
            status = OK if confidence >= sure else LOW_CONFIDENCE
            if region.kind == "number" and region.digits and len(digits) != region.digits:
                # A digit left out or one too many: whatever was read, it is not the number.
                confidence, status = 0.0, LOW_CONFIDENCE
            if status == OK:  # never a guess: an unsure digit voids the whole value
                value = shown or "".join(str(d.digit) for d in digits)
        printed = self.printed_for(region) if region.kind in PRINTED_KINDS else None
        weighed = self.rows if self.weighs(region, digits) else None  # weighed by weigh_row
        to_a_tenth_value = None
        unsure: tuple[int, ...] = ()
        if status == LOW_CONFIDENCE and shown is not None:
            unsure = tuple(i for i, d in enumerate(digits) if d.confidence < sure)
            # Only the rightmost wheel unsure, and sure to the tenth it is read to.
            last = len(digits) - 1
            rightmost = region.kind == "counter" and unsure == (last,)
            if rightmost and (digits[last].to_a_tenth or 0.0) >= sure:
                to_a_tenth_value = shown
        return Reading(
            device_id=self.device_id,
            region=region.name,
            value=value,
            status=status,
            confidence=confidence,
            digits=digits,
            latency_ms=latency_ms,
            model=printed.version if printed is not None else self.model.version,
            frame_source=source,
            frame_index=index,
            to_a_tenth_value=to_a_tenth_value,
            unsure_digits=unsure,
            row_reader=weighed.version if weighed is not None else None,
        )
