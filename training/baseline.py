"""The usual alternative, kept as a yardstick: how the earlier FastAPI classifier read an image.

    PIL decodes the bytes -> grey ('L') -> the WHOLE image resized to 28x28 -> inverted when
    the background is light -> the PyTorch network, eager, one image per call.

It uses the same trained weights as the shipped ONNX model (the checkpoint it was exported
from), so `digitcam bench` can show what our preprocessing (finding, cropping and centring
each digit) and the ONNX runtime each buy, in speed and in accuracy, on the same frames.

Inversion: MNIST digits are white on black, camera frames are dark ink on light paper.
Without any inversion this path reads nearly every frame wrong, which teaches nothing, so
it gets the naive fix such demos use: invert when the mean grey is above the middle.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from training.checkpoint import load_checkpoint

logger = logging.getLogger(__name__)

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "mnist-cnn.pt"
SIZE = 28


class NaiveClassifier:
    """Whole-frame 28x28 classification with PyTorch eager; each step callable for timing."""

    def __init__(self, checkpoint: Path = DEFAULT_CHECKPOINT, threads: int = 1) -> None:
        # One thread, as on a busy device: the comparison with onnxruntime is thread for thread.
        torch.set_num_threads(threads)
        self.checkpoint = Path(checkpoint)
        self.net, self.ckpt = load_checkpoint(self.checkpoint)
        logger.info("baseline loaded %s", self.checkpoint)

    @staticmethod
    def decode(data: bytes) -> Image.Image:
        """PIL decode of the uploaded bytes, converted to 8-bit grey."""
        return Image.open(io.BytesIO(data)).convert("L")

    @staticmethod
    def to_input(image: Image.Image) -> np.ndarray:
        """The whole image squashed to 28x28 [1,1,28,28], 0..1, inverted when the paper is light."""
        small = np.asarray(image.resize((SIZE, SIZE)), dtype=np.float32) / 255.0
        if small.mean() > 0.5:
            small = 1.0 - small
        return small[None, None]

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Digit probabilities [N,10] from the PyTorch network, eager mode, no autograd."""
        with torch.no_grad():
            # The same outputs as the ONNX file's `probs`: temperature, ten digits renormalised.
            probs, _ = self.net.outputs(
                torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
            )
            return probs.numpy()

    def predict(self, data: bytes) -> int:
        """The digit this path reads in an image file's bytes."""
        return int(np.argmax(self.infer(self.to_input(self.decode(data)))[0]))
