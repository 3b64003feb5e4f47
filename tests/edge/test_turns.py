"""mock_frames/turns.py: two trees' readers timed frame by frame in turn, in one process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import ModelSettings, RegionSettings
from edge.model import load_model
from edge.rows_model import rows_for

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "mock_frames" / "turns.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    # Its own process: the script swaps the edge modules, which this one must keep.
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300
    )


def test_the_same_tree_twice_reads_every_frame_and_prints_a_ratio() -> None:
    done = run(str(ROOT), str(ROOT), "--rounds", "1")
    assert done.returncode == 0, done.stderr
    # Without --rows, as version 0.1 read: no row reader.
    model = load_model(None).version
    assert done.stdout.splitlines()[:2] == [f"{ROOT}: model {model}, row reader none"] * 2
    times = re.findall(r"median ([0-9.]+) ms, mean ([0-9.]+) ms per frame", done.stdout)
    assert len(times) == 2 and all(float(m) > 0 for m, _ in times)
    ratio = re.search(r"per-frame ratios ([0-9.]+), total ([0-9.]+) \((\d+) frames", done.stdout)
    assert ratio is not None
    assert int(ratio.group(3)) == 96  # single, numbers, hard and blank
    assert 0.6 < float(ratio.group(1)) < 1.6  # the same code: about 1, whatever the machine does
    scenes = dict(
        re.findall(r"(single|numbers|hard|blank) ([0-9.]+)", done.stdout.splitlines()[-1])
    )
    assert set(scenes) == {"single", "numbers", "hard", "blank"}
    assert all(0.5 < float(r) < 2.0 for r in scenes.values())


def test_a_folder_without_the_package_is_refused(tmp_path: Path) -> None:
    done = run(str(tmp_path), str(ROOT), "--rounds", "1")
    assert done.returncode != 0
    assert "not from this tree" in done.stderr


def test_rows_times_each_tree_with_its_own_shipped_row_reader() -> None:
    model = load_model(None).version
    shipped = rows_for(ModelSettings(), [RegionSettings()])
    assert shipped is not None
    with_rows = run(str(ROOT), str(ROOT), "--rounds", "1", "--rows")
    assert with_rows.returncode == 0, with_rows.stderr
    lines = with_rows.stdout.splitlines()
    assert lines[:2] == [f"{ROOT}: model {model}, row reader {shipped.version}"] * 2
    assert re.search(r"per-frame ratios [0-9.]+, total [0-9.]+ \(96 frames", with_rows.stdout)


def test_rows_times_a_tree_from_before_the_row_reader_without_one(tmp_path: Path) -> None:
    # Version 0.1 (the tree a frame's time is held against) has no row reader: with --rows
    # it reads as its daemon did, beside this tree with its own.
    version_01 = "3366f59"
    found = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{version_01}^{{commit}}"], capture_output=True
    )
    if found.returncode != 0:
        pytest.skip("version 0.1 is not in this clone's history")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", version_01, "edge"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(tmp_path)], input=archive.stdout, check=True)
    done = run(str(tmp_path), str(ROOT), "--rounds", "1", "--rows")
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()[:2]
    assert first.startswith(f"{tmp_path}: model ") and first.endswith("row reader none")
    shipped = rows_for(ModelSettings(), [RegionSettings()])
    assert shipped is not None and second.endswith(f"row reader {shipped.version}")
