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

from export.onnx_export import MAX_ABS_DIFF, ExportError, default_version, trace_to_onnx
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


def run(args: argparse.Namespace) -> int:
    """`digitcam export CHECKPOINT --out FILE [--meter-data DIR]` for a printed checkpoint."""
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
    return 0


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
