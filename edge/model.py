"""The ONNX digit classifier: one onnxruntime CPU session, created once and warmed up."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import ClassVar

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
# Optional output [N,F]: what the last layer sees; with the `head` metadata it lets the device
# store its user's digits in the memory beside that layer (edge.adapt).
FEATURES_NAME = "features"
# Optional output [N,1]: a stricter judge of the same kind, asked only about a reading of one
# digit (edge.reader.FrameReader.lone_check): a hole, a ring or a hair on an empty page.
LONE_NAME = "not_digit_lone"
BUNDLED_MODEL = "mnist-cnn.onnx"
# Each name's dimensions after the batch N (which must stay free: the reader sends every
# digit of a frame in one batch).
SIGNATURE = {INPUT_NAME: (1, 28, 28), OUTPUT_NAME: (10,), NOT_DIGIT_NAME: (1,), LONE_NAME: (1,)}
EXPECTED = (
    f"a DigitCam model has input '{INPUT_NAME}' float32 [N,1,28,28] and output "
    f"'{OUTPUT_NAME}' float32 [N,10] (optionally '{NOT_DIGIT_NAME}' float32 [N,1])"
)


class ModelError(Exception):
    """The model file is missing, unreadable or not a DigitCam digit model."""


def cpu_session(path: Path, threads: int, key: str) -> ort.InferenceSession:
    """One onnxruntime CPU session as the device runs every model; ModelError naming `key`."""
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist ({key})")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    # A 300 kB network needs no allocation arena: without it the session holds about
    # 1 MB less after thousands of frames, at the same speed (measured with digitcam bench).
    options.enable_cpu_mem_arena = False
    # Nor memory plans kept per input shape: every new batch size and row width would add
    # one for good (the row reader alone grew by 18 MB over 4,000 windows of random widths,
    # 4 MB without them, at the same speed).
    options.enable_mem_pattern = False
    try:
        return ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises several private exception types
        raise ModelError(f"model file {path} cannot be loaded ({key}): {exc}") from None


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
    judges_lone: bool = field(init=False)  # has the not_digit_lone output
    _session: ort.InferenceSession = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._session = cpu_session(self.path, self.threads, "model.path")
        self._check_signature()
        names = {o.name for o in self._session.get_outputs()}
        self.rejects = NOT_DIGIT_NAME in names
        self.judges_lone = LONE_NAME in names
        self.metadata = dict(self._session.get_modelmeta().custom_metadata_map)
        self.labels = self._read_labels()
        self._warm_up()
        logger.info(
            "model loaded path=%s version=%s threads=%d", self.path, self.version, self.threads
        )

    def _check_signature(self) -> None:
        """Refuse, naming what is wrong, a model the reader could not feed or understand."""
        inputs = self._session.get_inputs()
        outputs = self._session.get_outputs()
        problems = [f"it needs an input '{i.name}'" for i in inputs if i.name != INPUT_NAME]
        for kind, name, args in (("input", INPUT_NAME, inputs), ("output", OUTPUT_NAME, outputs)):
            if name not in {arg.name for arg in args}:
                problems.append(f"it has no {kind} '{name}'")
        for arg in [*inputs, *outputs]:
            if arg.name in SIGNATURE:
                problems += shape_problems(arg, SIGNATURE[arg.name])
        if problems:
            raise ModelError(self._refusal("; ".join(problems)))

    def _read_labels(self) -> list[str]:
        text = self.metadata.get("labels", "")
        try:
            labels = json.loads(text) if text.strip() else []
        except ValueError:
            labels = None
        if labels == []:
            return [str(d) for d in range(10)]
        if not isinstance(labels, list) or len(labels) != 10:
            raise ModelError(
                f"model file {self.path}: metadata 'labels' must be a JSON list of 10 names, "
                f"got {text[:80]!r}"
            )
        return [str(label) for label in labels]

    def _warm_up(self) -> None:
        """Run a batch of two: the first run allocates, and free dimensions meet real data."""
        try:
            probs, not_digit, lone = self.judge_scores(np.zeros((2, 1, 28, 28), np.float32))
        except Exception as exc:  # onnxruntime raises several private exception types
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(self._refusal(f"it fails on a batch [2,1,28,28]: {reason}")) from None
        if (
            probs.shape != (2, 10)
            or probs.dtype != np.float32
            or not_digit.shape != (2,)
            or lone.shape != (2,)
        ):
            raise ModelError(
                self._refusal(
                    f"a batch [2,1,28,28] gives '{OUTPUT_NAME}' {probs.dtype} {list(probs.shape)}"
                    + (f" and '{NOT_DIGIT_NAME}' {list(not_digit.shape)}" if self.rejects else "")
                    + (f" and '{LONE_NAME}' {list(lone.shape)}" if self.judges_lone else "")
                )
            )

    def _refusal(self, problem: str) -> str:
        return (
            f"model file {self.path} is not a DigitCam digit model: {problem}. {EXPECTED}; "
            f"this one has {describe_args(self._session.get_inputs())} -> "
            f"{describe_args(self._session.get_outputs())} (model.path)"
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

    @property
    def adaptable(self) -> bool:
        """Whether `digitcam model adapt` can store the user's digits in this model's memory."""
        names = {o.name for o in self._session.get_outputs()}
        return FEATURES_NAME in names and "head" in self.metadata

    def features(self, batch: np.ndarray) -> np.ndarray:
        """What the last layer sees [N,F] for a float32 batch [N,1,28,28]."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        return self._session.run([FEATURES_NAME], {INPUT_NAME: batch})[0]

    def lone_not_digit(self, batch: np.ndarray) -> np.ndarray:
        """The stricter judge's not-a-digit probabilities [N] (0 without that output)."""
        return self.judge_scores(batch)[2]

    def judge_scores(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`scores` and `lone_not_digit` in one model call (the lone ones 0 without it)."""
        if batch.shape[0] == 0 or not self.judges_lone:
            return (*self.scores(batch), np.zeros((batch.shape[0],), np.float32))
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        names = [OUTPUT_NAME, NOT_DIGIT_NAME, LONE_NAME]
        probs, not_digit, lone = self._session.run(names, {INPUT_NAME: batch})
        return probs, not_digit.reshape(-1), lone.reshape(-1)

    def scores(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities [N,10] and not-a-digit probabilities [N] (0 without that output)."""
        if batch.shape[0] == 0 or not self.rejects:
            return self.predict(batch), np.zeros((batch.shape[0],), np.float32)
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        probs, not_digit = self._session.run([OUTPUT_NAME, NOT_DIGIT_NAME], {INPUT_NAME: batch})
        return probs, not_digit.reshape(-1)


def checked_session(
    path: Path,
    threads: int,
    key: str,
    signature: dict[str, tuple[int, ...]],
    what: str,
    expected: str,
) -> tuple[ort.InferenceSession, dict[str, str]]:
    """A CPU session of a model with `signature` (see check_signature) and its metadata;
    ModelError naming `key` when the file is missing, unreadable or of another shape."""
    session = cpu_session(path, threads, key)
    check_signature(session, signature, path, what, expected, key)
    return session, dict(session.get_modelmeta().custom_metadata_map)


@dataclass
class SessionModel:
    """A model file of a fixed signature in a CPU session: the part the row reader, the run
    reader and the printed-digit model share. A subclass names its settings key, signature,
    what it is (in refusals and the log) and the name its version carries."""

    KEY: ClassVar[str]
    SIGNATURE: ClassVar[dict[str, tuple[int, ...]]]
    WHAT: ClassVar[str]
    EXPECTED: ClassVar[str]
    NAME: ClassVar[str]

    path: Path
    threads: int = 1
    metadata: dict[str, str] = field(init=False)
    _session: ort.InferenceSession = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._session, self.metadata = checked_session(
            self.path, self.threads, self.KEY, self.SIGNATURE, self.WHAT, self.EXPECTED
        )
        self.warm_up()
        logging.getLogger(type(self).__module__).info(
            "%s loaded path=%s version=%s", self.WHAT, self.path, self.version
        )

    def warm_up(self) -> None:
        """One run on made-up input: the first run allocates."""

    @property
    def version(self) -> str:
        """The model's name and version as carried in every reading it helped make."""
        return f"{self.NAME}-{self.metadata.get('version', 'unknown')}"


def check_signature(
    session: ort.InferenceSession,
    signature: dict[str, tuple[int, ...]],
    path: Path,
    what: str,
    expected: str,
    key: str,
) -> None:
    """Refuse (ModelError naming `key`) a model file lacking an input or output of
    `signature` ({name: dimensions after the batch}) or holding one in another shape."""
    args = [*session.get_inputs(), *session.get_outputs()]
    problems = [f"it has no '{name}'" for name in signature if name not in {a.name for a in args}]
    for arg in args:
        if arg.name in signature:
            problems += shape_problems(arg, signature[arg.name])
    if problems:
        raise ModelError(
            f"model file {path} is not a DigitCam {what}: {'; '.join(problems)}. {expected}; "
            f"this one has {describe_args(session.get_inputs())} -> "
            f"{describe_args(session.get_outputs())} ({key})"
        )


def shape_problems(arg: ort.NodeArg, tail: tuple[int, ...]) -> list[str]:
    """What is wrong with one input or output: its type, rank or a fixed dimension."""
    problems = []
    if arg.type != "tensor(float)":
        problems.append(f"'{arg.name}' is {_dtype(arg)}, not float32")
    wanted = "[N," + ",".join(map(str, tail)) + "]"
    shape = arg.shape
    if shape is None or len(shape) != 1 + len(tail):
        return [*problems, f"'{arg.name}' has shape {_dims(arg)}, not {wanted}"]
    if isinstance(shape[0], int):
        problems.append(f"'{arg.name}' has a fixed batch size {shape[0]}; N must be free")
    # A free (named) dimension passes here; the warm-up batch then tries it with real data.
    # A wanted 0 is any size (a row reader's width).
    if any(
        isinstance(got, int) and want and got != want
        for got, want in zip(shape[1:], tail, strict=True)
    ):
        problems.append(f"'{arg.name}' has shape {_dims(arg)}, not {wanted}")
    return problems


def _dtype(arg: ort.NodeArg) -> str:
    kind = str(arg.type).removeprefix("tensor(").removesuffix(")")
    return {"float": "float32", "double": "float64", "float16": "float16"}.get(kind, kind)


def _dims(arg: ort.NodeArg) -> str:
    if arg.shape is None:
        return "[?]"
    # A named (free) dimension shows as N when it is the batch, else as ?.
    dims = [
        str(d) if isinstance(d, int) else ("N" if i == 0 else "?") for i, d in enumerate(arg.shape)
    ]
    return "[" + ",".join(dims) + "]"


def describe_args(args: list[ort.NodeArg]) -> str:
    return ", ".join(f"'{a.name}' {_dtype(a)} {_dims(a)}" for a in args) or "nothing"


def meta_float(text: str | None) -> float | None:
    """A number from the ONNX metadata (stored as text), None when absent or garbled."""
    try:
        return float(text) if text else None
    except ValueError:
        return None


def load_model(path: Path | None, threads: int = 1) -> DigitModel:
    """The configured model, or the bundled one when no path is set."""
    return DigitModel(path or bundled_model_path(), threads=threads)
