"""Row-reader checkpoint (training.rows) -> one self-describing ONNX file.

    python -m export.rows_export artifacts/rows.pt --out artifacts/rows-ctc.onnx \
        [--int8 artifacts/harvest-rows-cal/rows.npz]

The graph takes `image` float32 [N,1,32,W] (a number's row as edge.rows_model.row_input
prepares it; any width divisible by 4) and returns `probs` float32 [N,W/4,11]: per group of
four columns, the softmax over the ten digits and CTC's blank (index 10). onnxruntime must
agree with torch on rows of several widths or the export fails. The weights are stored as
float16 unless `--weights float32` (half the file; the arithmetic stays float32).

`--int8 ROWS_NPZ...` also writes `<out>-int8.onnx`: every convolution (the 2-D ones and those
along the columns), ReLU and pooling in 8-bit integers (onnxruntime's static QDQ, one scale per
output channel), the softmax float32, the ranges set on every other window of the harvests
given (`harvest.py --rows`: windows as the device cuts them). The export refuses it when, of
the other windows that the exported file reads at least INT8_SURE sure (where the device acts
on its reading), more than 1 in 100 are read as another number; it prints that agreement, the
agreement over all of them, and both files' time for a window of their median width.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
import torch

from edge.rows_model import ROW_HEIGHT, STRIDE, greedy, sequence_probability
from export.compact import MAX_DIFF, STORAGE, store_compact
from export.onnx_export import (
    MAX_ABS_DIFF,
    OPSET,
    ExportError,
    default_version,
    quantize_qdq,
    set_metadata,
    strip_trace_metadata,
)
from export.runs_export import ctc_metadata
from training.evaluate import median_run_ms, onnx_session
from training.rows import RowNet, load_checkpoint, load_rows

# `--int8`: every convolution (2-D, and 1-D along the columns), ReLU and pooling in 8 bits.
INT8_OPS = ["Conv", "Relu", "MaxPool"]
INT8_AGREEMENT = 0.99  # of the check windows read surely, read as the same number by both files
INT8_SURE = 0.9  # "surely": as sure as the row reader must be to void a number (ROW_VETO)
INT8_WEIGHTS = "convolutions in 8 bits (QDQ, one scale per output channel), the softmax float32"


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


def trimmed(window: np.ndarray) -> np.ndarray:
    """A harvested window [ROW_HEIGHT, W] without the zero columns that pad it to the widest,
    as wide as the device makes it (a multiple of STRIDE, at least two)."""
    inked = np.nonzero(np.abs(window).max(axis=0) > 0)[0]
    width = int(inked[-1]) + 1 if inked.size else 0
    width = max(2 * STRIDE, -(-width // STRIDE) * STRIDE)
    return np.ascontiguousarray(window[:, :width], np.float32)


def read_texts(session, windows: list[np.ndarray]) -> tuple[list[str], list[float]]:
    """The number one session reads in each window, and how sure it is of it."""
    texts, sure = [], []
    for window in windows:
        (probs,) = session.run(["probs"], {"image": window[None, None]})
        texts.append(greedy(probs[0]))
        sure.append(sequence_probability(probs[0], texts[-1]) if texts[-1] else 0.0)
    return texts, sure


def export_int8(fp32_path: Path, windows: list[np.ndarray]) -> tuple[Path, dict[str, float]]:
    """`<fp32_path>-int8.onnx` quantised on every other window (from the first) and checked on
    the rest: its path and what the check found (`sure`: the share of the windows the exported
    file reads INT8_SURE sure that both read alike; `all`: of every window; `windows` and
    `sure_windows`, how many;
    `width`, `before_ms`, `after_ms`: both files' median time for a window of the check's
    median width, one thread). ExportError (and no file) when `sure` is under INT8_AGREEMENT."""
    int8_path = fp32_path.with_name(fp32_path.stem + "-int8.onnx")
    calibrate, check = windows[0::2], windows[1::2]
    quantize_qdq(fp32_path, int8_path, [{"image": w[None, None]} for w in calibrate], INT8_OPS)
    set_metadata(int8_path, weights=INT8_WEIGHTS)
    sessions = [onnx_session(p) for p in (fp32_path, int8_path)]
    (before, sure), (after, _) = (read_texts(s, check) for s in sessions)
    alike = np.array([a == b for a, b in zip(before, after, strict=True)])
    surely = np.array(sure) >= INT8_SURE
    sure_share = float(alike[surely].mean()) if surely.any() else 1.0
    if sure_share < INT8_AGREEMENT:
        int8_path.unlink(missing_ok=True)
        raise ExportError(
            f"{int8_path} reads {sure_share:.1%} of the {int(surely.sum())} windows "
            f"{fp32_path.name} reads surely as it does (at least {INT8_AGREEMENT:.0%} needed)"
        )
    typical = sorted(check, key=lambda w: w.shape[1])[len(check) // 2][None, None]
    before_ms, after_ms = (median_run_ms(s, typical, 300, 30) for s in sessions)
    found = {
        "sure": sure_share,
        "all": float(alike.mean()) if alike.size else 1.0,
        "windows": float(len(check)),
        "sure_windows": float(surely.sum()),
        "width": float(typical.shape[-1]),
        "before_ms": before_ms,
        "after_ms": after_ms,
    }
    return int8_path, found


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
    p.add_argument(
        "--int8",
        type=Path,
        nargs="+",
        metavar="ROWS_NPZ",
        help="also write <out>-int8.onnx, its 8-bit ranges set on these harvested windows "
        "(harvest.py --rows)",
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
    if args.int8:
        x, _ = load_rows(args.int8)
        int8_path, found = export_int8(args.out, [trimmed(w) for w in x])
        print(
            f"wrote {int8_path} ({int8_path.stat().st_size:,} bytes): the same number as "
            f"{args.out.name} in {found['sure']:.1%} of the {int(found['sure_windows'])} "
            f"windows it reads {INT8_SURE:.0%} sure ({found['all']:.1%} of all "
            f"{int(found['windows'])}); a window {int(found['width'])} columns wide "
            f"{found['before_ms']:.3f} -> {found['after_ms']:.3f} ms (median, one thread)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
