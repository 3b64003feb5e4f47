"""Read saved frame folders with this tree and keep every frame's outcome; compare two runs.

Tuning a threshold means reading the same frames many times. `measure.py --save-frames DIR`
writes its frames once (one folder per scenario, with expected.json); this reads such folders
in seconds and records, per frame, why it failed (None when right), the status and the value:

    python mock_frames/outcomes.py read /tmp/w7/wild-numbers /tmp/w7/wild-single \\
        --out /tmp/runs/before.json
    python mock_frames/outcomes.py read /tmp/w7/wild-single --kind digit --out /tmp/digit.json
    python mock_frames/outcomes.py diff /tmp/runs/before.json /tmp/runs/after.json
    python mock_frames/outcomes.py read /tmp/w7/wild-numbers --known-length --out /tmp/len.json

`read` prints, per folder, the frames right and those published `ok` but wrong; `diff` lists
the frames whose outcome changed, `+` better, `-` worse (a right frame lost, or a wrong
value newly published `ok`) and `~` neither, and the totals of both runs. The frames are
whatever the folders hold: saved from tuning scenarios, the figures are tuning figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from measure import failure
from readers import Readers, add_rows_arguments, region_readers, rows_from

from edge.camera.imageio import decode_image
from edge.config import ModelSettings
from edge.model import load_model
from edge.runs_model import load_runs

# One frame's outcome: [why it failed or None, status, value]
Outcome = list[Any]


def read_folder(
    folder: Path, readers: Readers, kind: str | None, known_length: bool = False
) -> dict:
    """Outcome per frame of one folder, read as `kind` or as its expected.json says; with
    `known_length`, a number region is told how many digits the expected number has."""
    expected = json.loads((folder / "expected.json").read_text())
    outcomes: dict[str, Outcome] = {}
    for name, want in sorted(expected.items()):
        gray = decode_image((folder / name).read_bytes())
        as_kind = kind or want.get("kind", "number")
        value = want.get("value")
        length = len(value) if known_length and as_kind == "number" and value else None
        reading = readers(as_kind, length).read(gray, name, 0)[0]
        why = failure(want, reading.status, reading.value, reading.digits)
        outcomes[name] = [why, reading.status, reading.value]
    return outcomes


def tally(outcomes: dict[str, Outcome]) -> tuple[int, int]:
    """Frames right, frames published ok with a wrong value."""
    right = sum(why is None for why, _, _ in outcomes.values())
    wrong_ok = sum(why is not None and status == "ok" for why, status, _ in outcomes.values())
    return right, wrong_ok


def change(before: Outcome, after: Outcome) -> str:
    """'-' a right frame lost or a wrong value newly published ok, '+' the reverse, else '~'."""
    wrong_ok_before = before[0] is not None and before[1] == "ok"
    wrong_ok_after = after[0] is not None and after[1] == "ok"
    if before[0] is None or (wrong_ok_after and not wrong_ok_before):
        return "-"
    if after[0] is None or (wrong_ok_before and not wrong_ok_after):
        return "+"
    return "~"


def run_key(folder: Path, kind: str | None, known_length: bool = False) -> str:
    return f"{folder}" + (f" as {kind}" if kind else "") + (" +length" if known_length else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    read = sub.add_parser("read", help="read folders, write every frame's outcome")
    read.add_argument("folders", nargs="+", type=Path, help="folders with expected.json")
    read.add_argument("--kind", choices=("number", "digit"), help="read every frame as this")
    read.add_argument("--model", type=Path, help="ONNX file (default: the shipped model)")
    read.add_argument("--runs", type=Path, help="run-reader ONNX (digits run together)")
    add_rows_arguments(read)
    read.add_argument(
        "--min-confidence",
        type=float,
        default=ModelSettings().min_confidence,
        help="the reader's threshold (default: model.min_confidence's default)",
    )
    read.add_argument(
        "--judge-alone",
        action="store_true",
        help="a lone digit judged by the model alone, not weighed with its page (as before)",
    )
    read.add_argument("--out", type=Path, required=True, help="JSON file for the outcomes")
    read.add_argument(
        "--known-length",
        action="store_true",
        help="tell each number region how many digits its expected number has (digits = N)",
    )
    diff = sub.add_parser("diff", help="frames whose outcome changed between two runs")
    diff.add_argument("before", type=Path)
    diff.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "read":
        cv2.setNumThreads(1)
        model = load_model(args.model)
        runs = load_runs(args.runs)
        readers = region_readers(
            model, args.min_confidence, "outcomes", runs, rows_from(args), not args.judge_alone
        )
        done = {}
        for folder in args.folders:
            outcomes = read_folder(folder, readers, args.kind, args.known_length)
            right, wrong_ok = tally(outcomes)
            key = run_key(folder, args.kind, args.known_length)
            print(f"{key}: {right}/{len(outcomes)} right, {wrong_ok} published ok but wrong")
            done[key] = outcomes
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"model": model.version, "runs": done}, indent=0))
        return 0
    before = json.loads(args.before.read_text())["runs"]
    after = json.loads(args.after.read_text())["runs"]
    totals = [[0, 0], [0, 0]]
    for key in sorted(set(before) & set(after)):
        for name, old in before[key].items():
            new = after[key].get(name)
            if new is not None and new != old:
                print(f"{change(old, new)} {key}/{name}: {old} -> {new}")
        for side, run in enumerate((before[key], after[key])):
            right, wrong_ok = tally(run)
            totals[side][0] += right
            totals[side][1] += wrong_ok
    print(
        f"right / ok but wrong: {totals[0][0]} / {totals[0][1]} -> {totals[1][0]} / {totals[1][1]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
