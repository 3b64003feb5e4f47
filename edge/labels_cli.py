"""`digitcam labels import DIR` / `digitcam labels export OUT --format png|idx`.

Import takes `DIR/<digit>/*.png|jpg|...` of any size: each image is read with kind `digit` by
the device's own reader (the model decides what is a digit) and its normalised 28x28 is kept
as a labelled example (source `import`); images where no digit is found, or that cannot be
read, are listed and not stored. Export writes the store's examples in the layouts
`digitcam train --extra-data` reads. Both use the configured `storage.path`.
Exit 0 when done (some images may be listed as skipped), 1 when nothing could be imported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from edge.camera.imageio import ImageError, read_image_file
from edge.config import RegionSettings, Settings
from edge.model_install import load_active
from edge.reader import FrameReader
from edge.store import Label, Store
from edge.store.label_files import ExportFormat, labelled_files, write_labels
from edge.vision.crops import png_bytes

EXPORT_PAGE = 1000


def add_parser(verbs: argparse._SubParsersAction) -> None:
    labels = verbs.add_parser("labels", help="labelled examples: import image folders, export")
    actions = labels.add_subparsers(dest="action", metavar="ACTION", required=True)
    take = actions.add_parser("import", help="DIR/<digit>/*.png|jpg -> labelled examples")
    take.add_argument("folder", type=Path, metavar="DIR")
    give = actions.add_parser("export", help="the examples as train --extra-data reads them")
    give.add_argument("out", type=Path, metavar="OUT")
    give.add_argument("--format", choices=["png", "idx"], default="png")
    for action in (take, give):
        action.add_argument("--config", help="TOML file (default as for run)")


def main(settings: Settings, args: argparse.Namespace) -> int:
    store = Store(settings.storage.path, settings.storage.outbox_max)
    try:
        if args.action == "import":
            return import_folder(settings, store, args.folder)
        return export(store, args.out, args.format)
    finally:
        store.close()


def import_folder(settings: Settings, store: Store, folder: Path) -> int:
    files = labelled_files(folder) if folder.is_dir() else []
    if not files:
        print(f"digitcam labels import: no images in {folder}/0/ .. {folder}/9/", file=sys.stderr)
        return 1
    region = RegionSettings(name="import", kind="digit")
    reader = FrameReader.configured(settings, load_active(settings), [region])
    stored, skipped = 0, []
    for index, (path, digit) in enumerate(files):
        try:
            reading = reader.read(read_image_file(path), str(path), index)[0]
        except ImageError as exc:
            skipped.append((path, exc.reason))
            continue
        if not reading.digits or reading.digits[0].image is None:
            skipped.append((path, "no digit found"))
            continue
        found = reading.digits[0]
        image = np.clip(np.asarray(found.image) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        crop = png_bytes(found.crop) if found.crop is not None else None
        store.add_label(digit, "import", image, crop)
        stored += 1
    for path, reason in skipped:
        print(f"skipped {path}: {reason}")
    print(f"imported {stored} of {len(files)} images from {folder} into {settings.storage.path}")
    return 0 if stored else 1


def export(store: Store, out: Path, fmt: ExportFormat) -> int:
    kept: list[Label] = []
    while True:
        page = store.labels(EXPORT_PAGE, len(kept))
        kept += page
        if len(page) < EXPORT_PAGE:
            break
    write_labels(
        out,
        [k.id for k in kept],
        [k.image for k in kept],
        [k.label for k in kept],
        fmt,  # type: ignore[arg-type]
    )
    print(f"exported {len(kept)} examples to {out} ({fmt}): digitcam train --extra-data {out}")
    return 0
