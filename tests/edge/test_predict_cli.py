"""`digitcam predict` on what a user hands it: folders, missing paths, files that are no image."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SINGLE = ROOT / "mock_frames" / "single"


def predict(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", "predict", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_folder_without_images_reads_nothing_and_says_where_to_look(tmp_path: Path) -> None:
    # A folder of scenario folders, as mock_frames/ is: its images are one level down.
    shutil.copy(SINGLE / "single_0000.jpg", tmp_path / "frame.jpg")
    (tmp_path / "day1").mkdir()
    shutil.copy(SINGLE / "single_0000.jpg", tmp_path / "day1" / "frame.jpg")
    (tmp_path / "day1" / "notes.txt").write_text("not an image\n")
    result = predict(str(tmp_path / "day1"), str(tmp_path))
    assert result.returncode == 0 and result.stdout.count("frame.jpg:") == 2, result.stderr

    (tmp_path / "frame.jpg").unlink()
    result = predict(str(tmp_path))
    assert result.returncode == 2 and result.stdout == ""
    assert f"{tmp_path}: no image files in this folder" in result.stderr
    assert ".jpg" in result.stderr and "its 1 sub-folder(s) are not searched" in result.stderr

    result = predict(str(tmp_path / "day1"), str(tmp_path / "missing"))
    assert result.returncode == 2 and "missing: no such file or folder" in result.stderr
    assert result.stdout == "", "nothing is read when a path is wrong"


def test_a_file_that_is_no_image_is_named_and_the_rest_are_read(tmp_path: Path) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("a shopping list\n")
    result = predict(str(notes), str(SINGLE / "single_0000.jpg"))
    assert result.returncode == 1, result.stderr
    first, second = result.stdout.splitlines()
    assert first.startswith(f"{notes}: error: not an image")
    assert second.startswith(f"{SINGLE / 'single_0000.jpg'}: ") and "error" not in second


def test_a_video_is_no_image_and_predict_says_what_reads_it(tmp_path: Path) -> None:
    clip = tmp_path / "meter.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(64))
    result = predict("--json", str(clip))
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert error.startswith("not an image") and "camera.source" in error and "digitcam run" in error
