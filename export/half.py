"""Store a graph's large weights in half precision: half the file, the same arithmetic.

The device's model budget is a file size (300 KB), not a parameter count, so a wider network
fits when its convolution weights are stored as float16. Each such initializer is replaced by
a float16 one and a Cast back to float32 at the top of the graph; onnxruntime folds those
casts into float32 constants when it loads the model, so inference runs exactly as fast as
before and computes in float32. Only the rounding of the weights changes the results, and
`half_precision` measures that against the float32 graph before the file is kept.

The last layer and the memory (`digitcam model adapt` rewrites their float32 bytes in place)
and small tensors (biases, constants) stay float32.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from training.evaluate import onnx_outputs

MIN_HALF_ELEMENTS = 256  # smaller tensors save nothing worth a Cast node
# The half graph against the float32 one on real digits: float16 keeps 11 bits of mantissa, so
# probabilities move by about 1e-3 at most; a broken conversion moves them far more.
MAX_HALF_DIFF = 1e-2
MIN_HALF_AGREEMENT = 0.999
PARITY_IMAGES = 1000


class HalfError(Exception):
    """The half-precision graph strays from the float32 one."""


def store_half(model: onnx.ModelProto, keep: set[str]) -> list[str]:
    """Turn float32 initializers of at least MIN_HALF_ELEMENTS (not in `keep`) into float16
    ones read through a Cast; returns the names converted. Edits `model` in place."""
    graph = model.graph
    converted: list[str] = []
    casts = []
    for init in list(graph.initializer):
        if (
            init.data_type != TensorProto.FLOAT
            or init.name in keep
            or int(np.prod(init.dims)) < MIN_HALF_ELEMENTS
        ):
            continue
        values = numpy_helper.to_array(init)
        half = numpy_helper.from_array(values.astype(np.float16), init.name + "_float16")
        graph.initializer.remove(init)
        graph.initializer.append(half)
        casts.append(
            helper.make_node(
                "Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=init.name + "_cast"
            )
        )
        converted.append(init.name)
    for node in reversed(casts):  # before every node that reads them
        graph.node.insert(0, node)
    onnx.checker.check_model(model, full_check=True)
    return converted


def compare_half(full_path: Path, half_path: Path, images: np.ndarray) -> dict:
    """How far the half graph's outputs stray from the float32 graph's on `images`; raises
    HalfError past MAX_HALF_DIFF or below MIN_HALF_AGREEMENT of the same argmax."""
    full, half = onnx_outputs(full_path, images), onnx_outputs(half_path, images)
    diffs = [
        float(np.abs(a - b).max())
        for a, b in zip(full, half, strict=True)
        if a is not None and b is not None
    ]
    report = {
        "max_abs_diff": max(diffs),
        "argmax_agreement": float((full[0].argmax(1) == half[0].argmax(1)).mean()),
    }
    if report["max_abs_diff"] > MAX_HALF_DIFF or report["argmax_agreement"] < MIN_HALF_AGREEMENT:
        raise HalfError(f"the half-precision graph strays from the float32 one: {report}")
    return report


def halve_file(path: Path, test_images: np.ndarray, test_labels: np.ndarray) -> dict:
    """Rewrite the exported float32 model at `path` with half-precision weights, once it
    agrees with the float32 graph; its metadata then gives the half file's own MNIST test
    accuracy (`mnist_test_accuracy`, the float32 one kept as `mnist_test_accuracy_float32`)."""
    model = onnx.load(path)
    props = {p.key: p.value for p in model.metadata_props}
    head = json.loads(props.get("head", "{}"))
    keep = {head[k] for k in ("weight", "bias", "memory_weight", "memory_bias") if k in head}
    converted = store_half(model, keep)
    half_path = path.with_name(path.stem + ".half.onnx")
    onnx.save_model(model, half_path)
    try:
        report = compare_half(path, half_path, test_images[:PARITY_IMAGES])
        accuracy = float((onnx_outputs(half_path, test_images)[0].argmax(1) == test_labels).mean())
    finally:
        half_path.unlink(missing_ok=True)
    full = props.get("mnist_test_accuracy", "nan")
    props["mnist_test_accuracy_float32"] = full
    props["mnist_test_accuracy"] = f"{accuracy:.4f}"
    props["weights"] = "float16 storage, float32 arithmetic"
    onnx.helper.set_model_props(model, props)
    onnx.save_model(model, path)
    return {**report, "converted": len(converted), "accuracy": (float(full), accuracy)}
