"""The default model file: `probs` as before, plus `not_digit`, calibrated, under 300,000 bytes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from export.onnx_export import check_parity
from tests.export.conftest import export_sample
from training.checkpoint import load_checkpoint
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = ROOT / "tests" / "fixtures" / "mnist_sample"
MAX_BYTES = 300_000


@pytest.fixture(scope="module")
def exported(dry_run_checkpoint: Path, sample_data_dir: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("onnx11") / "model.onnx"
    return export_sample(dry_run_checkpoint, out, sample_data_dir)


def test_two_outputs_with_probs_first_and_metadata(
    exported: Path, dry_run_checkpoint: Path
) -> None:
    model = onnx.load(exported)
    assert [o.name for o in model.graph.output] == ["probs", "not_digit", "features"]
    props = {p.key: p.value for p in model.metadata_props}
    assert props["classes"] == "11" and props["not_digit_output"] == "not_digit"
    assert json.loads(props["labels"]) == [str(d) for d in range(10)]
    _, ckpt = load_checkpoint(dry_run_checkpoint)
    assert float(props["temperature"]) == pytest.approx(ckpt["temperature"], rel=1e-5)
    assert float(props["mnist_test_ece"]) == pytest.approx(ckpt["mnist_test_ece"], abs=1e-5)
    assert "mnist_test_ece_before_temperature" in props
    assert json.loads(props["calibration"])["ece_bins"] == 15


def test_probs_are_the_digits_renormalised_and_not_digit_the_rest(exported: Path) -> None:
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    images, _ = load_split(SAMPLE_DIR, "test")
    x = images[:33, None].astype(np.float32) / 255
    probs, not_digit = session.run(["probs", "not_digit"], {"image": x})
    assert probs.shape == (33, 10) and not_digit.shape == (33, 1)
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    assert ((not_digit >= 0) & (not_digit <= 1)).all()
    (only_probs,) = session.run(["probs"], {"image": x})  # what edge code asks for
    assert np.array_equal(only_probs, probs)


def test_parity_covers_both_outputs(exported: Path, dry_run_checkpoint: Path) -> None:
    net, _ = load_checkpoint(dry_run_checkpoint)
    images, _ = load_split(SAMPLE_DIR, "test")
    report = check_parity(net, exported, images[:100])
    assert report["argmax_agreement"] == 1.0 and report["max_abs_diff"] < 1e-4


def test_file_is_small_and_names_no_build_machine(exported: Path) -> None:
    data = exported.read_bytes()
    assert len(data) <= MAX_BYTES, len(data)
    assert b"stack_trace" not in data and str(ROOT).encode() not in data


def test_edge_reads_probs_from_the_eleven_class_file(exported: Path) -> None:
    code = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from edge.model import load_model\n"
        f"m = load_model(Path({str(exported)!r}))\n"
        "p = m.predict(np.zeros((2, 1, 28, 28), np.float32))\n"
        "assert p.shape == (2, 10), p.shape\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_a_lone_digit_judge_is_a_fourth_output_the_device_reads(
    dry_run_checkpoint: Path, sample_data_dir: Path, exported: Path, tmp_path: Path
) -> None:
    import torch

    from training.model import LONE_KEY, ProbabilityNet

    ckpt = torch.load(dry_run_checkpoint, map_location="cpu", weights_only=False)
    net, _ = load_checkpoint(dry_run_checkpoint)
    row = torch.Generator().manual_seed(3)
    ckpt[LONE_KEY] = {"weight": torch.randn(net.width, generator=row), "bias": torch.tensor(0.5)}
    judged = tmp_path / "lone.pt"
    torch.save(ckpt, judged)
    path = export_sample(judged, tmp_path / "lone.onnx", sample_data_dir, "--weights", "float16")
    model = onnx.load(path)
    names = [o.name for o in model.graph.output]
    assert names == ["probs", "not_digit", "features", "not_digit_lone"]
    props = {p.key: p.value for p in model.metadata_props}
    plain = {p.key: p.value for p in onnx.load(exported).metadata_props}
    assert props["not_digit_lone_output"] == "not_digit_lone"
    assert props["version"] != plain["version"]  # another judge, another model
    images, _ = load_split(SAMPLE_DIR, "test")
    x = images[:50, None].astype(np.float32) / 255
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    probs, lone = session.run(["probs", "not_digit_lone"], {"image": x})
    wrapped = ProbabilityNet(net, features=True, lone=ckpt[LONE_KEY]).eval()
    with torch.no_grad():
        want_probs, want_not, _, want_lone = wrapped(torch.from_numpy(x))
    assert np.abs(lone - want_lone.numpy()).max() < 0.01  # float16 weights
    assert np.abs(probs - want_probs.numpy()).max() < 0.01  # the digits as without it
    assert not np.allclose(want_lone.numpy(), want_not.numpy(), atol=0.05)  # its own row

    from edge.model import load_model

    device = load_model(path)
    assert device.judges_lone and not load_model(exported).judges_lone
    assert np.allclose(device.lone_not_digit(x[:, :, :, :]), lone.reshape(-1), atol=1e-6)
