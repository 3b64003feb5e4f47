"""Mock meter frames: a water meter's roller counter counting up, and 7-segment LCDs.

    python mock_frames/meter.py --meter-data ../shared/data/meter_digits --out mock_frames/meter \
        --display-out mock_frames/display
    python mock_frames/meter.py --meter-data ../shared/data/meter_digits \
        --fixture tests/fixtures/meter_wheels

The counter wheels are real camera crops from the `report` set of training/meter_data.py
(installations never trained or tuned on), so these frames can measure the printed-digit
model without flattering it. One fixed camera watches one meter for 30 minutes: the reading
rises by a varying amount per frame, wheels roll the way roller counters do (see
`wheel_positions`), and light, glare, blur and JPEG change per frame. The LCD frames draw
their own segments. `--fixture` writes the small crop sample the tests ship instead.
Every output is fixed by --seed. See mock_frames/README.md.

Meters to choose on (never the bundled frames): `--split tune` builds the counter frames
from the tune installations' wheels instead, one installation preferred:

    python mock_frames/meter.py --meter-data ../shared/data/meter_digits --split tune \
        --installation dig/2021 --seed 7000 --out frames/meter-tune-0
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import meter_draw
import render
from generate import MockFrame, write_folder

from training.meter_data import TAR_NAME, WheelCrops, load_wheels

SEED = 20261210
COUNTER_FRAMES, DISPLAY_FRAMES, STEP_S = 30, 10, 60
DIGITS, DECIMALS = 6, 1  # "00187.3" m3: the rightmost wheel counts tenths of a m3
WHEEL, SEP = (50, 80), 6  # a 20x32 crop at 2.5x, and the dark gap between wheels
PREFERRED_SOURCE = "main_dig/2022"  # one installation, so the wheels of a meter look alike
# Ticks count tenths of a step of the rightmost wheel (0.01 m3). Fixed frames: the start, a
# one-wheel roll (192.95), the roll across 199.95 -> 200 that turns four wheels at once,
# another one-wheel roll (203.96) and the end; the frames between are drawn at random.
ANCHORS = {0: 18730, 8: 19295, 16: 19995, 24: 20396, 29: 20871}
# Tenths at which a still wheel reads clearly; at .8 and .9 the next digit is mostly in view.
CLEAR_TENTHS = (0, 1, 2, 3, 5, 6, 7)


def wheel_positions(ticks: int, digits: int) -> list[int]:
    """Every wheel's position in tenths, left to right, when the counter has turned `ticks`.

    The rightmost wheel turns with the flow. Every other wheel is carried only while the wheel
    to its right goes from 9 to 0, so it is as far past its digit as that wheel is past 9.
    """
    positions = [ticks % 100]
    for k in range(1, digits):
        whole = (ticks // 10 ** (k + 1)) % 10
        positions.append(whole * 10 + max(0, positions[-1] - 90))
    return positions[::-1]


def reading(positions: list[int], decimals: int) -> str:
    """The value as read: each wheel's completed digit, with the decimal point."""
    digits = "".join(str(p // 10) for p in positions)
    return f"{digits[:-decimals]}.{digits[-decimals:]}" if decimals else digits


def clear(ticks: int) -> int:
    """The nearest reading at or below `ticks` whose wheels all stand clearly on a digit."""
    rest = ticks % 100
    if rest >= 90:  # a roll is under way; step back before it began
        return ticks - rest + 87
    return ticks - ticks % 10 + max(t for t in CLEAR_TENTHS if t <= ticks % 10)


def schedule(rng: np.random.Generator) -> list[int]:
    """The counter's ticks per frame: the anchors, random rises between, two idle minutes."""
    ticks = [0] * COUNTER_FRAMES
    marks = sorted(ANCHORS)
    for a, b in itertools.pairwise(marks):
        ticks[a], ticks[b] = ANCHORS[a], ANCHORS[b]
        lo = ANCHORS[a] if ANCHORS[a] % 100 < 90 else ANCHORS[a] - ANCHORS[a] % 100 + 100
        hi = ANCHORS[b] if ANCHORS[b] % 100 < 90 else ANCHORS[b] - ANCHORS[b] % 100 + 87
        for i, v in zip(range(a + 1, b), np.sort(rng.integers(lo, hi + 1, b - a - 1)), strict=True):
            ticks[i] = clear(int(v))
    free = [i for i in range(2, COUNTER_FRAMES) if i not in ANCHORS and i - 1 not in ANCHORS]
    for i in sorted(rng.choice(free, 2, replace=False)):
        ticks[i] = ticks[i - 1]  # no water drawn that minute
    return ticks


class WheelPool:
    """A set's crops by position (the report set's for the bundled frames), handed out at
    random from one installation (another where that one has none of a position)."""

    def __init__(
        self, crops: WheelCrops, data_dir: Path, installation: str = PREFERRED_SOURCE
    ) -> None:
        self.crops, self.tar_path = crops, Path(data_dir) / TAR_NAME
        preferred = np.asarray([s == installation for s in crops.sources])
        self.by_position: dict[int, np.ndarray] = {}
        for p in range(100):
            here = crops.positions == p
            self.by_position[p] = np.flatnonzero(
                here & preferred if any(here & preferred) else here
            )

    def pick(self, position: int, rng: np.random.Generator) -> int:
        return int(rng.choice(self.by_position[position]))

    def colour(self, indices: set[int]) -> dict[int, np.ndarray]:
        """The chosen crops in colour (BGR 32x20), re-read from the tar by name."""
        wanted = {self.crops.names[i]: i for i in indices}
        found: dict[int, np.ndarray] = {}
        with tarfile.open(self.tar_path) as tar:
            for member in tar:
                i = wanted.get(member.name.rsplit("/", 1)[-1])
                handle = tar.extractfile(member) if i is not None else None
                if handle is not None and i is not None:
                    found[i] = cv2.imdecode(np.frombuffer(handle.read(), np.uint8), 1)
        for i in indices - found.keys():  # not expected: fall back to the grey crop
            found[i] = cv2.cvtColor(self.crops.images[i], cv2.COLOR_GRAY2BGR)
        return found


def camera(
    rng: np.random.Generator, cells: list[meter_draw.Rect], slots: list[meter_draw.Rect]
) -> tuple[np.ndarray, list[int]]:
    """A tilt of up to 3 degrees that still lets the region split evenly; and that region."""
    for _ in range(100):
        matrix = render.camera_matrix(rng, 3.0, 0.012)
        box = meter_draw.region_box(matrix, cells, slots)
        if box is not None:
            return matrix, box
    raise RuntimeError("no camera pose keeps the wheels in equal cells")


def photograph(
    flat: np.ndarray, matrix: np.ndarray, rng: np.random.Generator
) -> tuple[bytes, list[str]]:
    """The flat scene through the camera: light, glare off the cover, blur, noise, JPEG."""
    tags: list[str] = []
    brightness, gradient = rng.uniform(0.55, 1.05), rng.uniform(0.05, 0.7)
    shadow = rng.uniform(0.2, 0.4) if rng.random() < 0.25 else 0.0
    field = render.lighting(rng, brightness, gradient, rng.uniform(0, 0.35), shadow, 20.0)
    image = render.warp(flat, matrix) * field[:, :, None]
    if rng.random() < 0.55:
        meter_draw.glare(image, rng, rng.uniform(0.25, 0.5))
        tags.append("glare")
    blur = rng.uniform(0.2, 1.5)
    pixels = render.sensor(image, rng, blur, rng.uniform(1.5, 3.5))
    seen = {"dim": brightness < 0.7, "gradient": gradient > 0.45, "shadow": shadow > 0}
    tags += [tag for tag, on in {**seen, "blur": blur > 1.0}.items() if on]
    return render.jpeg(pixels, int(rng.integers(74, 90))), tags


def counter_frames(pool: WheelPool, seed: int) -> Iterator[MockFrame]:
    """The water meter sequence, one frame a minute."""
    rng = np.random.default_rng([seed, 0])
    ticks = schedule(rng)
    plan: list[list[int]] = []
    held: dict[int, tuple[int, int]] = {}
    for v in ticks:  # a wheel that has not moved keeps its crop, as a still wheel looks alike
        for k, p in enumerate(wheel_positions(v, DIGITS)):
            if held.get(k, (-1, 0))[0] != p:
                held[k] = (p, pool.pick(p, rng))
        plan.append([held[k][1] for k in range(DIGITS)])
    colours = pool.colour({i for row in plan for i in row})
    face_rng = np.random.default_rng([seed, 1])
    face, cells, slots = meter_draw.counter_face(face_rng, DIGITS, DECIMALS, WHEEL, SEP)
    matrix, box = camera(face_rng, cells, slots)
    litres = face_rng.uniform(0, 1, COUNTER_FRAMES)
    for n, (v, row) in enumerate(zip(ticks, plan, strict=True)):
        flat = face.copy()
        for (x0, y0, _, _), i in zip(slots, row, strict=True):
            wheel = cv2.resize(colours[i], WHEEL, interpolation=cv2.INTER_CUBIC)
            flat[round(y0) : round(y0) + WHEEL[1], round(x0) : round(x0) + WHEEL[0]] = wheel / 255
        dial_y = cells[0][3] + 45
        meter_draw.small_dial(flat, (render.FRAME_W / 2 - 75, dial_y), (v % 10) / 10, "x0,01")
        meter_draw.small_dial(flat, (render.FRAME_W / 2 + 75, dial_y), litres[n], "x0,001")
        data, tags = photograph(flat, matrix, np.random.default_rng([seed, 100 + n]))
        positions = wheel_positions(v, DIGITS)
        if any(p % 10 for p in positions[:-1]):
            tags.insert(0, "rolling")
        yield MockFrame(
            f"counter_{n:04d}.jpg",
            data,
            {
                "value": reading(positions, DECIMALS),
                "status": "ok",
                "kind": "counter",
                "region": region("meter", "counter", box, DIGITS, DECIMALS),
                "wheel_positions": positions,
                "ts_offset_s": n * STEP_S,
                "conditions": tags,
                "crops": [pool.crops.names[i] for i in row],
            },
        )


def region(name: str, kind: str, box: list[int], digits: int, decimals: int) -> dict:
    return {"name": name, "kind": kind, "box": box, "digits": digits, "decimals": decimals}


def display_frames(seed: int) -> Iterator[MockFrame]:
    """Electricity-meter LCDs of 5-8 digits, 0-2 decimals, each its own device and pose."""
    for n in range(DISPLAY_FRAMES):
        rng = np.random.default_rng([seed, 500 + n])
        digits = int(rng.integers(5, 9))
        decimals = int(rng.integers(0, 3))
        shown = "".join(str(d) for d in rng.integers(0, 10, digits))
        height = int(rng.uniform(50, min(105, 580 / (0.94 * digits + 1.25))))
        flat, cells, slots = meter_draw.lcd_face(rng, shown, decimals, height)
        matrix, box = camera(rng, cells, slots)
        data, tags = photograph(flat, matrix, rng)
        value = f"{shown[:-decimals]}.{shown[-decimals:]}" if decimals else shown
        yield MockFrame(
            f"display_{n:04d}.jpg",
            data,
            {
                "value": value,
                "status": "ok",
                "kind": "display",
                "region": region("display", "display", box, digits, decimals),
                "digit_height_px": height,
                "conditions": tags,
            },
        )


def write_fixture(report: WheelCrops, data_dir: Path, out: Path, seed: int) -> int:
    """Two crops per position (20 per digit), from two installations where there are two."""
    rng = np.random.default_rng([seed, 900])
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for p in range(100):
        candidates = rng.permutation(np.flatnonzero(report.positions == p))
        first = candidates[0]
        others = [i for i in candidates[1:] if report.sources[i] != report.sources[first]]
        for i in [first, (others or list(candidates[1:]))[0]]:
            name = f"{p:02d}_{len(lines):04d}.png"
            cv2.imwrite(str(out / name), report.images[i])
            lines.append(f"{name}  {report.names[i]}")
    shutil.copyfile(Path(data_dir) / "LICENSE", out / "LICENSE")
    (out / "NOTICE").write_text(NOTICE + "\n".join(lines) + "\n")
    return len(lines)


NOTICE = """\
Meter wheel crops from the public data set "Tenth-of-step-of-a-meter-digit"
(https://github.com/haverland/Tenth-of-step-of-a-meter-digit), licensed under the Apache
License, Version 2.0 (LICENSE in this folder). Changes: converted to 20x32 grey PNG.

Only crops of the held-out `report` set of training/meter_data.py are here (installations
never trained or tuned on). File names are <wheel position in tenths>_<index>.png: 37_0012.png
shows a wheel 7 tenths of the way from 3 to 4. Written by mock_frames/meter.py --fixture.

Each file and the data set file it came from:

"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--meter-data", type=Path, required=True, help=f"folder with {TAR_NAME}")
    parser.add_argument("--out", type=Path, help="folder to write the counter frames into")
    parser.add_argument("--display-out", type=Path, help="folder to write the LCD frames into")
    parser.add_argument("--fixture", type=Path, help="folder to write the test crop sample into")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--split",
        choices=("report", "tune"),
        default="report",
        help="whose wheels the counter frames show: the report installations (default; the "
        "bundled frames, to measure) or the tune installations (meters to choose on)",
    )
    parser.add_argument(
        "--installation",
        metavar="ROI/YEAR",
        help=f"the installation whose wheels to prefer (default {PREFERRED_SOURCE}; with "
        "--split tune one of dig/2021, digit/2021, digit/2020)",
    )
    args = parser.parse_args(argv)
    if not (args.out or args.display_out or args.fixture):
        parser.error("give --out, --display-out, --fixture or several")
    if args.split == "tune" and (args.fixture or args.display_out):
        parser.error("--split tune makes counter frames only (--out)")
    wheels = load_wheels(args.meter_data)
    report = wheels["report"]
    if args.out:
        crops = wheels[args.split]
        installation = args.installation or PREFERRED_SOURCE
        if installation not in set(crops.sources):
            parser.error(f"no {args.split} installation {installation!r}")
        pool = WheelPool(crops, args.meter_data, installation)
        frames = counter_frames(pool, args.seed)
        print(f"wrote {write_folder(args.out, iter(frames))} frames to {args.out}")
    if args.display_out:
        frames = display_frames(args.seed)
        print(f"wrote {write_folder(args.display_out, iter(frames))} frames to {args.display_out}")
    if args.fixture:
        count = write_fixture(report, args.meter_data, args.fixture, args.seed)
        print(f"wrote {count} crops to {args.fixture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
