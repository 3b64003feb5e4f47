"""camera.rotate: a camera on its side, upside down or askew, its frames turned upright."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.camera import open_source
from edge.camera.turn import turn_image
from edge.config import CameraSettings
from edge.config_load import ConfigError, load_settings
from edge.meter.printed import printed_models
from edge.model import load_model
from edge.reader import FrameReader

ROOT = Path(__file__).resolve().parents[2]
METER = ROOT / "mock_frames" / "meter"


def marked() -> np.ndarray:
    """A 3x4 (rows x columns) frame whose top-left pixel alone is white."""
    image = np.zeros((3, 4), np.uint8)
    image[0, 0] = 255
    return image


@pytest.mark.parametrize(
    ("degrees", "shape", "white_at"),
    [
        (90, (4, 3), (0, 2)),  # clockwise: the top-left corner goes to the top right
        (180, (3, 4), (2, 3)),
        (270, (4, 3), (3, 0)),
        (-90, (4, 3), (3, 0)),
        (360, (3, 4), (0, 0)),
        (-180, (3, 4), (2, 3)),
    ],
)
def test_quarter_turns_are_exact_and_clockwise(
    degrees: float, shape: tuple[int, int], white_at: tuple[int, int]
) -> None:
    turned = turn_image(marked(), degrees)
    assert turned.shape == shape
    assert list(zip(*np.nonzero(turned), strict=True)) == [white_at]


def test_no_turn_leaves_the_frame_alone() -> None:
    image = marked()
    assert turn_image(image, 0.0) is image


def test_a_few_degrees_keep_the_frame_and_turn_it_clockwise() -> None:
    image = np.full((120, 200), 255, np.uint8)
    image[58:62, 20:180] = 0  # a level dark line
    turned = turn_image(image, 10.0)
    assert turned.shape == image.shape
    rows, cols = np.nonzero(turned < 128)
    left, right = rows[cols < 80].mean(), rows[cols > 120].mean()
    assert right - left > 10  # the right end went down: clockwise
    colour = turn_image(np.dstack([image] * 3), -10.0)
    assert colour.shape == (120, 200, 3)  # a camera's BGR frames turn too
    # The corners are filled from the frame's edge, not black: no dark wedge to read as ink.
    assert turned[0, 0] == 255 and turned[-1, -1] == 255


def meter_reader() -> FrameReader:
    settings = load_settings(ROOT / "config" / "meter.toml")
    printed, display = printed_models(settings.model, ["counter"])
    return FrameReader.configured(settings, load_model(None), printed=printed, display=display)


def read_folder(folder: Path, rotate: float, reader: FrameReader) -> list[str | None]:
    """Every frame of `folder` as the daemon's camera gives it, read by the meter's region."""
    source = open_source(CameraSettings(source=str(folder), loop=False, rotate=rotate), pace=False)
    source.open()
    values = []
    while (frame := source.read()) is not None:
        assert frame.image is not None
        values.append(reader.read(frame.image, frame.source, frame.index)[0].value)
    source.close()
    return values


def test_a_camera_upside_down_or_on_its_side_reads_the_meter_as_an_upright_one(
    tmp_path: Path,
) -> None:
    names = sorted(json.loads((METER / "expected.json").read_text()))[:4]
    reader = meter_reader()
    upright = [
        reader.read(cv2.imread(str(METER / n), cv2.IMREAD_GRAYSCALE), n, 0)[0].value for n in names
    ]
    assert sum(v is not None for v in upright) >= 3  # most of them read, to compare with
    for mounted, rotate in [(cv2.ROTATE_180, 180.0), (cv2.ROTATE_90_COUNTERCLOCKWISE, 90.0)]:
        folder = tmp_path / str(rotate)
        folder.mkdir()
        for n in names:  # lossless, so the turned frame is the upright one to the pixel
            frame = cv2.imread(str(METER / n), cv2.IMREAD_GRAYSCALE)
            cv2.imwrite(str(folder / n.replace(".jpg", ".png")), cv2.rotate(frame, mounted))
        assert read_folder(folder, rotate, reader) == upright
        assert read_folder(folder, 0.0, reader) != upright  # the boxes hold no wheels then


def test_a_camera_a_little_askew_is_levelled(tmp_path: Path) -> None:
    # 8 degrees counter-clockwise: read as it comes, the last wheel of three of these frames
    # is read surely a tenth high; levelled by camera.rotate they read as the upright frames.
    names = sorted(json.loads((METER / "expected.json").read_text()))[:5]
    reader = meter_reader()
    upright = []
    for n in names:
        frame = cv2.imread(str(METER / n), cv2.IMREAD_GRAYSCALE)
        upright.append(reader.read(frame, n, 0)[0].value)
        cv2.imwrite(str(tmp_path / n.replace(".jpg", ".png")), turn_image(frame, -8.0))
    assert read_folder(tmp_path, 8.0, reader) == upright


@pytest.mark.parametrize("rotate", ["400", "-361", "nan", "inf"])
def test_a_rotation_past_a_whole_turn_or_not_a_number_is_refused(
    rotate: str, tmp_path: Path
) -> None:
    config = tmp_path / "digitcam.toml"
    config.write_text(f"[camera]\nrotate = {rotate}\n")
    with pytest.raises(ConfigError, match=r"camera\.rotate"):
        load_settings(config)
