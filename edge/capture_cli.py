"""`digitcam capture OUT`: one frame of the camera saved to a file, as the daemon reads it.

The frame is turned as `camera.rotate` says, so its pixels are the ones region boxes are set
in. With `--boxes`, each configured region is drawn on it with its name (a meter's wheels or
digits as the cells it is cut into), to check the boxes on a device without a browser. The
camera must be free: while the daemon holds it, use the page's capture instead.
Exit 0 when the file is written, 1 when the camera gave no frame or the file cannot be
written, 2 for a file name whose type cannot be written.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import cv2
import numpy as np

from edge.camera import SourceError, capture_one
from edge.config import Settings
from edge.meter.read import region_cells
from edge.meter.settings import PRINTED_KINDS
from edge.reader import region_box

logger = logging.getLogger(__name__)

WRITABLE = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
# BGR colours for the regions in turn: readable on light paper and on a dark faceplate.
COLOURS = ((0, 140, 255), (255, 90, 30), (40, 180, 40), (200, 40, 200), (0, 200, 220))


def add_parser(verbs: argparse._SubParsersAction) -> None:
    capture = verbs.add_parser("capture", help="save one camera frame, as the daemon reads it")
    capture.add_argument("out", type=Path, metavar="OUT", help="image file (.jpg, .png, ...)")
    capture.add_argument(
        "--boxes", action="store_true", help="draw the configured regions on the frame"
    )
    capture.add_argument("--config", help="TOML file (default as for run)")


def main(settings: Settings, args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.suffix.lower() not in WRITABLE:
        print(f"digitcam capture: {out}: name a {', '.join(WRITABLE)} file", file=sys.stderr)
        return 2
    try:
        frame = capture_one(settings.camera)
    except SourceError as exc:
        print(f"digitcam capture: no frame from {settings.camera.source}: {exc}", file=sys.stderr)
        return 1
    assert frame.image is not None  # capture_one refuses a frame that could not be decoded
    image = draw_regions(settings, frame.image) if args.boxes else frame.image
    try:
        written = cv2.imwrite(str(out), image)
    except cv2.error as exc:
        written, reason = False, str(exc)
    else:
        reason = "the folder is missing or not writable"
    if not written:
        print(f"digitcam capture: cannot write {out}: {reason}", file=sys.stderr)
        return 1
    height, width = frame.image.shape[:2]
    turned = f", turned {settings.camera.rotate:g} degrees" if settings.camera.rotate else ""
    drawn = f", {len(settings.regions)} region(s) drawn" if args.boxes else ""
    print(f"{out}: {width}x{height} from {frame.source}{turned}{drawn}")
    return 0


def draw_regions(settings: Settings, image: np.ndarray) -> np.ndarray:
    """A colour copy of the frame with each region's box and name (and a meter's cells)."""
    shown = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    height, width = shown.shape[:2]
    line = max(1, round(width / 640))
    for i, region in enumerate(settings.regions):
        colour = COLOURS[i % len(COLOURS)]
        x, y, w, h = window = region_box(region.box, width, height)
        cv2.rectangle(shown, (x, y), (x + w - 1, y + h - 1), colour, line)
        if region.kind in PRINTED_KINDS:
            for cx, cy, cw, ch in region_cells(
                region, window, lambda b: region_box(b, width, height)
            ):
                cv2.rectangle(shown, (cx, cy), (cx + cw - 1, cy + ch - 1), colour, 1)
        cv2.putText(
            shown, region.name, (x, max(12 * line, y - 4)), cv2.FONT_HERSHEY_SIMPLEX,
            0.5 * line, colour, line, cv2.LINE_AA,
        )  # fmt: skip
    return shown
