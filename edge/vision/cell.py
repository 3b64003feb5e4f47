"""Tight crops of one digit: a form cell, a grid square, a scan cut around one digit.

Such a crop is mostly paper, its digit often fills it and runs off its edge, and bits of the
cell's printed lines show at some edges. The photo pipeline (edge.vision.find) is built for
the opposite: small digits on a large, unevenly lit page, where anything touching the edge
is someone else's writing. A crop is read the textbook way instead: the paper flattened,
Otsu's split between paper and ink, the largest blob with the pieces beside it. Whether the
cell's lines are part of the digit cannot be told from the pixels alone (the bar of a 7 in a
crop cut along the digit's box is as long and straight as a cell line), so several versions
are proposed (lines kept, long lines removed, lines along the crop's border removed, and last
only the cell's frame removed: lines running edge to edge along the border) and the model
decides: the reader takes the first it is sure of (edge.cell_read.read_cell), unless the
version without the frame is surely another digit: a 1 under the cell's top line reads as a
sure 7 with it, and a 7 cut along its box as a sure 1 without its bar, so then neither is
published.

Which side is ink is told by the paper covering most of the crop (majority_polarity). A
felt-tip digit in a crop cut tight around it can cover more than half of it; then the paper
between its strokes is taken for light ink on dark, and what is proposed is the outline of the
strokes. So a crop taken for light ink is also proposed the other way round, as dark ink on
light paper, after its own versions: `turned`, which the reader takes only when its judge is as
sure that it is a digit as the digit must be sure to be published (the paper of a framed cell
turned into ink is a block with the digit cut out of it, which reads as a sure 8). A crop taken
for dark ink, the usual case on paper, is not turned round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from edge.vision.binarize import majority_polarity
from edge.vision.normalise import scale_strokes
from edge.vision.params import DEFAULT, VisionParams

logger = logging.getLogger(__name__)


@dataclass
class CellInk:
    """One proposed reading of a crop's digit."""

    box: tuple[int, int, int, int]  # x, y, w, h in the caller's pixels
    ink: np.ndarray  # float32 0..1, white digit on black, tight around its strokes
    # This version is also the one without the cell's frame (lines edge to edge at the border).
    frameless: bool = False
    # The crop taken the other way round: dark ink on light where the paper seemed darker.
    turned: bool = False


def is_cell(shape: tuple[int, ...], params: VisionParams = DEFAULT) -> bool:
    """Whether an image read as one digit is small enough to be a tight crop, not a photo."""
    return min(shape[:2]) >= params.min_image_side_px and max(shape[:2]) <= params.cell_max_side_px


def cell_inks(gray: np.ndarray, params: VisionParams = DEFAULT) -> list[CellInk]:
    """The crop's digit, once per way of treating the cell's lines (duplicates left out); a
    crop taken for light ink on dark, then once more each taken the other way round."""
    if gray.ndim != 2 or not is_cell(gray.shape, params):
        return []
    scale = params.cell_side_px / min(gray.shape)
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    work = cv2.resize(gray, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    light_ink = majority_polarity(work, params, default=False)
    looks = [cv2.bitwise_not(work), work] if light_ink else [work]
    side = max(3, int(params.cell_paper_kernel * min(work.shape)) | 1)
    versions = (
        (None, None),
        (params.cell_line_share, None),
        params.cell_border_line,
        params.cell_frame_line,
    )
    found: list[CellInk] = []
    seen: dict[tuple[int, ...], CellInk] = {}
    for turned, look in enumerate(looks):
        ink, mask, low = flattened(look, side, params)
        for n, (reach, band) in enumerate(versions):
            kept = mask if reach is None else cv2.subtract(mask, cell_lines(mask, reach, band))
            blob = digit_blob(ink, kept, low, params)
            if blob is None:
                continue
            (x, y, w, h), digit = blob
            frameless = n == len(versions) - 1 and not turned
            key = (x, y, w, h, int(digit.sum()))
            if key in seen:
                seen[key].frameless |= frameless
                continue
            box = (
                int(x / scale),
                int(y / scale),
                max(1, round(w / scale)),
                max(1, round(h / scale)),
            )
            seen[key] = CellInk(box, digit, frameless, bool(turned))
            found.append(seen[key])
    return found


def flattened(
    work: np.ndarray, side: int, params: VisionParams = DEFAULT
) -> tuple[np.ndarray, np.ndarray, int]:
    """Ink contrast of a crop of dark ink on light paper (0..255, the ink bright) with the
    paper flattened by a closing of `side` px, its ink mask (Otsu's split) and that split."""
    paper = cv2.morphologyEx(work, cv2.MORPH_CLOSE, _rect((side, side)))
    paper = np.maximum(paper, 1)  # no division by zero on a black crop
    ink = cv2.GaussianBlur(cv2.bitwise_not(cv2.divide(work, paper, scale=255)), (3, 3), 0)
    otsu, _ = cv2.threshold(ink, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    low = max(params.min_low_threshold, round(otsu))
    _, mask = cv2.threshold(ink, low, 1, cv2.THRESH_BINARY)
    return ink, mask, low


def cell_lines(mask: np.ndarray, reach: float, band: float | None) -> np.ndarray:
    """Straight horizontal and upright runs at least `reach` of the crop's side long.

    band: only those within this share of the side from the crop's border (a cell's lines
    frame it; a digit's bars are inside). The runs are widened a pixel for their soft edge.
    """
    height, width = mask.shape
    across = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _rect((max(2, int(reach * width)), 1)))
    upright = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _rect((1, max(2, int(reach * height)))))
    if band is not None:
        rows, cols = int(band * height), int(band * width)
        across[rows : height - rows, :] = 0
        upright[:, cols : width - cols] = 0
    return cv2.dilate(cv2.bitwise_or(across, upright), _rect((3, 3)))


def digit_blob(
    ink: np.ndarray, mask: np.ndarray, low: int, params: VisionParams = DEFAULT
) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The largest piece of ink with the pieces beside it, as a box and a 0..1 ink crop."""
    height, width = mask.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    pieces = [i for i in range(1, count) if stats[i, 4] >= params.cell_min_piece * height * width]
    if not pieces:
        return None
    main = max(pieces, key=lambda i: stats[i, 4])
    x, y, w, h = (int(v) for v in stats[main, :4])
    x0, y0, x1, y1 = x, y, x + w, y + h
    members = [main]
    for i in pieces:
        px, py, pw, ph, area = (int(v) for v in stats[i])
        gap = max(px - x1, x0 - (px + pw), py - y1, y0 - (py + ph))
        if (
            i != main
            and gap < params.cell_piece_reach * max(w, h)
            and area > params.cell_piece_share * stats[main, 4]
        ):
            members.append(i)
            x0, y0, x1, y1 = min(x0, px), min(y0, py), max(x1, px + pw), max(y1, py + ph)
    own = np.isin(labels[y0:y1, x0:x1], members).astype(np.uint8)
    crop = ink[y0:y1, x0:x1]
    core = crop[own > 0]
    if int(core.max()) < params.min_strong_contrast:
        return None  # paper grain and faint smudges: Otsu splits even a blank cell in two
    digit = scale_strokes(crop, core, low, params) * cv2.dilate(own, _rect((3, 3)))
    return (x0, y0, x1 - x0, y1 - y0), digit


def _rect(size: tuple[int, int]) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_RECT, size)
