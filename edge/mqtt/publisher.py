"""MQTT publisher: drains the SQLite outbox to the broker, in order, acking only what it confirmed.

Two threads: paho's network thread only reports (see `edge.mqtt.connection`), and one sender
thread owns everything else: it applies those reports, connects with backoff, routes commands
and Home Assistant's birth message, and pumps outbox rows through a window of in-flight
messages. The capture loop only calls `Store.record()` and never waits on the network.

While the store cannot be written (a full or read-only disk), the capture loop hands each
reading to `publish_unstored()`, which gives it to paho at once when connected: no outbox
row, so no retry after a lost connection and no place in the order of the backlog, but the
broker keeps getting live readings. Readings that find the broker away are counted as lost.

When `mqtt.host` is empty MQTT is off: the daemon creates no publisher, records readings with
no topics (so nothing piles up in the outbox) and reports the state as `disabled`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from edge import __version__
from edge.config import MqttSettings, RegionSettings
from edge.mqtt.commands import Commands
from edge.mqtt.connection import (
    DEFAULT_BACKOFF,
    Backoff,
    Connection,
    Incoming,
    MqttError,
    State,
)
from edge.mqtt.discovery import base_topic, discovery_configs, ha_status_topic, reading_topics
from edge.store import OutboxItem, Store, StoreError

__all__ = ["Backoff", "MqttError", "MqttPublisher", "State"]

logger = logging.getLogger(__name__)

_BUSY_PAUSE_S = 0.005  # between sender rounds while the backlog drains


@dataclass
class _InFlight:
    item: OutboxItem
    info: mqtt.MQTTMessageInfo


class MqttPublisher:
    """Publishes the outbox, the status, Home Assistant discovery and stats; runs commands."""

    def __init__(
        self,
        settings: MqttSettings,
        device_id: str,
        store: Store,
        stop: threading.Event,
        *,
        regions: Sequence[str | RegionSettings] = ("main",),
        backoff: Backoff = DEFAULT_BACKOFF,
        max_inflight: int = 20,
        poll_s: float = 0.1,
    ) -> None:
        if not settings.host:
            raise MqttError("mqtt.host is empty: MQTT is off, so no publisher should be created")
        self.settings, self.device_id = settings, device_id
        self._store, self._stop = store, stop
        self._regions = list(regions)
        self._max_inflight, self._poll_s = max_inflight, poll_s
        self._stats = f"{base_topic(settings, device_id)}/stats"
        self._ha_status = ha_status_topic(settings)
        self._commands = Commands(settings, device_id)
        subscriptions = [self._commands.topic_filter]
        if self._ha_status:
            subscriptions.append(self._ha_status)
        self._conn = Connection(
            settings, device_id, subscriptions, backoff=backoff, max_inflight=max_inflight
        )
        # Written only by the sender thread.
        self._published = self._round_errors = 0
        # Written only by the capture thread: readings sent past the failing store, or lost.
        self._unstored_sent = self._unstored_lost = 0
        self._window: deque[_InFlight] = deque()
        self._window_gen = 0  # the connection generation the window belongs to
        self._cursor = 0  # highest outbox id handed to paho on this connection
        self._closed = threading.Event()  # set by stop() once the flush is over
        self._close_deadline = 0.0  # when the `offline` message stops being waited for
        self._sender: threading.Thread | None = None

    # ---- public API ---------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._conn.state

    @property
    def published(self) -> int:
        return self._published

    @property
    def errors(self) -> int:
        return self._round_errors + self._conn.errors + self._commands.failed

    @property
    def reconnects(self) -> int:
        return self._conn.reconnects

    def counters(self) -> dict[str, Any]:
        """State, counters and outbox figures for health and stats."""
        depth, dropped = self._outbox_figures()
        return {
            "state": self.state,
            "published": self.published,
            "errors": self.errors,
            "reconnects": self.reconnects,
            "connect_attempts": self._conn.connect_attempts,
            "unknown_commands": self._commands.unknown,
            "refused_commands": self._commands.refused,
            "unstored_sent": self._unstored_sent,
            "unstored_lost": self._unstored_lost,
            "outbox_depth": depth,
            "outbox_dropped": dropped,
        }

    def reading_topics(self, region: str) -> list[str]:
        """Topics to pass to Store.record() for a reading of `region`."""
        return reading_topics(self.settings, self.device_id, region)

    def on_command(self, name: str, callback: Callable[[bytes], None]) -> None:
        """Call `callback(payload)` for `cmd/<name>`; it runs on the sender thread: be quick."""
        self._commands.register(name, callback)

    def start(self) -> None:
        """Start the sender thread, which connects and drains the outbox."""
        self._sender = threading.Thread(target=self._run, name="mqtt-sender", daemon=True)
        self._sender.start()

    def publish_unstored(self, topics: Sequence[str], payload: str) -> bool:
        """Send a reading the store could not take straight to paho; False when offline."""
        if self.state != "connected":
            self._unstored_lost += 1
            return False
        for topic in topics:
            self._conn.publish(topic, payload, self.settings.qos, True)
        self._unstored_sent += 1
        return True

    def publish_stats(self, stats: Mapping[str, Any]) -> bool:
        """Send one `stats` message (QoS 0, not retained, not persisted); False when offline."""
        if self.state != "connected":
            return False
        payload = json.dumps(stats, separators=(",", ":"), default=str)
        info = self._conn.publish(self._stats, payload, qos=0, retain=False)
        return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    def stop(self, flush_timeout_s: float = 10.0) -> bool:
        """Drain the outbox for up to flush_timeout_s, publish `offline`, disconnect.

        Returns True when nothing was left in the outbox; leftovers go on the next start.
        """
        deadline = time.monotonic() + flush_timeout_s
        sender = self._sender
        # The daemon's stop event is usually set already, so the flush waits on _closed,
        # which nothing sets before this loop ends.
        while (
            sender is not None
            and sender.is_alive()
            and (self._outbox_depth() or 0) > 0
            and self._store.health().writable  # else no ack can be written: nothing drains
            and self.state != "auth_failed"
            and time.monotonic() < deadline
        ):
            self._closed.wait(0.05)
        self._close_deadline = deadline
        self._closed.set()
        if sender is None:
            self._close()  # never started: no other thread owns the connection
        else:
            sender.join(timeout=self._offline_wait_s() + 10)
            if sender.is_alive():
                logger.warning("MQTT sender did not finish; the broker may keep `online`")
        left = self._outbox_depth()
        if left:
            logger.warning("MQTT stopped with %s messages in the outbox; sent on next start", left)
        return left == 0

    def _outbox_depth(self) -> int | None:
        return self._outbox_figures()[0]

    def _outbox_figures(self) -> tuple[int | None, int | None]:
        """The outbox's depth and drop count; None when the store cannot be read (it logs why)."""
        try:
            return self._store.outbox_depth(), self._store.dropped_count()
        except StoreError:
            return None, None

    # ---- sender thread ------------------------------------------------------------------
    def _run(self) -> None:
        while not self._closed.is_set():
            busy = False
            try:
                busy = self._round()
            except StoreError as exc:  # a full or read-only disk: the store counts and logs it
                logger.debug("MQTT sender: the outbox failed: %s", exc)
                self._pause(1.0)
            except Exception:  # a failing round must not end publishing for good
                self._round_errors += 1
                logger.exception("MQTT sender round failed; retrying")
                self._pause(1.0)
            self._pause(_BUSY_PAUSE_S if busy else self._poll_s)
        self._close()

    def _round(self) -> bool:
        """Apply what paho reported, then connect or pump; True when anything moved."""
        for message in self._conn.apply_events():
            self._receive(message)
        if self._conn.state != "connected":
            self._conn.connect_if_due()
            return False
        if self._conn.generation != self._window_gen:
            self._new_connection()
        return self._pump()

    def _pause(self, seconds: float) -> None:
        # After the daemon's stop event fires the sender keeps draining until stop() sets
        # _closed, so it must then wait on _closed instead of spinning on a set event.
        if self._stop.is_set():
            self._closed.wait(seconds)
        else:
            self._stop.wait(seconds)

    def _close(self) -> None:
        try:
            self._conn.close(self._offline_wait_s())
        except Exception:
            logger.exception("MQTT disconnect failed")

    def _offline_wait_s(self) -> float:
        return max(1.0, self._close_deadline - time.monotonic())

    def _new_connection(self) -> None:
        # paho dropped its unconfirmed copies on connect, so everything not yet acked goes
        # again from the outbox, oldest first.
        self._window.clear()
        self._cursor, self._window_gen = 0, self._conn.generation
        self._send_discovery()

    def _pump(self) -> bool:
        """Ack what the broker confirmed, publish more; True when anything moved."""
        done = [f for f in self._window if _delivered(f.info)]
        if done:
            self._store.ack(*(f.item.id for f in done))
            finished = {id(f) for f in done}
            self._window = deque(f for f in self._window if id(f) not in finished)
            self._published += len(done)
        room = self._max_inflight - len(self._window)
        items = self._store.pending(room, after_id=self._cursor) if room > 0 else []
        for item in items:
            info = self._conn.publish(item.topic, item.payload, item.qos, item.retain)
            self._window.append(_InFlight(item, info))
            self._cursor = item.id
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break  # the connection just went; the next one resends from the outbox
        return bool(done or items)

    def _receive(self, message: Incoming) -> None:
        if message.topic == self._ha_status:
            if message.payload.strip().lower() == b"online":
                logger.info("Home Assistant came online; sending discovery again")
                self._send_discovery()
        elif self._commands.handles(message.topic):
            self._commands.dispatch(message.topic, message.payload, message.retain)

    def _send_discovery(self) -> None:
        configs = discovery_configs(self.settings, self.device_id, self._regions, __version__)
        for topic, config in configs.items():
            self._conn.publish(topic, json.dumps(config, separators=(",", ":")), 1, True)


def _delivered(info: mqtt.MQTTMessageInfo) -> bool:
    try:
        return info.is_published()
    except (ValueError, RuntimeError):  # never queued; the next connection resends it
        return False
