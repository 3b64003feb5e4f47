"""`digitcam capture OUT`: a camera frame saved as the daemon reads it, regions drawn on request."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from tests.conftest import digitcam_cli

ROOT = Path(__file__).resolve().parents[2]
METER = ROOT / "mock_frames" / "meter"


def meter_frame() -> tuple[np.ndarray, list[int]]:
    name, want = sorted(json.loads((METER / "expected.json").read_text()).items())[0]
    return cv2.imread(str(METER / name), cv2.IMREAD_GRAYSCALE), want["region"]["box"]


def camera_config(tmp_path: Path, frame: np.ndarray, extra: str = "") -> Path:
    """A camera folder holding `frame` (lossless), and a configuration reading it."""
    folder = tmp_path / "camera"
    folder.mkdir()
    cv2.imwrite(str(folder / "frame.png"), frame)
    config = tmp_path / "digitcam.toml"
    config.write_text(f'[camera]\nsource = "{folder}"\n{extra}')
    return config


def test_an_upside_down_camera_s_frame_is_saved_upright(tmp_path: Path) -> None:
    upright, _ = meter_frame()
    config = camera_config(tmp_path, cv2.rotate(upright, cv2.ROTATE_180), "rotate = 180\n")
    out = tmp_path / "seen.png"
    done = digitcam_cli(tmp_path, "capture", "--config", str(config), str(out))
    assert done.returncode == 0, done.stderr
    assert np.array_equal(cv2.imread(str(out), cv2.IMREAD_GRAYSCALE), upright)
    assert f"{out}: 640x480 from frame.png, turned 180 degrees" in done.stdout


def test_boxes_show_each_region_and_a_meter_s_wheels(tmp_path: Path) -> None:
    frame, (x, y, w, h) = meter_frame()
    config = camera_config(
        tmp_path,
        frame,
        f'[[regions]]\nname = "water"\nkind = "counter"\nbox = [{x}, {y}, {w}, {h}]\n'
        'digits = 6\n[[regions]]\nname = "note"\nbox = [10, 10, 100, 60]\n',
    )
    out = tmp_path / "boxes.png"
    done = digitcam_cli(tmp_path, "capture", "--boxes", "--config", str(config), str(out))
    assert done.returncode == 0, done.stderr
    shown = cv2.imread(str(out)).astype(int)
    coloured = np.abs(shown[..., 0] - shown[..., 2]) > 60  # the frame itself is grey
    assert coloured[y, x + w // 2] and coloured[y + h - 1, x + w // 2]  # the window's edges
    cell = w / 6
    for k in range(1, 6):  # the wheels' cells, side by side
        assert coloured[y + h // 2, round(x + k * cell) - 1 : round(x + k * cell) + 1].any()
    assert coloured[10, 60] and not coloured[240, 320]  # the other region; the frame elsewhere
    assert not coloured[y + h // 2, x + round(cell / 2)]  # a wheel's digit left as it is


def test_no_frame_and_a_file_type_it_cannot_write_are_told(tmp_path: Path) -> None:
    config = tmp_path / "digitcam.toml"
    config.write_text(f'[camera]\nsource = "{tmp_path / "nowhere"}"\n')
    done = digitcam_cli(tmp_path, "capture", "--config", str(config), str(tmp_path / "a.png"))
    assert done.returncode == 1 and "no frame from" in done.stderr
    done = digitcam_cli(tmp_path, "capture", "--config", str(config), str(tmp_path / "a.txt"))
    assert done.returncode == 2 and "name a .jpg" in done.stderr
    frame, _ = meter_frame()
    config = camera_config(tmp_path, frame)
    out = tmp_path / "no" / "a.png"
    done = digitcam_cli(tmp_path, "capture", "--config", str(config), str(out))
    assert done.returncode == 1 and "cannot write" in done.stderr
