"""A frame's buffers stay in the heap for the next frame (edge.allocator; glibc, 64-bit)."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc" or sys.maxsize < 2**32,
    reason="the allocator's thresholds are set on 64-bit glibc only",
)

# Two frames of a full-HD camera in a fresh process (the allocator as it starts), the minor
# page faults of the second one printed: the pages the kernel had to hand out (zeroed) again.
FRAMES = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from edge.allocator import keep_frame_memory
    assert keep_frame_memory()
def frame():
    colour = np.ones((1080, 1920, 3), np.uint8)  # a camera's frame as decoded
    gray = np.ascontiguousarray(colour[..., 1])
    return int(gray[::7, ::7].sum())
frame()  # the first frame faults its pages in however the allocator is set
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
frame()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def second_frame_faults(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", FRAMES, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(out.stdout.strip())


def test_the_next_frame_reuses_the_last_frames_memory() -> None:
    kept = second_frame_faults("keep")
    # 8 MB of buffers is 2,000 pages: kept in the heap, the second frame faults almost none.
    assert kept < 50
    # Left to glibc's own rule, the first frame's blocks were mappings of their own, handed
    # back when freed, and the second frame's come from pages faulted in afresh.
    assert second_frame_faults("default") > 20 * max(kept, 1)
