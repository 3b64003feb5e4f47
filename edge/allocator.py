"""The C allocator's settings for a frame loop: a frame's buffers are not handed back to the
kernel between frames (glibc only).

Every frame allocates and frees the same few buffers of a frame's size (the decoded image,
the ink map, its mask and smoothed copy, the row reader's input). glibc serves blocks above
its mmap threshold with fresh mappings and returns free memory above its trim threshold at
the top of the heap to the kernel; its rule that raises both thresholds as blocks are freed
settles on some runs and not on others. Where it does not, the next frame faults the same
pages in again, each one zeroed by the kernel: measured on the bundled mock frames, 7 to 158
minor page faults and up to 0.37 ms of kernel time a frame, and a frame 0.91x as long with
the thresholds fixed (the median of ten paired runs; README, "A frame's memory kept for the
next frame"). Fixed thresholds above any frame's buffers keep them in the heap: the daemon
holds its largest frame's working set for good (about 2 MB more resident on 640x480 frames)
and faults nothing in a frame.
"""

from __future__ import annotations

import ctypes
import logging
import platform

logger = logging.getLogger(__name__)

# mallopt() parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Blocks up to this size come from the heap, not from a mapping of their own: a 4K colour
# frame is 25 MB. glibc's ceiling for it on 64-bit systems, the most its own rule raises it
# to; a 32-bit glibc refuses more than 512 KiB, and there nothing is changed.
MMAP_THRESHOLD = 32 * 1024 * 1024
# Free memory at the heap's top is kept up to this size: a frame's buffers freed at its end
# are the next frame's (at 2 MB the faults came back on 640x480 frames, at 4 MB none).
TRIM_THRESHOLD = 32 * 1024 * 1024


def keep_frame_memory() -> bool:
    """Fix glibc's mmap and trim thresholds (MMAP_THRESHOLD, TRIM_THRESHOLD) for this
    process; False, changing nothing, on another C library or where glibc refuses them."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # The mmap threshold first: setting either one ends glibc's rule for both, and a trim
    # threshold alone would leave every block over 128 KiB on a mapping of its own.
    if not mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD):
        logger.debug("glibc refused an mmap threshold of %s bytes", MMAP_THRESHOLD)
        return False
    if not mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD):
        logger.debug("glibc refused a trim threshold of %s bytes", TRIM_THRESHOLD)
    return True
