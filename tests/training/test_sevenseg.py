"""Synthetic display digits: deterministic, the model's shape, every class, the font fallback,
dot-matrix LCDs, the whole digit in the crop, the real crops' loader, and renders a simple
classifier can tell apart.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from training import sevenseg
from training.sevenseg import (
    CROP_H,
    CROP_W,
    SevenSegConfig,
    load_lcd_crops,
    render_sevenseg,
    render_sevenseg_batch,
)
from training.sevenseg_glyphs import GLYPH_H, MATRIX_DIGITS, PAD, matrix_style

LCD_DIR = Path("/work/shared/data/lcd_digits")

# Everything but the digit's shape and size switched off: what is left must be the digit.
CLEAN = SevenSegConfig(
    ghost_p=0, light_on_dark_p=0, low_contrast_p=0, gradient_p=0, glare_p=0, blur_p=0,
    motion_p=0, slant_p=0, rotation_deg=0, neighbour_p=0, row_p=0, point_p=0, colon_p=0,
    bezel_p=0, noise_p=0, jpeg_p=0, contrast=(0.8, 0.8), bg_level=(220, 220),
)  # fmt: skip


def test_same_seed_same_images_other_seed_others() -> None:
    a = render_sevenseg_batch(np.random.default_rng(7), 30)
    b = render_sevenseg_batch(np.random.default_rng(7), 30)
    c = render_sevenseg_batch(np.random.default_rng(8), 30)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    one = render_sevenseg(np.random.default_rng(3), 4)
    assert np.array_equal(one, render_sevenseg(np.random.default_rng(3), 4))


def test_shapes_dtypes_and_balanced_labels() -> None:
    images, labels = render_sevenseg_batch(np.random.default_rng(0), 40)
    assert images.shape == (40, CROP_H, CROP_W) == (40, 32, 20) and images.dtype == np.uint8
    assert labels.shape == (40,) and labels.dtype == np.int64
    assert np.array_equal(np.bincount(labels, minlength=10), np.full(10, 4))
    assert render_sevenseg(np.random.default_rng(0), 0).shape == (32, 20)
    with pytest.raises(ValueError):
        render_sevenseg(np.random.default_rng(0), 10)


@pytest.mark.parametrize("font_p", [0.0, 1.0])
def test_every_digit_renders_with_polygons_and_fonts(font_p: float) -> None:
    rng = np.random.default_rng(1)
    cfg = dataclasses.replace(CLEAN, font_p=font_p)
    for digit in range(10):
        img = render_sevenseg(rng, digit, cfg)
        dark = img < 150  # clean renders: the panel at 220, segments far darker
        assert 0.02 < dark.mean() < 0.7, digit  # a light font's 1 is thin
        rows = np.nonzero(dark.any(axis=1))[0]
        assert rows[-1] - rows[0] + 1 >= 0.55 * CROP_H, digit  # the digit fills 60-100%


def test_every_digit_renders_as_a_dot_matrix() -> None:
    rng = np.random.default_rng(5)
    cfg = dataclasses.replace(CLEAN, matrix_p=1.0)
    for digit in range(10):
        img = render_sevenseg(rng, digit, cfg)
        dark = img < 150
        assert 0.02 < dark.mean() < 0.7, digit
        rows = np.nonzero(dark.any(axis=1))[0]
        assert rows[-1] - rows[0] + 1 >= 0.55 * CROP_H, digit


def test_dot_matrix_forms_are_5x7_and_never_another_digits() -> None:
    owner: dict[str, int] = {}
    for digit, forms in enumerate(MATRIX_DIGITS):
        for form in forms:
            rows = form.split()
            assert len(rows) == 7 and all(len(r) == 5 and set(r) <= {"0", "1"} for r in rows)
            assert owner.setdefault(form, digit) == digit, (form, digit, owner[form])
    assert len(MATRIX_DIGITS) == 10


def test_dot_matrix_dots_stand_apart() -> None:
    """The top row of an 8 (01110) is three dots, each its own run of ink, and the unlit dots
    (the ghost) fill the whole 5x7 grid."""
    style = matrix_style(np.random.default_rng(0), SevenSegConfig(matrix_fill=(0.7, 0.7)))
    eight, ghost = style.draw(8), style.ghost
    row = eight[PAD + GLYPH_H // 14] > 127  # the middle of the first row of dots
    runs = np.count_nonzero(np.diff(row.astype(np.int8)) == 1)
    assert runs == 3
    ghost_row = ghost[PAD + GLYPH_H // 14] > 127
    assert np.count_nonzero(np.diff(ghost_row.astype(np.int8)) == 1) == 5
    assert ghost.sum() > eight.sum()


def test_matrix_p_chooses_between_dot_matrix_and_seven_segments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """matrix_p 0 never draws a dot matrix (the 7-segment renders of earlier versions stay as
    they were), matrix_p 1 nothing else."""
    original = sevenseg.matrix_style
    monkeypatch.setattr(sevenseg, "matrix_style", lambda rng, cfg: pytest.fail("dot matrix"))
    render_sevenseg_batch(np.random.default_rng(3), 30, SevenSegConfig(matrix_p=0.0))
    monkeypatch.setattr(sevenseg, "matrix_style", original)
    monkeypatch.setattr(sevenseg, "polygon_style", lambda rng, cfg: pytest.fail("polygons"))
    monkeypatch.setattr(sevenseg, "font_style", lambda path: pytest.fail("font"))
    images, _ = render_sevenseg_batch(np.random.default_rng(3), 30, SevenSegConfig(matrix_p=1.0))
    assert images.std(axis=(1, 2)).min() > 0


def test_without_the_font_folder_polygons_draw_everything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sevenseg, "FONT_DIR", tmp_path / "no-fonts")
    monkeypatch.setattr(sevenseg, "font_style", lambda path: pytest.fail(f"font {path} used"))
    cfg = SevenSegConfig(font_p=1.0, matrix_p=0.0)
    images, labels = render_sevenseg_batch(np.random.default_rng(2), 20, cfg)
    assert images.shape == (20, 32, 20) and set(labels.tolist()) == set(range(10))
    assert images.std(axis=(1, 2)).min() > 0  # something was drawn in each


def test_the_whole_digit_lies_inside_the_crop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each render's digit box, mapped into its camera crop, is inside it and fills 60-100%."""
    seen = []
    layout = sevenseg._layout

    def recorded(rng, cfg, box, reach, pose):  # type: ignore[no-untyped-def]
        affine, cam_hw, margins = out = layout(rng, cfg, box, reach, pose)
        corners = [[box[0], box[2], box[2], box[0]], [box[1], box[1], box[3], box[3]], [1.0] * 4]
        seen.append((affine @ np.array(corners), cam_hw, margins))
        return out

    monkeypatch.setattr(sevenseg, "_layout", recorded)
    render_sevenseg_batch(np.random.default_rng(4), 300)
    assert len(seen) == 300
    for (px, py), (cam_h, cam_w), margins in seen:
        assert px.min() >= -1e-6 and px.max() <= cam_w + 1e-6
        assert py.min() >= -1e-6 and py.max() <= cam_h + 1e-6
        assert 0.6 - 1e-6 <= np.ptp(py) / cam_h <= 1.0 + 1e-6
        assert min(margins) >= -1e-6


def _features(images: np.ndarray) -> np.ndarray:
    """Unit vectors with the ink positive: most of a crop is panel, whatever its polarity."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    x = flat - flat.mean(axis=1, keepdims=True)
    x[np.median(flat, axis=1) > flat.mean(axis=1)] *= -1  # dark ink pulls the mean below
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)


@pytest.mark.parametrize("matrix_p", [0.2, 1.0])
def test_renders_of_one_seed_teach_a_classifier_that_reads_another(matrix_p: float) -> None:
    cfg = SevenSegConfig(matrix_p=matrix_p)
    train_x, train_y = render_sevenseg_batch(np.random.default_rng(100), 500, cfg)
    test_x, test_y = render_sevenseg_batch(np.random.default_rng(200), 300, cfg)
    train_f, test_f = _features(train_x), _features(test_x)
    centroids = np.stack([train_f[train_y == d].mean(axis=0) for d in range(10)])
    accuracy = float((np.argmax(test_f @ centroids.T, axis=1) == test_y).mean())
    # Chance is 0.1; nearest centroid reaches about 0.4 under all the camera conditions.
    assert accuracy > 0.25, accuracy


def test_load_lcd_crops_reads_digit_folders_and_skips_n(tmp_path: Path) -> None:
    for folder, name, value in (("3", "b.jpg", 60), ("3", "a.jpg", 90), ("0", "z.png", 30)):
        (tmp_path / folder).mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / folder / name), np.full((64, 38, 3), value, np.uint8))
    (tmp_path / "N").mkdir()
    cv2.imwrite(str(tmp_path / "N" / "n.jpg"), np.zeros((64, 38, 3), np.uint8))
    images, labels, names = load_lcd_crops(tmp_path)
    assert names == ["z.png", "a.jpg", "b.jpg"] and labels.tolist() == [0, 3, 3]
    assert images.shape == (3, 32, 20) and images.dtype == np.uint8 and labels.dtype == np.int64
    assert abs(int(images[1].mean()) - 90) <= 2


def test_load_lcd_crops_without_the_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no LCD digit crops"):
        load_lcd_crops(tmp_path / "missing")


@pytest.mark.skipif(not LCD_DIR.is_dir(), reason=f"the real LCD crops are not at {LCD_DIR}")
def test_load_lcd_crops_reads_the_real_crops() -> None:
    images, labels, names = load_lcd_crops(LCD_DIR)
    assert images.shape[1:] == (32, 20) and images.dtype == np.uint8
    assert len(images) == len(labels) == len(names) >= 50
    assert set(labels.tolist()) == set(range(10))
    assert images.std() > 10  # decoded pictures, not blanks
    again = load_lcd_crops(LCD_DIR)
    assert again[2] == names and np.array_equal(again[0], images)
