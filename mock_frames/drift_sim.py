"""A meter camera that drifts: the bundled meter frames moved as a sagging or bumped mount moves
them, read with the region's boxes fixed and with `align = true` (edge.meter.align).

    python mock_frames/drift_sim.py --seeds 101-120
    python mock_frames/drift_sim.py --lcd --seeds 101-120   # an electricity meter's LCD
    python mock_frames/drift_sim.py --seeds 101-120 --max-turn 2   # turning up to 2 degrees
    python mock_frames/drift_sim.py --frames mock_frames/meter --seeds 1-5 --max-shift 30 \
        --json out.json

Each run replays one meter's frames in order: a folder (the water meter of `mock_frames/meter/`
counting up for half an hour, by default) or, with `--lcd`, an electricity meter's 7-digit LCD
counting up, drawn anew for each seed. The first INSTALLED frames are where the boxes were set;
then each frame is moved by a camera that drifts: a random walk of DRIFT_PX a frame and now and
then a bump of up to BUMP_PX, never more than --max-shift from where it started, and with
--max-turn a turn about the frame's centre walking up to that many degrees. The moved frame is
the frame moved so (its edge repeated into the uncovered strip) and saved again as JPEG, as
the camera would send it. Every frame is read by the shipped models as the daemon reads it; a
reading is right when its status is `ok` and its value the frame's. Fixed boxes and aligned
boxes read the same frames. Chooses nothing: the alignment's constants were set before these
runs (edge/meter/align.py says why).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import meter  # mock_frames/meter.py: the LCD's drawing, camera and light

from edge.camera.imageio import read_image_file
from edge.config import RegionSettings
from edge.meter.align import Alignment
from edge.meter.printed import load_display, load_printed
from edge.model import load_model
from edge.reader import FrameReader
from edge.reading import OK

ROOT = Path(__file__).resolve().parent.parent
INSTALLED = 3  # frames before the camera starts to move
DRIFT_PX = 2.0  # the walk's step, standard deviation per axis
BUMP_PX = 15  # a bump moves the camera up to this far at once...
BUMP_CHANCE = 0.1  # ...on this share of frames
TIMES: dict[str, list[float]] = {"fixed": [], "aligned": []}  # seconds a frame, per reader


def shifts(count: int, seed: int, max_shift: int) -> list[tuple[int, int]]:
    """Where the camera stands at each frame, in pixels from where the boxes were set."""
    rng = np.random.default_rng(seed)
    at = np.zeros(2)
    out = []
    for n in range(count):
        if n >= INSTALLED:
            at += rng.normal(0, DRIFT_PX, 2)
            if rng.random() < BUMP_CHANCE:
                at += rng.uniform(-BUMP_PX, BUMP_PX, 2)
            at = np.clip(at, -max_shift, max_shift)
        out.append((round(at[0]), round(at[1])))
    return out


def moved(image: np.ndarray, dx: int, dy: int, turn_deg: float = 0.0) -> np.ndarray:
    """The frame as the camera moved by (dx, dy) and turned by `turn_deg` about the frame's
    centre sees it, through JPEG again."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), turn_deg, 1.0)
    matrix[:, 2] += (dx, dy)
    out = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def turns(count: int, seed: int, max_turn: float) -> list[float]:
    """How far the camera has turned at each frame, in degrees: a slower walk than the shift's
    (a sagging mount tilts as it sinks), never more than `max_turn`."""
    rng = np.random.default_rng([seed, 1])
    at, out = 0.0, []
    for n in range(count):
        if n >= INSTALLED:
            at = float(np.clip(at + rng.normal(0, max_turn / 6), -max_turn, max_turn))
        out.append(at)
    return out


def outcome(reading: Any, value: str) -> str:
    if reading.status == OK:
        return "ok right" if reading.value == value else "ok WRONG"
    return str(reading.status)


Scene = tuple[dict[str, Any], list[tuple[str, np.ndarray, str]]]  # region, (name, frame, value)


def folder_scene(folder: Path) -> Scene:
    """A folder of one meter's frames in order (`mock_frames/meter/`) and its expectations."""
    expected = json.loads((folder / "expected.json").read_text())
    names = sorted(expected)
    frames = [(n, read_image_file(folder / n), expected[n]["value"]) for n in names]
    return expected[names[0]]["region"], frames


def lcd_scene(seed: int, count: int = 30) -> Scene:
    """An electricity meter's 7-digit LCD counting up (mock_frames/meter_draw.py, a renderer
    the model never saw): one meter and pose, the light, glare and blur of each frame its own."""
    rng = np.random.default_rng([seed, 7])
    start = int(rng.integers(100_000, 500_000))
    frames = []
    for n in range(count):
        shown = f"{start + 3 * n:07d}"
        face_rng = np.random.default_rng([seed, 1])  # the same meter and pose every frame
        flat, cells, slots = meter.meter_draw.lcd_face(face_rng, shown, 1, 70)
        matrix, box = meter.camera(face_rng, cells, slots)
        data, _ = meter.photograph(flat, matrix, np.random.default_rng([seed, 100 + n]))
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        frames.append((f"lcd_{n:04d}.jpg", image, f"{shown[:-1]}.{shown[-1]}"))
    region = {"name": "power", "kind": "display", "box": box, "digits": 7, "decimals": 1}
    return region, frames


def run(
    scene: Scene, seed: int, max_shift: int, models: tuple[Any, Any], max_turn: float = 0.0
) -> dict[str, Counter]:
    """One drifting replay of a scene: outcomes with fixed and with aligned boxes."""
    given, frames = scene
    region = RegionSettings.model_validate({**given, "align": True})
    model, printed = models
    fixed = FrameReader(model, [region], 0.95, "sim", printed, printed_min_confidence=0.9)
    aligned = FrameReader(model, [region], 0.95, "sim", printed, printed_min_confidence=0.9)
    aligned.aligner = Alignment([region], None)
    tally: dict[str, Counter] = {"fixed": Counter(), "aligned": Counter(), "found": Counter()}
    moves = zip(
        shifts(len(frames), seed, max_shift), turns(len(frames), seed, max_turn), strict=True
    )
    for (name, frame, value), ((dx, dy), turn) in zip(frames, moves, strict=True):
        image = moved(frame, dx, dy, turn)
        started = time.perf_counter()
        (a,) = fixed.read(image, name, 0)
        between = time.perf_counter()
        (b,) = aligned.read(image, name, 0)
        if b.shift is not None:  # read against a reference: the search is in the time
            TIMES["fixed"].append(between - started)
            TIMES["aligned"].append(time.perf_counter() - between)
        tally["fixed"][outcome(a, value)] += 1
        tally["aligned"][outcome(b, value)] += 1
        if b.shift is not None:
            tally["found"]["exact" if b.shift == (dx, dy) else "off"] += 1
    return tally


def seeds_of(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=Path, default=ROOT / "mock_frames" / "meter")
    parser.add_argument(
        "--lcd", action="store_true", help="an LCD drawn for each drift seed, not --frames"
    )
    parser.add_argument("--seeds", default="101-120", help="drift seeds, FIRST-LAST")
    parser.add_argument("--max-shift", type=int, default=30, help="pixels the camera may drift")
    parser.add_argument(
        "--max-turn", type=float, default=0.0, help="degrees the camera may turn as well"
    )
    parser.add_argument("--json", type=Path, help="write the totals here")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # as the daemon reads
    # the printed-digit model of the region's kind, as the daemon reads
    models = load_model(None), (load_display(None, None) if args.lcd else load_printed(None))
    totals: dict[str, Counter] = {"fixed": Counter(), "aligned": Counter(), "found": Counter()}
    folder = None if args.lcd else folder_scene(args.frames)
    for seed in seeds_of(args.seeds):
        scene = lcd_scene(seed) if folder is None else folder
        for key, counts in run(scene, seed, args.max_shift, models, args.max_turn).items():
            totals[key].update(counts)
    frames = sum(totals["fixed"].values())
    for key in ("fixed", "aligned"):
        counts = totals[key]
        shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"{key:8s} {frames} frames: right {100 * counts['ok right'] / frames:.1f}% ({shown})")
    print(
        f"shift found to the pixel: {totals['found']['exact']} of {sum(totals['found'].values())}"
    )
    fixed_ms, aligned_ms = (1000 * float(np.median(TIMES[k])) for k in ("fixed", "aligned"))
    print(
        f"reading a frame, median: fixed {fixed_ms:.2f} ms, aligned {aligned_ms:.2f} ms "
        f"(x{aligned_ms / fixed_ms:.2f}; OpenCV {cv2.__version__}, one thread as the daemon)"
    )
    if args.json:
        args.json.write_text(json.dumps({k: dict(v) for k, v in totals.items()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
