"""The IDX reader and the downloader, against a real HTTP server on loopback."""

from __future__ import annotations

import functools
import gzip
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from training import mnist
from training.mnist import DataError, ensure_mnist, load_split, read_idx, sha256_of, write_idx

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "mnist_sample"
TEST_FILES = mnist.SPLITS["test"]


def test_shipped_sample_reads_as_mnist_test_images() -> None:
    images, labels = load_split(SAMPLE_DIR, "test")
    assert images.shape == (1000, 28, 28) and images.dtype == np.uint8
    # The first MNIST test labels are well known: 7 2 1 0 4 1 4 9 5 9.
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert (SAMPLE_DIR / "NOTICE").read_text().count("MNIST") >= 1


def test_idx_round_trip_gzip_and_raw(tmp_path: Path) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    (tmp_path / "a").write_bytes(gzip.decompress((tmp_path / "a.gz").read_bytes()))
    assert np.array_equal(read_idx(tmp_path / "a.gz"), array)
    assert np.array_equal(read_idx(tmp_path / "a"), array)


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"PK\x03\x04garbage", "bad magic"),
        (bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"short", "expected 10 bytes"),
    ],
)
def test_malformed_idx_is_named(tmp_path: Path, payload: bytes, message: str) -> None:
    (tmp_path / "bad").write_bytes(payload)
    with pytest.raises(DataError, match=message):
        read_idx(tmp_path / "bad")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on a free loopback port serving tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", root
    server.shutdown()
    server.server_close()


@pytest.fixture
def sample_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The downloader checks the sample's own hashes, as it checks MNIST's for users."""
    hashes = dict(mnist.SHA256)
    hashes.update({name: sha256_of(SAMPLE_DIR / name) for name in TEST_FILES})
    monkeypatch.setattr(mnist, "SHA256", hashes)


def _publish(root: Path, corrupt: bool = False) -> None:
    for name in TEST_FILES:
        data = (SAMPLE_DIR / name).read_bytes()
        if corrupt:
            data = data[:-10] + b"\x00" * 10
        (root / name).write_bytes(data)


def test_download_verifies_and_uses_the_next_mirror(
    mirror: tuple[str, Path], tmp_path: Path, sample_hashes: None
) -> None:
    url, root = mirror
    (root / "bad").mkdir()
    (root / "good").mkdir()
    _publish(root / "bad", corrupt=True)
    _publish(root / "good")
    target = tmp_path / "data"
    mirrors = (url + "missing/", url + "bad/", url + "good/")
    ensure_mnist(target, mirrors=mirrors, splits=("test",))
    for name in TEST_FILES:
        assert sha256_of(target / name) == sha256_of(SAMPLE_DIR / name)
    images, _ = load_split(target, "test")
    assert len(images) == 1000


def test_corrupted_download_is_rejected_and_nothing_is_left(
    mirror: tuple[str, Path], tmp_path: Path, sample_hashes: None
) -> None:
    url, root = mirror
    _publish(root, corrupt=True)
    target = tmp_path / "data"
    with pytest.raises(DataError) as info:
        ensure_mnist(target, mirrors=(url,), splits=("test",))
    assert "does not match" in str(info.value)
    assert "DIGITCAM_DATA_DIR" in str(info.value)  # tells an offline user what to do
    assert list(target.iterdir()) == []


def test_offline_error_names_every_mirror(tmp_path: Path) -> None:
    closed = ("http://127.0.0.1:9/a/", "http://127.0.0.1:9/b/")  # port 9: discard, closed
    with pytest.raises(DataError) as info:
        ensure_mnist(tmp_path, mirrors=closed, splits=("test",))
    assert "127.0.0.1:9/a/" in str(info.value) and "127.0.0.1:9/b/" in str(info.value)


def test_present_files_are_used_without_network(tmp_path: Path) -> None:
    _publish(tmp_path)
    ensure_mnist(tmp_path, mirrors=("http://127.0.0.1:9/",), splits=("test",))
    assert load_split(tmp_path, "test")[0].shape[0] == 1000
