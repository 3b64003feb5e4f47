"""Wild scenarios of the tuning renderer: digits written the way people really write them.

    python mock_frames/generate.py --data-dir ../shared/data/mnist --out /tmp/wild/numbers \
        --scenario wild-numbers --count 300

`wild-numbers` (2-6 digits) and `wild-single` (one digit) are 640x480 photos: digits
wandering up to 40 % of their height off a straight or tilted baseline, touching (even
crossing a little) or up to 3 heights apart, sizes differing up to 30 % within a number,
slanted up to 20 degrees, in pencil, ballpoint or felt-tip on plain, ruled or squared paper,
then warped, lit, blurred, noised and JPEG-compressed by `render`. `wild-crops` are tight
28-120 px crops of one digit cut from a form cell or a grid sheet (kind `digit`, see
wild_crops.py). `wild-blank` are the photos' pages and cameras with nothing written: a
false digit there is a reading published from nothing. `wild-flawed` (1-6 digits) and
`wild-flawed-blank` are the same on pages with the flaws of real ones (wild_flaws.py: punched
holes, folds, the page's edge, coffee rings, specks, hairs, glare). `wild-continental` (1-6
digits) are the photos with most 1s flagged (some with a foot) and most 7s crossed, drawn by
wild_forms.py, not by the training's own strokes.py. These frames are for tuning
`edge/vision/params.py`; no figure measured on them is a held-out figure. They draw MNIST
test images 2000-4999 only, in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import render
import wild_crops
import wild_flaws
import wild_forms
import wild_hand
import wild_ink
from render import FRAME_H, FRAME_W
from wild_hand import Written, write_number
from wild_ink import Paper

SCENARIOS = (
    "wild-numbers",
    "wild-single",
    "wild-crops",
    "wild-blank",
    "wild-flawed",
    "wild-flawed-blank",
    "wild-continental",
)
DEFAULT_SEED = 20261201
FIRST_INDEX, END_INDEX = 2000, 5000  # the MNIST test images these scenarios may draw
EDGE_PX = 10  # every digit stays this far inside the frame after the camera's warp


@dataclass
class WildSource:
    """Hands out MNIST test images in order from `next_index`, never at or past `end`."""

    images: np.ndarray
    labels: np.ndarray
    next_index: int
    end: int
    used: list[int] = field(default_factory=list)

    def take(self) -> tuple[np.ndarray, int, int]:
        if self.next_index >= min(self.end, len(self.images)):
            raise SystemExit(f"wild scenarios ran out of MNIST test images at {self.next_index}")
        i = self.next_index
        self.next_index += 1
        self.used.append(i)
        return self.images[i], int(self.labels[i]), i


@dataclass
class Camera:
    matrix: np.ndarray
    perspective: float
    light: dict[str, float]
    blur_sigma: float
    noise_sigma: float
    quality: int
    tags: list[str]


def pick_camera(rng: np.random.Generator, height: int, stroke_px: float) -> Camera:
    """How the sheet is seen: tilt, light and shadow, focus, noise and compression."""
    perspective = rng.uniform(0.0, 0.07)
    matrix = render.camera_matrix(rng, 6.0, perspective)
    shadow = rng.uniform(0.25, 0.6) if rng.random() < 0.4 else 0.0
    brightness = rng.uniform(0.45, 1.05)
    shadow = min(shadow, 1 - 0.25 / brightness)  # exposure keeps the shade at 25 % light or more
    light = {
        "brightness": brightness,
        "gradient": rng.uniform(0.0, 0.7),
        "vignette": rng.uniform(0.0, 0.4),
        "shadow": shadow,
        "shadow_softness_px": rng.uniform(2, 40),
    }
    # Focus blur a person still reads through: capped by the digit's size and stroke width.
    cap = max(0.6, min(height / 22, stroke_px * 0.9, 3.0))
    blur = rng.uniform(0.0, 0.8) if rng.random() < 0.6 else rng.uniform(0.8, max(cap, 0.8))
    blur = min(blur, cap)
    quality = int(rng.integers(40, 93))
    tags = wild_ink.flagged(
        {
            "perspective": perspective > 0.045,
            "shadow": shadow > 0,
            "dim": light["brightness"] < 0.6,
            "blur": blur >= 1.2,
            "jpeg-low": quality < 55,
        }
    )
    return Camera(matrix, perspective, light, float(blur), rng.uniform(1.5, 7.0), quality, tags)


def place(
    rng: np.random.Generator, written: Written, paper: Paper, tilt_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """An affine strip -> sheet map putting the number somewhere on the sheet, and its ink box."""
    ax, ay = written.anchor
    ys, xs = np.nonzero(written.alpha > 0.25)
    corners = [
        [xs.min(), ys.min()],
        [xs.max(), ys.min()],
        [xs.max(), ys.max()],
        [xs.min(), ys.max()],
    ]
    box = np.array(corners, np.float32)
    turn = cv2.getRotationMatrix2D((ax, ay), tilt_deg, 1.0)
    around = (
        box @ turn[:, :2].T + turn[:, 2] - np.array([ax, ay], np.float32)
    )  # ink box, anchor at 0
    low, high = around.min(axis=0), around.max(axis=0)
    x = rng.uniform(EDGE_PX - low[0], max(EDGE_PX - low[0], FRAME_W - EDGE_PX - high[0]))
    y = rng.uniform(EDGE_PX - low[1], max(EDGE_PX - low[1], FRAME_H - EDGE_PX - high[1]))
    y_rule = wild_ink.rule_near(paper, y)  # people write on the line
    if EDGE_PX - low[1] <= y_rule <= FRAME_H - EDGE_PX - high[1]:
        y = y_rule
    turn[:, 2] += (x - ax, y - ay)
    return turn, around + np.array([x, y], np.float32)


def seen_boxes(written: Written, to_sheet: np.ndarray, camera: np.ndarray) -> list[list[int]]:
    """Each digit's box in the frame: its strip box carried through the sheet and the camera."""
    boxes = []
    for x, y, w, h in written.boxes:
        corners = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)
        on_sheet = corners @ to_sheet[:, :2].T + to_sheet[:, 2]
        seen = cv2.perspectiveTransform(on_sheet[None].astype(np.float32), camera)[0]
        (x0, y0), (x1, y1) = seen.min(axis=0), seen.max(axis=0)
        boxes.append([round(x0), round(y0), round(x1 - x0), round(y1 - y0)])
    return boxes


def inside(matrix: np.ndarray, corners: np.ndarray) -> bool:
    """The ink box (sheet corners) is seen whole, and far enough from the sheet's edge that
    the warp's mirrored border (render.warp reflects the sheet) shows no copy of it."""
    seen = cv2.perspectiveTransform(corners[None].astype(np.float32), matrix)[0]
    frame = np.array([[0, 0], [FRAME_W, 0], [FRAME_W, FRAME_H], [0, FRAME_H]], np.float32)
    looked_at = cv2.perspectiveTransform(frame[None], np.linalg.inv(matrix))[0]
    beyond = max(0.0, float(np.max(-looked_at)), float(np.max(looked_at - (FRAME_W, FRAME_H))))
    room = beyond + EDGE_PX
    return bool(
        (seen >= EDGE_PX).all()
        and (seen <= (FRAME_W - EDGE_PX, FRAME_H - EDGE_PX)).all()
        and (corners >= room).all()
        and (corners <= (FRAME_W - room, FRAME_H - room)).all()
    )


def seen(
    rng: np.random.Generator, sheet: np.ndarray, camera: Camera, glare: np.ndarray | None = None
) -> np.ndarray:
    """The flat sheet as the camera takes it: warped, lit, blurred and noised; `glare` (HxW on
    the sheet) is light reflected to the camera, past white where it is 1 (it saturates)."""
    lit = render.warp(sheet, camera.matrix) * render.lighting(rng, **camera.light)[:, :, None]
    if glare is not None:
        shine = render.warp(np.repeat(glare[:, :, None], 3, axis=2), camera.matrix)
        lit = lit + (1.3 - lit) * shine
    return render.sensor(lit, rng, camera.blur_sigma, camera.noise_sigma)


def photo(
    rng: np.random.Generator,
    source: WildSource,
    count: int,
    height: int,
    flawed: bool = False,
    fine_pen: bool = False,
    continental: bool = False,
) -> tuple[np.ndarray, dict[str, Any], int]:
    """One 640x480 photo of a number of `count` digits; BGR pixels, expectation, JPEG quality.
    flawed: the page has flaws (wild_flaws), clear of the writing where they would change it.
    fine_pen: written with a fine pen (wild_ink.fine_pen) instead of any pen.
    continental: 1s and 7s mostly in continental forms (wild_forms)."""
    picks = [source.take() for _ in range(count)]
    forms: list[str] = []
    if continental:
        for i, (image, label, index) in enumerate(picks):
            drawn, named = wild_forms.continental(image, label, rng)
            picks[i] = (drawn, label, index)
            forms += [f for f in named if f not in forms]
    hand = wild_hand.pick_hand(rng, count)
    pen = wild_ink.fine_pen(rng) if fine_pen else wild_ink.pick_pen(rng)
    while True:  # a writer with wide gaps on a small sheet writes smaller
        written = write_number(rng, [p[0] for p in picks], height, hand, pen)
        if written.alpha.shape[1] <= FRAME_W - 6 * EDGE_PX or height <= 18:
            break
        height = max(18, int(height * 0.88))
    paper = wild_ink.pick_paper(rng, height)
    flat = paper.name == "plain"
    tilt = rng.uniform(-3, 3) if rng.random() < 0.5 else rng.uniform(3, 10) * rng.choice([-1, 1])
    tilt = tilt if flat else rng.uniform(-2.5, 2.5)  # rules keep a writer level
    stroke_px = max(1.3, pen.width * height)
    camera = pick_camera(rng, height, stroke_px)
    for attempt in range(60):  # a spot on the sheet the camera still sees whole
        to_sheet, corners = place(rng, written, paper, tilt)
        if inside(camera.matrix, corners):
            break
        if attempt % 10 == 9:
            strength = 1.0 if attempt < 40 else 0.3
            camera.matrix = render.camera_matrix(rng, 6.0 * strength, camera.perspective * strength)
            if strength < 1.0:
                camera.tags = [t for t in camera.tags if t != "perspective"]
    sheet = wild_ink.draw_paper(rng, paper)
    ink = cv2.warpAffine(written.alpha, to_sheet, (FRAME_W, FRAME_H), flags=cv2.INTER_LINEAR)
    ink = ink * (pen.intensity * wild_ink.grain(rng, ink.shape, pen.grain))
    flaws, glare = [], None
    if flawed:
        margin = int(max(6, 0.3 * height)) | 1
        writing = cv2.dilate((ink > 0.02).astype(np.uint8), np.ones((margin, margin), np.uint8))
        flaws, glare = wild_flaws.add_flaws(rng, sheet, writing > 0)
    render.composite(sheet, ink, 0, 0, pen.colour)
    frame = seen(rng, sheet, camera, glare)
    several = count > 1
    found = wild_ink.flagged(
        {
            "slant": abs(hand.slant_deg) >= 8,
            "tilted-baseline": abs(tilt) >= 4,
            "drift": several and max(abs(d) for d in hand.drift) >= 0.15,
            "size-var": several and max(hand.sizes) / min(hand.sizes) >= 1.15,
            "touching": several and written.touching,
            "wide-gap": several and written.widest_gap >= 1.0,
        }
    )
    tags = [paper.name, pen.name, *camera.tags, *flaws, *found, *forms]
    return (
        frame,
        {
            "value": "".join(str(p[1]) for p in picks),
            "status": "ok",
            "kind": "number",
            "digit_height_px": height,
            "mnist_test_indices": [p[2] for p in picks],
            "digit_boxes": seen_boxes(written, to_sheet, camera.matrix),
            "conditions": tags,
            "slant_deg": round(hand.slant_deg, 1),
            "baseline_tilt_deg": round(float(tilt), 1),  # on the sheet; the camera adds its own
            "drift_heights": [round(d, 2) for d in hand.drift],
            "gap_heights": [round(float(g), 2) for g in hand.gaps],  # aimed; kerning may widen
        },
        camera.quality,
    )


def blank_photo(
    rng: np.random.Generator, flawed: bool = False
) -> tuple[np.ndarray, dict[str, Any], int]:
    """A photo's page and camera with nothing written on it (rules spaced for some writing);
    flawed: with flaws of a real page (wild_flaws)."""
    height = photo_height(rng, "wild-numbers")
    paper = wild_ink.pick_paper(rng, height)
    camera = pick_camera(rng, height, max(1.3, wild_ink.pick_pen(rng).width * height))
    sheet = wild_ink.draw_paper(rng, paper)
    flaws, glare = wild_flaws.add_flaws(rng, sheet, None) if flawed else ([], None)
    frame = seen(rng, sheet, camera, glare)
    expected = {
        "value": None,
        "status": "no_digit",
        "kind": "number",
        "conditions": [paper.name, *camera.tags, *flaws],
    }
    return frame, expected, camera.quality


def photo_height(rng: np.random.Generator, scenario: str) -> int:
    low, high = (22, 220) if scenario == "wild-single" else (22, 130)
    return int(np.exp(rng.uniform(np.log(low), np.log(high))))


def scenario_frames(
    scenario: str,
    images: np.ndarray,
    labels: np.ndarray,
    count: int,
    seed: int = DEFAULT_SEED,
    first_index: int = FIRST_INDEX,
    fine_pens: bool = False,
) -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    """(file name, encoded bytes, expectation) per frame, each reproducible from (seed, n);
    fine_pens: photos of writing are written with fine pens (wild_ink.fine_pen)."""
    source = WildSource(images, labels, first_index, END_INDEX)
    salt = SCENARIOS.index(scenario)
    for n in range(count):
        rng = np.random.default_rng([seed, salt, n])
        if scenario == "wild-crops":
            data, expected = wild_crops.crop_file(rng, source)
        else:
            frame, expected, quality = scenario_photo(rng, scenario, source, fine_pens)
            data = render.jpeg(frame, quality)
        yield f"{scenario}_{n:04d}.jpg", data, expected


def scenario_photo(
    rng: np.random.Generator, scenario: str, source: WildSource, fine_pen: bool = False
) -> tuple[np.ndarray, dict[str, Any], int]:
    """One photo of a wild scenario (any but `wild-crops`) drawn from its own `rng`: BGR
    pixels, expectation, JPEG quality; fine_pen: writing in a fine pen."""
    if scenario in ("wild-blank", "wild-flawed-blank"):
        return blank_photo(rng, flawed=scenario == "wild-flawed-blank")
    height = photo_height(rng, scenario)
    digits = 1 if scenario == "wild-single" else int(rng.integers(2, 7))
    if scenario in ("wild-flawed", "wild-continental") and rng.random() < 0.3:
        digits = 1
    flawed, continental = scenario == "wild-flawed", scenario == "wild-continental"
    return photo(rng, source, digits, height, flawed, fine_pen, continental)
