"""How much `digitcam model adapt` helps a writer unlike MNIST's: the README's adapt table.

    python mock_frames/adapt_writers.py --data-dir ../shared/data/mnist

Two constructed writers, MNIST test digits turned and normalised as the reader normalises a
camera digit: the **tuning** writer (test 8000-9999, leaning back 35 degrees), on which the
memory's gain and threshold (edge/adapt.py) were chosen, and the **report** writer (test
5000-7999, leaning forward 40 degrees), only measured. For each, a fresh device (a temporary
SQLite file) holds 25 labelled examples of each digit, `model adapt` runs as on the device,
and the writer's other digits and the 10,000 MNIST test digits are read with the model
before and after.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.adapt import adapt
from edge.config import Settings
from edge.model import DigitModel
from edge.model_install import accuracy, load_active
from edge.store import Store
from edge.store.models import ModelLibrary
from edge.vision.normalise import to_mnist
from training.mnist import load_split, resolve_data_dir

EXAMPLES_PER_DIGIT = 25
# name: (first, end) MNIST test indices, degrees turned (OpenCV: > 0 counter-clockwise, so the
# digit's top leans back), what the writer is for.
WRITERS = {
    "tuning": (8000, 10000, 35.0, "leaning back 35 degrees; chose the gain and threshold"),
    "report": (5000, 8000, -40.0, "leaning forward 40 degrees; report"),
}


def writer(images: np.ndarray, degrees: float) -> np.ndarray:
    """MNIST digits turned by `degrees` and normalised as the reader normalises a camera digit."""
    turn = cv2.getRotationMatrix2D((14, 14), degrees, 1)
    out = [to_mnist(cv2.warpAffine(i, turn, (28, 28)).astype(np.float32) / 255.0) for i in images]
    return (np.stack(out) * 255 + 0.5).clip(0, 255).astype(np.uint8)


def measure(
    name: str,
    images: np.ndarray,
    labels: np.ndarray,
    test: tuple[np.ndarray, np.ndarray],
    model: Path | None = None,
) -> dict[str, float | str]:
    first, end, degrees, _ = WRITERS[name]
    hand, truth = writer(images[first:end], degrees), labels[first:end].astype(int)
    picked = np.concatenate([np.flatnonzero(truth == d)[:EXAMPLES_PER_DIGIT] for d in range(10)])
    others = np.setdiff1d(np.arange(len(truth)), picked)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(storage={"path": Path(tmp) / "state.sqlite"}, model={"path": model})
        store = Store(settings.storage.path, 100)
        for i in picked:
            store.add_label(int(truth[i]), "import", hand[i])
        store.close()
        plain = load_active(settings)
        before = accuracy(plain, hand[others], truth[others])
        mnist_before = accuracy(plain, *test)
        started = time.perf_counter()
        adapted = adapt(settings)
        seconds = time.perf_counter() - started
        learnt = DigitModel(ModelLibrary(settings.storage.path).active_path())  # installed
        after = accuracy(learnt, hand[others], truth[others])
        mnist_after = accuracy(learnt, *test)
    return {
        "version": adapted.version,
        "before": before,
        "after": after,
        "error_cut": (after - before) / (1 - before) if before < 1 else 0.0,
        "mnist_before": mnist_before,
        "mnist_after": mnist_after,
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST .gz files")
    parser.add_argument("--model", type=Path, default=None, help="ONNX file (default: shipped)")
    args = parser.parse_args(argv)
    images, labels = load_split(resolve_data_dir(args.data_dir), "test")
    test = (images, labels.astype(int))
    print(f"model: {args.model or 'shipped'}")
    print(
        "| writer | used for | other digits before -> after | error cut | MNIST test | adapt time |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (first, end, _, what) in WRITERS.items():
        r = measure(name, images, labels, test, args.model)
        print(
            f"| {name}: MNIST test {first}-{end - 1} | {what} | {r['before']:.2%} -> "
            f"{r['after']:.2%} | {r['error_cut']:.0%} | {r['mnist_before']:.2%} -> "
            f"{r['mnist_after']:.2%} | {r['seconds']:.2f} s |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
