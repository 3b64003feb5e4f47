"""The region frames kept with the newest readings: bounded, mapped back to frame pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.store import Store
from edge.store import frames as frames_module
from edge.store.frames import encode_region
from tests.edge.test_store import make_reading


def test_only_the_newest_frames_are_kept_whatever_the_frame_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(frames_module, "FRAMES_KEPT", 3)
    store = Store(tmp_path / "state.sqlite", 100)
    region = np.full((120, 200), 200, np.uint8)
    seqs = [
        store.record(make_reading(), [], 1, frame=encode_region(region, (10, 20))) for _ in range(5)
    ]
    kept = [seq for seq in seqs if store.frame(seq) is not None]
    assert kept == seqs[-3:]
    assert store.frame(seqs[-1]).origin == (10, 20)
    store.delete(seqs[-1])  # a deleted reading takes its frame with it
    assert store.frame(seqs[-1]) is None
    store.close()


def test_a_large_region_is_kept_small_and_maps_back_to_frame_pixels() -> None:
    region = np.zeros((960, 1280), np.uint8)
    frame = encode_region(region, (100, 50))
    assert frame is not None and frame.scale == pytest.approx(1280 / 480)
    assert frame.decode().shape == (360, 480)
    assert frame.to_frame(240, 180) == pytest.approx((100 + 640, 50 + 480))
    assert encode_region(np.zeros((0, 5), np.uint8), (0, 0)) is None
