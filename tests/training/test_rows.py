"""The row reader: harvested windows, training, export with a free width, and the device's load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from edge.config import ModelSettings, RegionSettings
from edge.rows_model import BLANK, ROW_HEIGHT, ROW_MAX_WIDTH, greedy, rows_for
from export import rows_export
from export.onnx_export import ExportError
from export.rows_export import export_rows
from export.rows_export import main as export_main
from tests.conftest import load_script
from training.rows import RowNet, exact, main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"


def test_the_network_gives_one_column_of_digits_and_blank_per_four_of_any_width() -> None:
    net = RowNet().eval()
    for width in (16, 100, 384):
        with torch.no_grad():
            out = net(torch.zeros(2, 1, ROW_HEIGHT, width))
        assert out.shape == (2, width // 4, BLANK + 1)


def test_a_window_counts_as_read_only_when_decoded_exactly_as_the_device_does() -> None:
    class Fixed(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            logits = torch.full((len(x), 6, BLANK + 1), -9.0)
            for t, k in enumerate([3, 3, BLANK, 3, 7, BLANK]):
                logits[:, t, k] = 9.0
            return logits

    x = np.zeros((2, ROW_HEIGHT, 24), np.float32)
    assert exact(Fixed(), x, ["337", "337"]) == 1.0
    assert exact(Fixed(), x, ["37", "3377"]) == 0.0
    assert greedy(np.eye(BLANK + 1)[[3, 3, BLANK, 3, 7, BLANK]]) == "337"


def test_harvests_trains_exports_and_reads_on_the_device(tmp_path: Path) -> None:
    data = tmp_path / "mnist"
    data.mkdir()
    for kind in ("images-idx3", "labels-idx1"):  # the fixture's test images as a training split
        (data / f"train-{kind}-ubyte.gz").symlink_to(SAMPLE / f"t10k-{kind}-ubyte.gz")
    harvest = load_script("mock_harvest_rows", ROOT / "mock_frames" / "harvest.py")
    out = tmp_path / "harvest"
    args = ["--data-dir", str(data), "--numbers", "0", "--single", "0", "--rows", "24",
            "--val-size", "100", "--out", str(out)]  # fmt: skip
    assert harvest.main(args) == 0
    assert json.loads((out / "harvest.json").read_text())["rows"] == 24
    rows = np.load(out / "rows.npz")
    assert rows["x"].shape == (24, ROW_HEIGHT, ROW_MAX_WIDTH)
    assert all(2 <= len(v) <= 6 and v.isdigit() for v in rows["label"])
    # Dark writing on paper near 0, as the device prepares a row (a faint pencil number
    # under glare may stay nearer 0).
    assert np.mean([float(x.min()) < -1.5 for x in rows["x"].astype(np.float32)]) > 0.8
    checkpoint = tmp_path / "rows.pt"
    assert main([str(out / "rows.npz"), "--epochs", "1", "--out", str(checkpoint)]) == 0
    # The checkpoint says what it was trained with.
    recipe = torch.load(checkpoint, weights_only=False)["recipe"]
    assert (recipe["windows"], recipe["epochs"], recipe["channels"]) == (24, 1, [24, 48, 64, 64])
    # Fine-tuning starts from a checkpoint's network, whatever shape the options name.
    tuned = tmp_path / "tuned.pt"
    args = [str(out / "rows.npz"), "--epochs", "1", "--lr", "1e-6", "--init", str(checkpoint),
            "--channels", "8", "8", "8", "8", "--out", str(tuned)]  # fmt: skip
    assert main(args) == 0
    before = torch.load(checkpoint, weights_only=False)
    after = torch.load(tuned, weights_only=False)
    assert after["channels"] == before["channels"] and after["recipe"]["init"] == str(checkpoint)
    drift = max(float((after["state_dict"][k].float() - v.float()).abs().max())
                for k, v in before["state_dict"].items() if k.endswith("weight"))  # fmt: skip
    assert drift < 1e-3  # the weights it started from, barely moved at that learning rate
    onnx_file = tmp_path / "rows.onnx"
    assert (
        export_main([str(checkpoint), "--out", str(onnx_file), "--int8", str(out / "rows.npz")])
        == 0
    )
    small = tmp_path / "rows-int8.onnx"
    assert small.stat().st_size < onnx_file.stat().st_size
    page = np.full((120, 300), 210, np.uint8)
    page[40:80, 100:106] = 20
    for path in (onnx_file, small):  # the device loads and reads either
        model = rows_for(ModelSettings(rows_path=path), [RegionSettings(kind="number")])
        assert model is not None and model.version.startswith("rows-ctc-")
        read = model.read(page, [(95, 40, 20, 40), (140, 40, 20, 40)])
        assert read is not None and set(read.text) <= set("0123456789")
        assert 0.0 <= read.sureness() <= 1.0
    assert model.version.endswith("-int8")
    meta = {p.key: p.value for p in onnx.load(str(small)).metadata_props}
    assert meta["weights"].startswith("convolutions in 8 bits")


def test_an_8_bit_row_reader_that_reads_sure_rows_otherwise_is_refused(
    tmp_path, monkeypatch
) -> None:
    net = RowNet().eval()
    fp32 = tmp_path / "rows.onnx"
    export_rows(net, {}, "test", fp32)
    rng = np.random.default_rng(4)
    windows = [rng.normal(0, 1, (ROW_HEIGHT, 4 * int(rng.integers(8, 40)))).astype(np.float32)
               for _ in range(12)]  # fmt: skip
    # Every window counted as read surely, and agreement asked beyond what any file gives.
    monkeypatch.setattr(rows_export, "INT8_SURE", 0.0)
    monkeypatch.setattr(rows_export, "INT8_AGREEMENT", 1.01)
    with pytest.raises(ExportError, match=r"windows rows\.onnx reads surely"):
        rows_export.export_int8(fp32, windows)
    assert not (tmp_path / "rows-int8.onnx").exists()  # no file left to install by mistake


def test_a_harvested_window_is_cut_to_the_width_the_device_gives_it() -> None:
    window = np.zeros((ROW_HEIGHT, ROW_MAX_WIDTH), np.float16)
    window[5:20, 3:37] = -2.0  # ink to column 36: 37 columns, a multiple of 4 is 40
    assert rows_export.trimmed(window).shape == (ROW_HEIGHT, 40)
    assert rows_export.trimmed(np.zeros((ROW_HEIGHT, 64))).shape == (ROW_HEIGHT, 8)


def training_mnist(tmp_path: Path) -> Path:
    """The fixture's test images laid out as a training split."""
    data = tmp_path / "mnist"
    data.mkdir(exist_ok=True)
    for kind in ("images-idx3", "labels-idx1"):
        link = data / f"train-{kind}-ubyte.gz"
        if not link.exists():
            link.symlink_to(SAMPLE / f"t10k-{kind}-ubyte.gz")
    return data


def test_generate_frames_give_windows_of_light_writing_turned_dark(tmp_path: Path) -> None:
    harvest = load_script("mock_harvest_rows_hard", ROOT / "mock_frames" / "harvest.py")
    out = tmp_path / "hard"
    args = ["--data-dir", str(training_mnist(tmp_path)), "--numbers", "0", "--single", "0",
            "--rows", "40", "--rows-scenario", "hard", "--val-size", "100",
            "--out", str(out)]  # fmt: skip
    assert harvest.main(args) == 0
    rows = np.load(out / "rows.npz")
    # generate.py's hard frames: a number of 1-5 digits on nearly every frame.
    assert 30 <= len(rows["label"]) <= 40
    assert all(1 <= len(v) <= 5 and v.isdigit() for v in rows["label"])
    # Chalk on a dark board is turned round like any other light writing: the ink is dark.
    assert np.mean([float(x.min()) < -1.5 for x in rows["x"].astype(np.float32)]) > 0.8


def test_the_parallel_harvest_writes_one_rows_file_per_run(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    mnist = str(training_mnist(tmp_path))
    env = dict(os.environ, MNIST_DIR=mnist, PYTHON=sys.executable, SPREAD="100")
    done = subprocess.run(
        ["bash", str(ROOT / "mock_frames" / "harvest_rows.sh"), str(out), "1", "2", "6"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    files = sorted(out.glob("*/rows.npz"))
    # Each of the two jobs runs at least once (more when a run ends within the second).
    assert {"0_0", "1_0"} <= {f.parent.name for f in files}, done.stderr
    assert f"{len(files)} runs" in done.stdout
    # Job 0 writes the wild renderer's numbers, job 1 generate.py's hard frames.
    assert json.loads((out / "1_0" / "harvest.json").read_text())["rows"] >= 4
    assert all(len(np.load(f)["label"]) >= 4 for f in files)


def test_the_parallel_harvest_takes_another_mix_and_seeds(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    mnist = str(training_mnist(tmp_path))
    env = dict(os.environ, MNIST_DIR=mnist, PYTHON=sys.executable, SPREAD="100",
               ROWS_MIX="wild-continental: hard:", ROWS_SEED="70000")  # fmt: skip
    # No time at all: still one run per job, however late a busy machine starts them.
    subprocess.run(
        ["bash", str(ROOT / "mock_frames" / "harvest_rows.sh"), str(out), "0", "2", "4"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert sorted(f.parent.name for f in out.glob("*/rows.npz")) == ["0_0", "1_0"]
    scenarios = [json.loads((out / f"{j}_0" / "harvest.json").read_text()) for j in (0, 1)]
    assert [s["rows_scenario"] for s in scenarios] == ["wild-continental", "hard"]
    # ROWS_SEED moves every run's seed, so a second machine's harvest repeats none of the first's.
    assert [s["seed"] for s in scenarios] == [70000, 70100]
