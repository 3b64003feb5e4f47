"""Time two source trees' readers in one process, frame by frame in turn.

A shared or throttled machine changes speed from minute to minute, so two runs of
`digitcam bench` an hour apart, or even one after the other, can differ more than a change
to the reader does. Here both trees are imported into one process (each under its own copy
of the `edge` modules), and every mock frame is read by one reader and then the other, the
order swapped from frame to frame, so whatever the machine does it does to both (any tree
from version 0.1 on):

    git worktree add /tmp/before HEAD~1
    python mock_frames/turns.py /tmp/before . --rounds 5

It prints each tree's model and row reader (`--rows`: each tree's own shipped one, as its
daemon reads `number` regions, none for a tree from before it; otherwise none, as version
0.1 read), then its median and mean time per frame (decode + read, one region of kind
`number`, one thread, the tree's own shipped model), the median of the per-frame ratios
(second tree / first) and the ratio of the total times, also per scenario folder. Both trees
run on this interpreter's packages. The same tree given twice reads a ratio of about 1.00.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2

FRAMES = Path(__file__).resolve().parent
SCENARIOS = ("single", "numbers", "hard", "blank")  # the folders digitcam bench reads


def load(tree: Path, rows: bool = False) -> tuple[Callable[[bytes], Any], Any]:
    """The decode function and a reader of `tree`'s own `edge` package and shipped model;
    `rows`: with the tree's own shipped row reader too, as its daemon reads number regions."""
    for name in [n for n in sys.modules if n == "edge" or n.startswith("edge.")]:
        del sys.modules[name]  # the modules already loaded stay alive in the other reader
    sys.path.insert(0, str(tree))
    try:
        try:
            from edge.camera.imageio import decode_image
        except ImportError:  # version 0.1, before edge/ was split by concern
            from edge.imageio import decode_image  # type: ignore[import-not-found,no-redef]
        from edge.config import RegionSettings
        from edge.model import load_model
        from edge.reader import FrameReader

        module = sys.modules["edge"].__file__ or ""
        if not Path(module).resolve().is_relative_to(tree.resolve()):
            raise SystemExit(f"{tree}: imported edge from {module}, not from this tree")
        extra: dict[str, Any] = {}  # version 0.1's reader takes no row reader
        # A tree from before the row reader reads as its daemon did, without one.
        if rows and (tree / "edge" / "rows_model.py").exists():
            from edge.config import ModelSettings
            from edge.rows_model import rows_for

            extra["rows"] = rows_for(ModelSettings(), [RegionSettings()])
        reader = FrameReader(load_model(None), [RegionSettings()], 0.9, "turns", **extra)
    finally:
        sys.path.remove(str(tree))
    return decode_image, reader


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("first", type=Path, help="a source tree (holding edge/)")
    parser.add_argument("second", type=Path, help="another source tree")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the frames")
    parser.add_argument(
        "--rows",
        action="store_true",
        help="read with each tree's shipped row reader too, as the daemon does by default "
        "(trees from 2026-12-04 on)",
    )
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    readers = [load(args.first, args.rows), load(args.second, args.rows)]
    for tree, (_, reader) in zip((args.first, args.second), readers, strict=True):
        rows = getattr(reader, "rows", None)
        print(
            f"{tree}: model {getattr(getattr(reader, 'model', None), 'version', 'unknown')}, "
            f"row reader {rows.version if rows is not None else 'none'}"
        )
    files = sorted(f for s in SCENARIOS for f in (FRAMES / s).glob("*.jpg"))
    if not files:
        raise SystemExit(f"no mock frames under {FRAMES}")
    frames = [f.read_bytes() for f in files]
    times: list[list[float]] = [[], []]
    for frame in frames:  # warm up both
        for decode, reader in readers:
            reader.read(decode(frame), "turns", 0)
    for round_ in range(args.rounds):
        for i, frame in enumerate(frames):
            order = (0, 1) if (round_ + i) % 2 == 0 else (1, 0)
            for k in order:
                decode, reader = readers[k]
                start = time.perf_counter()
                reader.read(decode(frame), "turns", 0)
                times[k].append((time.perf_counter() - start) * 1000)
    for tree, spent in zip((args.first, args.second), times, strict=True):
        print(
            f"{tree}: median {statistics.median(spent):.3f} ms, "
            f"mean {statistics.mean(spent):.3f} ms per frame"
        )
    ratios = [b / a for a, b in zip(times[0], times[1], strict=True)]
    print(
        f"second / first: median of per-frame ratios {statistics.median(ratios):.3f}, "
        f"total {sum(times[1]) / sum(times[0]):.3f} "
        f"({len(frames)} frames x {args.rounds} rounds)"
    )
    # Where the difference lies: a change may cost only the frames that use it.
    spent: dict[str, list[float]] = {}
    for i, (a, b) in enumerate(zip(times[0], times[1], strict=True)):
        pair = spent.setdefault(files[i % len(files)].parent.name, [0.0, 0.0])
        pair[0], pair[1] = pair[0] + a, pair[1] + b
    shares = ", ".join(f"{name} {b / a:.3f}" for name, (a, b) in spent.items())
    print(f"total second / first by scenario: {shares}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
