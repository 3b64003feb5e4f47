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


# --- the size check must read every header exactly as OpenCV's decoder does -----------------
# A PNM comment ends at CR or LF, the byte after each number is consumed, and a BMP with the
# 12-byte OS/2 header has 16-bit dimensions: a parser that differs sees one size while
# OpenCV allocates another.
PNM_GAPS = [
    b" ", b"\n", b"\r", b"\t", b"\x0b", b"\x0c", b"\r\n", b"  \n\n",
    b"#c\n", b"#c\r", b"#c\r\n", b"\n#1 1\r", b" #7 7\n", b"#\r#\n", b"##\r", b"#\n\r#x\r",
]  # fmt: skip


def opencv_shape(data: bytes) -> tuple[int, ...] | None:
    """The shape OpenCV decodes, or None when it refuses the data."""
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        return None
    return None if image is None else image.shape[:2]


def assert_agrees_with_opencv(data: bytes) -> None:
    """Either the header is refused, or it declares exactly the size OpenCV decodes."""
    decoded = opencv_shape(data)
    try:
        _, width, height = image_header(data)
    except ImageError:
        return
    assert decoded in (None, (height, width)), f"{data[:40]!r}: {width}x{height} vs {decoded}"


@pytest.mark.parametrize("magic", [b"P2", b"P5", b"P6"])
def test_pnm_headers_with_comment_and_whitespace_tricks_agree_with_opencv(magic: bytes) -> None:
    channels = 3 if magic == b"P6" else 1
    pixels = bytes(40 * 30 * channels)
    body = b" ".join([b"7"] * (40 * 30 * channels)) if magic == b"P2" else pixels
    for before_width in PNM_GAPS:
        for before_height in PNM_GAPS:
            for before_maxval in PNM_GAPS:
                header = magic + before_width + b"40" + before_height + b"30" + before_maxval
                assert_agrees_with_opencv(header + b"255\n" + body)


def test_opencv_reads_the_size_hidden_after_a_comment_ending_in_cr() -> None:
    data = b"P5\n#comment\r40 30\n1 1\n255\n" + bytes(40 * 30)
    assert image_header(data) == ("PNM", 40, 30)
    assert decode_image(data).shape == (30, 40)


@pytest.mark.parametrize(
    "header",
    [
        b"P5\n#comment\r8000 8000\n1 1\n255\n",
        b"P5 #\r8000\r#1 1\n8000 255 ",
        b"P5\t8000#\r8000\x0c255\n",
    ],
)
def test_hostile_pnm_is_refused_without_being_decoded(
    header: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    decodes: list[int] = []
    real = cv2.imdecode
    monkeypatch.setattr(cv2, "imdecode", lambda *a: decodes.append(1) or real(*a))
    with pytest.raises(ImageError, match=r"8000x8000 pixels, over the limit"):
        decode_image(header + bytes(4096), max_pixels=16_000_000)
    assert decodes == []


def os2_bmp(width: int, height: int) -> bytes:
    """A 24-bit BMP with the 12-byte OS/2 header (16-bit width and height), grey pixels."""
    row = bytes([90]) * (width * 3) + bytes(-(width * 3) % 4)
    header = struct.pack("<IHHHH", 12, width, height, 1, 24)
    return b"BM" + struct.pack("<IHHI", 26 + len(row) * height, 0, 0, 26) + header + row * height


def test_os2_bitmap_size_is_read_from_its_16_bit_fields() -> None:
    data = os2_bmp(40, 30)
    assert image_header(data) == ("BMP", 40, 30)
    assert_agrees_with_opencv(data)
    assert decode_image(data).shape == (30, 40)


def test_huge_os2_bitmap_is_refused_from_its_header() -> None:
    data = os2_bmp(8000, 8000)[:4096]
    with pytest.raises(ImageError, match=r"8000x8000 pixels, over the limit"):
        decode_image(data, max_pixels=16_000_000)


@pytest.mark.parametrize("header_size", [0, 20, 2**31 + 40])
def test_bitmap_headers_opencv_refuses_are_refused(header_size: int) -> None:
    data = bytearray(encode(".bmp", np.zeros((30, 40), np.uint8)))
    data[14:18] = struct.pack("<I", header_size)
    assert opencv_shape(bytes(data)) is None
    with pytest.raises(ImageError, match="BMP"):
        image_header(bytes(data))


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp", ".pgm", ".ppm", ".pbm"])
def test_every_accepted_format_agrees_with_opencv(ext: str) -> None:
    image = np.random.default_rng(1).integers(0, 255, (31, 43, 3), np.uint8)
    if ext in (".pgm", ".pbm", ".jpg"):
        image = image[:, :, 0]
    data = encode(ext, image)
    assert image_header(data)[1:] == (43, 31)
    assert_agrees_with_opencv(data)


def test_sixteen_bit_ppm_counts_two_bytes_per_sample() -> None:
    data = b"P6 3400 3400 65535\n" + bytes(4096)  # 11.6 MP, 6 bytes each
    with pytest.raises(ImageError, match="would take 66 MB to decode"):
        decode_image(data)


def test_truncated_binary_pnm_is_refused_before_decoding() -> None:
    with pytest.raises(ImageError, match="truncated PNM: the data ends before"):
        decode_image(b"P5 400 300 255\n" + bytes(1000))


def test_jpeg_marker_tricks_agree_with_opencv() -> None:
    data = encode(".jpg", np.full((31, 43), 128, np.uint8))
    fake_sof = b"\xff\xc0\x00\x11\x08\x1f\x40\x1f\x40" + bytes(8)  # 8000x8000, inside an APP
    app = b"\xff\xe5" + struct.pack(">H", len(fake_sof) + 2) + fake_sof
    for variant in (
        data,
        data[:2] + b"\xff\xff\xff" + data[2:],  # fill bytes before a marker
        data[:2] + app + data[2:],
        data[:2] + b"\x00junk" + data[2:],  # libjpeg skips it with a warning; refused here
    ):
        assert_agrees_with_opencv(variant)
