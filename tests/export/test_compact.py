"""`digitcam export --half` / `--weights int8`: the weights stored in float16 or 8 bits, the
same readings, the head kept float32 so `digitcam model adapt` can still rewrite it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper

from edge.onnx_edit import initializers
from export.compact import CompactError, compare, per_channel_int8, store_compact
from tests.export.conftest import export_sample
from training.evaluate import onnx_outputs
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = ROOT / "tests" / "fixtures" / "mnist_sample"


@pytest.fixture(scope="module")
def three(
    dry_run_checkpoint: Path, sample_data_dir: Path, tmp_path_factory
) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("compact")
    full = export_sample(dry_run_checkpoint, folder / "full.onnx", sample_data_dir)
    half = export_sample(dry_run_checkpoint, folder / "half.onnx", sample_data_dir, "--half")
    int8 = export_sample(
        dry_run_checkpoint, folder / "int8.onnx", sample_data_dir, "--weights", "int8"
    )
    return full, half, int8


@pytest.mark.parametrize(("which", "size", "tolerance"), [(1, 0.6, 1e-2), (2, 0.35, 5e-2)])
def test_compact_file_is_smaller_and_reads_the_same_digits(
    three: tuple[Path, Path, Path], which: int, size: float, tolerance: float
) -> None:
    full, small = three[0], three[which]
    assert small.stat().st_size < size * full.stat().st_size
    images, _ = load_split(SAMPLE_DIR, "test")
    (probs_full, nd_full), (probs_small, nd_small) = (
        onnx_outputs(full, images),
        onnx_outputs(small, images),
    )
    assert (probs_full.argmax(1) == probs_small.argmax(1)).all()
    assert np.abs(probs_full - probs_small).max() < tolerance
    assert nd_full is not None and nd_small is not None
    assert np.abs(nd_full - nd_small).max() < tolerance


@pytest.mark.parametrize(
    ("which", "kind", "storage"),
    [(1, TensorProto.FLOAT16, "float16"), (2, TensorProto.INT8, "int8")],
)
def test_compact_file_says_so_and_keeps_the_head_float32(
    three: tuple[Path, Path, Path], which: int, kind: int, storage: str
) -> None:
    small = three[which]
    model = onnx.load(small)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["weights"].startswith(storage)
    # The accuracy in the metadata is the compact file's own, the float32 one kept beside it.
    assert float(props["mnist_test_accuracy"]) > 0 and "mnist_test_accuracy_float32" in props
    kinds = {init.name: init.data_type for init in model.graph.initializer}
    assert kind in kinds.values()
    head = json.loads(props["head"])
    names = {head[k] for k in ("weight", "bias", "memory_weight", "memory_bias")}
    assert all(kinds[name] == TensorProto.FLOAT for name in names)
    # What `digitcam model adapt` reads before writing new bytes in place.
    assert set(initializers(small.read_bytes(), names)) == names


def test_int8_codes_restore_each_channel_to_half_a_step() -> None:
    weights = np.random.default_rng(0).normal(size=(8, 4, 3, 3)).astype(np.float32)
    weights[3] *= 100  # channels of very different sizes keep their own scale
    weights[5] = 0  # an all-zero channel stays zero, without dividing by zero
    codes, scale = per_channel_int8(weights)
    assert codes.dtype == np.int8 and scale.shape == (8, 1, 1, 1)
    assert np.abs(codes).max() == 127
    restored = codes.astype(np.float32) * scale
    assert (np.abs(restored - weights) <= scale / 2 + 1e-6).all()
    assert not restored[5].any()


def test_a_compact_graph_that_strays_is_refused(
    three: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    full = three[0]
    model = onnx.load(full)
    converted = store_compact(model, keep=set(), storage="float16")
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
    with pytest.raises(CompactError, match="strays"):
        compare(full, broken, images, "float16")
