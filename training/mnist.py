"""MNIST on disk: IDX reader (numpy only) and a downloader that verifies SHA-256.

Kept free of torch so tools that only need the images (the mock-frame generator) can use it.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
import struct
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

# Public mirrors, tried in order. Each serves the four original gzip files.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
DEFAULT_DATA_DIR = Path("data/mnist")
_IDX_DTYPES: dict[int, type[np.generic] | str] = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


class DataError(Exception):
    """MNIST files are missing, corrupt or could not be downloaded."""


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--data-dir, else $DIGITCAM_DATA_DIR, else ./data/mnist."""
    return Path(explicit or os.environ.get("DIGITCAM_DATA_DIR") or DEFAULT_DATA_DIR)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzip or raw) into a numpy array of its declared type and shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    body = data[4 + 4 * ndim :]
    if len(body) != expected:
        raise DataError(
            f"{path}: expected {expected} bytes of data for shape {dims}, found {len(body)}"
        )
    return np.frombuffer(body, dtype=dtype).reshape(dims).copy()


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzip IDX file (used to export labelled examples and samples)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(header + array.tobytes())


def load_split(data_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 [N,28,28] and labels uint8 [N] of 'train' or 'test'."""
    images_name, labels_name = SPLITS[split]
    images = read_idx(data_dir / images_name)
    labels = read_idx(data_dir / labels_name)
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{data_dir}: {images.shape[0]} images but {labels.shape[0]} labels ({split})"
        )
    return images, labels


def validation_split(count: int, seed: int, val_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training images held out for validation and of the rest, shuffled.

    `digitcam train --seed S --val-size V` holds out these; at most a tenth of the images.
    """
    perm = np.random.default_rng(seed).permutation(count)
    held = min(val_size, count // 10)
    return perm[:held], perm[held:]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_mnist(
    data_dir: Path, mirrors: tuple[str, ...] = MIRRORS, splits: tuple[str, ...] = ("train", "test")
) -> Path:
    """Download the files of `splits` that data_dir lacks; each download is verified by SHA-256.

    Files already present are used as they are, so a folder of one's own IDX files works too;
    a download only replaces its target once its hash is right, so no partial file is left.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    for split in splits:
        for name in SPLITS[split]:
            target = data_dir / name
            if not target.is_file():
                logger.info("%s is missing; downloading it", target)
                download(name, target, mirrors)
    return data_dir


def download(name: str, target: Path, mirrors: tuple[str, ...] = MIRRORS) -> None:
    """Fetch one file from the first mirror that serves it with the expected SHA-256."""
    problems = []
    for mirror in mirrors:
        url = mirror + name
        partial = target.with_name(target.name + ".part")
        try:
            _fetch(url, partial)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            problems.append(f"{url}: {getattr(exc, 'reason', exc)}")
            partial.unlink(missing_ok=True)
            continue
        digest = sha256_of(partial)
        if digest != SHA256[name]:
            problems.append(f"{url}: SHA-256 {digest} does not match {SHA256[name]}")
            partial.unlink(missing_ok=True)
            continue
        partial.replace(target)
        return
    raise DataError(
        f"could not download {name}; tried:\n  "
        + "\n  ".join(problems)
        + f"\nWithout internet, copy the four MNIST .gz files into {target.parent} "
        "or point --data-dir / DIGITCAM_DATA_DIR at them."
    )


def _fetch(url: str, target: Path, timeout_s: float = 30.0) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "digitcam"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response, open(target, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        for chunk in iter(lambda: response.read(1 << 16), b""):
            out.write(chunk)
            done += len(chunk)
            _progress(url, done, total)
    if sys.stderr.isatty():
        sys.stderr.write("\n")


def _progress(url: str, done: int, total: int) -> None:
    if not sys.stderr.isatty():
        return
    if total:
        filled = int(30 * done / total)
        sys.stderr.write(
            f"\r{url.rsplit('/', 1)[-1]} [{'#' * filled}{'.' * (30 - filled)}] "
            f"{done / 1e6:.1f}/{total / 1e6:.1f} MB"
        )
    else:
        sys.stderr.write(f"\r{url.rsplit('/', 1)[-1]} {done / 1e6:.1f} MB")
    sys.stderr.flush()


def copy_sample(source_dir: Path, target_dir: Path, count: int) -> None:
    """Write the first `count` test images and labels to target_dir (the shipped test fixture)."""
    images, labels = load_split(source_dir, "test")
    target_dir.mkdir(parents=True, exist_ok=True)
    write_idx(target_dir / SPLITS["test"][0], images[:count])
    write_idx(target_dir / SPLITS["test"][1], labels[:count])
    shutil.copy(Path(__file__).with_name("MNIST_NOTICE"), target_dir / "NOTICE")
