"""Checkpoint -> one self-describing ONNX file the device runs with onnxruntime.

    digitcam export artifacts/mnist-cnn.pt --out edge/models/mnist-cnn.onnx [--int8]

The graph takes `image` float32 [N,1,28,28] in the MNIST convention (white on black, 0..1)
and returns `probs` float32 [N,10]: normalisation, the calibration temperature and softmax
live inside, so the device repeats no constant. An 11-class model also returns `not_digit`
float32 [N,1], the probability that the image is no digit at all; `probs` stays the ten digit
probabilities (renormalised), so code that reads only `probs` keeps working. Export fails
loudly when onnxruntime and torch disagree on real digits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import cast

import numpy as np
import onnx
import torch

from export.compact import compact_file
from training.calibrate import ECE_BINS
from training.checkpoint import load_checkpoint
from training.evaluate import median_run_ms, onnx_outputs, onnx_probs, onnx_session
from training.mnist import ensure_mnist, load_split, resolve_data_dir
from training.model import (
    DIGITS,
    LONE_KEY,
    LONE_OUTPUT,
    MNIST_MEAN,
    MNIST_STD,
    DigitNet,
    ProbabilityNet,
    count_parameters,
)
from training.predict import predict_outputs

logger = logging.getLogger(__name__)

OPSET = 18
NOT_DIGIT_OUTPUT = "not_digit"
# What the last layer sees, and that layer's weights in the metadata: `digitcam model adapt`
# refits the layer on the device with numpy and writes the new weights over the old bytes.
FEATURES_OUTPUT = "features"
MAX_ABS_DIFF = 1e-4  # float32 reordering noise is ~1e-6; more means a broken graph
# `--int8`: the convolutions, their ReLUs and poolings run in 8-bit integers; the last layer,
# the memory (`digitcam model adapt` rewrites their float32 bytes in place), the judges and the
# softmax stay float32. The ranges are set on INT8_CALIBRATION training images.
INT8_OPS = ["Conv", "Relu", "MaxPool"]
INT8_CALIBRATION = 500  # images drawn evenly across the set given, for any model's 8-bit ranges


class ExportError(Exception):
    """The exported graph is invalid or does not match the checkpoint."""


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(prog="digitcam export", description=__doc__)
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--out", type=Path, default=Path("artifacts/mnist-cnn.onnx"))
    p.add_argument("--data-dir", help="MNIST folder for the parity check (test images)")
    p.add_argument("--meter-data", type=Path, help="printed model: wheel tar folder (parity)")
    p.add_argument("--version", help="model version (default: date and weights hash)")
    p.add_argument("--parity-images", type=int, default=1000)
    p.add_argument("--int8", action="store_true", help="also write a statically quantised model")
    p.add_argument(
        "--weights",
        choices=("float32", "float16", "int8"),
        default="float32",
        help="how the convolution weights are stored: float16 halves the file, int8 (one scale "
        "per output channel) quarters it; the arithmetic stays float32",
    )
    p.add_argument("--half", action="store_true", help="the same as --weights float16")
    return p


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    kind = torch.load(args.checkpoint, map_location="cpu", weights_only=False)["model_args"]
    if kind.get("kind") == "printed":  # the meter-wheel and display model
        from export.printed_export import run as export_printed

        if args.half or args.weights != "float32":  # its check reads MNIST, not wheels
            raise SystemExit(
                "digitcam export: --half and --weights are for the handwriting model; "
                "export the printed model without them"
            )
        return export_printed(args)
    net, ckpt = load_checkpoint(args.checkpoint)
    splits = ("train", "test") if args.int8 else ("test",)
    data_dir = ensure_mnist(resolve_data_dir(args.data_dir), splits=splits)
    test_images, test_labels = load_split(data_dir, "test")
    images = test_images[: args.parity_images]

    version = args.version or default_version(net, ckpt)
    model = export_onnx(net, ckpt, version)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, args.out)
    report = check_parity(net, args.out, images)
    lone = ckpt.get(LONE_KEY)
    if lone is not None:
        report["lone_max_abs_diff"] = check_lone(net, lone, args.out, images, MAX_ABS_DIFF)
    print(
        f"wrote {args.out} ({args.out.stat().st_size:,} bytes), version {version}, "
        f"{count_parameters(net):,} parameters, {net.config.num_classes} classes, "
        f"temperature {float(net.temperature):.4f}"
    )
    print(
        f"parity on {len(images)} test images: "
        f"max |onnx - torch| = {report['max_abs_diff']:.2e}, "
        f"argmax agreement {report['argmax_agreement']:.2%}"
    )
    storage = "float16" if args.half else args.weights
    if storage != "float32":
        small = compact_file(args.out, test_images, test_labels, storage)
        print(
            f"{storage} weights: {small['converted']} weight tensors stored as {storage}, "
            f"{args.out.stat().st_size:,} bytes; max |{storage} - float32| = "
            f"{small['max_abs_diff']:.2e}, argmax agreement {small['argmax_agreement']:.2%}; "
            f"MNIST test {small['accuracy'][0]:.2%} (float32) -> {small['accuracy'][1]:.2%}"
        )
        if lone is not None:  # the compact file's lone-digit judge, as its other outputs
            worst = check_lone(net, lone, args.out, test_images[:1000], 0.01)
            print(f"not_digit_lone: max |{storage} - torch| = {worst:.2e}")
    if args.int8:
        int8_path = args.out.with_name(args.out.stem + "-int8.onnx")
        quantize_int8(args.out, int8_path, load_split(data_dir, "train")[0], INT8_OPS)
        accuracy = {p: onnx_accuracy(p, test_images, test_labels) for p in (args.out, int8_path)}
        set_metadata(
            int8_path,
            mnist_test_accuracy=f"{accuracy[int8_path]:.4f}",
            weights="convolutions in 8 bits (QDQ, one scale per output channel); the last "
            "layer, the memory and the judges float32",
        )
        for path, acc in accuracy.items():
            ms = onnx_latency_ms(path)
            print(f"{path.name}: MNIST test {acc:.2%}, {ms:.4f} ms per image (1 thread, median)")
    return 0


def default_version(net: torch.nn.Module, ckpt: dict) -> str:
    """Date of training plus a hash of the weights: two different models never share it."""
    digest = hashlib.sha256()
    lone = ckpt.get(LONE_KEY) or {}
    for tensor in [*net.state_dict().values(), *(lone[k] for k in sorted(lone))]:
        digest.update(torch.as_tensor(tensor).detach().cpu().numpy().tobytes())
    day = str(ckpt.get("created", ""))[:10].replace("-", "") or time.strftime("%Y%m%d")
    return f"{day}-{digest.hexdigest()[:8]}"


def export_onnx(net: DigitNet, ckpt: dict, version: str) -> onnx.ModelProto:
    """The in-memory ONNX model with metadata, checked by onnx.checker."""
    wrapped = ProbabilityNet(net, features=True, lone=ckpt.get(LONE_KEY)).eval()
    classes = int(net.config.num_classes)
    outputs = ["probs"] if classes == DIGITS else ["probs", NOT_DIGIT_OUTPUT]
    outputs.append(FEATURES_OUTPUT)
    if wrapped.lone is not None:
        outputs.append(LONE_OUTPUT)
    model = trace_to_onnx(wrapped, torch.zeros(2, 1, 28, 28), outputs)
    model.doc_string = "DigitCam digit classifier: image [N,1,28,28] 0..1 -> probs [N,10]" + (
        "" if classes == DIGITS else ", not_digit [N,1]"
    )
    metadata = {
        "labels": json.dumps([str(d) for d in range(10)]),
        "version": version,
        "mnist_test_accuracy": f"{ckpt.get('mnist_test_accuracy', float('nan')):.4f}",
        "train_data_sha256": str(ckpt.get("train_data_sha256", "")),
        "created": str(ckpt.get("created", "")),
        "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "input_convention": json.dumps(
            {
                "shape": [None, 1, 28, 28],
                "range": [0, 1],
                "polarity": "white_on_black",
                "fit_px": 20,
                "centre": "mass",
                "mean": MNIST_MEAN,
                "std": MNIST_STD,
                "note": "mean/std are applied inside the graph",
            }
        ),
        "model_args": json.dumps(ckpt.get("model_args", {})),
        "parameters": str(count_parameters(net)),
        "classes": str(classes),
        "temperature": f"{float(net.temperature):.6g}",
    }
    if classes > DIGITS:
        metadata["not_digit_output"] = NOT_DIGIT_OUTPUT
    if wrapped.lone is not None:
        metadata["not_digit_lone_output"] = LONE_OUTPUT
    metadata["head"] = head_metadata(wrapped, model)
    if "mnist_test_ece" in ckpt:
        metadata["mnist_test_ece"] = f"{ckpt['mnist_test_ece']:.5f}"
        metadata["mnist_test_ece_before_temperature"] = f"{ckpt['mnist_test_ece_before']:.5f}"
        metadata["calibration"] = json.dumps(
            {
                "method": "temperature scaling of the logits, inside the graph",
                "fitted_on": ckpt.get("fitted_on", {}),
                "ece_bins": ECE_BINS,
                "ece_of": "probs on the 10,000 MNIST test digits",
            }
        )
    onnx.helper.set_model_props(model, metadata)
    onnx.checker.check_model(model, full_check=True)
    return model


def trace_to_onnx(
    module: torch.nn.Module, example: torch.Tensor, outputs: list[str]
) -> onnx.ModelProto:
    """`module` as one ONNX graph (input `image`, a free batch axis), trace notes stripped."""
    batch = torch.export.Dim("batch", min=1, max=4096)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        torch.onnx.export(
            module,
            (example,),
            path,
            input_names=["image"],
            output_names=outputs,
            dynamic_shapes={"image": {0: batch}},
            opset_version=OPSET,
            external_data=False,
            dynamo=True,
            optimize=True,
            verbose=False,
        )
        model = onnx.load(path)
    strip_trace_metadata(model)
    model.producer_name = "digitcam-export"
    return model


def head_metadata(wrapped: ProbabilityNet, model: onnx.ModelProto) -> str:
    """Where the device finds the last layer and the memory in the graph, as JSON: the names of
    their initializers (float32, the graph's own bytes, so the device reads them and writes new
    ones in place), the weight's shape and the temperature."""
    last = cast(torch.nn.Linear, wrapped.net.head[-1])
    tensors = {
        "weight": last.weight,
        "bias": last.bias,
        "memory_weight": wrapped.memory.weight,
        "memory_bias": wrapped.memory.bias,
    }
    names = {key: initializer_name(model, tensor) for key, tensor in tensors.items()}
    return json.dumps(
        {
            "output": FEATURES_OUTPUT,
            "weight_shape": list(tensors["weight"].shape),
            **names,
            "temperature": float(wrapped.net.temperature),
        }
    )


def initializer_name(model: onnx.ModelProto, tensor: torch.Tensor) -> str:
    """The one initializer holding exactly this tensor's values."""
    want = tensor.detach().numpy().astype(np.float32)
    found = [
        init.name
        for init in model.graph.initializer
        if tuple(init.dims) == want.shape and np.array_equal(onnx.numpy_helper.to_array(init), want)
    ]
    if len(found) != 1:
        raise ExportError(f"{len(found)} initializers hold a tensor of shape {want.shape}, not 1")
    return found[0]


def strip_trace_metadata(model: onnx.ModelProto) -> None:
    """Drop the exporter's per-node notes (stack traces with local paths, FX node text).

    They are a tenth of the file, say where it was built, and nothing at run time reads them.
    """
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    for value in model.graph.value_info:
        del value.metadata_props[:]


def check_parity(net: DigitNet, path: Path, images: np.ndarray) -> dict:
    """onnxruntime and torch must agree on real digits; raises ExportError when they do not."""
    ours, theirs = onnx_outputs(path, images), predict_outputs(net, images)
    if (ours[1] is None) != (theirs[1] is None):
        raise ExportError(
            f"onnxruntime disagrees with torch on {path}: one has a not_digit "
            "output, the other has none"
        )
    diffs = [
        np.abs(a - b).max()
        for a, b in zip(ours, theirs, strict=True)
        if a is not None and b is not None
    ]
    report = {
        "max_abs_diff": float(max(diffs)),
        "argmax_agreement": float((ours[0].argmax(1) == theirs[0].argmax(1)).mean()),
    }
    if report["max_abs_diff"] > MAX_ABS_DIFF or report["argmax_agreement"] < 1.0:
        raise ExportError(f"onnxruntime disagrees with torch on {path}: {report}")
    return report


def check_lone(net: DigitNet, lone: dict, path: Path, images: np.ndarray, limit: float) -> float:
    """The file's `not_digit_lone` against torch's on real digits (max abs difference);
    ExportError when it strays more than `limit`."""
    wrapped = ProbabilityNet(net, features=True, lone=lone).eval()
    x = torch.from_numpy(images[:, None].astype(np.float32) / 255.0)
    with torch.no_grad():
        theirs = wrapped(x)[-1].numpy()
    ours = onnx_session(path).run([LONE_OUTPUT], {"image": x.numpy()})[0]
    worst = float(np.abs(ours - theirs).max())
    if worst > limit:
        raise ExportError(f"onnxruntime disagrees with torch on {path}'s {LONE_OUTPUT}: {worst}")
    return worst


def onnx_accuracy(path: Path, images: np.ndarray, labels: np.ndarray) -> float:
    return float((onnx_probs(path, images).argmax(1) == labels).mean())


def onnx_latency_ms(path: Path, runs: int = 2000) -> float:
    """Median single-image latency on one thread, after warm-up, computing every output."""
    image = np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32)
    return median_run_ms(onnx_session(path), image, runs, warm_up=100)


def set_metadata(path: Path, **props: str) -> None:
    """Add or replace metadata properties of the ONNX file at `path`, keeping the others."""
    model = onnx.load(path)
    onnx.helper.set_model_props(model, {p.key: p.value for p in model.metadata_props} | props)
    onnx.save_model(model, path)


def quantize_int8(
    fp32_path: Path,
    int8_path: Path,
    calibration: np.ndarray,
    op_types: list[str] | None = None,
) -> None:
    """Static QDQ int8 quantisation, its ranges set on INT8_CALIBRATION of `calibration`'s
    real digits (uint8 images [N,H,W]) drawn evenly across them; only the nodes of `op_types`
    when given (default: every kind onnxruntime can quantise); metadata carried over."""
    pick = np.linspace(0, len(calibration) - 1, min(INT8_CALIBRATION, len(calibration)))
    batches = calibration[pick.astype(int), None].astype(np.float32) / 255
    feeds = [{"image": batches[i : i + 50]} for i in range(0, len(batches), 50)]
    quantize_qdq(fp32_path, int8_path, feeds, op_types)


def quantize_qdq(
    fp32_path: Path,
    int8_path: Path,
    feeds: list[dict[str, np.ndarray]],
    op_types: list[str] | None = None,
) -> None:
    """onnxruntime's static QDQ quantisation of `fp32_path` into `int8_path`: weights int8
    with one scale per output channel, activations uint8, their ranges the extremes the
    model's inputs `feeds` (one dict of input arrays per run) reach; only the nodes of
    `op_types` when given. The metadata is carried over, the version ending in `-int8`."""
    from onnxruntime.quantization import CalibrationDataReader, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(feeds)

        def get_next(self) -> dict | None:
            return next(self._it, None)

    # Shape inference and graph clean-up first, as onnxruntime's quantiser recommends.
    prepared = int8_path.with_name(int8_path.stem + ".prep.onnx")
    quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
    try:
        quantize_static(
            str(prepared),
            str(int8_path),
            Reader(),
            weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8,
            per_channel=True,
            op_types_to_quantize=op_types,
        )
    finally:
        prepared.unlink(missing_ok=True)
    model, source = onnx.load(int8_path), onnx.load(fp32_path)
    props = {p.key: p.value for p in source.metadata_props}
    props["version"] = props.get("version", "") + "-int8"
    onnx.helper.set_model_props(model, props)
    onnx.save_model(model, int8_path)


if __name__ == "__main__":
    raise SystemExit(main())
