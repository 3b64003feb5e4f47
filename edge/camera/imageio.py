"""Bytes -> 8-bit greyscale image, refusing what is not an image before it costs memory.

The header's dimensions are read from the bytes themselves (PNG IHDR, JPEG SOF, BMP, WebP,
PNM) so a 20000x20000 image or a decompression bomb is refused before OpenCV allocates it.
Each header is read the way OpenCV's own decoder reads it: a parser that disagrees would
check one size while OpenCV allocates another. Formats not listed are refused unread.
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_BYTES = 50_000_000
# What OpenCV would allocate to decode the image (width x height x channels x bytes per sample):
# a small 16-bit RGBA PNG under the pixel limit can still need hundreds of MB.
DEFAULT_MAX_DECODED_BYTES = 64 * 1024 * 1024
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}  # by IHDR colour type; palettes decode to BGR
FORMATS = "JPEG, PNG, BMP, WebP or PNM"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) are not frames.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# OpenCV reads a PNM header byte by byte with no limit; a real one, comments included, fits.
_PNM_HEADER_MAX_BYTES = 4096
_PNM_SPACE = b" \t\n\r\x0b\x0c"  # C isspace(), which OpenCV uses


class ImageError(Exception):
    """The data is not a usable image; `reason` says why in words a user understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode JPEG/PNG/BMP/WebP/PNM bytes to a uint8 greyscale image (HxW), or raise ImageError."""
    if len(data) == 0:
        raise ImageError("empty data (0 bytes): not an image")
    kind, width, height = image_header(data)
    if width <= 0 or height <= 0:
        raise ImageError(f"{kind} header declares a {width}x{height} image: corrupt file")
    if width * height > max_pixels:
        raise ImageError(
            f"image is {width}x{height} pixels, over the limit of {max_pixels:,} pixels"
        )
    decoded = decoded_bytes(kind, data, width, height)
    if decoded > DEFAULT_MAX_DECODED_BYTES:
        raise ImageError(
            f"image is {width}x{height} pixels and would take {decoded / 2**20:.0f} MB to decode, "
            f"over the limit of {DEFAULT_MAX_DECODED_BYTES / 2**20:.0f} MB"
        )
    check_complete(kind, data)
    buffer = np.frombuffer(data, np.uint8)
    # A JPEG has no alpha and at most 8 bits: decoding straight to luma skips the chroma
    # planes (about half the decode time) and applies the EXIF orientation of phone photos.
    flags = cv2.IMREAD_GRAYSCALE if kind == "JPEG" else cv2.IMREAD_UNCHANGED
    try:
        image = cv2.imdecode(buffer, flags)
    except cv2.error as exc:
        raise ImageError(f"corrupt {kind}: {exc.err or 'cannot be decoded'}") from None
    if image is None or image.size == 0:
        raise ImageError(f"corrupt or truncated {kind}: cannot be decoded")
    if image.shape[:2] not in ((height, width), (width, height)):  # EXIF may turn a JPEG
        # Never expected: the header parsers mirror OpenCV's. Refuse rather than go on.
        logger.warning(
            "%s header read as %sx%s but OpenCV decoded %s", kind, width, height, image.shape
        )
        raise ImageError(f"corrupt {kind}: the header and the image data disagree on its size")
    return to_gray8(image)


def read_image_file(
    path: str | os.PathLike[str],
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Read and decode an image file, refusing files over `max_bytes` before reading them."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageError(f"file is {size:,} bytes, over the limit of {max_bytes:,} bytes")
        data = path.read_bytes()
    except IsADirectoryError:
        raise ImageError("is a folder, not an image file") from None
    except OSError as exc:
        raise ImageError(f"cannot be read: {exc.strerror or exc}") from None
    return decode_image(data, max_pixels)


def to_gray8(image: np.ndarray) -> np.ndarray:
    """Any decoded image (8/16-bit, grey, BGR, BGRA, grey+alpha) as uint8 grey; alpha on white."""
    if image.dtype == np.uint16:
        image = cv2.convertScaleAbs(image, alpha=255.0 / 65535.0)
    elif image.dtype != np.uint8:
        raise ImageError(f"{image.dtype} pixels are not supported; use 8- or 16-bit images")
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    channels = image.shape[2]
    if channels == 1:
        return np.ascontiguousarray(image[:, :, 0])
    if channels == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if channels in (2, 4):
        colour = image[:, :, 0] if channels == 2 else cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
        return composite_on_white(colour, image[:, :, -1])
    raise ImageError(f"images with {channels} channels are not supported")


def decoded_bytes(kind: str, data: bytes, width: int, height: int) -> int:
    """Bytes the decoded image occupies before it is turned grey (an upper bound)."""
    if kind == "PNG" and len(data) >= 26:
        depth, colour = data[24], data[25]
        return width * height * _PNG_CHANNELS.get(colour, 4) * (2 if depth == 16 else 1)
    if kind == "JPEG":
        return width * height  # decoded straight to grey
    if kind == "PNM":
        header = pnm_header(data)
        return width * height * header.channels * (2 if header.maxval > 255 else 1)
    return width * height * 4


def composite_on_white(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Lay a transparent image on white paper: transparent pixels become background, not black."""
    # Integer arithmetic: float32 copies of a large frame cost four times its size each.
    a = alpha.astype(np.uint16)
    out = gray.astype(np.uint16) * a + 255 * (255 - a) + 127
    out //= 255
    return out.astype(np.uint8)


def image_header(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) read from the first bytes, or ImageError for anything else."""
    if data.startswith(_PNG_SIGNATURE):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise ImageError("truncated PNG: no image header")
        width, height = struct.unpack(">II", data[16:24])
        return "PNG", width, height
    if data.startswith(b"\xff\xd8"):
        width, height = jpeg_size(data)
        return "JPEG", width, height
    if data.startswith(b"BM") and len(data) >= 26:
        width, height = bmp_size(data)
        return "BMP", width, height
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        width, height = webp_size(data)
        return "WebP", width, height
    if len(data) >= 2 and data[0:1] == b"P" and data[1:2] in b"123456":
        header = pnm_header(data)
        return "PNM", header.width, header.height
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        raise ImageError(f"TIFF images are not supported; use {FORMATS}")
    raise ImageError(f"not an image: unrecognised data (expected {FORMATS})")


def jpeg_size(data: bytes) -> tuple[int, int]:
    """Walk the JPEG marker segments up to the start-of-frame and read its size."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ImageError("corrupt JPEG: bad marker structure")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        if marker in (0xD9, 0xDA):
            raise ImageError("corrupt JPEG: image data before its size is declared")
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF_MARKERS:
            if i + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    raise ImageError("truncated JPEG: the data ends before the image size")


def webp_size(data: bytes) -> tuple[int, int]:
    """Canvas size from a WebP file's first chunk (lossy VP8, lossless VP8L or extended VP8X)."""
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    raise ImageError("truncated or corrupt WebP: no image header")


def bmp_size(data: bytes) -> tuple[int, int]:
    """Width and height as OpenCV reads them: 32-bit after an info header, 16-bit after OS/2's."""
    (header_bytes,) = struct.unpack("<i", data[14:18])
    if header_bytes >= 36:
        width, height = struct.unpack("<ii", data[18:26])
    elif header_bytes == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack("<HH", data[18:22])
    else:
        raise ImageError(f"corrupt BMP: unsupported header size {header_bytes}")
    if width <= 0 or height == 0:
        raise ImageError(f"corrupt BMP: the header declares a {width}x{height} image")
    return width, abs(height)  # a negative height means rows are stored top-down


class PnmHeader(NamedTuple):
    variant: int  # the N of PN: 1-3 plain (ASCII), 4-6 binary; bitmap, grey, colour
    width: int
    height: int
    maxval: int
    channels: int
    data_offset: int


def pnm_header(data: bytes) -> PnmHeader:
    """A PBM/PGM/PPM header read byte for byte as OpenCV's PxM decoder reads it.

    A comment runs from '#' to the next CR or LF (a parser stopping only at LF reads a
    `#...\r8000 8000` header as some other size), and the byte after each number is
    consumed whatever it is.
    """
    if len(data) < 3 or data[2] not in _PNM_SPACE:  # OpenCV's signature check
        raise ImageError("not an image: corrupt PNM header")
    bilevel = data[1:2] in b"14"
    pos = 2
    numbers = []
    for _ in range(2 if bilevel else 3):
        value, pos = _pnm_number(data, pos)
        numbers.append(value)
    width, height = numbers[0], numbers[1]
    maxval = 1 if bilevel else numbers[2]
    if not 0 < maxval <= 65535:
        raise ImageError(f"corrupt PNM: maximum sample value {maxval} is not 1..65535")
    channels = 3 if data[1:2] in b"36" else 1
    return PnmHeader(data[1] - 0x30, width, height, maxval, channels, pos)


def _pnm_number(data: bytes, pos: int) -> tuple[int, int]:
    """OpenCV's ReadNumber: skip whitespace and comments, read digits, eat the next byte."""
    end = min(len(data), _PNM_HEADER_MAX_BYTES)
    while pos < end and not 0x30 <= data[pos] <= 0x39:
        if data[pos] == 0x23:  # '#': a comment, ended (and swallowed) by CR or LF
            while pos < end and data[pos] not in b"\r\n":
                pos += 1
        elif data[pos] not in _PNM_SPACE:
            raise ImageError("not an image: corrupt PNM header")
        pos += 1
    start = pos
    while pos < end and 0x30 <= data[pos] <= 0x39:
        pos += 1
    if pos >= end:  # OpenCV would read past the end of the data, or we stop looking
        raise ImageError("corrupt or truncated PNM header")
    value = int(data[start:pos])
    if value > 2**31 - 1:
        raise ImageError("corrupt PNM header: a number is too large")
    return value, pos + 1


def pnm_min_data_bytes(header: PnmHeader) -> int:
    """The least image data a PNM header promises: short files are refused before decoding."""
    samples = header.width * header.height * header.channels
    if header.variant == 4:
        return (header.width + 7) // 8 * header.height
    if header.variant in (5, 6):
        return samples * (2 if header.maxval > 255 else 1)
    return samples  # plain (ASCII) formats: at least one character per sample


def check_complete(kind: str, data: bytes) -> None:
    """Refuse files cut short: decoders fill a truncated image with grey instead of failing."""
    # Cameras may pad after the JPEG end-of-image marker, so look a little way back for it.
    if kind == "JPEG" and data.rfind(b"\xff\xd9", max(0, len(data) - 4096)) < 0:
        raise ImageError("truncated JPEG: the data ends before the end-of-image marker")
    if kind == "PNG" and b"IEND" not in data[-64:]:
        raise ImageError("truncated PNG: the data ends before the end-of-image chunk")
    if kind == "PNM":
        header = pnm_header(data)
        if len(data) - header.data_offset < pnm_min_data_bytes(header):
            raise ImageError("truncated PNM: the data ends before the last pixel")
