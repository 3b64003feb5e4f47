"""Models on the device: install after the check, list, roll back, and swap in a running daemon.

The models are real ONNX files: the shipped one under another version, one that answers 1
whatever it sees (it loads and has the right signature, but reads the labels badly), and a
file that is not a model at all.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from edge.model import bundled_model_path
from edge.store import Store
from tests.conftest import Broker, digitcam_cli, wait_until
from tests.edge.test_app import readings_of, run_daemon
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"
SINGLE = ROOT / "mock_frames" / "single"


def renamed_copy(tmp_path: Path, version: str) -> Path:
    """The shipped model under another version: the same weights, another name in readings."""
    model = onnx.load(bundled_model_path())
    for prop in model.metadata_props:
        if prop.key == "version":
            prop.value = version
    path = tmp_path / f"mnist-{version}.onnx"
    onnx.save(model, path)
    return path


def always_one(tmp_path: Path) -> Path:
    """A valid digit model that answers 1 for every image."""
    bias = np.full(10, -5.0, np.float32)
    bias[1] = 5.0
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["image"], ["flat"]),
            helper.make_node("MatMul", ["flat", "w"], ["logits0"]),
            helper.make_node("Add", ["logits0", "b"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
        ],
        "always_one",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 10])],
        [
            helper.make_tensor("w", TensorProto.FLOAT, [784, 10], np.zeros(7840, np.float32)),
            helper.make_tensor("b", TensorProto.FLOAT, [10], bias),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    helper.set_model_props(model, {"version": "always-one", "labels": ""})
    path = tmp_path / "always-one.onnx"
    onnx.save(model, path)
    return path


def digitcam(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return digitcam_cli(tmp_path, *args)


def model_of_predict(tmp_path: Path) -> str:
    result = digitcam(tmp_path, "predict", "--json", str(SINGLE / "single_0000.jpg"))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["model"]


def label_examples(tmp_path: Path, count: int = 60) -> None:
    """Labelled examples on the device, as corrections and drawings leave them."""
    images, labels = load_split(SAMPLE, "test")
    store = Store(tmp_path / "state.sqlite", 100)
    for image, label in zip(images[:count], labels[:count], strict=True):
        store.add_label(int(label), "drawing", image)
    store.close()


def test_an_installed_model_is_used_by_predict_and_a_rollback_brings_back_the_last(
    tmp_path: Path,
) -> None:
    shipped = model_of_predict(tmp_path)
    label_examples(tmp_path)
    first = digitcam(tmp_path, "model", "install", str(renamed_copy(tmp_path, "first")))
    assert first.returncode == 0, first.stderr
    assert "installed mnist-cnn-first" in first.stdout and "of 60 labelled examples" in first.stdout
    assert model_of_predict(tmp_path) == "mnist-cnn-first"
    assert (
        digitcam(tmp_path, "model", "install", str(renamed_copy(tmp_path, "second"))).returncode
        == 0
    )
    listing = json.loads(digitcam(tmp_path, "model", "list", "--json").stdout)
    assert [m["version"] for m in listing["models"]] == ["mnist-cnn-second", "mnist-cnn-first"]
    assert listing["models"][0]["in_use"] and (tmp_path / "models" / "index.json").is_file()
    assert digitcam(tmp_path, "model", "rollback").returncode == 0
    assert model_of_predict(tmp_path) == "mnist-cnn-first"
    back = digitcam(tmp_path, "model", "rollback")
    assert "shipped in the package is active again" in back.stdout
    assert model_of_predict(tmp_path) == shipped


def test_a_broken_file_and_a_worse_model_are_refused_with_the_reason(tmp_path: Path) -> None:
    label_examples(tmp_path)
    assert (
        digitcam(tmp_path, "model", "install", str(renamed_copy(tmp_path, "good"))).returncode == 0
    )
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07 this is not a model")
    result = digitcam(tmp_path, "model", "install", str(broken))
    assert result.returncode == 1 and "cannot be loaded" in result.stderr
    worse = digitcam(tmp_path, "model", "install", str(always_one(tmp_path)))
    assert worse.returncode == 1
    assert (
        "mnist-cnn-always-one reads" in worse.stderr and "the active mnist-cnn-good" in worse.stderr
    )
    assert model_of_predict(tmp_path) == "mnist-cnn-good", "the active model stays"
    # --force overrides the score, never the signature.
    assert digitcam(tmp_path, "model", "install", "--force", str(broken)).returncode == 1
    forced = digitcam(tmp_path, "model", "install", "--force", str(always_one(tmp_path)))
    assert forced.returncode == 0, forced.stderr
    assert model_of_predict(tmp_path) == "mnist-cnn-always-one"


def test_a_30_fps_replay_swaps_models_between_two_frames_and_loses_no_reading(
    tmp_path: Path, mosquitto: Broker, subscriber
) -> None:
    sub = subscriber(mosquitto, ["digitcam/#"])
    daemon = run_daemon(tmp_path, SINGLE, mosquitto, extra_env={"DIGITCAM_CAMERA__FPS": "30"})
    try:
        wait_until(lambda: len(readings_of(sub)) >= 10, 60, "the first readings")
        installed = digitcam(tmp_path, "model", "install", str(renamed_copy(tmp_path, "swap")))
        assert installed.returncode == 0, installed.stderr
        wait_until(
            lambda: any(r["model"] == "mnist-cnn-swap" for r in readings_of(sub)), 30, "the swap"
        )
        count = len(readings_of(sub))
        assert digitcam(tmp_path, "model", "rollback").returncode == 0
        wait_until(lambda: readings_of(sub)[-1]["model"] != "mnist-cnn-swap", 30, "the rollback")
        wait_until(lambda: len(readings_of(sub)) > count + 5, 30, "readings after the rollback")
    finally:
        daemon.terminate()
        daemon.communicate(timeout=30)
    readings = readings_of(sub)
    seqs = [r["seq"] for r in readings]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no reading lost or repeated"
    models = [r["model"] for r in readings]
    changes = [i for i in range(1, len(models)) if models[i] != models[i - 1]]
    assert len(changes) == 2, "the model changes once at install and once at rollback"
    assert models[changes[0]] == "mnist-cnn-swap" and models[-1] == models[0]


def test_nothing_to_roll_back_to_is_said_plainly(tmp_path: Path) -> None:
    result = digitcam(tmp_path, "model", "rollback")
    assert result.returncode == 1 and "no model was installed" in result.stderr
