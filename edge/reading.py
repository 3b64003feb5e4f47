"""The Reading: what DigitCam publishes, prints and stores for one region of one frame."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Final, Literal, get_args

import numpy as np

Status = Literal["ok", "no_digit", "low_confidence", "implausible"]
# The statuses by name, so code never spells them out (the Literal above is for type checks).
OK: Final = "ok"
NO_DIGIT: Final = "no_digit"  # nothing digit-like found; value null
LOW_CONFIDENCE: Final = "low_confidence"  # a digit under model.min_confidence; value null
# Counters only: the value breaks the region's plausibility rules; value null, raw_value given.
IMPLAUSIBLE: Final = "implausible"
STATUSES: Final[tuple[Status, ...]] = get_args(Status)


def utc_timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as in the reading JSON."""
    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Digit:
    digit: int
    confidence: float
    box: tuple[int, int, int, int]  # x, y, w, h in frame pixels
    top3: list[tuple[int, float]] = field(default_factory=list)
    # Counter wheels only: where the wheel stands, in steps (3.7: seven tenths from 3 to 4).
    position: float | None = None
    # The rightmost wheel only, not published: its confidence to the tenth it is read to
    # (edge.meter.wheels.rightmost_to_a_tenth), at least `confidence`.
    to_a_tenth: float | None = field(default=None, compare=False)
    # Not published: what the model saw (float32 28x28, 0..1) and the grey pixels around the
    # digit as cut from the frame, kept so a correction can become a training example.
    image: np.ndarray | None = field(default=None, repr=False, compare=False)
    crop: np.ndarray | None = field(default=None, repr=False, compare=False)
    # Not published: what the model's lone-digit judge said of `image` in the frame's model
    # call (edge.reader.FrameReader.lone_check), None when it was not asked then.
    lone_doubt: float | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out = {"digit": self.digit, "confidence": round(self.confidence, 4), "box": list(self.box)}
        if self.position is not None:
            out["position"] = round(self.position, 1) % 10  # 9.96 is 0.0, never 10.0
        return out


@dataclass
class Reading:
    device_id: str
    region: str
    value: str | None
    status: Status
    confidence: float | None
    digits: list[Digit]
    latency_ms: float
    model: str
    frame_source: str
    frame_index: int
    ts: str = field(default_factory=utc_timestamp)
    seq: int | None = None  # assigned by the store when the reading is persisted
    # Counters only: the value as read, before plausibility repaired or refused it.
    raw_value: str | None = None
    # Number regions with the row reader on: its name and version (it weighed the digits).
    row_reader: str | None = None
    # Number regions: the digits are the row reader's number (the digits read one by one were
    # unsure, it was sure: edge.row_rules.ROW_RESCUE); published only when true.
    read_whole: bool = False
    # Aligned meter regions (edge.meter.align): how far the boxes were moved to follow the
    # camera, [dx, dy] frame pixels; published once the region has its reference. Levelled
    # counters (edge.meter.level): dy counts the cells' move up or down too.
    shift: tuple[int, int] | None = None
    # Counters only, not published: the value of a `low_confidence` reading whose one unsure
    # digit is the rightmost wheel, sure to a tenth; the plausibility rules may publish it.
    to_a_tenth_value: str | None = field(default=None, repr=False, compare=False)
    # Meter regions only, not published: the indices of the digits under the region's
    # threshold in a `low_confidence` reading; the plausibility rules may fix those wheels.
    unsure_digits: tuple[int, ...] = field(default=(), repr=False, compare=False)
    # Not published: the region of the frame as read (a view) and where it sat in the frame,
    # kept with the newest readings so a person can box the digits when correcting.
    region_image: np.ndarray | None = field(default=None, repr=False, compare=False)
    region_origin: tuple[int, int] = field(default=(0, 0), repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The Reading JSON of the spec, key order as documented."""
        out: dict[str, Any] = {
            "device_id": self.device_id,
            "seq": self.seq,
            "ts": self.ts,
            "region": self.region,
            "value": self.value,
            "status": self.status,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "digits": [d.to_dict() for d in self.digits],
            "latency_ms": round(self.latency_ms, 3),
            "model": self.model,
            "frame": {"source": self.frame_source, "index": self.frame_index},
        }
        if self.raw_value is not None:
            out["raw_value"] = self.raw_value
        if self.row_reader is not None:
            out["row_reader"] = self.row_reader
        if self.read_whole:
            out["read_whole"] = True
        if self.shift is not None:
            out["shift"] = list(self.shift)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


__all__ = [
    "IMPLAUSIBLE",
    "LOW_CONFIDENCE",
    "NO_DIGIT",
    "OK",
    "STATUSES",
    "Digit",
    "Reading",
    "Status",
    "asdict",
    "utc_timestamp",
]
