"""The ONNX digit classifier: one onnxruntime CPU session, created once and warmed up."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

# onnxruntime otherwise phones home with usage telemetry; a device on a home network must not.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
import onnxruntime as ort

logger = logging.getLogger(__name__)

INPUT_NAME = "image"
OUTPUT_NAME = "probs"
# Optional second output [N,1]: the probability that the input is not a digit at all (a line,
# a speck, half a digit, a letter). A model without it is trusted to see only digits.
NOT_DIGIT_NAME = "not_digit"
BUNDLED_MODEL = "mnist-cnn.onnx"


class ModelError(Exception):
    """The model file is missing, unreadable or not a DigitCam digit model."""


def bundled_model_path() -> Path:
    """The model shipped inside the edge package."""
    return Path(str(resources.files("edge") / "models" / BUNDLED_MODEL))


@dataclass
class DigitModel:
    """Classifies batches of 28x28 MNIST-convention images (white on black, 0..1)."""

    path: Path
    threads: int = 1
    metadata: dict[str, str] = field(init=False)
    labels: list[str] = field(init=False)
    rejects: bool = field(init=False)  # has the not_digit output
    _session: ort.InferenceSession = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.path.is_file():
            raise ModelError(f"model file {self.path} does not exist (model.path)")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(self.path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises several private exception types
            raise ModelError(f"model file {self.path} cannot be loaded: {exc}") from None
        self._check_signature()
        self.rejects = NOT_DIGIT_NAME in {o.name for o in self._session.get_outputs()}
        self.metadata = dict(self._session.get_modelmeta().custom_metadata_map)
        self.labels = json.loads(self.metadata.get("labels", "[]")) or [str(d) for d in range(10)]
        self.predict(np.zeros((1, 1, 28, 28), np.float32))  # warm-up: first run allocates
        logger.info(
            "model loaded path=%s version=%s threads=%d", self.path, self.version, self.threads
        )

    def _check_signature(self) -> None:
        inputs = {i.name: i for i in self._session.get_inputs()}
        outputs = {o.name for o in self._session.get_outputs()}
        if INPUT_NAME not in inputs or OUTPUT_NAME not in outputs:
            raise ModelError(
                f"model file {self.path} needs input '{INPUT_NAME}' and output '{OUTPUT_NAME}', "
                f"has {sorted(inputs)} -> {sorted(outputs)}"
            )

    @property
    def version(self) -> str:
        """The model's name and version as carried in every reading."""
        return f"mnist-cnn-{self.metadata.get('version', 'unknown')}"

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities [N,10] for a float32 batch [N,1,28,28]."""
        if batch.shape[0] == 0:
            return np.zeros((0, len(self.labels) or 10), np.float32)
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        return self._session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]

    def scores(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities [N,10] and not-a-digit probabilities [N] (0 without that output)."""
        if batch.shape[0] == 0 or not self.rejects:
            return self.predict(batch), np.zeros((batch.shape[0],), np.float32)
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        probs, not_digit = self._session.run([OUTPUT_NAME, NOT_DIGIT_NAME], {INPUT_NAME: batch})
        return probs, not_digit.reshape(-1)


def meta_float(text: str | None) -> float | None:
    """A number from the ONNX metadata (stored as text), None when absent or garbled."""
    try:
        return float(text) if text else None
    except ValueError:
        return None


def load_model(path: Path | None, threads: int = 1) -> DigitModel:
    """The configured model, or the bundled one when no path is set."""
    return DigitModel(path or bundled_model_path(), threads=threads)
