"""The pure core of the daemon: one frame in, one Reading per configured region out.

No camera, no network, no clock other than the latency measurement: everything the daemon,
`digitcam predict` and the HTTP API read goes through FrameReader.read.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from typing import Protocol, cast

import cv2
import numpy as np

from edge.config import RegionSettings, Settings
from edge.meter.align import Alignment, bounding, inside, moved
from edge.meter.level import Leveller
from edge.meter.read import PrintedClassifier, meter_value, read_meters, region_cells
from edge.meter.settings import PRINTED_KINDS
from edge.reading import LOW_CONFIDENCE, NO_DIGIT, OK, Digit, Reading, Status
from edge.row_rules import RowReads, weigh_row
from edge.rows_model import ROW_KINDS, RowModel, RowRead
from edge.runs_model import RunDigit, RunModel, read_blobs
from edge.vision.cell import cell_inks, is_cell
from edge.vision.crops import crop_with_margin
from edge.vision.find import DigitCandidate, find_digits
from edge.vision.marks import MIN_DIGIT_CHANCE, SURE_DOUBT, cut_one, digit_chance
from edge.vision.normalise import shifted, to_mnist
from edge.vision.params import DEFAULT

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]
MIN_DIGIT_SCORE = DEFAULT.min_digit_score
# An unsure digit of a number is read again from its model input moved a pixel up, down, left
# and right, and its probabilities are the mean of the five readings (FrameReader.look_again).
LOOK_AGAIN_SHIFTS = ((0, 1), (0, -1), (1, 0), (-1, 0))


class Classifier(Protocol):
    """What FrameReader needs from a model (edge.model.DigitModel has it)."""

    @property
    def version(self) -> str: ...

    def predict(self, batch: np.ndarray) -> np.ndarray: ...


class RejectingClassifier(Classifier, Protocol):
    """A model that also says how likely an input is not a digit at all."""

    rejects: bool

    def scores(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class LoneJudge(RejectingClassifier, Protocol):
    """A model with a stricter judge for a reading of one digit (FrameReader.lone_check)."""

    judges_lone: bool

    def lone_not_digit(self, batch: np.ndarray) -> np.ndarray: ...

    def judge_scores(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


# A reading of one digit is none when the stricter judge finds it at least this likely no digit
# (the line the judge itself draws between a digit and none).
LONE_LIMIT = 0.5
# Two pieces of a number joined into one digit (FrameReader.joined) are at most this
# many times as tall as the median of the number's other digits.
JOIN_MAX_HEIGHT = 1.4
# What the judge computed for one candidate ink, reused when that candidate is read:
# the ink itself (kept alive so its id stays unique), the model input, the probabilities,
# how likely it is a digit at all (1.0 when the model has no not-a-digit output) and how
# likely the stricter judge of a lone digit finds it no digit (NaN when not asked).
Judged = dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, float, float]]
# Neighbouring 1s of a number whose boxes share this much of the narrower one's width are
# not published (stacked_ones).
STACKED_SHARE = 0.5
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


def doubt(digit: int, other: np.ndarray, min_confidence: float) -> float:
    """The most confidence `digit` may carry when another version of its ink (the cell
    without its frame, the ink along a ruled line put back) reads as `other`: that reading's
    probability of the digit when it is surely another digit, else 1."""
    if int(np.argmax(other)) != digit and float(other.max()) >= min_confidence:
        return float(other[digit])
    return 1.0


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
                    candidates = self.read_cell(crop, judged, self.threshold(region))
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
                digits = self.joined(digits, sources, judged, sure, f.origin, gray, rows_read)
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
                digits += [self.run_digit(d, c, f.origin, gray) for d in runs[id(c)]]
                sources += [None] * len(runs[id(c)])
                continue
            digit = self.digit(p, image, c.box, f.origin, gray)
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
        number region read again: the mean of its reading and those of its model input moved a
        pixel each way (LOOK_AGAIN_SHIFTS), all in one model call.

        Unsure: under the region's threshold with the judge's doubt counted, as the digit is
        published. The network is not indifferent to where a digit sits in its 28x28 field
        (MNIST centres by whole pixels), and an unsure digit is where that decides: the views
        agreeing make it sure, the views split leave it unsure. Sure digits are never read
        again, so a sure reading never changes; digit regions are not read again (a crop's
        second look made no difference: README, "Accuracy on frames we did not tune on").
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
        if not unsure:
            return probs
        images = inputs[unsure]
        views = np.concatenate([shifted(images, dy, dx) for dy, dx in LOOK_AGAIN_SHIFTS])
        more = np.asarray(self.model.predict(views[:, None]), np.float32)
        more = more.reshape(len(LOOK_AGAIN_SHIFTS), len(unsure), -1)
        probs = probs.copy()
        probs[unsure] = (probs[unsure] + more.sum(axis=0)) / (len(LOOK_AGAIN_SHIFTS) + 1)
        return probs

    def weighs(self, region: RegionSettings, digits: list[Digit]) -> bool:
        """Whether the row reader weighs these digits: a number's, or a digit region's one."""
        if self.rows is None or not digits or region.kind not in ROW_KINDS:
            return False
        return region.kind == "number" or len(digits) == 1

    def joined(
        self,
        digits: list[Digit],
        sources: list[DigitCandidate | None],
        judged: Judged,
        sure: float,
        origin: tuple[int, int],
        gray: np.ndarray,
        reads: RowReads,
    ) -> list[Digit]:
        """A number's digits with pieces of one digit joined (union_digit: two neighbours the
        model reads surely as one digit), for a reader with a row reader. `sources`: each
        digit's candidate (None for a digit of a run read whole, which is never joined).

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
            made = self.union_digit(out, at, i, judged, sure, origin, gray) if unsure else None
            if made is None:
                i += 1
                continue
            out[i : i + 2], at[i : i + 2] = [made[0]], [made[1]]
            joins += 1
            i = max(0, i - 1)  # the joined digit may join its left neighbour too
        if joins:
            read = self.read_row(gray, out, reads)
            if read is not None and read.text == "".join(str(d.digit) for d in out):
                return out
        if len(digits) < 2:
            return digits
        read = self.read_row(gray, digits, reads)
        if read is None or len(read.text) != len(digits) - 1:
            return digits
        ours = "".join(str(d.digit) for d in digits)
        for i in range(len(digits) - 1):
            if ours[:i] + ours[i + 2 :] != read.text[:i] + read.text[i + 1 :]:
                continue
            made = self.union_digit(digits, sources, i, judged, sure, origin, gray)
            if made is not None and made[0].digit == int(read.text[i]):
                return [*digits[:i], made[0], *digits[i + 2 :]]
        return digits

    def read_row(self, gray: np.ndarray, digits: list[Digit], reads: RowReads) -> RowRead | None:
        """The row reader's reading of the row round `digits`, read once per frame and set of
        boxes (`reads`: joining and weighing the digits ask for the same row)."""
        assert self.rows is not None
        boxes = tuple(d.box for d in digits)
        if boxes not in reads:
            reads[boxes] = self.rows.read(gray, list(boxes))
        return reads[boxes]

    def union_digit(
        self,
        digits: list[Digit],
        sources: list[DigitCandidate | None],
        i: int,
        judged: Judged,
        sure: float,
        origin: tuple[int, int],
        gray: np.ndarray,
    ) -> tuple[Digit, DigitCandidate] | None:
        """Digits i and i + 1 read as one, and its candidate, when the finder offers them as
        one, together they stand at most JOIN_MAX_HEIGHT as tall as the other digits and the
        model reads them surely as one digit (the judge's doubt counted); else None."""
        first, second = sources[i], sources[i + 1]
        if first is None or second is None or first.join is None:
            return None
        union = first.join(first, second)
        others = [d.box[3] for k, d in enumerate(digits) if k not in (i, i + 1)]
        if union is None or (others and union.box[3] > JOIN_MAX_HEIGHT * statistics.median(others)):
            return None
        score = float(self.is_digit([union.ink], judged)[0])
        _, image, probs, _, lone = judged[id(union.ink)]
        probs = probs * score
        if float(probs.max()) < sure:
            return None
        digit = self.digit(probs, image, union.box, origin, gray)
        digit.lone_doubt = lone
        return digit, union

    def lone_check(
        self, digits: list[Digit], gray: np.ndarray | None = None, region: Box | None = None
    ) -> list[Digit]:
        """A reading of one digit, asked again of the model's stricter judge (its output
        `not_digit_lone`), its doubt weighed with how the mark sits on the page
        (edge.vision.marks.digit_chance): no digit at all when that chance is under
        MIN_DIGIT_CHANCE (a digit the judge doubts less than SURE_DOUBT is kept unweighed;
        without the frame `gray`, or with `weigh_page` off: no digit when the judge alone
        finds it LONE_LIMIT likely none). Light writing (chalk on a board) is judged
        alone: the page's measures were fitted on ink darker than its paper.

        A mark on an empty page (a punched hole read as 8, a hair, an arc of a coffee ring,
        a fold or the page's edge read as 1) is the one digit such a page is read as. A judge
        strict enough to refuse those would drop real digits from numbers (the not-digit row
        itself trained so cost 4 right numbers for each wrong one it stopped), so it is asked
        only here, where the reading is that one mark or nothing, and not of a tight crop's
        cell, whose digit comes with bits of the cell's lines (asked there it cost 2% of the
        tuning crops and stopped no wrong reading). The judge sees the mark at 28x28 and full
        contrast, where a hair is a 1; the page shows it faint and soft-edged, so both are
        weighed (README, "A lone digit judged again").

        A 1 that reaches the edge of its `region` (frame pixels) is no digit, whatever the
        judge says: a straight stroke cut by the edge goes on beyond it (the page's edge, a
        fold), and nothing inside the box tells it from a 1 (edge.vision.marks.cut_one).
        """
        if cut_one(digits[0].digit, digits[0].box, region):
            return []
        doubt = self.lone_doubt(digits[0])
        if doubt is None:
            return digits
        if gray is None or not self.weigh_page:
            return [] if doubt >= LONE_LIMIT else digits
        if doubt < SURE_DOUBT:
            return digits
        chance = digit_chance(gray, digits[0].box, doubt)
        return digits if chance >= MIN_DIGIT_CHANCE else []

    def lone_doubt(self, digit: Digit) -> float | None:
        """The lone-digit judge's doubt about `digit`, 0..1 (None: the model has no such judge
        or the digit no model input)."""
        if not getattr(self.model, "judges_lone", False) or digit.image is None:
            return None
        # Its answer in the frame's one model call (None or NaN: not asked then, so ask now).
        doubt = digit.lone_doubt
        if doubt is None or np.isnan(doubt):
            batch = digit.image[None, None].astype(np.float32)
            doubt = float(cast(LoneJudge, self.model).lone_not_digit(batch)[0])
        return float(doubt)

    def run_digit(
        self,
        run: tuple[RunDigit, np.ndarray],
        blob: DigitCandidate,
        origin: tuple[int, int],
        gray: np.ndarray,
    ) -> Digit:
        """One digit of a blob read whole: its share of the blob's box."""
        (d, image), (x, y, w, h) = run, blob.box
        left = round(d.left * w)
        right = max(left + 1, round(d.right * w))
        return self.digit(d.probs, image, (x + left, y, right - left, h), origin, gray)

    def grown(
        self,
        digit: Digit,
        grow: Callable[[], DigitCandidate | None],
        origin: tuple[int, int],
        gray: np.ndarray,
        sure: float,
    ) -> Digit:
        """An unsure digit of a digit region read again with the fainter ink round it joined
        (edge.vision.find.grown_ink): that reading when it is sure, else the digit as it was.

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
        return self.digit(probs[0], inputs[0], more.box, origin, gray)

    def answers(self, images: np.ndarray, judge: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The model's answers for model inputs [N,28,28], in one call: probabilities [N,10],
        not-a-digit [N] (zeros unless `judge`) and the lone-digit judge's [N] (NaN when the
        model has none: FrameReader.lone_check asks it then if it needs to)."""
        batch = images[:, None, :, :]
        if getattr(self.model, "judges_lone", False):
            return cast(LoneJudge, self.model).judge_scores(batch)
        lone = np.full(len(images), np.nan, np.float32)
        if judge:
            return (*cast(RejectingClassifier, self.model).scores(batch), lone)
        return self.model.predict(batch), np.zeros(len(images), np.float32), lone

    def is_digit(self, inks: Sequence[np.ndarray], judged: Judged) -> np.ndarray:
        """How likely each candidate ink is a digit (1 - not_digit); remembers what it computed."""
        inputs = np.stack([to_mnist(ink) for ink in inks])
        probs, not_digit, lone = self.answers(inputs, judge=True)
        digit_score = 1.0 - np.asarray(not_digit, np.float64)
        for ink, image, p, score, strict in zip(
            inks, inputs, np.asarray(probs, np.float32), digit_score, lone, strict=True
        ):
            judged[id(ink)] = (ink, image, p, float(score), float(strict))
        return digit_score

    def read_cell(self, crop: np.ndarray, judged: Judged, sure: float) -> list[DigitCandidate]:
        """A tight crop's digit, from the versions edge.vision.cell proposes (none: let the
        photo pipeline try).

        The versions come in order of how much they take away (nothing, long lines, lines
        along the border), then the cell's frame alone: the first the model reads surely as a
        digit wins, else the surest. Taking the surest of all would let a 7 whose bar was taken
        for a line win as a sure 1. But when the version without the frame is surely another
        digit than the one chosen, the pixels do not say which is meant (a 1 under the cell's
        top line reads as a sure 7): the digit is published no surer than the frameless
        version's probability of it.
        """
        proposals = cell_inks(crop)
        if not proposals:
            return []
        inks = [p.ink for p in proposals]
        if self.rejects:
            digit_score = self.is_digit(inks, judged)
        else:
            self.classify([DigitCandidate(p.box, p.ink) for p in proposals], judged)
            digit_score = np.ones(len(proposals))
        sureness = [float(judged[id(ink)][2].max()) for ink in inks]
        # A crop turned round (edge.vision.cell) counts as a digit only when the judge is as
        # sure of that as the digit must be sure to be published.
        digit_like = [
            i
            for i, score in enumerate(digit_score)
            if score >= (sure if proposals[i].turned else MIN_DIGIT_SCORE)
        ]
        if not digit_like:
            return []
        surely = [i for i in digit_like if sureness[i] >= sure]
        best = surely[0] if surely else max(digit_like, key=lambda i: sureness[i])
        chosen = DigitCandidate(proposals[best].box, proposals[best].ink)
        digit = int(np.argmax(judged[id(inks[best])][2]))
        for i in surely:
            if proposals[i].frameless:
                chosen.ceiling = doubt(digit, judged[id(inks[i])][2], sure)
        return [chosen]

    def classify(
        self, candidates: list[DigitCandidate], judged: Judged | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs [N,28,28] and probabilities [N,10] for all digits, in one model call.

        Candidates the judge has already seen are not normalised or run again.
        """
        if not candidates:
            return np.zeros((0, 28, 28), np.float32), np.zeros((0, 10), np.float32)
        if judged is None:
            judged = {}
        fresh = [c for c in candidates if id(c.ink) not in judged]
        if fresh:
            images = np.stack([to_mnist(c.ink) for c in fresh])
            probs, _, lone = self.answers(images, judge=False)
            for c, image, p, strict in zip(
                fresh, images, np.asarray(probs, np.float32), lone, strict=True
            ):
                judged[id(c.ink)] = (c.ink, image, p, 1.0, float(strict))
        inputs = np.stack([judged[id(c.ink)][1] for c in candidates])
        return inputs, np.stack([judged[id(c.ink)][2] for c in candidates])

    @staticmethod
    def digit(
        probs: np.ndarray, image: np.ndarray, box: Box, origin: tuple[int, int], gray: np.ndarray
    ) -> Digit:
        order = np.argsort(probs)[::-1][:3]
        x, y, w, h = box
        frame_box = (x + origin[0], y + origin[1], w, h)
        return Digit(
            digit=int(order[0]),
            confidence=float(probs[order[0]]),
            box=frame_box,
            top3=[(int(k), float(probs[k])) for k in order],
            image=image,
            crop=crop_with_margin(gray, frame_box),  # a view: copied only when stored
        )

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
