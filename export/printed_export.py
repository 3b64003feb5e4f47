"""Printed-digit checkpoint -> one self-describing ONNX file (`digitcam export` picks it by the
checkpoint's `model_args.kind`).

The graph takes `image` float32 [N,1,32,20]: a wheel or display digit as the camera sees it,
grey, 0..1, either polarity; per-image contrast normalisation, the temperature and the softmax
live inside. It returns `probs` float32 [N,10] (the digit nearest the window's centre line)
and `positions` float32 [N,100] (where a wheel stands, in tenths).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import onnx
import torch

from export.onnx_export import (
    MAX_ABS_DIFF,
    ExportError,
    default_version,
    quantize_int8,
    trace_to_onnx,
)
from training.evaluate import median_run_ms, onnx_session
from training.meter_data import CROP_H, CROP_W, POSITIONS, load_wheels
from training.printed_model import (
    PrintedNet,
    PrintedPair,
    PrintedProbabilityNet,
    example_input,
    load_printed_checkpoint,
    temperatures,
)

POSITIONS_OUTPUT = "positions"
# `--int8`: the convolutions, their ReLUs and poolings and the last layer run in 8-bit integers
# (onnxruntime's static QDQ quantisation, one scale per output channel); the per-image contrast
# normalisation, the temperature, the softmax and the sum of positions into digits stay
# float32: a dim crop's few grey levels would otherwise be rounded away, and probabilities
# rounded to 8 bits no longer sum to 1.
INT8_OPS = ["Conv", "Relu", "MaxPool", "Gemm"]
# The 8-bit file's digit against the float32 file's on the tune wheels: rounding moves an
# unsure crop's answer now and then (4 of the 1,156 tune wheels for the shipped pair); a broken
# conversion moves far more.
MIN_INT8_AGREEMENT = 0.99


def run(args: argparse.Namespace) -> int:
    """`digitcam export CHECKPOINT --out FILE [--meter-data DIR] [--int8]` for a printed
    checkpoint."""
    if args.int8 and not getattr(args, "meter_data", None):
        raise SystemExit(
            "digitcam export --int8: a printed model's 8-bit ranges are set on real wheels; "
            "give --meter-data"
        )
    net, ckpt = load_printed_checkpoint(args.checkpoint)
    version = args.version or default_version(net, ckpt)
    model = export_printed(net, ckpt, version)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, args.out)
    if getattr(args, "meter_data", None):
        images = load_wheels(args.meter_data)["tune"].images[: args.parity_images]
    else:  # no data at hand: parity on noise still catches a broken graph
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (256, CROP_H, CROP_W), dtype=np.uint8)
    report = check_parity(net, args.out, images)
    params = sum(p.numel() for p in net.parameters())
    print(
        f"wrote {args.out} ({args.out.stat().st_size:,} bytes), version {version}, "
        f"{params:,} parameters, temperature " + ", ".join(f"{t:.4f}" for t in temperatures(net))
    )
    print(
        f"parity on {len(images)} crops: max |onnx - torch| = {report['max_abs_diff']:.2e}, "
        f"argmax agreement {report['argmax_agreement']:.2%}"
    )
    if args.int8:
        int8_path = args.out.with_name(args.out.stem + "-int8.onnx")
        wheels = load_wheels(args.meter_data)
        small = write_int8(args.out, int8_path, wheels["train"].images, wheels["tune"].images)
        print(
            f"wrote {int8_path} ({int8_path.stat().st_size:,} bytes, version {small['version']}): "
            f"on {small['crops']} tune wheels the same digit as float32 for "
            f"{small['digit_agreement']:.2%}, max |int8 - float32| = {small['max_abs_diff']:.3f}; "
            f"{small['ms_float32']:.4f} -> {small['ms_int8']:.4f} ms per digit "
            "(the network alone, batch of 8, 1 thread, median)"
        )
    return 0


def write_int8(
    fp32_path: Path, int8_path: Path, train_images: np.ndarray, check_images: np.ndarray
) -> dict:
    """Quantise the exported float32 file to 8 bits (INT8_OPS), its ranges calibrated on
    `train_images` (quantize_int8 draws its share), then compare it with the float32 file on
    `check_images`: ExportError (and no file) when they give the same digit for fewer than
    MIN_INT8_AGREEMENT of them."""
    quantize_int8(fp32_path, int8_path, train_images, INT8_OPS)
    batch = check_images[:, None].astype(np.float32) / 255.0
    sessions = [onnx_session(p) for p in (fp32_path, int8_path)]
    full, small = (s.run(None, {"image": batch}) for s in sessions)
    report = {
        "crops": len(batch),
        "digit_agreement": float((full[0].argmax(1) == small[0].argmax(1)).mean()),
        "max_abs_diff": max(float(np.abs(a - b).max()) for a, b in zip(full, small, strict=True)),
        "version": {p.key: p.value for p in onnx.load(str(int8_path)).metadata_props}["version"],
    }
    if report["digit_agreement"] < MIN_INT8_AGREEMENT:
        int8_path.unlink(missing_ok=True)
        raise ExportError(f"the 8-bit file strays from the float32 one: {report}")
    eight = batch[:8] if len(batch) >= 8 else np.resize(batch, (8, 1, CROP_H, CROP_W))
    for name, session in zip(("ms_float32", "ms_int8"), sessions, strict=True):
        report[name] = median_run_ms(session, eight, 1000, 50) / 8
    return report


def export_printed(net: PrintedNet | PrintedPair, ckpt: dict, version: str) -> onnx.ModelProto:
    """The in-memory ONNX model with metadata, checked by onnx.checker."""
    pair = isinstance(net, PrintedPair)
    wrapped = PrintedProbabilityNet(net).eval()
    model = trace_to_onnx(wrapped, example_input(), ["probs", POSITIONS_OUTPUT])
    model.doc_string = (
        "DigitCam printed-digit classifier (meter wheels, 7-segment displays): image "
        "[N,1,32,20] 0..1 -> probs [N,10], positions [N,100]"
    )
    metadata = {
        "name": "printed-cnn",
        "kind": "printed",
        "labels": json.dumps([str(d) for d in range(10)]),
        "positions": str(POSITIONS),
        "version": version,
        # The contract's key; a printed model is not measured on handwriting.
        "mnist_test_accuracy": "n/a",
        "train_data_sha256": str(ckpt.get("train_data_sha256", "")),
        "created": str(ckpt.get("created", "")),
        "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "input_convention": json.dumps(
            {
                "shape": [None, 1, CROP_H, CROP_W],
                "range": [0, 1],
                "polarity": "any",
                "crop": "one wheel or display digit, resized to 20x32 with INTER_AREA",
                "note": "per-image contrast normalisation is inside the graph",
            }
        ),
        "model_args": json.dumps(ckpt.get("model_args", {})),
        "parameters": str(sum(p.numel() for p in net.parameters())),
        "temperature": ", ".join(f"{t:.6g}" for t in temperatures(net)),
        "calibration": json.dumps(
            {
                "method": "temperature scaling of the position logits"
                + (", each member's; their probabilities averaged" if pair else ""),
                "fitted_on": "tune wheels",
            }
        ),
    }
    onnx.helper.set_model_props(model, metadata)
    onnx.checker.check_model(model, full_check=True)
    return model


def check_parity(net: PrintedNet | PrintedPair, path: Path, images: np.ndarray) -> dict:
    """onnxruntime and torch must agree; raises ExportError when they do not."""
    import onnxruntime as ort

    batch = images[:, None].astype(np.float32) / 255.0
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ours = session.run(None, {"image": batch})
    with torch.no_grad():
        theirs = [t.numpy() for t in net.outputs(torch.from_numpy(batch))]
    diff = max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs, strict=True))
    report = {
        "max_abs_diff": diff,
        "argmax_agreement": float((ours[1].argmax(1) == theirs[1].argmax(1)).mean()),
    }
    if diff > MAX_ABS_DIFF or report["argmax_agreement"] < 1.0:
        raise ExportError(f"onnxruntime disagrees with torch on {path}: {report}")
    return report
