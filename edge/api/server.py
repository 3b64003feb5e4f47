"""Run the API with uvicorn: on a thread beside the daemon, or alone for `digitcam serve`."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

import uvicorn

from edge.api import ApiError
from edge.api.connections import ConnectionLimits, limited_h11
from edge.api.factory import create_app
from edge.api.services import Daemon, Services
from edge.config import CONFIG_ERROR_EXIT, Settings
from edge.model import ModelError
from edge.store import StoreError

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
CONNECTION_LIMITS = ConnectionLimits()
KEEP_ALIVE_S = 5  # an idle kept-alive connection is closed after this
MAX_HEADER_BYTES = 16 * 1024  # h11 refuses a request head larger than this


def uvicorn_config(settings: Settings, services: Services) -> uvicorn.Config:
    """One place for the server options of both modes."""
    limits = CONNECTION_LIMITS.within_fd_limit()
    return uvicorn.Config(
        create_app(services),
        host=settings.api.host,
        port=settings.api.port,
        log_config=None,  # keep the daemon's logging set-up
        access_log=False,  # a page polling every 2 s would flood the journal
        lifespan="on",
        server_header=False,
        http=limited_h11(limits),  # caps connections; header and body deadlines
        ws="none",  # no route speaks WebSocket
        # Also bounds requests still running for clients that have gone (the cap counts
        # open connections only); one more, as uvicorn counts the new request itself.
        limit_concurrency=limits.max_connections + 1,
        backlog=limits.backlog,
        timeout_keep_alive=KEEP_ALIVE_S,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )


class ApiServer:
    """uvicorn on a background thread; `start()` returns once the socket listens."""

    def __init__(self, settings: Settings, app: Daemon | None = None) -> None:
        self.settings = settings
        self.services = (
            Services.for_daemon(settings, app) if app is not None else Services(settings)
        )
        self._server = uvicorn.Server(uvicorn_config(settings, self.services))
        self._thread = threading.Thread(target=self._run, name="api-server", daemon=True)

    @property
    def port(self) -> int:
        """The port listened on (the one the OS picked when api.port is 0)."""
        for server in getattr(self._server, "servers", []):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return self.settings.api.port

    @property
    def url(self) -> str:
        return f"http://{self.settings.api.host}:{self.port}"

    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Start serving; raises ApiError when the server cannot listen."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise ApiError(self._start_failure())
            if time.monotonic() > deadline:
                self.stop()
                raise ApiError(f"api: not listening on {self._address()} after {timeout_s:.0f} s")
            time.sleep(0.01)
        logger.info("api listening on %s", self.url)

    def stop(self) -> None:
        """Finish open requests (briefly) and close the socket."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(STOP_TIMEOUT_S)
        logger.info("api stopped")

    def _run(self) -> None:
        try:
            self._server.run()
        except SystemExit:  # uvicorn's way to give up when it cannot bind; it logged why
            logger.debug("uvicorn exited during start-up")

    def _start_failure(self) -> str:
        return (
            f"api: cannot listen on {self._address()} (api.host / api.port): "
            "the address is in use or not available; see the log above"
        )

    def _address(self) -> str:
        return f"{self.settings.api.host}:{self.settings.api.port}"


def serve(settings: Settings) -> int:
    """`digitcam serve`: the API and page alone; returns the process exit code."""
    services = Services(settings)
    try:
        services.open(strict=True)  # fail fast, naming the file at fault
    except (ModelError, StoreError) as exc:
        services.close()
        logger.error("cannot start: %s", exc)
        print(f"digitcam serve: cannot start: {exc}", file=sys.stderr)
        return CONFIG_ERROR_EXIT
    server = uvicorn.Server(uvicorn_config(settings, services))
    logger.info(
        "serving the API and page on http://%s:%s (no capture loop)",
        settings.api.host,
        settings.api.port,
    )
    # uvicorn shuts down cleanly on SIGTERM/SIGINT, then raises the signal again for the
    # handler it found; a handler that only logs lets serve() return 0 like `digitcam run`.
    previous = {sig: signal.signal(sig, _log_stop_signal) for sig in STOP_SIGNALS}
    try:
        server.run()
    except SystemExit as exc:
        print(
            f"digitcam serve: cannot listen on {settings.api.host}:{settings.api.port} "
            "(api.host / api.port): the address is in use or not available",
            file=sys.stderr,
        )
        return int(exc.code) if isinstance(exc.code, int) else 1
    finally:
        services.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _log_stop_signal(signum: int, _frame: object) -> None:
    logger.info("stopped by %s", signal.Signals(signum).name)
