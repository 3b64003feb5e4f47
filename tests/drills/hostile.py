"""Files a camera folder really ends up with, and files built to hurt an image decoder."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np

from tests.drills.harness import paper_frame, sample_digits


def png(width: int, height: int, bit_depth: int, colour_type: int, idat: bytes) -> bytes:
    """A PNG file from its header fields and already-compressed image data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def compressed_rows(row: bytes, rows: int) -> bytes:
    """The same filtered row `rows` times, deflated: megapixels in a few kilobytes."""
    packer = zlib.compressobj(9)
    return b"".join(packer.compress(row) for _ in range(rows)) + packer.flush()


def bomb_png(side: int = 20_000) -> bytes:
    """A valid 1-bit side x side PNG: ~50 KB on disk, 400 MB once decoded to 8 bits."""
    return png(side, side, 1, 0, compressed_rows(b"\x00" + b"\xff" * (side // 8), side))


def big_colour_png(width: int = 6000, height: int = 6000) -> bytes:
    """Under the pixel limit but 108 MB once decoded as colour: a bomb the limit lets in."""
    return png(width, height, 8, 2, compressed_rows(b"\x00" + b"\xf0" * (3 * width), height))


def deep_rgba_png(side: int = 6300) -> bytes:
    """16-bit RGBA just under the 40 MP limit: 300 KB on disk, 318 MB as decoded samples."""
    return png(side, side, 16, 6, compressed_rows(b"\x00" + b"\x80\x00" * 4 * side, side))


def huge_header_jpeg(side: int = 65_000) -> bytes:
    """A JPEG start-of-frame claiming side x side pixels, and nothing behind it."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, side, side, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + sof + b"\xff\xd9"


def encode(ext: str, image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok, ext
    return data.tobytes()


def write_hostile_folder(folder: Path) -> tuple[list[str], dict[str, str]]:
    """Write the folder; returns (files the daemon must refuse, {readable file: its value})."""
    folder.mkdir(parents=True)
    images, values = sample_digits(3)
    good = encode(".jpg", paper_frame(images[0]))
    refused = {
        "a_truncated.jpg": good[: len(good) // 2],
        "b_empty.jpg": b"",
        "c_notes.png": b"meter readings for March, see the spreadsheet\n",
        "d_huge_header.png": png(20_000, 20_000, 8, 0, zlib.compress(b"\x00" * 64)),
        "e_bomb.png": bomb_png(),
        "f_huge_header.jpg": huge_header_jpeg(),
    }
    rgba = np.zeros((480, 640, 4), np.uint8)  # transparent black: reads black if alpha is lost
    rgba[:, :, :3] = 40
    rgba[:, :, 3] = 255 - paper_frame(images[2])  # the ink is the opaque part
    readable = {
        "g_frame.jpg": (good, values[0]),
        "h_digit16.png": (
            encode(".png", paper_frame(images[1]).astype(np.uint16) * 257),
            values[1],
        ),
        "i_digit_rgba.png": (encode(".png", rgba), values[2]),
    }
    for name, data in refused.items():
        (folder / name).write_bytes(data)
    for name, (data, _) in readable.items():
        (folder / name).write_bytes(data)
    (folder / "j_big_colour.png").write_bytes(big_colour_png())
    return sorted(refused), {name: value for name, (_, value) in readable.items()}
