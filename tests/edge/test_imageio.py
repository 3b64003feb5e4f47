"""decode_image / read_image_file on real files: what a camera folder or an upload contains."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.camera.imageio import ImageError, decode_image, image_header, read_image_file
from tests.drills.hostile import png

JUNK = Path(__file__).resolve().parents[2] / "mock_frames" / "junk"


def encode(ext: str, image: np.ndarray, *params: int) -> bytes:
    ok, data = cv2.imencode(ext, image, list(params))
    assert ok
    return data.tobytes()


def test_colour_jpeg_becomes_grey_of_the_same_size() -> None:
    image = np.zeros((48, 64, 3), np.uint8)
    image[:, :32] = (255, 255, 255)
    gray = decode_image(encode(".jpg", image, cv2.IMWRITE_JPEG_QUALITY, 95))
    assert gray.shape == (48, 64) and gray.dtype == np.uint8
    assert gray[:, :28].mean() > 245 and gray[:, 36:].mean() < 10


@pytest.mark.parametrize("ext", [".png", ".bmp", ".webp", ".pgm"])
def test_other_formats_decode(ext: str) -> None:
    image = np.full((30, 40), 200, np.uint8)
    image[10:20, 10:30] = 20
    gray = decode_image(encode(ext, image))
    assert gray.shape == (30, 40)
    assert abs(int(gray[15, 20]) - 20) < 8 and abs(int(gray[2, 2]) - 200) < 8


def test_empty_data_is_refused() -> None:
    with pytest.raises(ImageError, match="empty"):
        decode_image(b"")


def test_text_file_named_png_is_not_an_image() -> None:
    with pytest.raises(ImageError, match="not an image"):
        decode_image(b"meter readings for March\n")


def test_truncated_jpeg_is_refused_not_padded_with_grey() -> None:
    data = encode(".jpg", np.random.default_rng(0).integers(0, 255, (240, 320, 3), np.uint8))
    with pytest.raises(ImageError, match="truncated JPEG"):
        decode_image(data[: len(data) // 2])


def test_truncated_png_is_refused() -> None:
    data = encode(".png", np.random.default_rng(0).integers(0, 255, (240, 320), np.uint8))
    with pytest.raises(ImageError, match="truncated"):
        decode_image(data[: len(data) // 2])


def test_sixteen_bit_png_is_scaled_to_eight_bits() -> None:
    image = np.array([[0, 257 * 128, 65535]], np.uint16).repeat(4, axis=0)
    gray = decode_image(encode(".png", image))
    assert gray.dtype == np.uint8
    assert gray[0].tolist() == [0, 128, 255]


def test_transparent_png_is_laid_on_white_paper() -> None:
    # Transparent pixels are black in the colour channels: dropping alpha would read all black.
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[5:15, 8:12, 3] = 255  # an opaque black stroke
    gray = decode_image(encode(".png", rgba))
    assert gray[0, 0] == 255
    assert gray[10, 10] == 0


def test_palette_png_reads_as_grey() -> None:
    gray = read_image_file(JUNK / "digit_palette.png")
    assert gray.dtype == np.uint8 and gray.ndim == 2 and gray.max() > 200 and gray.min() < 120


def test_huge_dimensions_are_refused_from_the_header_alone() -> None:
    data = png(20000, 20000, 8, 0, b"x" * 64)
    with pytest.raises(ImageError, match=r"20000x20000 pixels, over the limit"):
        decode_image(data)


def test_decompression_bomb_is_refused_before_it_is_inflated() -> None:
    started = time.perf_counter()
    with pytest.raises(ImageError, match="20000x20000"):
        read_image_file(JUNK / "bomb.png")
    assert time.perf_counter() - started < 1.0  # 400 MB were never allocated


def test_pixel_limit_is_configurable() -> None:
    data = encode(".png", np.zeros((100, 100), np.uint8))
    assert decode_image(data, max_pixels=10_000).shape == (100, 100)
    with pytest.raises(ImageError, match="over the limit of 9,999 pixels"):
        decode_image(data, max_pixels=9_999)


def test_jpeg_size_is_found_after_an_exif_block() -> None:
    data = encode(".jpg", np.full((37, 53), 128, np.uint8))
    exif = b"Exif\x00\x00" + b"\xff\xd8 thumbnail \xff\xd9" * 20  # a thumbnail's own markers
    with_exif = data[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + data[2:]
    assert image_header(with_exif) == ("JPEG", 53, 37)
    assert decode_image(with_exif).shape == (37, 53)


def test_file_over_the_byte_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(encode(".png", np.zeros((64, 64), np.uint8)))
    with pytest.raises(ImageError, match="over the limit of 10 bytes"):
        read_image_file(path, max_bytes=10)


def test_missing_file_and_folder_give_reasons(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="cannot be read"):
        read_image_file(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="folder"):
        read_image_file(tmp_path)
