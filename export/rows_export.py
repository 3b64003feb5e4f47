"""Row-reader checkpoint (training.rows) -> one self-describing ONNX file.

    python -m export.rows_export artifacts/rows.pt --out artifacts/rows-ctc.onnx

The graph takes `image` float32 [N,1,32,W] (a number's row as edge.rows_model.row_input
prepares it; any width divisible by 4) and returns `probs` float32 [N,W/4,11]: per group of
four columns, the softmax over the ten digits and CTC's blank (index 10). onnxruntime must
agree with torch on rows of several widths or the export fails. The weights are stored as
float16 unless `--weights float32` (half the file; the arithmetic stays float32).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
import torch

from edge.rows_model import ROW_HEIGHT, STRIDE
from export.compact import MAX_DIFF, STORAGE, store_compact
from export.onnx_export import (
    MAX_ABS_DIFF,
    OPSET,
    ExportError,
    default_version,
    strip_trace_metadata,
)
from export.runs_export import ctc_metadata
from training.rows import RowNet, load_checkpoint


class RowProbabilities(torch.nn.Module):
    def __init__(self, net: RowNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image).softmax(-1)


def export_rows(net: RowNet, ckpt: dict, version: str, out: Path, weights: str = "float16") -> None:
    batch = torch.export.Dim("batch", min=1, max=4096)
    quarters = torch.export.Dim("quarters", min=2, max=1024)  # the width in groups of four
    torch.onnx.export(
        RowProbabilities(net).eval(),
        (torch.zeros(2, 1, ROW_HEIGHT, 64),),
        str(out),
        input_names=["image"],
        output_names=["probs"],
        dynamic_shapes={"image": {0: batch, 3: STRIDE * quarters}},
        opset_version=OPSET,
        external_data=False,
        dynamo=True,
        optimize=True,
        verbose=False,
    )
    model = onnx.load(str(out))
    strip_trace_metadata(model)
    model.producer_name = "digitcam-export"
    model.doc_string = (
        f"DigitCam row reader (a number's row, CTC): image [N,1,{ROW_HEIGHT},W] "
        f"-> probs [N,W/{STRIDE},11] (digits 0-9, blank 10)"
    )
    metadata = ctc_metadata("rows-ctc", "rows", net, ckpt, version)
    metadata["weights"] = STORAGE.get(weights, "float32")
    if weights != "float32":
        store_compact(model, set(), weights)
    onnx.helper.set_model_props(model, metadata)
    onnx.checker.check_model(model, full_check=True)
    onnx.save_model(model, str(out))


def check_parity(net: RowNet, path: Path, limit: float = MAX_ABS_DIFF) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for width in (16, 96, 384):
        batch = rng.normal(0, 1, (3, 1, ROW_HEIGHT, width)).astype(np.float32)
        (ours,) = session.run(["probs"], {"image": batch})
        with torch.no_grad():
            theirs = net(torch.from_numpy(batch)).softmax(-1).numpy()
        worst = max(worst, float(np.abs(ours - theirs).max()))
    if worst > limit:
        raise ExportError(f"onnxruntime disagrees with torch on {path}: max difference {worst}")
    return worst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m export.rows_export", description=__doc__)
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--weights",
        choices=("float32", "float16"),
        default="float16",
        help="how the weights are stored (float16: half the file, float32 arithmetic)",
    )
    args = p.parse_args(argv)
    net, ckpt = load_checkpoint(args.checkpoint)
    version = default_version(net, ckpt)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    export_rows(net, ckpt, version, args.out, args.weights)
    diff = check_parity(net, args.out, MAX_DIFF.get(args.weights, MAX_ABS_DIFF))
    print(
        f"wrote {args.out} ({args.out.stat().st_size:,} bytes), version {version}; "
        f"parity max |onnx - torch| = {diff:.2e}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
