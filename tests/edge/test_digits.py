"""find_digits on frames drawn like camera pictures: paper, light, lines, neighbours, noise."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.camera.imageio import decode_image
from edge.config import RegionSettings
from edge.model import load_model
from edge.reader import FrameReader
from edge.vision.binarize import ink_map
from edge.vision.find import find_digits
from tests.conftest import load_script
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"
Box = tuple[int, int, int, int]


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return load_split(SAMPLE, "test")


@functools.cache
def shipped_model():
    from edge.model import load_model

    return load_model(None)


def clear_example(digits: tuple[np.ndarray, np.ndarray], digit: int, sure: float = 0.99):
    """The sample's first image of `digit` that the shipped model reads surely on its own.

    For tests of finding and cleaning ink: MNIST's test set has odd shapes (its first 5 closes
    its bow like a 6) that a model may rightly doubt, and such a test is about the page, not them.
    """
    images, labels = digits
    candidates = np.nonzero(labels == digit)[0][:20]
    probs, not_digit = shipped_model().scores(images[candidates, None].astype(np.float32) / 255)
    sure_enough = (probs.argmax(1) == digit) & (probs.max(1) * (1 - not_digit) >= sure)
    return images[int(candidates[np.argmax(sure_enough)])]


def assert_read_as(reading, value: str) -> None:
    """Every written digit found and read as written; whether the model is sure enough of
    each to publish the number is its own affair, but a number it publishes is the written
    one, and one it doubts has no value."""
    assert "".join(str(d.digit) for d in reading.digits) == value
    assert reading.status in ("ok", "low_confidence")
    assert reading.value == (value if reading.status == "ok" else None)


def paper(
    width: int = 640,
    height: int = 480,
    level: float = 225,
    gradient: float = 0.0,
    noise: float = 2.0,
    seed: int = 0,
) -> np.ndarray:
    """A sheet lit from one side (gradient: fraction of light lost across the frame)."""
    ramp = 1.0 - gradient * np.linspace(0, 1, width, dtype=np.float32)[None, :]
    sheet = np.full((height, width), level, np.float32) * ramp
    return sheet + np.random.default_rng(seed).normal(0, noise, sheet.shape).astype(np.float32)


def draw_digit(
    sheet: np.ndarray, digit: np.ndarray, x: int, y: int, height: int, ink: float = 0.15
) -> Box:
    """Lay an MNIST digit as pen ink (darkening the paper to `ink` of its level); its ink box."""
    ys, xs = np.nonzero(digit)
    crop = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255
    width = max(1, round(crop.shape[1] * height / crop.shape[0]))
    alpha = np.clip(cv2.resize(crop, (width, height), interpolation=cv2.INTER_CUBIC), 0, 1)
    region = sheet[y : y + height, x : x + width]
    region *= 1 - alpha[: region.shape[0], : region.shape[1]] * (1 - ink)
    ys, xs = np.nonzero(alpha > 0.3)
    return x + int(xs.min()), y + int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1


def to_uint8(sheet: np.ndarray) -> np.ndarray:
    return np.clip(sheet + 0.5, 0, 255).astype(np.uint8)


def iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)


def ruled(
    sheet: np.ndarray, spacing: int = 32, degrees: float = 2.0, darkness: float = 0.3
) -> None:
    """Notebook rules, tilted a little as in a hand-held photo."""
    height, width = sheet.shape
    slope = np.tan(np.radians(degrees))
    mask = np.zeros(sheet.shape, np.uint8)
    for y in range(-width, height + width, spacing):
        cv2.line(mask, (0, y), (width - 1, int(y + slope * width)), 1, 2)
    sheet *= 1 - darkness * mask


@pytest.mark.parametrize(
    "frame",
    [
        "white",
        "gradient",
        "dark-noise",
        "ruled",
        "shadow",
    ],
)
def test_blank_frames_have_no_digits(frame: str) -> None:
    if frame == "white":
        sheet = paper()
    elif frame == "gradient":
        sheet = paper(gradient=0.7, noise=4)
    elif frame == "dark-noise":  # lens cap, or a night without light
        sheet = paper(level=12, noise=9)
    elif frame == "ruled":
        sheet = paper(gradient=0.3)
        ruled(sheet)
    else:
        sheet = paper()
        sheet[:, 300:] *= 0.45  # a hard cast shadow edge
        sheet = cv2.GaussianBlur(sheet, (0, 0), 3)
    assert find_digits(to_uint8(sheet), "number") == []


def test_a_digit_under_uneven_light_is_found_where_it_is(digits) -> None:
    images, _ = digits
    sheet = paper(gradient=0.4, noise=3)  # 40 % less light on the right
    sheet[:, :200] *= 0.6  # and a hard shadow edge through the digit
    truth = draw_digit(sheet, images[0], 150, 160, 90)
    found = find_digits(to_uint8(sheet), "number")
    assert len(found) == 1
    assert iou(found[0].box, truth) > 0.7
    ink = found[0].ink
    assert ink.dtype == np.float32 and ink.shape == (found[0].box[3], found[0].box[2])
    assert ink.min() >= 0 and ink.max() == pytest.approx(1.0)


def test_a_number_comes_left_to_right_whatever_the_gaps(digits) -> None:
    images, _ = digits
    sheet = paper(noise=3)
    truths, x = [], 60
    for i, gap in zip((1, 2, 3, 4), (14, 45, 22, 0), strict=True):
        truths.append(draw_digit(sheet, images[i], x, 200, 60))
        x = truths[-1][0] + truths[-1][2] + gap
    found = find_digits(to_uint8(sheet), "number")
    assert len(found) == 4
    assert [c.box[0] for c in found] == sorted(c.box[0] for c in found)
    for candidate, truth in zip(found, truths, strict=True):
        assert iou(candidate.box, truth) > 0.6


def test_digit_kind_gives_only_the_most_prominent_digit(digits) -> None:
    images, _ = digits
    sheet = paper()
    draw_digit(sheet, images[5], 40, 40, 30)
    big = draw_digit(sheet, images[6], 250, 150, 150)
    draw_digit(sheet, images[7], 540, 380, 30)
    found = find_digits(to_uint8(sheet), "digit")
    assert len(found) == 1 and iou(found[0].box, big) > 0.7


def test_light_writing_on_a_dark_board_is_found(digits) -> None:
    images, _ = digits
    board = paper(level=40, noise=3)
    truth = draw_digit(board, images[8], 300, 200, 100, ink=4.0)  # chalk: 4x the board
    found = find_digits(to_uint8(board), "number")
    assert len(found) == 1 and iou(found[0].box, truth) > 0.7


def read_number(gray: np.ndarray) -> tuple[str, str | None]:
    """Status and value of the frame read as one `number` region with the shipped model."""
    reader = FrameReader(load_model(None), [RegionSettings()], 0.9, "dev")
    (reading,) = reader.read(gray, "test", 0)
    return reading.status, reading.value


def hard_photo(seed: int, index: int, value: str) -> np.ndarray:
    """The index-th `hard` photo of the tuning renderer for a seed, drawn from the sample."""
    generate = load_script("mock_generate", ROOT / "mock_frames" / "generate.py")
    images, labels = load_split(SAMPLE, "test")
    frame = list(generate.scenario_frames("hard", images, labels, index + 1, seed, 0))[index]
    assert frame.expected["value"] == value
    return decode_image(frame.data)


def test_thick_light_strokes_on_a_dark_board_are_read_as_the_writing(digits) -> None:
    # A felt tip or a chalk stick pressed flat: strokes as thick as the polarity test's
    # stroke kernel hardly count as thin light features, while the board they enclose (the
    # holes of the 8 and the 0) counts as thin dark ones. Read as dark writing, the holes
    # came out as a sure "11".
    images, labels = digits
    board = paper(level=35, noise=3)
    x = 60
    for digit in (8, 0):
        image = images[int(np.nonzero(labels == digit)[0][2])]
        thick = cv2.dilate(image, np.ones((3, 3), np.uint8))  # a thick felt tip
        x = sum(draw_digit(board, thick, x, 130, 190, ink=4.5)[::2]) + 60
    frame = to_uint8(board)
    assert ink_map(frame).light_on_dark
    assert read_number(frame) == ("ok", "80")


@pytest.mark.parametrize(
    ("seed", "index", "digit"),
    [
        (5, 23, "7"),  # chalk on a dark board: read as dark writing before
        (24, 27, "4"),
        (35, 7, "0"),
        (17, 25, "7"),  # with a neighbour's chalk cut by the frame's edge, which does not count
        (43, 24, "7"),
        (15, 8, "0"),  # chalk on under a twentieth of the frame: its grey levels undecided
    ],
)
def test_chalk_of_the_tuning_renderer_is_read_as_light_writing(seed, index, digit) -> None:
    gray = hard_photo(seed, index, digit)
    assert ink_map(gray).light_on_dark
    assert read_number(gray) == ("ok", digit)


@pytest.mark.parametrize(("seed", "index", "value"), [(7, 5, "15"), (19, 34, "3")])
def test_clear_digits_in_a_dark_noisy_frame_meet_the_contrast_rule(seed, index, value) -> None:
    # A dim camera: the noise sets the ink threshold high, twice that is out of reach of any
    # stroke (the ink map tops out where the camera's black is), and the digits came back
    # `no_digit`; the contrast rule's level stops at max_strong_contrast.
    gray = hard_photo(seed, index, value)
    assert 2 * ink_map(gray).low > 255
    assert read_number(gray) == ("ok", value)


def test_ruled_lines_neither_join_nor_stretch_digits(digits) -> None:
    images, _ = digits
    sheet = paper(gradient=0.2)
    ruled(sheet, spacing=30)
    truths = [
        draw_digit(sheet, images[i], 120 + 70 * k, 190, 45) for k, i in enumerate((9, 10, 11))
    ]
    found = find_digits(to_uint8(sheet), "number")
    assert len(found) == 3
    for candidate, truth in zip(found, truths, strict=True):
        assert abs(candidate.box[3] - truth[3]) <= 0.15 * truth[3]
        assert iou(candidate.box, truth) > 0.6


def test_a_five_whose_bar_came_off_is_one_digit() -> None:
    sheet = paper()
    strokes = np.zeros(sheet.shape, np.uint8)
    cv2.line(strokes, (306, 200), (336, 200), 1, 5)  # the bar, 6 px above the body
    cv2.line(strokes, (300, 206), (298, 236), 1, 5)
    cv2.ellipse(strokes, (310, 255), (20, 20), 0, 200, 500, 1, 5)
    sheet *= 1 - 0.8 * strokes
    found = find_digits(to_uint8(sheet), "number")
    assert len(found) == 1
    _, y, _, h = found[0].box
    assert y <= 200 and y + h >= 270


def test_writing_cut_by_the_frame_edge_is_ignored(digits) -> None:
    images, _ = digits
    sheet = paper()
    truth = draw_digit(sheet, images[12], 300, 180, 80)
    draw_digit(sheet, images[13], 0, 150, 90)
    sheet[:, :25] = sheet[:, 40:65]  # only the right part of that neighbour is in the picture
    found = find_digits(to_uint8(sheet), "number")
    assert len(found) == 1 and iou(found[0].box, truth) > 0.7


def test_a_neighbour_reaching_into_the_box_is_masked_out() -> None:
    sheet = paper()
    strokes = np.zeros(sheet.shape, np.uint8)
    cv2.line(strokes, (200, 150), (270, 150), 1, 6)  # a 7: bar
    cv2.line(strokes, (270, 150), (225, 240), 1, 6)  # and stem
    neighbour = np.zeros(sheet.shape, np.uint8)
    cv2.line(neighbour, (266, 205), (263, 265), 1, 6)  # a 1 whose top is inside the 7's box
    sheet *= 1 - 0.8 * (strokes | neighbour)
    found = find_digits(to_uint8(sheet), "number")
    assert len(found) == 2
    seven = found[0]
    x, y, w, h = seven.box
    assert x + w > 266 and y + h > 215  # the 1's top is inside the 7's box...
    inside = neighbour[y : y + h, x : x + w] > 0
    assert inside.sum() > 50 and seven.ink[inside].max() < 0.05  # ...but not in its ink


def test_large_frames_report_boxes_in_their_own_pixels(digits) -> None:
    images, _ = digits
    sheet = paper(width=1920, height=1080)
    truth = draw_digit(sheet, images[14], 900, 400, 300)
    found = find_digits(to_uint8(sheet), "number")
    assert len(found) == 1 and iou(found[0].box, truth) > 0.7


def test_a_raw_mnist_image_is_read_as_one_digit(digits) -> None:
    images, _ = digits
    found = find_digits(images[15], "number")  # 28x28, white on black
    assert len(found) == 1
    x, y, _, h = found[0].box
    ys, xs = np.nonzero(images[15] > 60)
    assert abs(x - xs.min()) <= 2 and abs(y - ys.min()) <= 2 and abs(h - np.ptp(ys) - 1) <= 3


def punched(sheet: np.ndarray, x: int = 30, radius: int = 9, desk: float = 40) -> None:
    """The holes of a ring binder down the left margin, a dark desk showing through, between
    the rules of `ruled` (a rule across a hole is removed as line with part of the hole)."""
    for y in (113, 241, 369):
        hole = np.zeros(sheet.shape, np.float32)
        cv2.circle(hole, (x, y), radius, 1.0, -1, cv2.LINE_AA)
        sheet[:] = sheet * (1 - hole) + desk * hole


def test_punched_holes_are_not_digits(digits) -> None:
    # A disc fills only pi/4 of its box, under the solid-blob rule's 0.85; three of them down
    # the margin were read as "111" on a blank page, and as digits beside a number.
    sheet = paper(gradient=0.2)
    ruled(sheet)
    punched(sheet)
    blank = to_uint8(cv2.GaussianBlur(sheet, (0, 0), 0.8))
    assert find_digits(blank, "number") == []
    assert find_digits(blank, "digit") == []
    draw_digit(sheet, clear_example(digits, 4), 260, 200, 60)
    draw_digit(sheet, clear_example(digits, 7), 320, 200, 60)
    assert read_number(to_uint8(cv2.GaussianBlur(sheet, (0, 0), 0.8))) == ("ok", "47")


def test_a_blob_is_solid_when_a_disc_half_its_size_fits_inside() -> None:
    from edge.vision.shape import solid

    def mask(draw) -> np.ndarray:
        m = np.zeros((40, 30), np.uint8)
        draw(m)
        ys, xs = np.nonzero(m)
        return m[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]

    hole = mask(lambda m: cv2.circle(m, (15, 20), 12, 1, -1))
    ring = mask(lambda m: cv2.ellipse(m, (15, 20), (11, 15), 0, 0, 360, 1, 4))
    # A bold 9 whose loop filled in: a disc as wide as the digit, on a stem.
    nine = mask(
        lambda m: (cv2.circle(m, (15, 12), 9, 1, -1), cv2.line(m, (22, 14), (20, 38), 1, 5))
    )
    assert solid(hole)
    assert not solid(ring)
    assert not solid(nine)


def test_the_desk_past_the_pages_edge_is_no_digit_in_a_digit_region(digits) -> None:
    # A digit region may be a tight crop whose digit fills it and runs off its edges, so ink
    # touching the edge is read there; a band of desk along the photo's side (the page ends
    # short of the frame) filled the frame's height and was read as a sure 1.
    sheet = paper(gradient=0.1, noise=3)
    sheet[:, :60] = 50 + 8 * np.sin(np.arange(480) / 5.0)[:, None]  # a wooden desk
    blank = to_uint8(cv2.GaussianBlur(sheet, (0, 0), 1.0))
    assert find_digits(blank, "digit") == []
    draw_digit(sheet, clear_example(digits, 3), 300, 180, 90)
    (found,) = find_digits(to_uint8(cv2.GaussianBlur(sheet, (0, 0), 1.0)), "digit")
    assert found.box[0] >= 290
    # A tight crop of a 7 cut along its own box still has its bar lying along the top.
    seven = clear_example(digits, 7)
    ys, xs = np.nonzero(seven > 60)
    crop = 255 - seven[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    reader = FrameReader(load_model(None), [RegionSettings(kind="digit")], 0.9, "dev")
    (reading,) = reader.read(crop, "tight", 0)
    assert (reading.status, reading.value) == ("ok", "7")


def glare(sheet: np.ndarray, centre: tuple[int, int], radius: int) -> None:
    """A lamp's reflection on glossy paper: a soft patch past white (the sensor clips it)."""
    patch = np.zeros(sheet.shape, np.float32)
    cv2.circle(patch, centre, radius, 1.0, -1, cv2.LINE_AA)
    patch = cv2.GaussianBlur(patch, (0, 0), radius / 3)
    sheet += (300 - sheet) * patch


def test_glare_on_the_page_is_not_light_writing(digits) -> None:
    # The patch stands out as light from the polarity test's stroke-sized opening; counted as
    # light writing it turned the page into a dark board: the number was lost and the patch
    # read as 1s.
    sheet = paper(gradient=0.3, noise=3)
    glare(sheet, (470, 330), 45)
    assert find_digits(to_uint8(sheet), "number") == []
    draw_digit(sheet, clear_example(digits, 4), 150, 150, 50, ink=0.45)
    draw_digit(sheet, clear_example(digits, 7), 195, 150, 50, ink=0.45)
    assert read_number(to_uint8(sheet)) == ("ok", "47")


def soft_glare(
    sheet: np.ndarray, centre: tuple[int, int], axes: tuple[int, int], soft: int
) -> None:
    """A lamp's reflection with a wide soft edge: an ellipse past white (the sensor clips it)
    whose light fades out over `soft` pixels beyond it."""
    height, width = sheet.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    r = np.sqrt(((xs - centre[0]) / axes[0]) ** 2 + ((ys - centre[1]) / axes[1]) ** 2)
    sheet += (300 - sheet) * np.clip(1.0 - (r - 1.0) * axes[0] / soft, 0, 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_halo_of_a_soft_edged_glare_does_not_turn_the_page_into_a_board(digits, seed) -> None:
    # The glare's fading edge stands out as light just past the clipped patch that the
    # polarity test takes out, and on a blank page nothing dark outweighs it: the page was
    # taken for a dark board and the halo's arcs were read as marks (a blank number region
    # went out `low_confidence`; on tuning pages "11" and "1111", `ok`), or the number
    # written beside the glare was lost.
    sheet = paper(level=140, gradient=0.3, noise=3, seed=seed)
    soft_glare(sheet, (540, 120), (28, 42), 18)
    frame = to_uint8(sheet)
    assert np.count_nonzero(frame >= 250) > 1000
    assert not ink_map(frame).light_on_dark
    assert read_number(frame) == ("no_digit", None)
    draw_digit(sheet, clear_example(digits, 4), 150, 250, 50, ink=0.45)
    draw_digit(sheet, clear_example(digits, 7), 195, 250, 50, ink=0.45)
    assert read_number(to_uint8(sheet)) == ("ok", "47")


def flawed_photo(
    seed: int, index: int, value: str | None, flaw: str, scenario: str = "wild-flawed"
) -> np.ndarray:
    """The index-th photo of a flawed-page scenario of the tuning renderer for a seed, drawn
    from the sample, whose page has `flaw`."""
    generate = load_script("mock_generate", ROOT / "mock_frames" / "generate.py")
    images, labels = load_split(SAMPLE, "test")
    frames = generate.scenario_frames(scenario, images, labels, index + 1, seed, 0)
    frame = list(frames)[index]
    assert frame.expected["value"] == value and flaw in frame.expected["conditions"]
    return decode_image(frame.data)


@pytest.mark.parametrize("seed, index, value", [(2, 3, "0"), (3, 35, "492"), (1, 13, "12")])
def test_a_small_clipped_glare_does_not_turn_the_page_into_a_board(seed, index, value) -> None:
    # A patch of glare no wider than a stroke passes the wide-opening test; taken for light
    # writing, it made these pages dark boards: "0" was read as 1111, the others as nothing.
    assert read_number(flawed_photo(seed, index, value, "glare")) == ("ok", value)


def test_chalk_the_camera_clips_is_still_light_writing(digits) -> None:
    # An overexposed board clips its chalk too: long strokes, not round patches of glare
    # (taking every clipped pixel for glare lost these).
    sheet = paper(level=60, gradient=0.2, noise=3)
    draw_digit(sheet, clear_example(digits, 4), 150, 150, 60, ink=12)
    draw_digit(sheet, clear_example(digits, 7), 210, 150, 60, ink=12)
    frame = to_uint8(sheet)
    assert np.count_nonzero(frame >= 250) > 100
    assert ink_map(frame).light_on_dark
    assert read_number(frame) == ("ok", "47")


def test_a_piece_of_a_larger_ring_is_no_digit_but_a_0_and_curved_digits_are() -> None:
    from edge.vision.shape import on_a_larger_ring

    def stroke(draw, size=(120, 160)) -> np.ndarray:
        m = np.zeros(size, np.uint8)
        draw(m)
        ys, xs = np.nonzero(m)
        return m[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]

    # A coffee cup's rim left an arc: a sixth of a circle as wide as the arc is tall.
    arc = stroke(lambda m: cv2.ellipse(m, (20, 60), (100, 100), 0, -30, 30, 1, 3))
    assert on_a_larger_ring(arc)
    zero = stroke(lambda m: cv2.ellipse(m, (80, 60), (25, 40), 0, 0, 360, 1, 4))
    one = stroke(lambda m: cv2.line(m, (60, 20), (70, 100), 1, 4))
    bow = stroke(lambda m: cv2.ellipse(m, (40, 60), (30, 40), 0, -90, 90, 1, 4))  # a 3's bow
    assert not any(on_a_larger_ring(m) for m in (zero, one, bow))


@pytest.mark.parametrize(
    "scenario, seed, index, value",
    [
        ("wild-flawed", 1, 0, "721"),  # was read 11721
        ("wild-flawed", 3, 58, "818"),  # was read 11
        ("wild-flawed-blank", 1, 15, None),  # was read 1
        ("wild-flawed-blank", 3, 7, None),  # was read 11
    ],
)
def test_the_arcs_of_a_coffee_ring_are_not_read_as_1s(scenario, seed, index, value) -> None:
    frame = flawed_photo(seed, index, value, "stain", scenario)
    assert read_number(frame) == (("ok", value) if value else ("no_digit", None))
