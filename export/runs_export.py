"""Run-reader checkpoint (training.touching) -> one self-describing ONNX file.

    python -m export.runs_export artifacts/touching.pt --out edge/models/runs-ctc.onnx

The graph takes `image` float32 [N,1,28,112] (a blob of touching digits fitted by
edge.vision.runs.fit_run) and returns `probs` float32 [N,28,11]: per column, the softmax over
the ten digits and CTC's blank (index 10). onnxruntime must agree with torch on synthetic runs
or the export fails.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import onnx
import torch

from edge.vision.runs import RUN_HEIGHT, RUN_WIDTH
from export.onnx_export import MAX_ABS_DIFF, ExportError, default_version, trace_to_onnx
from training.touching import RunConfig, RunNet, make_runs


class RunProbabilities(torch.nn.Module):
    def __init__(self, net: RunNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image).exp()


def load_run_checkpoint(path: Path) -> tuple[RunNet, dict]:
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    net = RunNet(tuple(ckpt["channels"]))
    net.load_state_dict(ckpt["state_dict"])
    return net.eval(), ckpt


def export_runs(net: RunNet, ckpt: dict, version: str) -> onnx.ModelProto:
    model = trace_to_onnx(
        RunProbabilities(net).eval(), torch.zeros(2, 1, RUN_HEIGHT, RUN_WIDTH), ["probs"]
    )
    model.doc_string = (
        f"DigitCam run reader (touching digits, CTC): image [N,1,{RUN_HEIGHT},{RUN_WIDTH}] 0..1 "
        "-> probs [N,T,11] (digits 0-9, blank 10)"
    )
    onnx.helper.set_model_props(model, ctc_metadata("runs-ctc", "runs", net, ckpt, version))
    onnx.checker.check_model(model, full_check=True)
    return model


def ctc_metadata(
    name: str, kind: str, net: torch.nn.Module, ckpt: dict, version: str
) -> dict[str, str]:
    """The metadata a CTC reader's ONNX file carries (the run reader's, the row reader's)."""
    return {
        "name": name,
        "kind": kind,
        "labels": json.dumps([str(d) for d in range(10)] + ["blank"]),
        "version": version,
        "created": str(ckpt.get("created", "")),
        "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "history": json.dumps(ckpt.get("history", [])),
        "parameters": str(sum(p.numel() for p in net.parameters())),
    }


def check_parity(net: RunNet, path: Path, batch: np.ndarray) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (ours,) = session.run(["probs"], {"image": batch})
    with torch.no_grad():
        theirs = net(torch.from_numpy(batch)).exp().numpy()
    diff = float(np.abs(ours - theirs).max())
    if diff > MAX_ABS_DIFF:
        raise ExportError(f"onnxruntime disagrees with torch on {path}: max difference {diff}")
    return diff


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m export.runs_export", description=__doc__)
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    net, ckpt = load_run_checkpoint(args.checkpoint)
    version = default_version(net, ckpt)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(export_runs(net, ckpt, version), args.out)
    rng = np.random.default_rng(0)
    digits = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8) * (rng.random((40, 28, 28)) > 0.7)
    batch, _ = make_runs(digits.astype(np.uint8), np.zeros(40, int), 64, 0, RunConfig())
    diff = check_parity(net, args.out, batch[:, None])
    print(
        f"wrote {args.out} ({args.out.stat().st_size:,} bytes), version {version}; "
        f"parity max |onnx - torch| = {diff:.2e}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
