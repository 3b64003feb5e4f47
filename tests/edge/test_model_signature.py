"""A valid ONNX file that is not a digit model is refused at start-up, naming the signature.

The models are built here with the `onnx` package: a flatten, one weight matrix and a softmax,
with the input, output, shapes and types a test needs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SIGNATURE = "input 'image' float32 [N,1,28,28] and output 'probs' float32 [N,10]"


def tiny_model(
    path: Path,
    *,
    input_shape: tuple[int | str, ...] = ("N", 1, 28, 28),
    classes: int = 10,
    dtype: int = TensorProto.FLOAT,
    output: str = "probs",
    labels: str | None = None,
) -> Path:
    """image -> Flatten -> MatMul -> Softmax -> output, written to `path`."""
    numpy_type = helper.tensor_dtype_to_np_dtype(dtype)
    features = int(np.prod([d for d in input_shape[1:] if isinstance(d, int)]))
    weight = numpy_helper.from_array(np.full((features, classes), 0.01, numpy_type), "weight")
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["image"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "weight"], ["logits"]),
            helper.make_node("Softmax", ["logits"], [output], axis=1),
        ],
        "tiny",
        [helper.make_tensor_value_info("image", dtype, list(input_shape))],
        [helper.make_tensor_value_info(output, dtype, ["N", classes])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # onnxruntime 1.17 (the oldest allowed) reads up to 9
    if labels is not None:
        helper.set_model_props(model, {"labels": labels})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


BAD_MODELS = {
    "wrong input shape": ({"input_shape": ("N", 3, 32, 32)}, "'image' has shape [N,3,32,32]"),
    "one class": ({"classes": 1}, "'probs' has shape [N,1], not [N,10]"),
    "wrong dtype": ({"dtype": TensorProto.DOUBLE}, "'image' is float64, not float32"),
    "missing output": ({"output": "scores"}, "it has no output 'probs'"),
    "fixed batch": ({"input_shape": (1, 1, 28, 28)}, "'image' has a fixed batch size 1"),
    # Free dimensions pass the declared check; the warm-up batch finds the mismatch.
    "free sizes": ({"input_shape": ("N", "C", "H", "W")}, "fails on a batch [2,1,28,28]"),
    "garbled labels": ({"labels": "0,1,2"}, "metadata 'labels' must be a JSON list of 10"),
}


def digitcam(tmp_path: Path, model: Path, *args: str) -> subprocess.CompletedProcess:
    frames = tmp_path / "frames"
    frames.mkdir(exist_ok=True)
    cv2.imwrite(str(frames / "frame.png"), np.full((60, 80), 255, np.uint8))
    config = tmp_path / "digitcam.toml"
    config.write_text(
        f'device_id = "testcam"\n[camera]\nsource = "{frames}"\nloop = false\n'
        f'[model]\npath = "{model}"\n[storage]\npath = "{tmp_path / "state.sqlite"}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITCAM_")}
    verb, *rest = args
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", verb, "--config", str(config), *rest],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_check_config_refuses_a_model_that_is_not_a_digit_model(tmp_path: Path, case: str) -> None:
    options, problem = BAD_MODELS[case]
    model = tiny_model(tmp_path / "model.onnx", **options)
    result = digitcam(tmp_path, model, "check-config")
    assert result.returncode == 78, result.stderr
    assert problem in result.stderr
    if case != "garbled labels":
        assert SIGNATURE in result.stderr and str(model) in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("verb", [("run", "--once"), ("predict", "frames")])
@pytest.mark.parametrize("case", ["wrong input shape", "one class"])
def test_run_and_predict_exit_78_naming_the_signature(
    tmp_path: Path, verb: tuple[str, ...], case: str
) -> None:
    model = tiny_model(tmp_path / "model.onnx", **BAD_MODELS[case][0])
    args = [str(tmp_path / a) if a == "frames" else a for a in verb]
    result = digitcam(tmp_path, model, *args)
    assert result.returncode == 78, result.stderr
    assert SIGNATURE in result.stderr and BAD_MODELS[case][1] in result.stderr
    assert "Traceback" not in result.stderr


def test_a_model_with_the_signature_is_accepted(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "model.onnx", labels='["0","1","2","3","4","5","6","7","8","9"]')
    assert digitcam(tmp_path, model, "check-config").returncode == 0
    result = digitcam(tmp_path, model, "predict", str(tmp_path / "frames"))
    assert result.returncode == 0, result.stderr
