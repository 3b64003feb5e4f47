"""Store a graph's large weights compactly: float16 (half the file) or 8-bit integers (a
quarter), with the same float32 arithmetic.

The device's model budget is a file size (300 KB), not a parameter count, so a wider network,
or two joined ones (training/join.py), fits when its convolution weights are stored small.
Each such initializer is replaced by a compact one read through a Cast back to float32 (and,
for 8-bit integers, a Mul by one scale per output channel: the largest weight of the channel
is 127) at the top of the graph; onnxruntime folds those nodes into float32 constants when it
loads the model, so inference runs exactly as fast as before and computes in float32. Only
the rounding of the weights changes the results, and `compact_file` measures that against
the float32 graph before the file is kept.

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

MIN_COMPACT_ELEMENTS = 256  # smaller tensors save nothing worth a Cast node
# The compact graph against the float32 one on real digits. float16 keeps 11 bits of mantissa,
# so probabilities move by about 1e-3 at most; 8 bits per weight move them by a few 1e-3,
# 2e-2 at worst on the 10,000 MNIST test digits. A broken conversion moves them far more.
MAX_DIFF = {"float16": 1e-2, "int8": 5e-2}
MIN_AGREEMENT = 0.999
PARITY_IMAGES = 1000
STORAGE = {"float16": "float16 storage", "int8": "int8 storage, one scale per output channel"}


class CompactError(Exception):
    """The compact graph strays from the float32 one."""


def store_compact(model: onnx.ModelProto, keep: set[str], storage: str) -> list[str]:
    """Turn float32 initializers of at least MIN_COMPACT_ELEMENTS (not in `keep`) into
    `storage` ("float16" or "int8") ones read back as float32 by nodes at the top of the graph;
    returns the names converted. Edits `model` in place."""
    graph = model.graph
    converted: list[str] = []
    nodes = []
    for init in list(graph.initializer):
        if (
            init.data_type != TensorProto.FLOAT
            or init.name in keep
            or int(np.prod(init.dims)) < MIN_COMPACT_ELEMENTS
        ):
            continue
        values = numpy_helper.to_array(init)
        graph.initializer.remove(init)
        if storage == "float16":
            half = numpy_helper.from_array(values.astype(np.float16), init.name + "_float16")
            graph.initializer.append(half)
            nodes.append(cast(half.name, init.name))
        else:
            codes, scale = per_channel_int8(values)
            graph.initializer.append(numpy_helper.from_array(codes, init.name + "_int8"))
            graph.initializer.append(numpy_helper.from_array(scale, init.name + "_scale"))
            nodes.append(cast(init.name + "_int8", init.name + "_codes"))
            nodes.append(
                helper.make_node(
                    "Mul",
                    [init.name + "_codes", init.name + "_scale"],
                    [init.name],
                    name=init.name + "_dequantise",
                )
            )
        converted.append(init.name)
    for node in reversed(nodes):  # before every node that reads them
        graph.node.insert(0, node)
    onnx.checker.check_model(model, full_check=True)
    return converted


def cast(source: str, target: str) -> onnx.NodeProto:
    return helper.make_node("Cast", [source], [target], to=TensorProto.FLOAT, name=target + "_cast")


def per_channel_int8(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric 8-bit codes and one float32 scale per output channel (axis 0), shaped to
    broadcast: codes * scale restores the weights to within half a step."""
    channels = values.reshape(values.shape[0], -1)
    scale = np.abs(channels).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    scale = scale.astype(np.float32).reshape(-1, *([1] * (values.ndim - 1)))
    codes = np.clip(np.round(values / scale), -127, 127).astype(np.int8)
    return codes, scale


def compare(full_path: Path, compact_path: Path, images: np.ndarray, storage: str) -> dict:
    """How far the compact graph's outputs stray from the float32 graph's on `images`; raises
    CompactError past MAX_DIFF or below MIN_AGREEMENT of the same argmax."""
    full, small = onnx_outputs(full_path, images), onnx_outputs(compact_path, images)
    diffs = [
        float(np.abs(a - b).max())
        for a, b in zip(full, small, strict=True)
        if a is not None and b is not None
    ]
    report = {
        "max_abs_diff": max(diffs),
        "argmax_agreement": float((full[0].argmax(1) == small[0].argmax(1)).mean()),
    }
    if report["max_abs_diff"] > MAX_DIFF[storage] or report["argmax_agreement"] < MIN_AGREEMENT:
        raise CompactError(f"the {storage} graph strays from the float32 one: {report}")
    return report


def compact_file(
    path: Path, test_images: np.ndarray, test_labels: np.ndarray, storage: str
) -> dict:
    """Rewrite the exported float32 model at `path` with `storage` weights, once it agrees with
    the float32 graph; its metadata then gives the compact file's own MNIST test accuracy
    (`mnist_test_accuracy`, the float32 one kept as `mnist_test_accuracy_float32`)."""
    model = onnx.load(path)
    props = {p.key: p.value for p in model.metadata_props}
    head = json.loads(props.get("head", "{}"))
    keep = {head[k] for k in ("weight", "bias", "memory_weight", "memory_bias") if k in head}
    converted = store_compact(model, keep, storage)
    small_path = path.with_name(path.stem + f".{storage}.onnx")
    onnx.save_model(model, small_path)
    try:
        report = compare(path, small_path, test_images[:PARITY_IMAGES], storage)
        accuracy = float((onnx_outputs(small_path, test_images)[0].argmax(1) == test_labels).mean())
    finally:
        small_path.unlink(missing_ok=True)
    full = props.get("mnist_test_accuracy", "nan")
    props["mnist_test_accuracy_float32"] = full
    props["mnist_test_accuracy"] = f"{accuracy:.4f}"
    props["weights"] = f"{STORAGE[storage]}, float32 arithmetic"
    onnx.helper.set_model_props(model, props)
    onnx.save_model(model, path)
    return {**report, "converted": len(converted), "accuracy": (float(full), accuracy)}
