"""`digitcam bench --quick`: every section is measured and written, with sane values.

No timing thresholds: the speed targets are judged by the benchmark itself, not here.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from edge.bench.baseline import unavailable_reason
from edge.bench.cli import main as bench_main
from edge.config import Settings
from tests.drills.harness import paper_frame, sample_digits

ROOT = Path(__file__).resolve().parents[2]
HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture
def frames_dir(tmp_path: Path) -> Path:
    """Two scenarios: four clean one-digit camera frames, and two broken files."""
    images, values = sample_digits(4)
    single = tmp_path / "frames" / "single"
    single.mkdir(parents=True)
    expected = {}
    for i, (image, value) in enumerate(zip(images, values, strict=True)):
        ok, data = cv2.imencode(".jpg", paper_frame(image), [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        (single / f"single_{i:04d}.jpg").write_bytes(data.tobytes())
        expected[f"single_{i:04d}.jpg"] = {"value": value, "status": "ok"}
    (single / "expected.json").write_text(json.dumps(expected))
    junk = tmp_path / "frames" / "junk"
    junk.mkdir()
    (junk / "empty.jpg").write_bytes(b"")
    (junk / "notes.png").write_bytes(b"not an image\n")
    (junk / "expected.json").write_text(
        json.dumps(
            {
                "empty.jpg": {"value": None, "status": "error"},
                "notes.png": {"value": None, "status": "error"},
            }
        )
    )
    return tmp_path / "frames"


@pytest.fixture
def untrained_checkpoint(tmp_path: Path) -> Path:
    """A checkpoint with fresh random weights: not the one the shipped ONNX came from."""
    torch = pytest.importorskip("torch")
    from training.model import DigitNet, ModelConfig

    path = tmp_path / "untrained.pt"
    torch.save({"model_args": ModelConfig().to_dict(), "state_dict": DigitNet().state_dict()}, path)
    return path


@pytest.mark.skipif(not HAS_TORCH, reason="the baseline column needs the train extra")
def test_quick_bench_writes_every_section(
    tmp_path: Path, frames_dir: Path, untrained_checkpoint: Path
) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge.cli",
            "bench",
            "--quick",
            "--frames-dir",
            str(frames_dir),
            "--out",
            str(out),
            "--checkpoint",
            str(untrained_checkpoint),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Targets" in proc.stdout and str(out) in proc.stdout
    result = json.loads(out.read_text())
    assert result["mode"] == "quick"
    kernel = result["machine"]["kernel"]  # the RSS of mapped libraries depends on it
    assert kernel.startswith("Linux ") and f", {kernel}; Python" in proc.stdout
    # The networks a number's frame went through are named: the row reader is on by default.
    row_reader = result["model"]["row_reader"]
    assert row_reader.startswith("rows-ctc-") and f"row reader {row_reader}" in proc.stdout
    assert result["model"]["run_reader"] is None and "run reader" not in proc.stdout
    assert result["inputs"]["camera_frames"] == 4 and result["inputs"]["digits"] == 4
    for name, stat in result["stages_ms"].items():
        assert 0 < stat["median"] <= stat["p95"], name
    for name, stat in result["inference_ms"].items():
        assert 0 < stat["median"] <= stat["p95"], name
    assert result["replay"]["single"]["fps"] > 0
    assert result["replay"]["junk"]["bad_frames"] == result["replay"]["junk"]["frames"]
    assert result["accuracy"]["single"] == {
        "frames": 4,
        "right": 4,
        "single_digit_frames": 4,
        "single_digit_right": 4,
    }
    assert result["accuracy"]["junk"]["right"] == 2, "both broken files are refused"

    baseline = result["baseline"]
    assert baseline["available"]
    assert baseline["frame_ms"]["frame"]["median"] > 0
    assert baseline["inference_per_digit_ms"]["median"] > 0
    assert baseline["accuracy"]["single"]["single_digit_frames"] == 4
    assert baseline["parity"]["same_weights"] is False, "random weights are not the ONNX model"
    assert "NOT this checkpoint" in proc.stdout

    daemon = result["daemon"]
    assert daemon["frames"] >= 100 and daemon["reached_target"]
    assert 20 < daemon["rss_warm_mb"] < 2000 and 20 < daemon["rss_after_mb"] <= daemon["hwm_mb"]
    # The RSS split into the daemon's own memory and the library files it maps: the two make
    # up the figure (read a moment after it), and the report names both.
    own, files = daemon["rss_anon_mb"], daemon["rss_file_mb"]
    assert own > 5 and files > 5 and abs(own + files - daemon["rss_after_mb"]) < 5
    assert f"{own:.1f} MB the daemon's own memory, RssAnon; {files:.1f} MB" in proc.stdout
    assert daemon["torch_loaded"] is False and daemon["onnxruntime_loaded"] is True
    assert 0 < daemon["cold_start_s"] < 60
    assert daemon["exit_code"] == 0, "the daemon stops cleanly on SIGTERM"
    assert daemon["threads"] <= 3, "one OpenBLAS thread each for numpy and OpenCV, not one per core"

    served = result["daemon_api"]  # the same daemon serving the HTTP API and page
    assert served["api"] is True and served["reached_target"] and served["exit_code"] == 0
    assert served["threads"] > daemon["threads"], "the API's server thread ran"
    assert "with the API on (api.enabled): RSS" in proc.stdout

    assert len(result["targets"]) == 6
    assert {t["result"] for t in result["targets"]} <= {"PASS", "MISS"}
    for target in result["targets"]:
        assert (target["held_back_by"] is not None) == (target["result"] == "MISS")


def test_baseline_is_skipped_with_a_hint_without_the_train_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    assert "pip install 'digitcam[train]'" in (unavailable_reason(tmp_path / "x.pt") or "")


def test_baseline_is_skipped_naming_a_missing_checkpoint(tmp_path: Path) -> None:
    if not HAS_TORCH:
        pytest.skip("without torch the train extra is what is missing")
    missing = tmp_path / "missing.pt"
    assert str(missing) in (unavailable_reason(missing) or "")


def test_no_frames_exits_1_naming_the_folder(tmp_path: Path, capsys) -> None:
    assert (
        bench_main(Settings(), ["--frames-dir", str(tmp_path), "--out", str(tmp_path / "b.json")])
        == 1
    )
    assert str(tmp_path) in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists()
