"""`digitcam export --half`: the weights stored in float16, the same readings, the head kept
float32 so `digitcam model adapt` can still rewrite it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper

from edge.onnx_edit import initializers
from export.half import HalfError, compare_half, store_half
from tests.export.conftest import export_sample
from training.evaluate import onnx_outputs
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = ROOT / "tests" / "fixtures" / "mnist_sample"


@pytest.fixture(scope="module")
def both(dry_run_checkpoint: Path, sample_data_dir: Path, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("half")
    full = export_sample(dry_run_checkpoint, folder / "full.onnx", sample_data_dir)
    half = export_sample(dry_run_checkpoint, folder / "half.onnx", sample_data_dir, "--half")
    return full, half


def test_half_file_is_smaller_and_reads_the_same_digits(both: tuple[Path, Path]) -> None:
    full, half = both
    assert half.stat().st_size < 0.6 * full.stat().st_size
    images, _ = load_split(SAMPLE_DIR, "test")
    (probs_full, nd_full), (probs_half, nd_half) = (
        onnx_outputs(full, images),
        onnx_outputs(half, images),
    )
    assert (probs_full.argmax(1) == probs_half.argmax(1)).all()
    assert np.abs(probs_full - probs_half).max() < 1e-2
    assert nd_full is not None and nd_half is not None
    assert np.abs(nd_full - nd_half).max() < 1e-2


def test_half_file_says_so_and_keeps_the_head_float32(both: tuple[Path, Path]) -> None:
    _, half = both
    model = onnx.load(half)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["weights"].startswith("float16")
    # The accuracy in the metadata is the half file's own, the float32 one kept beside it.
    assert float(props["mnist_test_accuracy"]) > 0 and "mnist_test_accuracy_float32" in props
    kinds = {init.name: init.data_type for init in model.graph.initializer}
    assert TensorProto.FLOAT16 in kinds.values()
    head = json.loads(props["head"])
    names = {head[k] for k in ("weight", "bias", "memory_weight", "memory_bias")}
    assert all(kinds[name] == TensorProto.FLOAT for name in names)
    # What `digitcam model adapt` reads before writing new bytes in place.
    assert set(initializers(half.read_bytes(), names)) == names


def test_a_half_graph_that_strays_is_refused(both: tuple[Path, Path], tmp_path: Path) -> None:
    full, _ = both
    model = onnx.load(full)
    converted = store_half(model, keep=set())
    assert converted
    # Break one converted weight, as a faulty conversion would.
    for init in model.graph.initializer:
        if init.data_type == TensorProto.FLOAT16:
            values = numpy_helper.to_array(init)
            init.CopyFrom(numpy_helper.from_array(-values, init.name))
            break
    broken = tmp_path / "broken.onnx"
    onnx.save_model(model, broken)
    images, _ = load_split(SAMPLE_DIR, "test")
    with pytest.raises(HalfError, match="strays"):
        compare_half(full, broken, images)
