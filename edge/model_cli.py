"""`digitcam model list|install FILE [--force]|rollback|adapt [--dry-run]`: the models on the
device.

Exit 0 when done, 1 when the model was refused or there is nothing to roll back to (the
reason is printed), 78 for configuration errors.
"""

from __future__ import annotations

import argparse
import json
import sys

from edge.config import Settings
from edge.model import DigitModel, ModelError, meta_float
from edge.model_install import InstallRefused, active_model_path, install, rollback
from edge.store.models import LibraryError, ModelLibrary

EXIT_OK, EXIT_REFUSED = 0, 1


def add_parser(verbs: argparse._SubParsersAction) -> None:
    model = verbs.add_parser("model", help="the models on the device: list, install, roll back")
    actions = model.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="installed models, the active one first")
    listing.add_argument("--json", action="store_true", help="one JSON object")
    add = actions.add_parser("install", help="check a model file and make it the active one")
    add.add_argument("file", type=argparse.FileType("rb"), metavar="FILE")
    add.add_argument(
        "--force", action="store_true", help="install even if it reads the labels worse"
    )
    back = actions.add_parser("rollback", help="make the model before the active one active again")
    adapt = actions.add_parser("adapt", help="learn the device's labelled examples")
    adapt.add_argument("--dry-run", action="store_true", help="measure only, install nothing")
    for action in (listing, add, back, adapt):
        action.add_argument("--config", help="TOML file (default as for run)")


def main(settings: Settings, args: argparse.Namespace) -> int:
    try:
        if args.action == "install":
            args.file.close()
            entry, check = install(settings, args.file.name, force=args.force)
            scores = check.to_dict()
            compared = (
                f"; {scores['accuracy']:.1%} of {scores['examples']} labelled examples "
                f"(was {scores['replaced_accuracy']:.1%} with {scores['replaced']})"
                if scores["accuracy"] is not None
                else "; no labelled examples on the device to compare on"
            )
            print(f"installed {check.candidate.version} as {entry.file}{compared}")
            _warn_if_overridden(settings)
            return EXIT_OK
        if args.action == "rollback":
            back = rollback(settings)
            print(
                f"rolled back: {back.version} ({back.file}) is active again"
                if back
                else "rolled back: the model shipped in the package is active again"
            )
            _warn_if_overridden(settings)
            return EXIT_OK
        if args.action == "adapt":
            return adapt_model(settings, dry_run=args.dry_run)
        return list_models(settings, as_json=args.json)
    except (InstallRefused, LibraryError) as exc:
        print(f"digitcam model {args.action}: refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED


def adapt_model(settings: Settings, *, dry_run: bool) -> int:
    from edge.adapt import adapt

    done = adapt(settings, dry_run=dry_run)
    f = done.figures
    print(
        f"your {f['examples']} examples, each read by a memory of the others ({f['folds']} "
        f"folds): "
        f"{f['user_before']:.1%} -> {f['user_after']:.1%}; MNIST sample "
        f"({f['mnist_held_out']}): {f['mnist_before']:.1%} -> {f['mnist_after']:.1%}; "
        f"{f['seconds']:.1f} s"
    )
    print(
        f"dry run: {done.version} not written"
        if dry_run
        else f"installed {done.version} as {done.path}"
    )
    return EXIT_OK


def list_models(settings: Settings, *, as_json: bool) -> int:
    library = ModelLibrary(settings.storage.path)
    in_use = active_model_path(settings)
    rows = []
    for i, entry in enumerate(library.entries()):
        rows.append({**entry.to_dict(), "active": i == 0, "path": str(library.folder / entry.file)})
    if not rows or settings.model.path is not None:
        try:
            model = DigitModel(in_use)
            version, accuracy = model.version, meta_float(model.metadata.get("mnist_test_accuracy"))
        except ModelError as exc:
            version, accuracy = f"unloadable: {exc}", None
        rows.insert(
            0,
            {
                "file": str(in_use),
                "version": version,
                "mnist_test_accuracy": accuracy,
                "active": False,
                "in_use": True,
                "path": str(in_use),
            },
        )
    for row in rows:
        row["in_use"] = row.get("in_use", False) or row["path"] == str(in_use)
    if as_json:
        print(json.dumps({"folder": str(library.folder), "models": rows}, indent=2))
        return EXIT_OK
    print(f"models in {library.folder}:" if library.entries() else "no model installed")
    for row in rows:
        mark = "*" if row["in_use"] else " "
        when = row.get("installed", "shipped in the package" if not row.get("sha256") else "")
        print(f"{mark} {row['version']:<34} {when:<26} {row['file']}")
    return EXIT_OK


def _warn_if_overridden(settings: Settings) -> None:
    if settings.model.path is not None:
        print(
            f"note: model.path is set ({settings.model.path}), so run, serve and predict keep "
            "using that file until it is emptied",
            file=sys.stderr,
        )
