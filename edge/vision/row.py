"""A number's row: the chain of neighbouring digits that holds the most ink, the band it
lies in, and the digit-sized marks on it that were not read (which leave the number
incomplete); a tight crop's one digit with the pieces that broke off it.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge.vision.group import Components, Group, linked
from edge.vision.params import DEFAULT, VisionParams

logger = logging.getLogger(__name__)


def number_row(digits: list[Group], params: VisionParams = DEFAULT) -> list[Group]:
    """The chain of neighbouring digits holding the most ink, ordered left to right.

    Each digit links to its nearest neighbour on the right that sits on about the same line
    (centres within row_max_drift heights, similar height) and no more than row_gap_heights
    away; the linked chains are the candidate numbers.
    """
    boxes = np.array([g.box for g in digits], np.float64).reshape(-1, 4)
    x, y, w, h = (boxes[:, i] for i in range(4))
    cx, cy = x + w / 2, y + h / 2
    taller = np.maximum(h[:, None], h[None])
    ratio = h[:, None] / h[None]
    most = params.row_height_ratio  # either way: a / b and b / a
    gap = x[None] - (x + w)[:, None]  # from i's right edge to j's left edge
    drift = np.abs(cy[None] - cy[:, None])
    # A sloping baseline moves further from a digit's centre the further along the line.
    slope = params.row_max_slope * np.abs(cx[None] - cx[:, None])
    near = (
        (cx[None] > cx[:, None])
        & (drift <= params.row_max_drift * taller + slope)
        & (ratio > 1 / most)
        & (ratio < most)
        & (gap <= params.row_gap_heights * taller)
    )
    links = []
    for i in range(len(digits)):
        right = np.nonzero(near[i])[0]
        if right.size:
            j = int(right[np.argmin(np.maximum(gap[i, right], 0) + 1e-3 * cx[right])])
            links.append((i, j))
    chains = linked(len(digits), links)
    best = max(chains, key=lambda c: sum(digits[i].area for i in c))
    row = sorted((digits[i] for i in best), key=lambda g: g.box[0])
    typical = float(statistics.median(g.box[3] for g in row))
    return [g for g in row if g.box[3] >= params.row_min_height * typical]


def with_unread(
    row: list[Group],
    rejected: list[Group],
    params: VisionParams,
    off_row: Sequence[Group] = (),
    faint: Sequence[Group] = (),
) -> list[Group]:
    """The row with the digit-sized marks on it that were not read, marked `unread`.

    A mark about as tall as the row's digits, mostly within the row's band (beyond the row's
    ends, the band along the line through its digits: a rising row's last digit past a gap
    sits higher) and no further from its ends than unread_reach digit heights, is part of
    the number as written: reading the rest
    alone would publish a number with a digit missing. Thin lines, dots and writing above or
    below the row stay out. The distance is to the mark's nearer side: several digits written
    into one wide blob begin right beside the row however far away the blob's centre is.

    The reach counts from the row's ends and from every mark taken, again until nothing more is
    taken: digits left out one after another (a thin 1 the judge rejects, a digit past the
    chain's gap, another past it) each reach as far as the last one taken.

    off_row: digits the judge accepted that the row's chain left out (and faint ones too
    short to join it). One on the row's line within off_row_reach heights of its ends may be
    the number's own digit past a wide gap (or a second number): which one the region means
    is not known, so it is marked too.

    Beyond the row's ends a mark level with the row's band counts as on it too, wherever the
    line through the row's digits would take the band.

    A rejected blob at least as wide as tall counts with its share of the row's height, not of
    its own, within the band: a run of digits drifting off the line is taller than a digit.

    faint: marks under the contrast rule the judge rejected. Beside the row they are grain or
    shadow; one reaching into the row, between its digits (faint_unread_reach), is marked.
    """
    if not row or not (rejected or off_row or faint):
        return row
    band = row_band(row, params)
    typical, start, end = band.typical, band.start, band.end
    marks = []
    reaches = (
        (params.unread_reach, rejected),
        (params.off_row_reach, off_row),
        (params.faint_unread_reach, faint),
    )
    pending = [(reach, groups is rejected, g) for reach, groups in reaches for g in groups]
    taken = True
    while taken:
        taken, left = False, []
        for reach, was_rejected, g in pending:
            x, _, w, h = g.box
            # Beyond the row's ends its band goes on along the row's line, or level: a line
            # through two or three digits' centres is unsure, and carried a few digit heights
            # on it can leave a digit written level with the row outside the band.
            inside_band = max(band.on_band(g.box), band.on_band(g.box, level=True))
            # A rejected blob taller than the row (digits run together up a rising line)
            # but spanning its band is part of the number too; writing above or below is not.
            spans = (
                was_rejected
                and inside_band >= params.unread_span_share * typical
                and h <= params.unread_span_max_height * typical
            )
            # A rejected blob at least as wide as tall (digits run together) needs only its
            # share of a digit's height within the band: drifting off the row's line, its
            # digits stand higher or lower one after another and make it taller than one
            # digit, so less than half its own height meets the band.
            run = was_rejected and w >= h
            if (
                h >= params.unread_min_height * typical
                and (
                    inside_band >= params.unread_band_share * (min(h, typical) if run else h)
                    or spans
                )
                and x <= end + reach * typical
                and x + w >= start - reach * typical
            ):
                g.unread = True
                marks.append(g)
                # The number goes on to the mark: the next one's reach counts from there.
                start, end, taken = min(start, x), max(end, x + w), True
            else:
                left.append((reach, was_rejected, g))
        pending = left
    if not marks:
        return row
    return sorted(row + marks, key=lambda g: g.box[0])


@dataclass(frozen=True)
class RowBand:
    """Where a number's row lies: its digits' median height, the top and bottom of its digits,
    its first and last column, and the line through its digit centres (row_line)."""

    typical: float
    top: int
    bottom: int
    start: int
    end: int
    tilt: float
    first: float
    last: float

    def on_band(self, box: tuple[int, int, int, int], *, level: bool = False) -> float:
        """How many of the box's rows lie within the row's band; beyond the row's ends the band
        goes on along the row's line (a rising row's digit past a gap sits higher), or with
        `level` stays between the row's top and bottom wherever the box is."""
        x, y, w, h = box
        centre = x + w / 2.0
        shift = 0.0 if level else self.tilt * (centre - min(max(centre, self.first), self.last))
        return min(self.bottom + shift, y + h) - max(self.top + shift, y)


def row_band(row: list[Group], params: VisionParams = DEFAULT) -> RowBand:
    """The band of a row of digits ordered left to right."""
    tilt, first, last = row_line(row, params)
    return RowBand(
        typical=float(statistics.median(g.box[3] for g in row)),
        top=min(g.box[1] for g in row),
        bottom=max(g.box[1] + g.box[3] for g in row),
        start=row[0].box[0],
        end=row[-1].box[0] + row[-1].box[2],
        tilt=tilt,
        first=first,
        last=last,
    )


def row_line(row: list[Group], params: VisionParams = DEFAULT) -> tuple[float, float, float]:
    """The slope of the line through the row's digit centres (rows per column, at most
    unread_max_tilt either way; 0 for a lone digit) and its first and last centre columns."""
    xs = [g.box[0] + g.box[2] / 2.0 for g in row]
    ys = [g.box[1] + g.box[3] / 2.0 for g in row]
    first, last = xs[0], xs[-1]
    if len(row) < 2 or last <= first:
        return 0.0, first, last
    # The least-squares slope, written out (a polynomial fit costs a tenth of a millisecond).
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)  # > 0: the ends differ
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread
    return min(max(slope, -params.unread_max_tilt), params.unread_max_tilt), first, last


def with_pieces_beside(
    main: Group, groups: list[Group], parts: Components, params: VisionParams = DEFAULT
) -> Group:
    """The digit with the pieces that broke off it close by (a tight crop cut through it).

    A crop edge can cut away the stroke that joined a 5's bar to its body; the piece left
    over is not a digit on its own but belongs to the one digit the image holds.
    """
    x, y, w, h = main.box
    reach = params.piece_reach * h
    members = list(main.members)
    x0, y0, x1, y1 = x, y, x + w, y + h
    for other in groups:
        if other is main or set(other.members) <= set(members):
            continue
        ox, oy, ow, oh = other.box
        gap = max(ox - x1, x0 - (ox + ow), oy - y1, y0 - (oy + oh))
        nx0, ny0 = min(x0, ox), min(y0, oy)
        nx1, ny1 = max(x1, ox + ow), max(y1, oy + oh)
        if gap <= reach and nx1 - nx0 <= params.piece_max_aspect * (ny1 - ny0):
            members += other.members
            x0, y0, x1, y1 = nx0, ny0, nx1, ny1
    if len(members) == len(main.members):
        return main
    area = float(parts.areas[sorted(set(members))].sum())
    return Group((int(x0), int(y0), int(x1 - x0), int(y1 - y0)), sorted(set(members)), area)
