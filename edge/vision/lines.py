"""Remove ruled lines, margins and underlines from an ink mask, keeping the digits on them.

A line is a chain of thin runs much longer than any thin stroke of a digit: a 1 or the bar
of a 7 is as thin as a ruled line but short, and long digit strokes are thick. Lines are
searched on a copy squeezed 4x along the line direction (a line stays a line, its thickness
across is untouched, the work is a quarter) and, once found, extended straight across the
frame: between digits a rule shows only in short pieces.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

logger = logging.getLogger(__name__)

LINE_MAX_THICKNESS = 5  # ruled/printed lines are thinner than this in the mask
TILT_SMEAR_PX = 5  # across-line smear so a line tilted a few degrees stays one run
RUN_PX = 32  # a straight run at least this long may be part of a line
LINE_GAP_PX = 128  # pieces of one line this far apart still count as one line
LINE_MIN_PX = 64  # a line is at least this long, and at least 1/8 (1/4 upright) of the frame


def remove_lines(mask: np.ndarray) -> np.ndarray:
    """Remove long thin horizontal and vertical lines (notebook rules, margins, underlines).

    A line is a chain of thin runs much longer than any thin stroke of a digit: a 1 or the
    bar of a 7 is as thin as a ruled line but short, and long digit strokes are thick. Where a
    stroke crosses a line the line pixels are kept, so the digit is not cut in two.
    """
    for horizontal in (True, False):
        lines = long_thin_lines(mask, horizontal)
        if lines is None:
            continue
        kept = cv2.subtract(mask, lines)
        # Line pixels with ink on both sides across the line belong to a crossing stroke.
        across = (1, LINE_MAX_THICKNESS + 3) if horizontal else (LINE_MAX_THICKNESS + 3, 1)
        bridged = cv2.morphologyEx(kept, cv2.MORPH_CLOSE, _rect(across))
        mask = cv2.bitwise_or(kept, cv2.bitwise_and(lines, bridged))
    return mask


def long_thin_lines(mask: np.ndarray, horizontal: bool) -> np.ndarray | None:
    """Pixels of `mask` on long thin lines in one direction, or None when there are none.

    Upright lines are found the same way on the transposed mask.
    """
    view = mask if horizontal else cv2.transpose(mask)
    height, width = view.shape
    quarter = width // 4
    if quarter < 16:
        return None
    # Any of 4 neighbours set: a max filter, then every 4th column.
    widened = cv2.dilate(view[:, : 4 * quarter], _rect((4, 1)), anchor=(0, 0))
    squeezed = cv2.resize(widened, (quarter, height), interpolation=cv2.INTER_NEAREST)
    # An opening keeps what is thick across; what it removes is thin.
    thin = cv2.subtract(squeezed, cv2.morphologyEx(squeezed, cv2.MORPH_OPEN,
                                                   _rect((1, LINE_MAX_THICKNESS + 2))))
    # Runs are looked for on a copy smeared across, so a line tilted a few degrees (which
    # climbs a pixel every dozen) still makes one long run.
    smeared = cv2.dilate(thin, _rect((1, TILT_SMEAR_PX)))
    runs = cv2.morphologyEx(smeared, cv2.MORPH_OPEN, _rect((RUN_PX // 4, 1)))
    if not runs.any():
        return None
    # Runs chain into a line across the frame, also across the gap where a digit sits on
    # the line (there the line is not thin).
    linked = cv2.morphologyEx(cv2.bitwise_and(runs, thin), cv2.MORPH_CLOSE,
                              _rect((LINE_GAP_PX // 4, 1)))
    contours, _ = cv2.findContours(linked, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    shortest = max(LINE_MIN_PX, width // (8 if horizontal else 4)) // 4
    long = [c for c in contours if cv2.boundingRect(c)[2] >= shortest]
    if not long:
        return None
    chained = np.zeros_like(thin)
    cv2.drawContours(chained, long, -1, 1, thickness=cv2.FILLED)
    chained = cv2.dilate(chained, _rect((1, 3)))  # a pixel of slack either side of the line
    band = np.zeros(view.shape, np.uint8)
    band[:, : 4 * quarter] = np.repeat(chained, 4, axis=1)
    for contour in long:
        extend_line(band, contour)
    lines = cv2.bitwise_and(band, view)
    return lines if horizontal else cv2.transpose(lines)


def extend_line(canvas: np.ndarray, contour: np.ndarray) -> None:
    """Draw the straight line through a chain (found 4x squeezed) across the full-size canvas.

    Between digits a rule shows only in short pieces, too short to be found as runs; rules
    are straight (a perspective view keeps them straight), so the long pieces say where the
    short ones are.
    """
    points = contour.reshape(-1, 2).astype(np.float32)
    points[:, 0] = points[:, 0] * 4 + 1.5  # back to full-size columns
    vx, vy, x0, y0 = (float(v) for v in cv2.fitLine(points, cv2.DIST_L2, 0, 0.01, 0.01).ravel())
    if abs(vx) < 1e-3:
        return
    _, _, length, _ = cv2.boundingRect(contour)
    thickness = int(np.clip(round(cv2.contourArea(contour) / max(length, 1)) + 2, 3,
                            LINE_MAX_THICKNESS + 2))
    width = canvas.shape[1]
    left = (0, round(y0 - x0 * vy / vx))
    right = (width - 1, round(y0 + (width - 1 - x0) * vy / vx))
    cv2.line(canvas, left, right, 1, thickness=thickness)


def _rect(size: tuple[int, int]) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_RECT, size)
