"""Render MNIST test digits as realistic 640x480 camera frames with known readings.

    python mock_frames/generate.py --data-dir data/mnist --out mock_frames/single \
        --scenario single --count 40 --seed 1 --first-index 0

Only the MNIST *test* split is used, one image per digit, in order from --first-index, so a
folder says exactly which test images it holds (expected.json lists them per frame).
Scenarios: single, numbers, hard, blank, junk, and the wild ones (wild-numbers, wild-single,
wild-crops: real writing's drift, gaps, slant, pens, papers and tight crops; see wild.py),
which draw MNIST test images 2000-4999 with seed 20261201 unless told otherwise.
See mock_frames/README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import extras
import render
import wild
from render import FRAME_H, FRAME_W

from training.mnist import load_split, resolve_data_dir

logger = logging.getLogger(__name__)
SCENARIOS = ("single", "numbers", "hard", "blank", "junk", *wild.SCENARIOS)
MARGIN = 34  # flat-scene margin that keeps digits inside the frame after the camera warp


@dataclass
class MockFrame:
    filename: str
    data: bytes
    expected: dict[str, Any]


@dataclass
class DigitSource:
    """Hands out MNIST test images in order, never the same one twice."""

    images: np.ndarray
    labels: np.ndarray
    next_index: int
    used: list[int] = field(default_factory=list)

    def take(self) -> tuple[np.ndarray, int, int]:
        if self.next_index >= len(self.images):
            raise SystemExit(f"ran out of MNIST test images at index {self.next_index}")
        i = self.next_index
        self.next_index += 1
        self.used.append(i)
        return self.images[i], int(self.labels[i]), i


@dataclass
class Style:
    paper: render.Colour
    ink: render.Colour
    texture: float
    lines: bool
    light: dict[str, float]
    max_degrees: float
    perspective: float
    blur_sigma: float
    noise_sigma: float
    quality: int
    weight: float
    tags: list[str]


def pick_style(rng: np.random.Generator, scenario: str, digit_height: float) -> Style:
    """Paper, ink, light and camera for one frame; `hard` turns every knob further."""
    hard = scenario == "hard"
    tags: list[str] = []
    paper = [render.PAPER_WHITE, render.PAPER_CREAM, render.PAPER_GREY][
        rng.choice(3, p=[0.55, 0.3, 0.15])
    ]
    ink = [render.INK_BLACK, render.INK_BLUE, render.INK_PENCIL][rng.choice(3, p=[0.4, 0.45, 0.15])]
    dark_board = hard and rng.random() < 0.3
    if dark_board:
        paper, ink = render.BOARD_DARK, render.INK_CHALK
        tags.append("light-on-dark")
    elif ink is render.INK_PENCIL:
        tags.append("pencil")
    lines = not dark_board and rng.random() < (0.6 if hard else 0.3)
    if lines:
        tags.append("ruled")
    shadow = rng.random() < (0.6 if hard else 0.3)
    if shadow:
        tags.append("shadow")
    # A dark board is dark by itself: lit as dimly as the dark paper it would be unreadable.
    dim = (0.5, 0.9) if dark_board else (0.28, 0.6) if hard else (0.7, 1.05)
    light = {
        "brightness": rng.uniform(*dim),
        "gradient": rng.uniform(0.4, 0.9) if hard else rng.uniform(0.0, 0.5),
        "vignette": rng.uniform(0.2, 0.5) if hard else rng.uniform(0.0, 0.3),
        "shadow": (rng.uniform(0.3, 0.6) if hard else rng.uniform(0.2, 0.45)) if shadow else 0.0,
        "shadow_softness_px": rng.uniform(2, 20) if hard else rng.uniform(4, 40),
    }
    if hard and light["brightness"] < 0.4:
        tags.append("dark")
    # Focus blur is in pixels, so small digits suffer more; keep them readable by a person.
    blur_cap = digit_height / (18 if hard else 26)
    return Style(
        paper=paper,
        ink=ink,
        texture=rng.uniform(0.01, 0.04 if hard else 0.025),
        lines=lines,
        light=light,
        max_degrees=5.0 if hard else 3.5,
        perspective=0.03 if hard else 0.02,
        blur_sigma=min(rng.uniform(0.4, 1.5) if hard else rng.uniform(0.0, 1.0), blur_cap),
        noise_sigma=rng.uniform(3, 8) if hard else rng.uniform(1.5, 5),
        quality=int(rng.integers(45, 80) if hard else rng.integers(60, 92)),
        weight=rng.uniform(-0.6, 0.8) if hard else rng.uniform(-0.3, 0.3),
        tags=tags,
    )


def layout_row(
    rng: np.random.Generator, glyphs: list[np.ndarray], height: int, min_gap: float
) -> list[tuple[int, int]]:
    """Top-left corners placing glyphs left to right with uneven gaps and a wobbly baseline."""
    boxes = [render.tight(g) for g in glyphs]
    gaps = [rng.uniform(min_gap, 0.7) * height for _ in glyphs[1:]]
    total = sum(b[2] for b in boxes) + sum(gaps)
    left = rng.uniform(MARGIN, max(MARGIN, FRAME_W - MARGIN - total))
    baseline = rng.uniform(MARGIN + height, FRAME_H - MARGIN)
    corners = []
    for i, (bx, by, bw, bh) in enumerate(boxes):
        bottom = baseline + rng.uniform(-0.05, 0.05) * height
        corners.append((round(left - bx), round(bottom - bh - by)))
        left += bw + (gaps[i] if i < len(gaps) else 0)
    return corners


def row_width(glyphs: list[np.ndarray], height: int, min_gap: float) -> float:
    return sum(render.tight(g)[2] for g in glyphs) + 0.7 * height * (len(glyphs) - 1) + min_gap


def digit_frame(
    rng: np.random.Generator, source: DigitSource, scenario: str, count: int, height: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """One frame holding a row of `count` MNIST digits; returns BGR pixels and its expectation."""
    picks = [source.take() for _ in range(count)]
    style = pick_style(rng, scenario, height)
    min_gap = 0.12 if scenario == "hard" else 0.15
    while True:  # shrink until the row fits the sheet
        glyphs = [
            render.glyph(img, round(height * rng.uniform(0.93, 1.07)), rng, style.weight)
            for img, _, _ in picks
        ]
        if row_width(glyphs, height, min_gap) <= FRAME_W - 2 * MARGIN or height <= 20:
            break
        height = int(height * 0.9)
    sheet = render.paper(rng, style.paper, style.texture)
    if style.lines:
        render.ruled_lines(sheet, rng, rng.uniform(24, 44), render.LINE_BLUE, rng.random() < 0.3)
    corners = layout_row(rng, glyphs, height, min_gap)
    for g, (x, y) in zip(glyphs, corners, strict=True):
        render.composite(sheet, g, x, y, style.ink)
    if scenario == "numbers" and rng.random() < 0.25:
        style.tags.append("underline")
        extras.underline(sheet, rng, glyphs, corners, style.ink)
    junk: list[int] = []
    if scenario == "hard" and rng.random() < 0.7:
        style.tags.append("edge-junk")
        junk = extras.edge_junk(
            sheet, rng, source, style.ink, height, extras.row_box(glyphs, corners)
        )
    frame = see(rng, sheet, style)
    value = "".join(str(label) for _, label, _ in picks)
    return frame, {
        "value": value,
        "status": "ok",
        "kind": "number",
        "digit_height_px": height,
        "mnist_test_indices": [i for _, _, i in picks],
        "conditions": style.tags,
        "jpeg_quality": style.quality,
        **({"junk_mnist_test_indices": junk} if junk else {}),
    }


def see(rng: np.random.Generator, sheet: np.ndarray, style: Style) -> np.ndarray:
    """The camera: warp, light, blur and noise applied to a flat sheet."""
    warped = render.camera_warp(sheet, rng, style.max_degrees, style.perspective)
    lit = warped * render.lighting(rng, **style.light)[:, :, None]
    return render.sensor(lit, rng, style.blur_sigma, style.noise_sigma)


def frame_height(rng: np.random.Generator, scenario: str) -> int:
    if scenario == "hard":
        return int(rng.uniform(20, 30) if rng.random() < 0.5 else rng.uniform(140, 200))
    if scenario == "single":
        return int(np.exp(rng.uniform(np.log(20), np.log(200))))
    return int(np.exp(rng.uniform(np.log(22), np.log(130))))


def digit_count(rng: np.random.Generator, scenario: str, height: int) -> int:
    if scenario == "single":
        return 1
    if scenario == "hard":
        return int(rng.integers(1, 4 if height > 100 else 6))
    return int(rng.integers(2, 7))


def scenario_frames(
    scenario: str,
    images: np.ndarray,
    labels: np.ndarray,
    count: int,
    seed: int,
    first_index: int,
    fine_pens: bool = False,
) -> Iterator[MockFrame]:
    """The frames of one scenario, each reproducible from (seed, frame number); fine_pens: a
    wild scenario's photos of writing are written with fine pens."""
    if scenario in wild.SCENARIOS:
        frames = wild.scenario_frames(scenario, images, labels, count, seed, first_index, fine_pens)
        yield from (MockFrame(*f) for f in frames)
        return
    source = DigitSource(images, labels, first_index)
    if scenario == "junk":
        yield from (MockFrame(*f) for f in extras.junk_files(np.random.default_rng(seed), source))
        return
    for n in range(count):
        rng = np.random.default_rng([seed, n])
        if scenario == "blank":
            frame, expected = extras.blank_frame(rng, n)
            quality = 80
        else:
            height = frame_height(rng, scenario)
            frame, expected = digit_frame(
                rng, source, scenario, digit_count(rng, scenario, height), height
            )
            quality = expected.pop("jpeg_quality")
        yield MockFrame(f"{scenario}_{n:04d}.jpg", render.jpeg(frame, quality), expected)


def write_folder(out: Path, frames: Iterator[MockFrame]) -> int:
    """Write the frames and expected.json (sorted keys, so regenerating diffs cleanly)."""
    out.mkdir(parents=True, exist_ok=True)
    expected = {}
    for frame in frames:
        (out / frame.filename).write_bytes(frame.data)
        expected[frame.filename] = frame.expected
    (out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    return len(expected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST .gz files")
    parser.add_argument("--out", required=True, type=Path, help="folder to write frames into")
    parser.add_argument("--scenario", required=True, choices=SCENARIOS)
    parser.add_argument("--count", type=int, default=20, help="frames to render")
    parser.add_argument("--seed", type=int, default=None, help="default: 1 (wild: 20261201)")
    parser.add_argument(
        "--first-index", type=int, default=None, help="first MNIST test image used (wild: 2000)"
    )
    args = parser.parse_args(argv)
    is_wild = args.scenario in wild.SCENARIOS
    if args.seed is None:
        args.seed = wild.DEFAULT_SEED if is_wild else 1
    if args.first_index is None:
        args.first_index = wild.FIRST_INDEX if is_wild else 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    images, labels = load_split(resolve_data_dir(args.data_dir), "test")
    frames = scenario_frames(args.scenario, images, labels, args.count, args.seed, args.first_index)
    written = write_folder(args.out, frames)
    print(f"wrote {written} frames to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
