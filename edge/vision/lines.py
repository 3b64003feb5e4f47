"""Remove ruled lines, margins and underlines from an ink mask, keeping the digits on them.

A line is a chain of thin runs much longer than any thin stroke of a digit: a 1 or the bar
of a 7 is as thin as a ruled line but short, and long digit strokes are thick. Lines are
searched on a copy squeezed several times (`line_squeeze`) along the line direction (a line
stays a line, its thickness across is untouched, the work shrinks as much) and, once found,
extended straight across the frame: between digits a rule shows only in short pieces. The
thresholds are in edge.vision.params, in full-size pixels.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from edge.vision.params import DEFAULT, VisionParams

logger = logging.getLogger(__name__)


def band_px(params: VisionParams) -> int:
    """The widest band a found line claims: its thickest plus the slack either side."""
    return params.line_max_thickness_px + 2 * params.line_slack_px


def remove_lines(mask: np.ndarray, params: VisionParams = DEFAULT) -> np.ndarray:
    """Remove long thin horizontal and vertical lines (notebook rules, margins, underlines).

    A line is a chain of thin runs much longer than any thin stroke of a digit: a 1 or the
    bar of a 7 is as thin as a ruled line but short, and long digit strokes are thick. Where a
    stroke crosses a line the line pixels are kept, so the digit is not cut in two.
    """
    for horizontal in (True, False):
        lines = long_thin_lines(mask, horizontal, params)
        if lines is None:
            continue
        kept = cv2.subtract(mask, lines)
        # Line pixels with ink on both sides across the line belong to a crossing stroke: a
        # closing one pixel longer than the widest band bridges it.
        bridge = band_px(params) + 1
        across = (1, bridge) if horizontal else (bridge, 1)
        bridged = near_ink(kept, cv2.MORPH_CLOSE, across)
        mask = cv2.bitwise_or(kept, cv2.bitwise_and(lines, bridged))
    return mask


def long_thin_lines(
    mask: np.ndarray, horizontal: bool, params: VisionParams = DEFAULT
) -> np.ndarray | None:
    """Pixels of `mask` on long thin lines in one direction, or None when there are none.

    Upright lines are found the same way on the transposed mask.
    """
    # Worked on as if the lines ran across: rows and columns of the view, not of the mask.
    height, width = mask.shape if horizontal else mask.shape[::-1]
    squeeze = params.line_squeeze
    squeezed_width = width // squeeze
    if squeezed_width < params.line_min_px // squeeze:
        return None  # too narrow to hold a line as long as the shortest one
    squeezed = squeezed_along(mask, horizontal, squeeze, squeezed_width)
    # An opening keeps what is thick across; what it removes is thin.
    thin = cv2.subtract(squeezed, near_ink(squeezed, cv2.MORPH_OPEN, (1, band_px(params))))
    # Runs are looked for on a copy smeared across, so a line tilted a few degrees (which
    # climbs a pixel every dozen) still makes one long run.
    smeared = near_ink(thin, cv2.MORPH_DILATE, (1, params.tilt_smear_px))
    runs = near_ink(smeared, cv2.MORPH_OPEN, (params.run_px // squeeze, 1))
    if not cv2.countNonZero(runs):
        return None
    # Runs chain into a line across the frame, also across the gap where a digit sits on
    # the line (there the line is not thin).
    linked = near_ink(
        cv2.bitwise_and(runs, thin), cv2.MORPH_CLOSE, (params.line_gap_px // squeeze, 1)
    )
    contours, _ = cv2.findContours(linked, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    share = params.line_min_share_horizontal if horizontal else params.line_min_share_upright
    shortest = max(params.line_min_px, width // share) // squeeze
    long = [c for c in contours if cv2.boundingRect(c)[2] >= shortest]
    if not long:
        return None
    chained = np.zeros_like(thin)
    cv2.drawContours(chained, long, -1, 1, thickness=cv2.FILLED)
    # The line's anti-aliased edge: slack either side across the line.
    chained = near_ink(chained, cv2.MORPH_DILATE, (1, 1 + 2 * params.line_slack_px))
    band = np.zeros((height, width), np.uint8)
    band[:, : squeeze * squeezed_width] = cv2.resize(
        chained, (squeeze * squeezed_width, height), interpolation=cv2.INTER_NEAREST
    )
    for contour in long:
        extend_line(band, contour, params)
    return cv2.bitwise_and(band if horizontal else cv2.transpose(band), mask)


def squeezed_along(mask: np.ndarray, horizontal: bool, squeeze: int, width: int) -> np.ndarray:
    """Each run of `squeeze` pixels along the line direction as one: set when any is set.

    The result is in the view's orientation (lines across). Along rows, with the usual
    squeeze of 4, each run of four mask bytes read as one 32-bit number is set when any of
    them is (a tenth of a max filter's time); across rows (upright lines) the row blocks are
    or-ed together, and only the small result turned, a third of turning the mask.
    """
    if horizontal:
        run = np.ascontiguousarray(mask[:, : squeeze * width])
        if squeeze == 4:
            return np.not_equal(run.view(np.uint32), 0).view(np.uint8)
        # A max filter, then every `squeeze`-th column.
        widened = cv2.dilate(run, _rect((squeeze, 1)), anchor=(0, 0))
        return cv2.resize(widened, (width, mask.shape[0]), interpolation=cv2.INTER_NEAREST)
    columns = mask.shape[1]
    blocks = mask[: squeeze * width].reshape(width, squeeze * columns)
    squeezed = blocks[:, :columns]
    for k in range(1, squeeze):
        squeezed = cv2.bitwise_or(squeezed, blocks[:, k * columns : (k + 1) * columns])
    return cv2.transpose(np.ascontiguousarray(squeezed))


def near_ink(mask: np.ndarray, op: int, size: tuple[int, int]) -> np.ndarray:
    """`cv2.morphologyEx(mask, op, a rectangle of `size`)` of a 0/1 mask, worked only on the
    rows near its ink: the same pixels in a fraction of the time (a line search's masks are
    mostly empty rows).

    A kernel one row high filters each row on its own, and an opening, closing or dilation
    of an empty row leaves it empty, so only the rows that hold ink are worked. A taller one
    reaches no further than its height from the ink: the band from the first row with ink
    to the last is worked, widened by twice that height, whose rows of paper keep the band's
    edge from acting as the frame's (OpenCV counts the border as ink for an erosion).
    """
    rows = ink_rows(mask)
    out = np.zeros_like(mask)
    if rows.size == 0:
        return out
    kernel = _rect(size)
    first, end = int(rows[0]), int(rows[-1]) + 1
    high = size[1]
    if high == 1 and end - first > rows.size:
        out[rows] = cv2.morphologyEx(mask[rows], op, kernel)
        return out
    if high > 1:
        first, end = max(0, first - 2 * high), min(mask.shape[0], end + 2 * high)
    out[first:end] = cv2.morphologyEx(mask[first:end], op, kernel)
    return out


def ink_rows(mask: np.ndarray) -> np.ndarray:
    """Indices of the rows of a 0/1 mask that hold ink (OpenCV's row sums: a few microseconds,
    where its row maxima or numpy's any take ten to sixty times as long)."""
    return np.flatnonzero(cv2.reduce(mask, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S))


def extend_line(canvas: np.ndarray, contour: np.ndarray, params: VisionParams = DEFAULT) -> None:
    """Draw the straight line through a chain (found squeezed) across the full-size canvas.

    Between digits a rule shows only in short pieces, too short to be found as runs; rules
    are straight (a perspective view keeps them straight), so the long pieces say where the
    short ones are.
    """
    squeeze = params.line_squeeze
    points = contour.reshape(-1, 2).astype(np.float32)
    # Back to full-size columns: a squeezed column stands for the middle of its block.
    points[:, 0] = points[:, 0] * squeeze + (squeeze - 1) / 2
    vx, vy, x0, y0 = (float(v) for v in cv2.fitLine(points, cv2.DIST_L2, 0, 0.01, 0.01).ravel())
    if abs(vx) < 1e-3:
        return
    _, _, length, _ = cv2.boundingRect(contour)
    slack = 2 * params.line_slack_px  # both sides
    thickness = min(
        max(round(cv2.contourArea(contour) / max(length, 1)) + slack, 1 + slack), band_px(params)
    )
    width = canvas.shape[1]
    left = (0, round(y0 - x0 * vy / vx))
    right = (width - 1, round(y0 + (width - 1 - x0) * vy / vx))
    cv2.line(canvas, left, right, 1, thickness=thickness)


def continues_as_line(
    own: np.ndarray,
    origin: tuple[int, int],
    contrast: np.ndarray,
    level: float,
    params: VisionParams = DEFAULT,
) -> bool:
    """Whether a thin mark is a piece of a longer line: its ink goes on along its axis past
    both its ends.

    own: the mark's pixels (0/1) in its box, whose top-left corner is `origin` in `contrast`
    (an ink map before line removal); `level`: the ink level counted as ink there. The axis
    is the straight line fitted through the mark; beyond each end, over line_piece_reach of
    the mark's length, at least line_piece_share of the points (each the strongest of three
    across the axis) must be ink, their mean at least line_piece_contrast of the mark's
    own. A stroke of a digit, a 1 included, ends in paper; the side of a grid's square that
    the line search missed runs on into the next one as strongly; a 1 written over a grid
    line is darker than the line it covers.
    """
    ys, xs = np.nonzero(own)
    if xs.size < 2:
        return False
    x, y = origin
    points = np.stack([xs + x, ys + y], axis=1).astype(np.float32)
    vx, vy, cx, cy = (float(v) for v in cv2.fitLine(points, cv2.DIST_L2, 0, 0.01, 0.01).ravel())
    along = points @ np.array([vx, vy], np.float32) - (cx * vx + cy * vy)
    start, end = float(along.min()), float(along.max())
    steps = np.arange(2.0, max(3.0, params.line_piece_reach * (end - start)) + 1.0)
    count = steps.size
    # Both ends at once: the points past the far end, then those before the near one.
    at = np.concatenate([end + steps, start - steps])
    height, width = contrast.shape
    px, py = np.rint(cx + vx * at).astype(np.intp), np.rint(cy + vy * at).astype(np.intp)
    inside = (px >= 1) & (px < width - 1) & (py >= 0) & (py < height)
    px, py = np.minimum(np.maximum(px, 1), width - 2), np.minimum(np.maximum(py, 0), height - 1)
    ink = np.maximum(np.maximum(contrast[py, px - 1], contrast[py, px + 1]), contrast[py, px])
    mark = contrast[y : y + own.shape[0], x : x + own.shape[1]]
    strength = params.line_piece_contrast * cv2.mean(mark, mask=own)[0]
    seen = 0
    for side in (slice(0, count), slice(count, 2 * count)):
        values = ink[side][inside[side]]
        if values.size < 3:
            continue  # the frame ends there: that side cannot tell
        if (values >= level).mean() < params.line_piece_share or values.mean() < strength:
            return False
        seen += 1
    return seen > 0


def _rect(size: tuple[int, int]) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_RECT, size)
