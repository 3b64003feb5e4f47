"""Request and response bodies, so /docs and the OpenAPI schema describe every endpoint."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from edge.reading import Status

logger = logging.getLogger(__name__)

DIGITS_PATTERN = r"^[0-9]{1,32}$"
PIXEL_COUNT = 28 * 28
# strict: "12" and true are not numbers; NaN, Infinity and 1e999 are refused as not finite.
Pixel = Annotated[float, Field(ge=0, le=255, allow_inf_nan=False, strict=True)]


class Error(BaseModel):
    detail: str = Field(description="what went wrong, in words a person understands")


class Alternative(BaseModel):
    digit: int
    confidence: float


class DigitOut(BaseModel):
    digit: int
    confidence: float
    box: list[int] = Field(description="[x, y, w, h] in image pixels")
    top3: list[Alternative] | None = Field(None, description="the three likeliest digits")
    input: str | None = Field(None, description="the 28x28 the model saw, as a PNG data URL")
    position: float | None = Field(
        None, description="counter wheels: where the wheel stands, in steps (3.7)"
    )


class FrameRef(BaseModel):
    source: str
    index: int


class ReadingOut(BaseModel):
    """The Reading JSON of the spec, plus the correction a person made (if any)."""

    model_config = ConfigDict(protected_namespaces=())

    device_id: str
    seq: int | None
    ts: str
    region: str
    value: str | None
    status: Status
    confidence: float | None
    digits: list[DigitOut]
    latency_ms: float
    model: str
    frame: FrameRef
    raw_value: str | None = Field(
        None,
        description="meters (counters, a meter's display): the value as read, when "
        "plausibility refused or repaired it",
    )
    row_reader: str | None = Field(
        None, description="number and digit regions: the row reader that weighed the digits, if on"
    )
    read_whole: bool | None = Field(
        None,
        description="number regions: true when the digits are the row reader's number (the "
        "digits read one by one were unsure, the row reader at least 99.9% sure)",
    )
    shift: list[int] | None = Field(
        None,
        description="meter regions with `align`: [dx, dy], how far the boxes were moved to "
        "follow the camera, in frame pixels; counters with `level`: dy counts the move that "
        "levels the wheels too",
    )
    corrected_value: str | None = None
    corrected_at: str | None = None


class PixelsIn(BaseModel):
    """One MNIST image as the MNIST CSV files and earlier web classifiers give it."""

    model_config = ConfigDict(extra="forbid")

    pixels: list[Pixel] = Field(
        ...,
        min_length=PIXEL_COUNT,
        max_length=PIXEL_COUNT,
        description="784 values 0-255, 28 rows of 28 left to right, white digit on black",
    )

    @field_validator("pixels", mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        # Before the items are checked, so a wrong length is one error naming the count.
        if isinstance(value, list) and len(value) != PIXEL_COUNT:
            raise PydanticCustomError(
                "pixel_count",
                "{given} values given; 784 are needed (28 rows of 28, row by row)",
                {"given": len(value)},
            )
        return value


class PredictOut(ReadingOut):
    recorded: bool = Field(description="stored in the history (and given a seq)")
    image_size: list[int] = Field(description="[width, height] of the image read")
    image: str | None = Field(None, description="camera captures: the frame as a JPEG data URL")
    region_box: list[int] | None = Field(
        None,
        description="[x, y, w, h]: the part of the image read (the box asked for, cut to the "
        "image), in image pixels; null: the whole image",
    )


class ReadingPage(BaseModel):
    items: list[ReadingOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page; null on the last page")


class ReadingDetail(ReadingOut):
    crops_stored: int = Field(description="digit crops still kept (they expire, storage.crop_days)")


Box = Annotated[list[Annotated[int, Field(ge=0, le=100_000)]], Field(min_length=4, max_length=4)]


class Correction(BaseModel):
    value: str | None = Field(
        ...,
        pattern=DIGITS_PATTERN,
        examples=["417"],
        description="the true value; null removes the correction",
    )
    boxes: list[Box] | None = Field(
        None,
        max_length=32,
        description="one [x, y, w, h] per digit of value, left to right, in frame pixels: the "
        "digits a person boxed on the reading's frame (for a no_digit or mis-segmented "
        "reading); they become the reading's training examples",
    )


class CorrectionOut(ReadingOut):
    labels_added: list[int] = Field(description="ids of the training examples made from the crops")
    labels_note: str | None = Field(None, description="why no training examples were made")


class LabelOut(BaseModel):
    id: int
    label: int
    source: Literal["drawing", "correction", "import"]
    created: str
    input: str = Field(description="the 28x28 example as a PNG data URL (white on black)")


class LabelPage(BaseModel):
    items: list[LabelOut]
    limit: int
    offset: int
    next_offset: int | None


class Sample(BaseModel):
    digit: int
    input: str


class Samples(BaseModel):
    source: Literal["mnist", "labels"]
    items: list[Sample]
    credit: str | None


class MnistSample(BaseModel):
    index: int = Field(description="position in the MNIST test set")
    digit: int = Field(description="the test set's label")
    input: str = Field(description="the 28x28 image as a PNG data URL (white on black)")


class MnistPage(BaseModel):
    items: list[MnistSample]
    total: int = Field(description="shipped samples that match (all 1,000, or one digit's)")
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page; null on the last page")
    credit: str


class Info(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    device_id: str
    mode: Literal["daemon", "serve"]
    model: str
    auth_required: bool
    max_upload_bytes: int
    min_confidence: float
    printed_min_confidence: float
    regions: list[str]


class MeterOut(BaseModel):
    """A meter region (a counter, a meter's display) and the value its readings are checked
    against."""

    region: str
    kind: Literal["counter", "display"]
    value: str | None = Field(
        description="the last accepted value, with the region's decimals; null before the "
        "first reading",
        examples=["1234.5"],
    )
    accepted_at: str | None = Field(description="when it was accepted or set (ISO 8601, UTC)")
    set_by_hand: bool = Field(
        False,
        description="`value` is what a person set (cmd/set_value, PUT), no reading accepted since",
    )
    pending: str | None = Field(
        None, description="a new level that implausible readings agree on, not yet accepted"
    )
    pending_readings: int = Field(0, description="how many readings agree on `pending`")
    confirm_readings: int = Field(description="readings it takes to accept a new level")
    shift: list[int] | None = Field(
        None,
        description="regions with `align`, under the daemon: [dx, dy], how far the boxes were "
        "last moved to follow the camera (null before the reference is taken)",
    )
    unmatched_frames: int | None = Field(
        None,
        description="regions with `align`, under the daemon: the frames in a row in which the "
        "meter was not found (the boxes then keep the last shift)",
    )


class MeterList(BaseModel):
    meters: list[MeterOut]


class MeterValueIn(BaseModel):
    """What the meter shows, as a person reads it off the meter."""

    model_config = ConfigDict(extra="forbid")

    value: (
        Annotated[float, Field(strict=True, allow_inf_nan=False)]
        | Annotated[str, Field(min_length=1, max_length=32)]
    ) = Field(
        ...,
        examples=["1234.5"],
        description="a decimal number that fits the region: no more decimals than `decimals`, "
        "no more whole digits than it has digits before the point, not below 0 unless "
        "`allow_negative`",
    )
