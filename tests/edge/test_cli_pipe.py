"""`digitcam ... | head`: when the reader leaves early, digitcam stops quietly, like cat or grep."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRAMES = ROOT / "mock_frames" / "numbers"
SIGPIPE_EXIT = 141  # 128 + SIGPIPE: what a shell shows for a tool its reader left


def pipe_into_head(*args: str) -> tuple[str, str, int]:
    """Run `digitcam ARGS | head -n 1`; returns head's output, digitcam's log and exit code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITCAM_")}
    digitcam = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert digitcam.stdout is not None and digitcam.stderr is not None
    head = subprocess.Popen(
        ["head", "-n", "1"], stdin=digitcam.stdout, stdout=subprocess.PIPE, text=True
    )
    digitcam.stdout.close()  # only head holds the reading end: its exit breaks the pipe
    out, _ = head.communicate(timeout=120)
    err = digitcam.stderr.read().decode()
    return out, err, digitcam.wait(timeout=120)


@pytest.mark.parametrize("as_json", [True, False])
def test_predict_into_head_exits_quietly(as_json: bool) -> None:
    # Ten times the 30 frames: digitcam writes in 8 KiB blocks to a pipe, and head leaves
    # after the first, so later blocks meet a pipe with no reader.
    out, err, code = pipe_into_head(
        "predict", *(["--json"] if as_json else []), *[str(FRAMES)] * 10
    )
    assert len(out.splitlines()) == 1
    if as_json:
        assert json.loads(out)["path"].endswith("numbers_0000.jpg")
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == SIGPIPE_EXIT


def test_check_config_into_head_exits_quietly() -> None:
    out, err, code = pipe_into_head("check-config")
    assert out.strip() == "{"
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code in (0, SIGPIPE_EXIT)  # small enough to fit the pipe before head leaves
