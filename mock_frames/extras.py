"""Scene extras (underlines, junk at the edges, blank sheets) and the junk-file scenario."""

from __future__ import annotations

import struct
import zlib
from typing import Any, Protocol

import cv2
import numpy as np
import render
from render import FRAME_H, FRAME_W

Box = tuple[int, int, int, int]


class Source(Protocol):
    images: np.ndarray

    def take(self) -> tuple[np.ndarray, int, int]: ...


def row_box(glyphs: list[np.ndarray], corners: list[tuple[int, int]]) -> Box:
    """The flat-sheet box (x, y, w, h) around every digit of a row."""
    boxes = [
        (x + bx, y + by, bw, bh)
        for g, (x, y) in zip(glyphs, corners, strict=True)
        for bx, by, bw, bh in [render.tight(g)]
    ]
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def underline(
    sheet: np.ndarray,
    rng: np.random.Generator,
    glyphs: list[np.ndarray],
    corners: list[tuple[int, int]],
    ink: render.Colour,
) -> None:
    """A form field's printed rule under the number, wider than the number."""
    x, y, w, h = row_box(glyphs, corners)
    pad = int(rng.uniform(10, 40))
    top = y + h + max(3, int(rng.uniform(0.08, 0.2) * h))
    if top + 2 >= FRAME_H:
        return
    thickness = int(rng.integers(1, 3))
    render.composite(
        sheet,
        np.full((thickness, w + 2 * pad), 0.8, np.float32),
        x - pad,
        top,
        render.INK_BLACK if rng.random() < 0.5 else ink,
    )


def edge_junk(
    sheet: np.ndarray,
    rng: np.random.Generator,
    source: Source,
    ink: render.Colour,
    height: int,
    keep_clear: Box,
) -> list[int]:
    """One to three marks cut by the sheet's edge (neighbouring writing), clear of the number."""
    used = []
    cx, cy, cw, ch = keep_clear
    for _ in range(int(rng.integers(1, 4))):
        size = max(16, int(height * rng.uniform(0.6, 1.2)))
        if rng.random() < 0.6:
            image, _, index = source.take()
            mark, used = render.glyph(image, size, rng), [*used, index]
        else:
            mark = render.scribble(rng, size)
        mh, mw = mark.shape
        for _attempt in range(30):
            side = int(rng.integers(4))
            inside = rng.uniform(0.3, 0.6)
            x = int(rng.uniform(0, FRAME_W - mw))
            y = int(rng.uniform(0, FRAME_H - mh))
            if side == 0:
                x = -int(mw * (1 - inside))
            elif side == 1:
                x = FRAME_W - int(mw * inside)
            elif side == 2:
                y = -int(mh * (1 - inside))
            else:
                y = FRAME_H - int(mh * inside)
            clear = 12
            if (
                x + mw + clear < cx
                or x > cx + cw + clear
                or y + mh + clear < cy
                or y > cy + ch + clear
            ):
                render.composite(sheet, mark, x, y, ink)
                break
    return used


def blank_frame(rng: np.random.Generator, n: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Paper with no digit (plain, ruled, shadowed), or a dark noisy frame (lens cap, night)."""
    tags = []
    if n % 4 == 3:
        sheet = np.full((FRAME_H, FRAME_W, 3), 0.05, np.float32)
        tags.append("dark-noise")
        light = dict(brightness=1.0, gradient=0.0, vignette=0.0, shadow=0.0, shadow_softness_px=1)
        noise = 9.0
    else:
        colour = [render.PAPER_WHITE, render.PAPER_CREAM, render.PAPER_GREY][n % 3]
        sheet = render.paper(rng, colour, rng.uniform(0.01, 0.04))
        if n % 2 == 0:
            render.ruled_lines(sheet, rng, rng.uniform(24, 44), render.LINE_BLUE, True)
            tags.append("ruled")
        light = dict(
            brightness=rng.uniform(0.4, 1.0),
            gradient=rng.uniform(0.2, 0.8),
            vignette=rng.uniform(0.1, 0.4),
            shadow=rng.uniform(0.2, 0.5),
            shadow_softness_px=rng.uniform(2, 30),
        )
        tags.append("shadow")
        noise = rng.uniform(2, 7)
    warped = render.camera_warp(sheet, rng, 3.0, 0.02)
    frame = render.sensor(warped * render.lighting(rng, **light)[:, :, None], rng, 0.6, noise)
    return frame, {"value": None, "status": "no_digit", "kind": "number", "conditions": tags}


def _png(
    width: int,
    height: int,
    bit_depth: int,
    colour_type: int,
    raw_rows: bytes,
    palette: bytes | None = None,
) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    chunks = chunk(b"IHDR", header)
    if palette is not None:
        chunks += chunk(b"PLTE", palette)
    return b"\x89PNG\r\n\x1a\n" + chunks + chunk(b"IDAT", raw_rows) + chunk(b"IEND", b"")


def bomb_png(side: int = 20000) -> bytes:
    """A valid 1-bit PNG of side x side white pixels: ~50 KB on disk, 400 MB once decoded."""
    packer = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * (side // 8)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return _png(side, side, 1, 0, body)


def palette_png(gray: np.ndarray) -> bytes:
    """An 8-bit palette (indexed colour) PNG; OpenCV cannot write these itself."""
    rows = b"".join(b"\x00" + row.tobytes() for row in gray.astype(np.uint8))
    palette = bytes(v for level in range(256) for v in (level, level, level))
    return _png(gray.shape[1], gray.shape[0], 8, 3, zlib.compress(rows, 9), palette)


def _encode(ext: str, image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok, ext
    return data.tobytes()


def junk_files(rng: np.random.Generator, source: Source) -> list[tuple[str, bytes, dict[str, Any]]]:
    """Files a camera folder really ends up with: broken, empty, mislabelled, exotic formats."""

    def digit_gray(size: int) -> tuple[np.ndarray, int, int]:
        image, label, index = source.take()
        g = render.glyph(image, size, rng)
        sheet = render.paper(rng, render.PAPER_WHITE, 0.015)
        render.composite(
            sheet, g, (FRAME_W - g.shape[1]) // 2, (FRAME_H - g.shape[0]) // 2, render.INK_BLUE
        )
        frame = render.sensor(
            sheet * render.lighting(rng, 0.9, 0.3, 0.1, 0.0, 1.0)[:, :, None], rng, 0.5, 2.0
        )
        # Half size keeps the uncompressed-looking PNGs small in the repository.
        gray = cv2.resize(
            cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY),
            (FRAME_W // 2, FRAME_H // 2),
            interpolation=cv2.INTER_AREA,
        )
        return gray, label, index

    def ok(label: int, index: int, note: str) -> dict[str, Any]:
        return {
            "value": str(label),
            "status": "ok",
            "kind": "number",
            "mnist_test_indices": [index],
            "conditions": [note],
        }

    def refused(reason: str, note: str) -> dict[str, Any]:
        return {"value": None, "status": "error", "reason": reason, "conditions": [note]}

    files = []
    gray, label, index = digit_gray(120)
    whole = render.jpeg(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), 85)  # a 320x240 frame
    files.append(
        (
            "truncated.jpg",
            whole[: len(whole) // 2],
            refused("truncated", "JPEG cut off half way (a full disk, a dropped upload)"),
        )
    )
    files.append(("empty.jpg", b"", refused("empty", "zero-byte file")))
    files.append(
        (
            "notes.png",
            b"meter readings for March, see the spreadsheet\n",
            refused("not an image", "a text file named .png"),
        )
    )
    files.append(
        ("bomb.png", bomb_png(), refused("over the limit", "20000x20000 PNG, 400 MB decoded"))
    )
    gray, label, index = digit_gray(110)
    files.append(
        (
            "digit16.png",
            _encode(".png", gray.astype(np.uint16) * 257),
            ok(label, index, "16-bit greyscale PNG"),
        )
    )
    image, label, index = source.take()
    alpha = render.glyph(image, 150, rng)
    # Transparent black: the picture reads as all black if the alpha channel is dropped.
    rgba = np.zeros((240, 320, 4), np.uint8)
    y, x = (240 - alpha.shape[0]) // 2, (320 - alpha.shape[1]) // 2
    rgba[y : y + alpha.shape[0], x : x + alpha.shape[1], 0] = 90
    rgba[y : y + alpha.shape[0], x : x + alpha.shape[1], 3] = (alpha * 255).astype(np.uint8)
    files.append(
        (
            "digit_rgba.png",
            _encode(".png", rgba),
            ok(label, index, "RGBA PNG: a digit on a transparent background"),
        )
    )
    gray, label, index = digit_gray(90)
    files.append(("digit_palette.png", palette_png(gray), ok(label, index, "8-bit palette PNG")))
    return files
