"""Export round trip: one ONNX file with metadata, parity with torch, and the shipped model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from export.onnx_export import ExportError, check_parity
from tests.export.conftest import export_sample
from training.checkpoint import load_checkpoint
from training.mnist import load_split
from training.model import DigitNet

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "edge" / "models" / "mnist-cnn.onnx"
SAMPLE_DIR = ROOT / "tests" / "fixtures" / "mnist_sample"
REQUIRED_METADATA = {"labels", "version", "mnist_test_accuracy", "train_data_sha256", "created"}


@pytest.fixture(scope="module")
def exported(digits_only_checkpoint: Path, sample_data_dir: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("onnx") / "model.onnx"
    return export_sample(digits_only_checkpoint, out, sample_data_dir, "--int8")


def test_export_writes_one_self_describing_file(exported: Path) -> None:
    assert sorted(p.name for p in exported.parent.iterdir()) == ["model-int8.onnx", "model.onnx"]
    model = onnx.load(exported)
    onnx.checker.check_model(model, full_check=True)
    props = {p.key: p.value for p in model.metadata_props}
    assert props.keys() >= REQUIRED_METADATA
    assert json.loads(props["labels"]) == [str(d) for d in range(10)]
    assert [i.name for i in model.graph.input] == ["image"]
    # features: what the last layer sees, for `digitcam model adapt` on the device
    assert [o.name for o in model.graph.output] == ["probs", "features"]
    # The last layer and the memory the device rewrites, named as the graph names them.
    head = json.loads(props["head"])
    names = {init.name for init in model.graph.initializer}
    assert {head[k] for k in ("weight", "bias", "memory_weight", "memory_bias")} <= names


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_exported_model_has_dynamic_batch_and_softmax(exported: Path, batch: int) -> None:
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    images, _ = load_split(SAMPLE_DIR, "test")
    x = images[:batch, None].astype(np.float32) / 255
    probs = session.run(["probs"], {"image": x})[0]
    assert probs.shape == (batch, 10)
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)


def test_parity_check_catches_a_model_that_differs(exported: Path) -> None:
    images, _ = load_split(SAMPLE_DIR, "test")
    other = DigitNet().eval()  # fresh weights: not the network that was exported
    with pytest.raises(ExportError, match="disagrees"):
        check_parity(other, exported, images[:50])


def test_parity_holds_for_the_exported_network(
    exported: Path, digits_only_checkpoint: Path
) -> None:
    net, _ = load_checkpoint(digits_only_checkpoint)
    images, _ = load_split(SAMPLE_DIR, "test")
    report = check_parity(net, exported, images[:100])
    assert report["argmax_agreement"] == 1.0 and report["max_abs_diff"] < 1e-4


def test_shipped_model_scores_99_percent_on_the_sample() -> None:
    session = ort.InferenceSession(str(SHIPPED), providers=["CPUExecutionProvider"])
    images, labels = load_split(SAMPLE_DIR, "test")
    probs = session.run(["probs"], {"image": images[:, None].astype(np.float32) / 255})[0]
    accuracy = float((probs.argmax(1) == labels).mean())
    assert accuracy >= 0.99, accuracy
    props = session.get_modelmeta().custom_metadata_map
    assert props.keys() >= REQUIRED_METADATA
    assert float(props["mnist_test_accuracy"]) >= 0.99
    assert SHIPPED.stat().st_size < 600 * 1024, "the device model stays a few hundred KB"


def test_edge_loads_the_shipped_model_without_torch() -> None:
    code = (
        "import sys, numpy as np\n"
        "from edge.model import load_model\n"
        "m = load_model(None)\n"
        "p = m.predict(np.zeros((2, 1, 28, 28), np.float32))\n"
        "assert p.shape == (2, 10), p.shape\n"
        "assert 'torch' not in sys.modules, 'edge imported torch'\n"
        "print(m.version)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mnist-cnn-")
