"""Real meter-wheel crops, split by the meter they came from.

The data set (`meterdigits-tenths.tar`, Apache-2.0) holds 20x32 camera crops of counter wheels in
folders `<d>.<t>/`: the wheel position in tenths of a step (`3.5` is half-way from 3 to 4). A
random split would put crops of one meter, taken minutes apart, on both sides and report how well
the model remembers that meter. The file names carry the source instead, in shapes such as
`4.8_main_dig5_20220519-122330.jpg` (new label, ROI name, time), `0.3_10_dig6_...` (an older
label kept in front) or `5_<md5>.jpg` (no source at all). `source_of` strips the labels, the ROI
number and the time; what stays (`main_dig`, `dig`, `ROI`, `ziffer`, ...) with the year names one
installation. Whole sources go to one of three sets:

- `train`: what the network learns from, including every crop without a source;
- `tune`: held out from training, used to choose the epoch and fit the temperature;
- `report`: never seen while training or tuning; every figure the README quotes comes from it.

Kept free of torch so the mock meter frames can be built from the same split.
"""

from __future__ import annotations

import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

CROP_H, CROP_W = 32, 20  # the printed model's input: 32 rows, 20 columns
POSITIONS = 100  # wheel positions in tenths: class 37 is 3.7
TAR_NAME = "meterdigits-tenths.tar"

# Sources held out, by (ROI name without its number, year). `main_dig` is a separately named
# installation of 2022-23 with 3,167 crops, the others are older installations of other
# people; together about a fifth of the crops. The tune set is two more installations.
REPORT_SOURCES = frozenset(
    {
        ("main_dig", "2022"),
        ("main_dig", "2023"),
        ("D", "2020"),
        ("ziffer", "2019"),
        ("ziffer", "2020"),
        ("ROI", "2021"),
        ("ht", "2021"),
        ("nt", "2021"),
    }
)
TUNE_SOURCES = frozenset({("dig", "2021"), ("digit", "2020"), ("digit", "2021")})
SETS = ("train", "tune", "report")

_HASHED = re.compile(r"[0-9.]+_[0-9a-f]{32}")
_STAMP = re.compile(r"[_-]?((?:19|20)\d\d)[-_]?\d\d[-_]?\d\d.*$")
_LABEL = re.compile(r"[0-9.]+|NaN")


@dataclass
class WheelCrops:
    images: np.ndarray  # uint8 [N,32,20], grey
    positions: np.ndarray  # int64 [N], 0..99 (tenths)
    sources: list[str]  # "main_dig/2022", "unknown", ...
    names: list[str]

    def __len__(self) -> int:
        return len(self.positions)

    def subset(self, keep: np.ndarray) -> WheelCrops:
        idx = np.flatnonzero(keep)
        return WheelCrops(
            self.images[idx],
            self.positions[idx],
            [self.sources[i] for i in idx],
            [self.names[i] for i in idx],
        )

    def joined(self, other: WheelCrops) -> WheelCrops:
        return WheelCrops(
            np.concatenate([self.images, other.images]),
            np.concatenate([self.positions, other.positions]),
            self.sources + other.sources,
            self.names + other.names,
        )


def source_of(file_name: str) -> tuple[str, str]:
    """(installation, year) from a crop's file name; ("unknown", "") when it carries none."""
    stem = Path(file_name).stem
    if _HASHED.fullmatch(stem):
        return "unknown", ""
    stamp = _STAMP.search(stem)
    year = stamp.group(1) if stamp else ""
    rest = stem[: stamp.start()] if stamp else stem
    tokens = rest.replace("-", "_").split("_")
    while tokens and _LABEL.fullmatch(tokens[0]):
        tokens.pop(0)
    roi = re.sub(r"\d+$", "", "_".join(tokens)).strip("_ ")
    return (roi or "unknown"), year


def set_of(file_name: str, tune: frozenset[tuple[str, str]] = TUNE_SOURCES) -> str:
    """Which of train, tune and report a crop belongs to (`tune`: the installations tuned on)."""
    source = source_of(file_name)
    if source in REPORT_SOURCES:
        return "report"
    if source in tune:
        return "tune"
    return "train"


def installations(names: list[str]) -> frozenset[tuple[str, str]]:
    """Installations named as ROI/YEAR ("dig/2022") to tune on instead of the usual ones;
    ValueError for a malformed name or a report installation (never tuned on)."""
    chosen = set()
    for name in names:
        roi, _, year = name.partition("/")
        if not roi or not year.isdigit():
            raise ValueError(f"{name!r}: an installation is ROI/YEAR, for example dig/2022")
        if (roi, year) in REPORT_SOURCES:
            raise ValueError(f"{name} is a report installation: it is never tuned on")
        chosen.add((roi, year))
    return frozenset(chosen)


def to_model_crop(image: np.ndarray) -> np.ndarray:
    """A BGR or grey crop as the printed model's 32x20 grey input (uint8)."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.shape != (CROP_H, CROP_W):
        image = cv2.resize(image, (CROP_W, CROP_H), interpolation=cv2.INTER_AREA)
    return image


def position_of(folder: str) -> int:
    """`3.7` -> 37; a bare `3` (older folders) is 30."""
    whole, _, tenth = folder.partition(".")
    return int(whole) * 10 + (int(tenth) if tenth else 0)


def load_wheels(
    data_dir: Path, tune: frozenset[tuple[str, str]] = TUNE_SOURCES
) -> dict[str, WheelCrops]:
    """Every crop of the tar in `data_dir`, as the three sets (train, tune, report); `tune`
    names the installations tuned on (the others of train and tune are trained on)."""
    tar_path = Path(data_dir) / TAR_NAME
    if not tar_path.is_file():
        raise FileNotFoundError(
            f"{tar_path} not found: --meter-data must be the folder holding {TAR_NAME}"
        )
    images, positions, sources, names = [], [], [], []
    with tarfile.open(tar_path) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            parts = member.name.split("/")
            if not member.isfile() or len(parts) < 3 or not parts[-1].lower().endswith(".jpg"):
                continue
            handle = tar.extractfile(member)
            raw = np.frombuffer(handle.read(), np.uint8) if handle else np.zeros(0, np.uint8)
            image = cv2.imdecode(raw, cv2.IMREAD_COLOR) if raw.size else None
            if image is None:
                continue
            images.append(to_model_crop(image))
            positions.append(position_of(parts[-2]))
            roi, year = source_of(parts[-1])
            sources.append(f"{roi}/{year}" if year else roi)
            names.append(parts[-1])
    everything = WheelCrops(np.stack(images), np.asarray(positions, np.int64), sources, names)
    which = np.asarray([set_of(n, tune) for n in names])
    return {name: everything.subset(which == name) for name in SETS}


def digit_of(positions: np.ndarray) -> np.ndarray:
    """The digit a wheel shows, rounded to the nearest whole step (3.7 -> 4, 9.6 -> 0)."""
    return ((np.asarray(positions) + 5) // 10) % 10


def tenths_error(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Distance on the wheel in tenths (9.9 and 0.0 are one tenth apart)."""
    diff = np.abs(np.asarray(predicted) - np.asarray(truth)) % POSITIONS
    return np.minimum(diff, POSITIONS - diff)
