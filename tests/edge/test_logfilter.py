"""A message repeated thousands of times a second reaches the log a few times, then a count."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from edge.logfilter import RepeatFilter, install


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def log(clock: Clock) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through a handler with the filter, as the daemon's set-up does."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RepeatFilter(burst=5, interval_s=60, clock=clock))
    logger = logging.getLogger("tests.logfilter")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, out
    logger.removeHandler(handler)
    logger.propagate = True


def test_a_flood_of_one_error_is_cut_to_a_few_lines_and_a_count(
    log: tuple[logging.Logger, io.StringIO], clock: Clock
) -> None:
    logger, out = log
    for _ in range(10_000):
        logger.error("socket.accept() out of system resource")
    lines = out.getvalue().splitlines()
    assert len(lines) == 5
    assert "more like this are counted, not shown, for 60 s" in lines[-1]
    clock.now += 61
    logger.error("socket.accept() out of system resource")
    assert out.getvalue().splitlines()[-1].endswith("[9995 more like this were suppressed]")


def test_arguments_do_not_make_a_new_message_but_other_messages_pass(
    log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = log
    for index in range(100):
        logger.warning("skipped frame index=%s reason=%s", index, "100% corrupt")
    logger.warning("camera reopened")
    logger.error("skipped frame index=%s reason=%s", 1, "x")  # another level: its own count
    lines = out.getvalue().splitlines()
    assert len(lines) == 7
    assert lines[0] == "WARNING tests.logfilter: skipped frame index=0 reason=100% corrupt"
    assert lines[5] == "WARNING tests.logfilter: camera reopened"


def test_tracebacks_of_the_lines_shown_are_kept(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = log
    try:
        raise OSError(24, "Too many open files")
    except OSError:
        for _ in range(50):
            logger.exception("accept failed")
    assert out.getvalue().count("OSError: [Errno 24] Too many open files") == 5


def test_install_adds_one_filter_per_root_handler() -> None:
    root = logging.Logger("root-for-test")
    root.addHandler(logging.StreamHandler(io.StringIO()))
    install(root)
    install(root)
    assert [type(f) for f in root.handlers[0].filters] == [RepeatFilter]
