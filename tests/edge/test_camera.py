"""The camera side against real image files, a real video file and a real MJPEG stream."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.camera import Frame, FrameGrabber, SourceError, capture_one, open_source
from edge.camera.capture import DeviceSource, StreamSource, VideoFileSource
from edge.camera.sources import FolderSource, ImageFileSource
from edge.config import CameraSettings
from tests.conftest import poll_until


def write_image(path: Path, value: int, size: tuple[int, int] = (48, 64)) -> Path:
    """A flat gray image whose brightness identifies it after a lossy round trip."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full(size, value, np.uint8))
    return path


def brightness(frame: Frame) -> int:
    assert frame.image is not None, frame.error
    return round(float(frame.image.mean()))


def drain(grabber: FrameGrabber, timeout_s: float = 10.0) -> list[Frame]:
    """Every frame a `run --once` consumer would receive, until the grabber is done."""
    frames: list[Frame] = []
    deadline = time.monotonic() + timeout_s
    while not grabber.done and time.monotonic() < deadline:
        frame = grabber.get(timeout_s=0.5)
        if frame is not None:
            frames.append(frame)
    assert grabber.done, f"not done after {timeout_s} s: {grabber.stats()}"
    return frames


@pytest.fixture()
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture()
def grab(stop: threading.Event) -> Iterator[Callable[..., FrameGrabber]]:
    """Start grabbers on the test's stop event; they are stopped and joined afterwards."""
    started: list[FrameGrabber] = []

    def start(
        source_spec: object,
        *,
        pace: bool = False,
        backoff_max_s: float = 1.0,
        lossless: bool = False,
        **camera: object,
    ) -> FrameGrabber:
        source = open_source(CameraSettings(source=str(source_spec), **camera), pace=pace)
        grabber = FrameGrabber(source, stop, backoff_max_s, lossless=lossless)
        grabber.start()
        started.append(grabber)
        return grabber

    yield start
    stop.set()
    for grabber in started:
        assert grabber.join(timeout_s=5.0), "grabber thread did not end after stop"


def test_folder_once_delivers_each_image_in_name_order(tmp_path: Path, stop, grab) -> None:
    for name, value in [("b.png", 60), ("a.jpg", 30), ("d.bmp", 120), ("c.webp", 90)]:
        write_image(tmp_path / name, value)
    (tmp_path / "notes.txt").write_text("not a frame")
    write_image(tmp_path / "sub" / "0.png", 250)  # not recursive

    grabber = grab(tmp_path, loop=False, lossless=True)
    frames = drain(grabber)

    assert [f.source for f in frames] == ["a.jpg", "b.png", "c.webp", "d.bmp"]
    assert [brightness(f) for f in frames] == pytest.approx([30, 60, 90, 120], abs=2)
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert grabber.state == "finished" and grabber.get(timeout_s=0.1) is None


def test_lossless_slow_consumer_gets_every_frame_unpaced(tmp_path: Path, stop, grab) -> None:
    for i in range(12):
        write_image(tmp_path / f"{i:03d}.png", i * 20)

    started = time.monotonic()
    # fps=1: were `--once` paced it would take 11 s.
    grabber = grab(tmp_path, loop=False, lossless=True, fps=1.0)
    frames = []
    while not grabber.done:
        frame = grabber.get(timeout_s=1.0)
        if frame is not None:
            frames.append(frame)
            stop.wait(0.02)  # a consumer slower than the reader

    assert [f.index for f in frames] == list(range(12))
    assert [brightness(f) for f in frames] == [i * 20 for i in range(12)]
    assert grabber.dropped == 0
    assert time.monotonic() - started < 5.0


def test_corrupt_files_become_error_frames_and_the_rest_arrive(tmp_path: Path, stop, grab) -> None:
    write_image(tmp_path / "a.png", 40)
    good_jpeg = cv2.imencode(".jpg", np.full((48, 64), 80, np.uint8))[1].tobytes()
    (tmp_path / "b_truncated.jpg").write_bytes(good_jpeg[: len(good_jpeg) // 2])
    (tmp_path / "c_empty.png").write_bytes(b"")
    write_image(tmp_path / "d.png", 160)

    frames = drain(grab(tmp_path, loop=False, lossless=True))

    assert [f.source for f in frames] == ["a.png", "b_truncated.jpg", "c_empty.png", "d.png"]
    assert frames[1].image is None and "cannot decode: b_truncated.jpg" in (frames[1].error or "")
    assert frames[2].image is None and "cannot decode: c_empty.png" in (frames[2].error or "")
    assert brightness(frames[0]) == 40 and brightness(frames[3]) == 160
    assert frames[0].error is None and frames[3].error is None


def test_looping_folder_replays_and_picks_up_new_files(tmp_path: Path) -> None:
    for name in ("a.png", "b.png", "c.png"):
        write_image(tmp_path / name, 50)
    source = open_source(CameraSettings(source=str(tmp_path), loop=True), pace=False)
    source.open()

    first = [source.read() for _ in range(6)]
    write_image(tmp_path / "d.png", 50)
    second = [source.read() for _ in range(4)]

    assert not source.finite
    assert [f.source for f in first] == ["a.png", "b.png", "c.png"] * 2
    assert [f.source for f in second] == ["a.png", "b.png", "c.png", "d.png"]
    assert [f.index for f in first + second] == list(range(10))


def write_video(path: Path, count: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    assert writer.isOpened()
    for i in range(count):
        writer.write(np.full((48, 64, 3), 20 + i * 25, np.uint8))
    writer.release()
    return path


def test_video_file_once_delivers_every_frame_in_order(tmp_path: Path, stop, grab) -> None:
    video = write_video(tmp_path / "clip.avi", 9)

    frames = drain(grab(video, loop=False, lossless=True))

    assert len(frames) == 9
    assert [brightness(f) for f in frames] == pytest.approx([20 + i * 25 for i in range(9)], abs=3)
    assert {f.source for f in frames} == {"clip.avi"}


def test_looping_video_starts_again_at_the_end(tmp_path: Path) -> None:
    source = open_source(CameraSettings(source=str(write_video(tmp_path / "clip.avi", 4))))
    assert isinstance(source, VideoFileSource) and not source.finite
    source.open()
    try:
        frames = [source.read() for _ in range(10)]
    finally:
        source.close()

    assert [f.index for f in frames] == list(range(10))
    assert [brightness(f) for f in frames] == pytest.approx([20, 45, 70, 95] * 2 + [20, 45], abs=3)


def test_single_image_once_is_one_frame(tmp_path: Path, stop, grab) -> None:
    image = write_image(tmp_path / "meter.png", 77)

    frames = drain(grab(image, loop=False, lossless=True))

    assert [(f.source, brightness(f)) for f in frames] == [("meter.png", 77)]


def test_looping_image_repeats_at_fps_and_follows_rewrites(tmp_path: Path, stop, grab) -> None:
    image = write_image(tmp_path / "snapshot.png", 50)
    grabber = grab(image, loop=True, fps=20.0, pace=True)

    first = grabber.get(timeout_s=2.0)
    assert first is not None and first.image is not None and brightness(first) == 50
    first.image[:] = 0  # a consumer drawing on its frame must not change the next ones
    stop.wait(0.3)
    later = grabber.get(timeout_s=2.0)
    assert later is not None and brightness(later) == 50
    # Never faster than camera.fps: the frames in between took at least their 1/20 s each.
    assert later.ts - first.ts >= 0.9 * (later.index - first.index) / 20.0
    assert later.index > first.index

    write_image(image, 200, size=(40, 40))  # another program updates its snapshot
    # Caught half-written, the file gives one frame with an error; the next read follows it.
    assert poll_until(
        lambda: (f := grabber.get(0.5)) is not None and f.image is not None and brightness(f) == 200
    )


def test_capture_one_decodes_16_bit_and_transparent_images(tmp_path: Path) -> None:
    deep = tmp_path / "deep.png"
    cv2.imwrite(str(deep), np.full((20, 20), 32768, np.uint16))
    clear = tmp_path / "clear.png"
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[:, 10:, 3] = 255  # left half transparent black, right half opaque black
    cv2.imwrite(str(clear), rgba)

    deep_frame = capture_one(CameraSettings(source=str(deep)))
    clear_frame = capture_one(CameraSettings(source=str(clear)))

    assert deep_frame.image is not None and deep_frame.image.dtype == np.uint8
    assert brightness(deep_frame) == 128
    assert clear_frame.image is not None
    assert clear_frame.image[:, :10].min() == 255  # transparent is white paper
    assert clear_frame.image[:, 10:].max() == 0


def test_capture_one_reads_the_first_file_or_names_the_problem(tmp_path: Path) -> None:
    write_image(tmp_path / "frames" / "2.png", 90)
    write_image(tmp_path / "frames" / "1.png", 10)
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 not really a jpeg")

    assert capture_one(CameraSettings(source=str(tmp_path / "frames"))).source == "1.png"
    with pytest.raises(SourceError, match=r"cannot decode: bad\.jpg"):
        capture_one(CameraSettings(source=str(tmp_path / "bad.jpg")))
    with pytest.raises(SourceError, match="nowhere"):
        capture_one(CameraSettings(source=str(tmp_path / "nowhere")))


def test_folder_deleted_mid_run_is_reopened_when_it_returns(tmp_path: Path, stop, grab) -> None:
    folder = tmp_path / "frames"
    for i in range(3):
        write_image(folder / f"a{i}.png", 30)
    grabber = grab(folder, loop=True, fps=50.0, pace=True, backoff_max_s=1.0)
    assert grabber.get(timeout_s=2.0) is not None

    shutil.rmtree(folder)
    assert poll_until(lambda: grabber.state == "reopening")
    assert grabber.failures >= 1 and str(folder) in (grabber.last_error or "")
    write_image(folder / "z.png", 220)

    assert poll_until(lambda: (f := grabber.get(timeout_s=0.5)) is not None and f.source == "z.png")
    assert grabber.state == "open"


def test_once_resumes_after_a_folder_blip_without_repeats(tmp_path: Path, stop, grab) -> None:
    folder = tmp_path / "frames"
    names = [f"{c}.png" for c in "abcdef"]
    for name in names:
        write_image(folder / name, 100)
    grabber = grab(folder, loop=False, lossless=True, backoff_max_s=1.0)
    frames = [grabber.get(timeout_s=2.0), grabber.get(timeout_s=2.0)]

    # The folder goes at once, as an unmount or a rename does. Deleting its files one by one
    # would look like a rotating frame buffer, whose removed files are rightly skipped.
    away = tmp_path / "away"
    folder.rename(away)
    restored = False
    deadline = time.monotonic() + 10.0
    while not grabber.done and time.monotonic() < deadline:
        frame = grabber.get(timeout_s=0.1)
        if frame is not None:
            frames.append(frame)
        elif grabber.state == "reopening" and not restored:
            away.rename(folder)
            restored = True

    assert restored and grabber.failures >= 1
    assert [f.source for f in frames if f is not None] == names


def test_missing_device_is_retried_with_growing_backoff(stop, grab) -> None:
    started = time.monotonic()
    grabber = grab("/dev/video-digitcam-missing", backoff_max_s=2.5)

    assert poll_until(lambda: grabber.failures >= 3, timeout_s=10.0)
    assert time.monotonic() - started >= 2.9  # waited 1 s, then 2 s, between the tries
    assert grabber.retry_delay_s == 2.5  # the next wait is capped at backoff_max_s
    assert grabber.state == "reopening"
    assert "/dev/video-digitcam-missing" in (grabber.last_error or "")
    assert grabber.get(timeout_s=0.05) is None

    stop.set()  # a stop during the backoff wait ends the thread at once
    assert grabber.join(timeout_s=1.0) and grabber.state == "stopped"


def test_newest_frame_wins_when_the_consumer_lags(tmp_path: Path, stop, grab) -> None:
    for i in range(20):
        write_image(tmp_path / f"{i:02d}.png", 100)
    grabber = grab(tmp_path, loop=False)

    assert poll_until(lambda: grabber.state == "finished")  # the consumer has taken nothing
    peeked = grabber.latest()
    newest = grabber.get(timeout_s=1.0)

    assert peeked is not None and newest is not None
    assert newest.index == peeked.index == 19 and newest.source == "19.png"
    assert grabber.dropped == 19 and grabber.frames == 20
    assert grabber.get(timeout_s=0.1) is None and grabber.done


class _MjpegHandler(BaseHTTPRequestHandler):
    """Serves 10 JPEG frames per connection, then hangs up like a camera losing Wi-Fi."""

    connections = 0
    pause = threading.Event()

    def do_GET(self) -> None:
        type(self).connections += 1
        value = 60 * type(self).connections
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        jpeg = cv2.imencode(".jpg", np.full((48, 64), value, np.uint8))[1].tobytes()
        try:
            for _ in range(10):
                head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                self.wfile.write(head % len(jpeg) + jpeg + b"\r\n")
                self.pause.wait(0.02)
        except OSError:
            pass  # the reader went away

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def mjpeg_url() -> Iterator[str]:
    _MjpegHandler.connections = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MjpegHandler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://viewer:s3cret@127.0.0.1:{server.server_address[1]}/stream.mjpg"
    server.shutdown()
    server.server_close()


def test_dropped_stream_is_reconnected(mjpeg_url: str, stop, grab) -> None:
    grabber = grab(mjpeg_url, backoff_max_s=1.0)

    seen: list[Frame] = []
    deadline = time.monotonic() + 10.0
    while not (seen and brightness(seen[-1]) == 120) and time.monotonic() < deadline:
        frame = grabber.get(timeout_s=0.2)
        seen += [frame] if frame is not None else []

    assert seen and brightness(seen[-1]) == 120, grabber.stats()  # the second connection
    assert brightness(seen[0]) == 60  # the first connection's frames came first
    assert grabber.failures >= 1 and "no frame" in (grabber.last_error or "")
    assert "s3cret" not in f"{grabber.last_error} {seen[-1].source}"
    assert seen[-1].source.startswith("http://viewer:***@127.0.0.1:")


def test_source_is_chosen_from_the_form_of_camera_source(tmp_path: Path) -> None:
    def chosen(spec: str, **camera: object) -> object:
        return open_source(CameraSettings(source=spec, **camera))

    assert isinstance(chosen("0"), DeviceSource) and chosen("0").live
    assert isinstance(chosen("/dev/video0"), DeviceSource)
    stream = chosen("rtsp://admin:hunter2@192.168.1.20:554/live")
    assert isinstance(stream, StreamSource)
    assert stream.name == "rtsp://admin:***@192.168.1.20:554/live"
    assert isinstance(chosen("tcp://127.0.0.1:8888"), StreamSource)  # rpicam-vid --listen
    assert isinstance(chosen(str(tmp_path)), FolderSource)
    assert isinstance(chosen(str(tmp_path / "not-mounted-yet")), FolderSource)
    assert isinstance(chosen(str(tmp_path / "meter.jpg")), ImageFileSource)
    assert isinstance(chosen(str(tmp_path / "recording.mp4")), VideoFileSource)
    assert chosen(str(tmp_path), fps=4.0).interval_s == 0.25
    assert open_source(CameraSettings(source=str(tmp_path)), pace=False).interval_s == 0.0
