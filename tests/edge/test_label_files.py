"""`digitcam labels import` and `export`: image folders in, training folders out, round trip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edge.model import load_model
from edge.store import Store
from tests.api.conftest import on_paper
from tests.conftest import digitcam_cli as digitcam
from training.extra_data import load_extra_data
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"


def photo_folder(tmp_path: Path, count: int = 40) -> tuple[Path, list[int]]:
    """DIR/<digit>/ of photos of MNIST digits on paper at several sizes, PNG and JPEG, plus a
    blank page and a broken file that must be listed, not stored."""
    images, labels = load_split(SAMPLE, "test")
    folder = tmp_path / "photos"
    for i in range(count):
        sub = folder / str(labels[i])
        sub.mkdir(parents=True, exist_ok=True)
        page = on_paper(images[i], height_px=[40, 90, 160][i % 3])
        cv2.imwrite(str(sub / f"p{i:03d}{['.png', '.jpg'][i % 2]}"), page)
    (folder / "5").mkdir(exist_ok=True)
    cv2.imwrite(str(folder / "5" / "blank.png"), np.full((120, 120), 250, np.uint8))
    (folder / "3").mkdir(exist_ok=True)
    (folder / "3" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut off")
    return folder, [int(d) for d in labels[:count]]


def test_import_keeps_each_digit_normalised_and_lists_what_it_could_not_read(
    tmp_path: Path,
) -> None:
    folder, truth = photo_folder(tmp_path)
    result = digitcam(tmp_path, "labels", "import", str(folder))
    assert result.returncode == 0, result.stderr
    assert f"skipped {folder / '5' / 'blank.png'}: no digit found" in result.stdout
    assert f"skipped {folder / '3' / 'broken.jpg'}" in result.stdout
    assert f"imported 40 of 42 images from {folder}" in result.stdout
    store = Store(tmp_path / "state.sqlite", 100)
    kept = store.labels()
    store.close()
    assert sorted(k.label for k in kept) == sorted(truth)
    assert {k.source for k in kept} == {"import"}
    # Normalised as the reader normalises a camera digit: the shipped model reads them back.
    probs = load_model(None).predict(np.stack([k.image for k in kept])[:, None] / 255.0)
    assert (probs.argmax(1) == [k.label for k in kept]).mean() >= 0.95


def test_export_writes_both_layouts_train_reads_and_they_agree(tmp_path: Path) -> None:
    folder, truth = photo_folder(tmp_path, count=20)
    assert digitcam(tmp_path, "labels", "import", str(folder)).returncode == 0
    for fmt in ("png", "idx"):
        result = digitcam(tmp_path, "labels", "export", str(tmp_path / fmt), "--format", fmt)
        assert result.returncode == 0 and "exported 20 examples" in result.stdout
    png_x, png_y = load_extra_data([tmp_path / "png"])
    idx_x, idx_y = load_extra_data([tmp_path / "idx"])
    assert sorted(png_y.tolist()) == sorted(truth) and sorted(idx_y.tolist()) == sorted(truth)
    order = np.lexsort((png_x.reshape(len(png_x), -1).sum(1), png_y))
    other = np.lexsort((idx_x.reshape(len(idx_x), -1).sum(1), idx_y))
    assert np.array_equal(png_x[order], idx_x[other]), "the same examples in both layouts"


def test_a_folder_without_digit_folders_imports_nothing_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = digitcam(tmp_path, "labels", "import", str(tmp_path / "empty"))
    assert result.returncode == 1 and "no images in" in result.stderr
