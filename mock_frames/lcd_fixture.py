"""The real LCD crops the tests ship: the `tune` half of lcd_digits, as 20x32 grey PNGs.

    python mock_frames/lcd_fixture.py --lcd-data ../shared/data/lcd_digits \
        --out tests/fixtures/lcd_digits

Only the tune half (training.printed_eval.lcd_half), the one looked at to improve the renderer
and that chose the display model: the report half stays out of everything but
`digitcam evaluate --printed`. The crops are the ones the evaluation reads (grey, resized to
20x32 with INTER_AREA, training.sevenseg.load_lcd_crops).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.printed_eval import lcd_half
from training.sevenseg import load_lcd_crops

NOTICE = """\
Real camera crops of LCD digits from the public data set "Tenth-of-step-of-a-meter-digit"
(https://github.com/haverland/Tenth-of-step-of-a-meter-digit), licensed under the Apache
License, Version 2.0 (LICENSE in this folder). Changes: converted to 20x32 grey PNG.

Only the `tune` half of the crops (training/printed_eval.py, lcd_half) is here: the half that
was looked at to improve the display renderer and that chose the display model, so the tests
read it as a guard, not as a measure. File names are <digit>_<index>.png. Written by
mock_frames/lcd_fixture.py.

Each file and the data set file it came from:

"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lcd-data", type=Path, required=True, help="the lcd_digits folder")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    images, labels, names = load_lcd_crops(args.lcd_data)
    args.out.mkdir(parents=True, exist_ok=True)
    lines = []
    for image, label, name in zip(images, labels, names, strict=True):
        if lcd_half(name) != "tune":
            continue
        out = f"{label}_{len(lines):03d}.png"
        cv2.imwrite(str(args.out / out), image)
        lines.append(f"{out}  {label}/{name}")
    shutil.copyfile(args.lcd_data / "LICENSE", args.out / "LICENSE")
    (args.out / "NOTICE").write_text(NOTICE + "\n".join(lines) + "\n")
    print(f"wrote {len(lines)} crops to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
