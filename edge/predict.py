"""`digitcam predict PATH...`: read digits in image files and folders, one line per image.

Exit 0 when every image was read (even with no digit found), 1 when some could not be
decoded (the rest are still processed), 2 for usage errors such as a path that is missing or
a folder with no image files in it (nothing is read then).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from edge.camera.imageio import ImageError, read_image_file
from edge.camera.sources import IMAGE_EXTENSIONS_TEXT, VIDEO_EXTENSIONS, image_names
from edge.config import CONFIG_ERROR_EXIT, RegionSettings, Settings
from edge.meter.printed import printed_models
from edge.model import ModelError
from edge.model_install import load_active
from edge.reader import FrameReader
from edge.reading import NO_DIGIT, Reading
from edge.rows_model import rows_for
from edge.runs_model import runs_for

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE = 0, 1, 2
# predict reads still images; what to do with a video instead.
VIDEO_HINT = (
    "a video: with camera.source set to it, `digitcam run` reads it frame by frame and "
    "`digitcam capture` saves a frame of it"
)


def expand(paths: list[Path]) -> Iterator[Path]:
    """Files as given; folders as their image files, sorted by name, not recursive."""
    for path in paths:
        if path.is_dir():
            yield from (path / name for name in image_names(path))
        else:
            yield path


def nothing_to_read(folder: Path) -> str | None:
    """Why a folder given to predict reads nothing (None when it holds images): it cannot be
    listed, or no image files are in it, and images may sit in its sub-folders, which are
    not searched."""
    try:
        if image_names(folder):
            return None
        subfolders = sum(1 for p in folder.iterdir() if p.is_dir())
    except OSError as exc:
        return f"cannot be listed: {exc.strerror or exc}"
    where = f"; its {subfolders} sub-folder(s) are not searched" if subfolders else ""
    return f"no image files in this folder ({IMAGE_EXTENSIONS_TEXT}){where}"


def predict_paths(
    settings: Settings,
    paths: list[Path],
    *,
    kind: str | None = None,
    digits: int | None = None,
    as_json: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    """Print one line per image; returns the exit code."""
    missing = [p for p in paths if not p.exists()]
    if missing:
        for path in missing:
            print(f"digitcam predict: {path}: no such file or folder", file=sys.stderr)
        return EXIT_USAGE
    unread = [(p, why) for p in paths if p.is_dir() and (why := nothing_to_read(p))]
    if unread:
        for folder, why in unread:
            print(f"digitcam predict: {folder}: {why}", file=sys.stderr)
        return EXIT_USAGE
    # --kind asks for a plain reading of the whole image; otherwise the configured regions.
    # A counter or display image is one digit unless --digits cuts it into equal cells; a
    # number has as many digits as --digits says, or any count.
    regions = settings.regions
    if kind:
        regions = [RegionSettings.whole_image("main", kind, digits)]
    try:
        model = load_active(settings)
        printed, display = printed_models(settings.model, (r.kind for r in regions))
        runs = runs_for(settings.model, regions)
        rows = rows_for(settings.model, regions)
    except ModelError as exc:
        print(f"digitcam predict: {exc}", file=sys.stderr)
        return CONFIG_ERROR_EXIT  # model.path is wrong, as check-config says
    reader = FrameReader.configured(settings, model, regions, printed, runs, rows, display)
    code = EXIT_OK
    for index, path in enumerate(expand(paths)):
        try:
            image = read_image_file(path)
        except ImageError as exc:
            code = EXIT_UNREADABLE
            reason = exc.reason
            if path.suffix.lower() in VIDEO_EXTENSIONS:
                reason += f"; {VIDEO_HINT}"
            _print_error(out, path, reason, as_json)
            continue
        for reading in reader.read(image, str(path), index):
            _print_reading(out, path, reading, as_json, multi=len(regions) > 1)
    return code


def _print_reading(out: TextIO, path: Path, reading: Reading, as_json: bool, multi: bool) -> None:
    if as_json:
        out.write(json.dumps({**reading.to_dict(), "path": str(path)}) + "\n")
        return
    label = f"{path} [{reading.region}]" if multi else str(path)
    if reading.status == NO_DIGIT:
        out.write(f"{label}: no digit found\n")
        return
    digits = " ".join(f"{d.digit}({d.confidence:.2f})" for d in reading.digits)
    value = reading.value if reading.value is not None else "?"
    out.write(f"{label}: {value}  [{reading.status}; {digits}]\n")


def _print_error(out: TextIO, path: Path, reason: str, as_json: bool) -> None:
    if as_json:
        out.write(json.dumps({"path": str(path), "error": reason}) + "\n")
    else:
        out.write(f"{path}: error: {reason}\n")
    logger.info("cannot read %s: %s", path, reason)
