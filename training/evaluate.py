"""Evaluate a checkpoint (.pt) or an exported model (.onnx) on the MNIST test set.

    digitcam evaluate edge/models/mnist-cnn.onnx --plot artifacts/confusion.png

Prints accuracy, per-class accuracy, the calibration error (ECE, 15 bins) of `probs` and the
confusion matrix; writes the matrix as a PNG. For a model with the not-digit output it also
prints the share of test digits it calls "not a digit" and how many of a held-out set of
synthetic negatives (made from test digits, with a seed training never uses) it catches.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from training.calibrate import ECE_BINS, called_not_digit, digit_ece
from training.mnist import ensure_mnist, load_split, resolve_data_dir

logger = logging.getLogger(__name__)

NEGATIVES_SEED = 20_000_101  # the held-out negatives; training seeds are small integers


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(prog="digitcam evaluate", description=__doc__)
    p.add_argument("model", type=Path, help="checkpoint .pt or model .onnx")
    p.add_argument("--data-dir", help="MNIST folder (default $DIGITCAM_DATA_DIR or ./data/mnist)")
    p.add_argument("--limit", type=int, default=0, help="only the first N test images")
    p.add_argument("--plot", type=Path, help="write the confusion matrix as a PNG here")
    p.add_argument("--json", type=Path, help="write the figures as JSON here")
    p.add_argument(
        "--negatives",
        type=int,
        default=2000,
        help="held-out synthetic not-digit images to score (models with not_digit)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    if argv is not None and "--printed" in argv:  # the meter-wheel and display model
        from training.printed_eval import main as evaluate_printed

        return evaluate_printed(argv)
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    data_dir = ensure_mnist(resolve_data_dir(args.data_dir), splits=("test",))
    images, labels = load_split(data_dir, "test")
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    probs, not_digit = predict_outputs(args.model, images)
    report = summarise(labels, probs.argmax(1))
    report["ece"] = digit_ece(probs, labels)
    if not_digit is not None:
        report["digits_called_not_digit"] = float(called_not_digit(probs, not_digit[:, 0]).mean())
        if args.negatives:
            from training.negatives import make_negatives

            negatives = make_negatives(
                args.negatives, np.random.default_rng(NEGATIVES_SEED), images, labels
            )
            neg_probs, neg_nd = predict_outputs(args.model, negatives)
            assert neg_nd is not None
            report["negatives"] = len(negatives)
            report["not_digit_recall"] = float(called_not_digit(neg_probs, neg_nd[:, 0]).mean())
        lone = lone_outputs(args.model, images)
        if lone is not None:  # the lone-digit judge: a reading of one digit it doubts is dropped
            from edge.lone import LONE_LIMIT

            report["lone_digits_dropped"] = float((lone >= LONE_LIMIT).mean())
            if args.negatives:
                neg_lone = lone_outputs(args.model, negatives)
                assert neg_lone is not None
                report["lone_negatives_caught"] = float((neg_lone >= LONE_LIMIT).mean())
    print(format_report(args.model, report))
    if args.plot:
        plot_confusion(
            np.array(report["confusion"]), args.plot, args.model.name, report["accuracy"]
        )
        print(f"confusion matrix plot written to {args.plot}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def lone_outputs(model_path: Path, images: np.ndarray) -> np.ndarray | None:
    """`not_digit_lone` [N] of an ONNX file that has it (edge.reader.FrameReader.lone_check),
    else None."""
    from training.model import LONE_OUTPUT

    if model_path.suffix != ".onnx":
        return None
    session = onnx_session(model_path, threads=0)
    if LONE_OUTPUT not in {o.name for o in session.get_outputs()}:
        return None
    return run_batches(session, [LONE_OUTPUT], images)[0].reshape(-1)


def predict(model_path: Path, images: np.ndarray) -> np.ndarray:
    """Probabilities [N,10] from either kind of model file."""
    return predict_outputs(model_path, images)[0]


def predict_outputs(model_path: Path, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """`probs` [N,10] and `not_digit` [N,1] (None for a digits-only model), from either file."""
    if model_path.suffix == ".onnx":
        return onnx_outputs(model_path, images)
    from training.checkpoint import load_checkpoint
    from training.predict import predict_outputs as net_outputs

    net, _ = load_checkpoint(model_path)
    return net_outputs(net, images)


def onnx_session(path: Path, threads: int = 1):
    """An onnxruntime CPU session; imported here so .pt evaluation does not need it."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def median_run_ms(session, image: np.ndarray, runs: int, warm_up: int) -> float:
    """Median wall time of one `session.run` on `image` (all outputs), after warm-up runs."""
    return median_call_ms(lambda _: session.run(None, {"image": image}), runs, warm_up)


def median_call_ms(call: Callable[[int], object], runs: int, warm_up: int) -> float:
    """Median wall time of `call(i)` over runs i = 0, 1, ..., after `warm_up` untimed calls."""
    import time

    for i in range(warm_up):
        call(i)
    times = []
    for i in range(runs):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def onnx_outputs(
    path: Path, images: np.ndarray, batch_size: int = 500
) -> tuple[np.ndarray, np.ndarray | None]:
    """`probs` and `not_digit` (None when the file has no such output) for images [N,28,28]:
    uint8 0..255 or float 0..1."""
    session = onnx_session(path, threads=0)
    names = ["probs"] + [o.name for o in session.get_outputs() if o.name == "not_digit"]
    out = run_batches(session, names, images, batch_size)
    return out[0], out[1] if len(names) > 1 else None


def run_batches(
    session, names: list[str], images: np.ndarray, batch_size: int = 500
) -> list[np.ndarray]:
    """The outputs `names` of a session for images [N,28,28] (uint8 0..255 or float 0..1),
    run in batches; each output for all N images."""
    if len(images) == 0:  # each output's shape, from one blank image, for none
        return [o[:0] for o in session.run(names, {"image": np.zeros((1, 1, 28, 28), np.float32)})]
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    out: list[list[np.ndarray]] = [[] for _ in names]
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size, None].astype(np.float32) / scale
        for i, result in enumerate(session.run(names, {"image": batch})):
            out[i].append(result)
    return [np.concatenate(o) for o in out]


def onnx_probs(path: Path, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Probabilities from an ONNX file for uint8 images [N,28,28]."""
    return onnx_outputs(path, images, batch_size)[0]


def summarise(labels: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy, per-class accuracy and the confusion matrix (rows: truth, columns: predicted)."""
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels.astype(int), predicted.astype(int)), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(1), 1)
    return {
        "images": len(labels),
        "accuracy": float((labels == predicted).mean()),
        "errors": int((labels != predicted).sum()),
        "per_class_accuracy": {str(d): float(per_class[d]) for d in range(10)},
        "confusion": confusion.tolist(),
    }


def format_report(model_path: Path, report: dict) -> str:
    lines = [
        f"model: {model_path}",
        f"test images: {report['images']}, accuracy {report['accuracy']:.2%} "
        f"({report['errors']} errors)",
        f"calibration: ECE {report['ece']:.4f} ({ECE_BINS} bins, top digit probability)",
        *not_digit_lines(report),
        "per-class accuracy: "
        + "  ".join(f"{d}: {acc:.2%}" for d, acc in report["per_class_accuracy"].items()),
        "confusion matrix (rows: true digit, columns: predicted):",
        "      " + "".join(f"{d:>6}" for d in range(10)),
    ]
    for d, row in enumerate(report["confusion"]):
        lines.append(f"{d:>6}" + "".join(f"{n:>6}" for n in row))
    return "\n".join(lines)


def not_digit_lines(report: dict) -> list[str]:
    """The not-digit figures, when the model has that output."""
    if "digits_called_not_digit" not in report:
        return []
    lines = [
        f"not-digit: {report['digits_called_not_digit']:.2%} of the test digits called not a digit"
    ]
    if "not_digit_recall" in report:
        lines.append(
            f"not-digit: {report['not_digit_recall']:.2%} of {report['negatives']} "
            "held-out synthetic negatives called not a digit"
        )
    if "lone_digits_dropped" in report:
        lines.append(
            f"lone-digit judge: {report['lone_digits_dropped']:.2%} of the test digits, read "
            "alone, would be dropped"
            + (
                f"; {report['lone_negatives_caught']:.2%} of the negatives"
                if "lone_negatives_caught" in report
                else ""
            )
        )
    return lines


def plot_confusion(confusion: np.ndarray, path: Path, title: str, accuracy: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=100)
    # Log scale: the diagonal is ~1000 and the errors are single digits.
    ax.imshow(np.log1p(confusion), cmap="Blues")
    for (i, j), n in np.ndenumerate(confusion):
        if n:
            ax.text(
                j,
                i,
                str(n),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if i == j else "black",
            )
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true digit")
    ax.set_title(f"{title}: {accuracy:.2%} on {int(confusion.sum())} MNIST test images")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
