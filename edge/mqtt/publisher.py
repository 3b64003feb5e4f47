"""MQTT publisher: drains the SQLite outbox to the broker, in order, acking only what it confirmed.

Two threads: paho's network thread (`loop_start`) runs the callbacks, and one sender thread
connects, reconnects with backoff and publishes outbox rows. The capture loop only calls
`Store.record()` and never waits on the network.

When `mqtt.host` is empty MQTT is off: the daemon creates no publisher, records readings with
no topics (so nothing piles up in the outbox) and reports the state as `disabled`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from edge import __version__
from edge.config import MqttSettings
from edge.mqtt.discovery import base_topic, discovery_configs, reading_topics, status_topic
from edge.store import OutboxItem, Store

logger = logging.getLogger(__name__)

State = Literal["disabled", "connecting", "connected", "auth_failed", "disconnected"]
# MQTT 3.1.1 CONNACK 4 and 5 as paho 2 names them: retrying soon cannot help.
AUTH_REFUSALS = frozenset({"Bad user name or password", "Not authorized"})
_BUSY_PAUSE_S = 0.005  # between sender rounds while the backlog drains


class MqttError(Exception):
    """The MQTT settings cannot be used (for example unreadable TLS files)."""


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
        regions: Sequence[str] = ("main",),
        version: str = __version__,
        max_inflight: int = 20,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 60.0,
        auth_retry_s: float = 300.0,
        poll_s: float = 0.1,
    ) -> None:
        if not settings.host:
            raise MqttError("mqtt.host is empty: MQTT is off, so no publisher should be created")
        if not hasattr(mqtt.Client, "drop_out_messages"):
            raise MqttError("paho-mqtt >= 2.2 is required (pip install -U paho-mqtt)")
        self.settings, self.device_id = settings, device_id
        self._store, self._stop = store, stop
        self._regions, self._version = list(regions), version
        self._max_inflight, self._poll_s = max_inflight, poll_s
        self._min_s, self._max_s = reconnect_min_s, reconnect_max_s
        self._auth_retry_s = auth_retry_s
        self._status = status_topic(settings, device_id)
        self._stats = f"{base_topic(settings, device_id)}/stats"
        self._cmd_prefix = f"{base_topic(settings, device_id)}/cmd/"
        prefix = settings.discovery_prefix.strip("/")
        self._ha_status = f"{prefix}/status" if prefix else None
        self._commands: dict[str, list[Callable[[bytes], None]]] = {}
        self._state: State = "disconnected"
        self._counts = {"published": 0, "errors": 0, "reconnects": 0, "connect_attempts": 0}
        self._count_lock = threading.Lock()
        # The sender publishes and on_connect starts a new generation under this lock, so a
        # row picked for one connection never slips into the next ahead of older rows.
        self._gen_lock = threading.Lock()
        self._generation = self._window_gen = 0
        self._window: deque[_InFlight] = deque()
        self._cursor = 0  # highest outbox id handed to paho on this connection
        self._delay_s, self._next_attempt = reconnect_min_s, 0.0
        self._closed = threading.Event()  # set by stop() once the flush is over
        self._sender: threading.Thread | None = None
        self._client = self._make_client()

    # ---- public API ---------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    @property
    def published(self) -> int:
        return self._counts["published"]

    @property
    def errors(self) -> int:
        return self._counts["errors"]

    @property
    def reconnects(self) -> int:
        return self._counts["reconnects"]

    def counters(self) -> dict[str, Any]:
        """State, counters and outbox figures for health and stats."""
        return {"state": self._state, **self._counts, "outbox_depth": self._store.outbox_depth(),
                "outbox_dropped": self._store.dropped_count()}

    def reading_topics(self, region: str) -> list[str]:
        """Topics to pass to Store.record() for a reading of `region`."""
        return reading_topics(self.settings, self.device_id, region)

    def on_command(self, name: str, callback: Callable[[bytes], None]) -> None:
        """Call `callback(payload)` for `cmd/<name>`; it runs on the network thread: be quick."""
        self._commands.setdefault(name, []).append(callback)

    def start(self) -> None:
        """Start the sender thread, which connects and drains the outbox."""
        self._sender = threading.Thread(target=self._run, name="mqtt-sender", daemon=True)
        self._sender.start()

    def publish_stats(self, stats: Mapping[str, Any]) -> bool:
        """Send one `stats` message (QoS 0, not retained, not persisted); False when offline."""
        if self._state != "connected":
            return False
        payload = json.dumps(stats, separators=(",", ":"), default=str)
        info = self._client.publish(self._stats, payload, qos=0, retain=False)
        return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    def stop(self, flush_timeout_s: float = 10.0) -> bool:
        """Drain the outbox for up to flush_timeout_s, publish `offline`, disconnect.

        Returns True when nothing was left in the outbox; leftovers go on the next start.
        """
        deadline = time.monotonic() + flush_timeout_s
        # The daemon's stop event is usually set already, so the flush waits on _closed,
        # which nothing sets before this loop ends.
        while (self._sender is not None and self._store.outbox_depth() > 0
               and self._state != "auth_failed" and time.monotonic() < deadline):
            self._closed.wait(0.05)
        self._closed.set()
        if self._sender is not None:
            self._sender.join(timeout=10)
        if self._state == "connected":
            info = self._client.publish(self._status, "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=max(1.0, deadline - time.monotonic()))
            except (ValueError, RuntimeError) as exc:
                logger.warning("could not publish offline status: %s", exc)
        self._client.disconnect()
        self._join_network_thread()
        self._state = "disconnected"
        left = self._store.outbox_depth()
        if left:
            logger.warning("MQTT stopped with %s messages in the outbox; sent on next start", left)
        return left == 0

    # ---- sender thread ------------------------------------------------------------------
    def _run(self) -> None:
        while not self._closed.is_set():
            busy = False
            try:
                if self._state == "connected":
                    busy = self._pump()
                elif self._state != "connecting" and time.monotonic() >= self._next_attempt:
                    self._connect()
            except Exception:  # a failing round must not end publishing for good
                self._count("errors")
                logger.exception("MQTT sender round failed; retrying")
                self._pause(1.0)
            self._pause(_BUSY_PAUSE_S if busy else self._poll_s)

    def _pause(self, seconds: float) -> None:
        # After the daemon's stop event fires the sender keeps draining until stop() sets
        # _closed, so it must then wait on _closed instead of spinning on a set event.
        if self._stop.is_set():
            self._closed.wait(seconds)
        else:
            self._stop.wait(seconds)

    def _connect(self) -> None:
        self._join_network_thread()
        self._state = "connecting"
        self._count("connect_attempts")
        host, port = self.settings.host, self.settings.port
        try:
            self._client.connect(host, port, keepalive=self.settings.keepalive_s)
        except OSError as exc:  # refused, unreachable, DNS, TLS handshake
            self._state = "disconnected"
            self._count("errors")
            logger.warning("cannot reach MQTT broker %s:%s: %s (next try in %.1f s)",
                           host, port, exc, self._delay_s)
            self._schedule_retry()
            return
        self._client.loop_start()

    def _join_network_thread(self) -> None:
        # reconnect_on_failure=False: the network thread ends with its connection; join it
        # before the client is reused so two loops never share one socket.
        # AttributeError: paho cleared its handle between its check and join: it has ended.
        with contextlib.suppress(AttributeError):
            self._client.loop_stop()

    def _schedule_retry(self) -> None:
        self._next_attempt = time.monotonic() + self._delay_s
        self._delay_s = min(self._delay_s * 2, self._max_s)

    def _pump(self) -> bool:
        """Ack what the broker confirmed, publish more; True when anything moved."""
        generation = self._generation
        if generation != self._window_gen:
            # New connection: paho dropped its unconfirmed copies (see _on_connect), so
            # everything not yet acked goes again from the outbox, oldest first.
            self._window.clear()
            self._cursor, self._window_gen = 0, generation
        done = [f for f in self._window if _delivered(f.info)]
        if done:
            self._store.ack(*(f.item.id for f in done))
            finished = {id(f) for f in done}
            self._window = deque(f for f in self._window if id(f) not in finished)
            self._count("published", len(done))
        room = self._max_inflight - len(self._window)
        items = self._store.pending(room, after_id=self._cursor) if room > 0 else []
        for item in items:
            with self._gen_lock:
                if self._generation != generation:
                    break
                info = self._client.publish(item.topic, item.payload, item.qos, item.retain)
            self._window.append(_InFlight(item, info))
            self._cursor = item.id
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break  # the connection just went; the next one resends from the outbox
        return bool(done or items)

    # ---- paho callbacks (network thread) ------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"digitcam-{self.device_id}",
                             protocol=mqtt.MQTTv311, reconnect_on_failure=False)
        client.enable_logger(logging.getLogger(f"{__name__}.paho"))
        client.max_inflight_messages_set(self._max_inflight + 32)  # room for status, discovery
        client.max_queued_messages_set(0)
        client.will_set(self._status, "offline", qos=1, retain=True)
        if self.settings.username:
            password = self.settings.password.get_secret_value() or None
            client.username_pw_set(self.settings.username, password)
        if self.settings.tls:
            s = self.settings
            try:
                client.tls_set(ca_certs=_opt(s.ca_file), certfile=_opt(s.cert_file),
                               keyfile=_opt(s.key_file))
            except (OSError, ValueError) as exc:
                raise MqttError(
                    f"mqtt.tls: cannot load mqtt.ca_file / cert_file / key_file: {exc}"
                ) from None
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any,
                    reason: Any, _properties: Any) -> None:
        if reason.is_failure:
            self._refused(str(reason))
            return
        with self._gen_lock:
            if self._closed.is_set():
                return  # stop() is disconnecting; announcing `online` now would stick
            # Left alone paho would resend its own unconfirmed copies; the sender resends
            # from the outbox instead, so the outbox alone decides order and nothing is lost.
            client.drop_out_messages()
            # Queued before the state says connected, so stop()'s `offline` always follows it.
            client.publish(self._status, "online", qos=1, retain=True)
            self._generation += 1
            self._state = "connected"
        self._delay_s = self._min_s
        if self._generation > 1:
            self._count("reconnects")
        logger.info("connected to MQTT broker %s:%s", self.settings.host, self.settings.port)
        topics = [(f"{self._cmd_prefix}#", 1)]
        if self._ha_status:
            topics.append((self._ha_status, 1))
        client.subscribe(topics)  # subscriptions do not survive a clean-session reconnect
        self._send_discovery()

    def _refused(self, reason: str) -> None:
        self._count("errors")
        if reason in AUTH_REFUSALS:
            self._state = "auth_failed"
            self._next_attempt = time.monotonic() + self._auth_retry_s
            logger.error("broker refused our credentials: %s (mqtt.username %r at %s:%s); "
                         "fix mqtt.username / mqtt.password; next try in %.0f s", reason,
                         self.settings.username, self.settings.host, self.settings.port,
                         self._auth_retry_s)
            return
        self._state = "disconnected"
        logger.warning("MQTT broker %s:%s refused the connection: %s (next try in %.1f s)",
                       self.settings.host, self.settings.port, reason, self._delay_s)
        self._schedule_retry()

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any,
                       reason: Any, _properties: Any) -> None:
        if self._state not in ("connected", "connecting"):
            return  # a refusal already decided what happens next
        was_connected = self._state == "connected"
        self._state = "disconnected"
        if self._closed.is_set():
            return
        self._count("errors")
        if was_connected:
            logger.warning("lost MQTT broker %s:%s (%s); reconnecting",
                           self.settings.host, self.settings.port, reason)
        else:
            logger.warning("MQTT broker %s:%s closed the connection before accepting it (%s)",
                           self.settings.host, self.settings.port, reason)
        self._schedule_retry()

    def _on_message(self, _client: mqtt.Client, _userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        if message.topic == self._ha_status:
            if message.payload.strip().lower() == b"online":
                logger.info("Home Assistant came online; sending discovery again")
                self._send_discovery()
            return
        name = message.topic[len(self._cmd_prefix):]
        if message.retain:
            # A retained command would replay on every reconnect: run commands only live.
            logger.warning("ignoring retained command %r (publish commands without retain)", name)
            return
        callbacks = self._commands.get(name)
        if not callbacks:
            logger.warning("ignoring unknown command %r", name)
        for callback in callbacks or []:
            try:
                callback(bytes(message.payload))
            except Exception:
                self._count("errors")
                logger.exception("command %r failed", name)

    def _send_discovery(self) -> None:
        configs = discovery_configs(self.settings, self.device_id, self._regions, self._version)
        for topic, config in configs.items():
            self._client.publish(topic, json.dumps(config, separators=(",", ":")), 1, True)

    def _count(self, name: str, amount: int = 1) -> None:
        with self._count_lock:
            self._counts[name] += amount


def _delivered(info: mqtt.MQTTMessageInfo) -> bool:
    try:
        return info.is_published()
    except (ValueError, RuntimeError):  # never queued; the next connection resends it
        return False


def _opt(path: object | None) -> str | None:
    return None if path is None else str(path)
