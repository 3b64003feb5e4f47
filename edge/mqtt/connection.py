"""The MQTT connection: one state machine with one writer, the thread that owns it.

paho runs its callbacks on its own network thread. They never touch the state: they post
events (`_Connected`, `_Refused`, `_Lost`, `Incoming`) onto a queue, doing at once only the
client-side steps paho needs before it carries on (dropping its unconfirmed copies,
resubscribing). The owner, the publisher's sender thread, applies the events in arrival order
in `apply_events()`; `connect_if_due()` and `close()` run on that same thread (or, when the
sender never started, on the thread that calls `stop()`: again the only one).

Why a queue rather than a lock: the state then changes only between the owner's rounds, so
the outbox pump sees one connection for a whole round and needs no lock to keep a row picked
for one connection out of the next; every transition reads top to bottom in `_apply`, and
`_set_state` is the one place that writes the state. An event waits at most one pause of
the sender (`poll_s`, 0.1 s by default) before it takes effect.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import MqttSettings
from edge.mqtt.discovery import status_topic

logger = logging.getLogger(__name__)
_paho_logger = logging.getLogger(f"{__name__}.paho")  # paho's own messages, at its levels
_PAHO_LEVELS: dict[int, int] = {int(k): v for k, v in mqtt.LOGGING_LEVEL.items()}

State = Literal["disabled", "connecting", "connected", "auth_failed", "disconnected"]
# MQTT 3.1.1 CONNACK 4 and 5 as paho 2 names them: retrying soon cannot help.
AUTH_REFUSALS = frozenset({"Bad user name or password", "Not authorized"})


class MqttError(Exception):
    """The MQTT settings cannot be used (for example unreadable TLS files)."""


@dataclass(frozen=True)
class Backoff:
    """Waits between connection attempts: min_s, doubling up to max_s after each failure."""

    min_s: float = 1.0
    max_s: float = 60.0
    # Bad credentials need a person to fix them: try again rarely, never in a tight loop.
    auth_retry_s: float = 300.0


DEFAULT_BACKOFF = Backoff()


@dataclass(frozen=True)
class Incoming:
    """A message from a subscription, handed to the owner by `apply_events()`."""

    topic: str
    payload: bytes
    retain: bool


@dataclass(frozen=True)
class _Connected:
    pass


@dataclass(frozen=True)
class _Refused:
    reason: str


@dataclass(frozen=True)
class _Lost:
    reason: str


_Event = _Connected | _Refused | _Lost | Incoming


class Connection:
    """One paho client: connect with backoff, birth and last will, resubscribe, close."""

    def __init__(
        self,
        settings: MqttSettings,
        device_id: str,
        subscriptions: Sequence[str],
        *,
        backoff: Backoff,
        max_inflight: int,
    ) -> None:
        self.settings = settings
        self._backoff = backoff
        self._status = status_topic(settings, device_id)
        self._subscriptions = [(topic, 1) for topic in subscriptions]
        self._events: queue.Queue[_Event] = queue.Queue()
        # Written only by the owner thread; other threads may read them.
        self._state: State = "disconnected"
        self.generation = 0  # one more for every accepted connection
        self.errors = self.reconnects = self.connect_attempts = 0
        self._delay_s, self._next_attempt = backoff.min_s, 0.0
        self._closing = False  # set by close(): paho's last words are then expected
        self._client = self._make_client(device_id, max_inflight)

    @property
    def state(self) -> State:
        return self._state

    def publish(
        self, topic: str, payload: str | bytes, qos: int, retain: bool
    ) -> mqtt.MQTTMessageInfo:
        """Hand one message to paho (thread-safe); its info says when the broker confirmed it."""
        return self._client.publish(topic, payload, qos, retain)

    # ---- owner thread -------------------------------------------------------------------
    def apply_events(self) -> list[Incoming]:
        """Apply what paho reported, in order; return the messages that arrived meanwhile."""
        incoming: list[Incoming] = []
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return incoming
            if isinstance(event, Incoming):
                incoming.append(event)
            else:
                self._apply(event)

    def connect_if_due(self) -> None:
        """Start a connection attempt unless one is under way or the backoff says wait."""
        if self._state == "connecting" or time.monotonic() < self._next_attempt:
            return
        self._join_network_thread()
        if not self._events.empty():
            return  # the old connection's last events go first; connect next round
        self._set_state("connecting")
        self.connect_attempts += 1
        host, port = self.settings.host, self.settings.port
        try:
            self._client.connect(host, port, keepalive=self.settings.keepalive_s)
        except OSError as exc:  # refused, unreachable, DNS, TLS handshake
            self._set_state("disconnected")
            self.errors += 1
            logger.warning(
                "cannot reach MQTT broker %s:%s: %s (next try in %.1f s)",
                host,
                port,
                exc,
                self._delay_s,
            )
            self._schedule_retry()
            return
        self._client.loop_start()

    def close(self, timeout_s: float) -> None:
        """Publish `offline` (when connected), disconnect and end paho's thread."""
        self._closing = True
        if self._state == "connected":
            info = self._client.publish(self._status, "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=timeout_s)
            except (ValueError, RuntimeError) as exc:
                logger.warning("could not publish offline status: %s", exc)
        self._client.disconnect()
        self._join_network_thread()
        self._set_state("disconnected")

    def _apply(self, event: _Connected | _Refused | _Lost) -> None:
        if isinstance(event, _Connected):
            # Queued before the state says connected, so close()'s `offline` always follows it.
            self._client.publish(self._status, "online", qos=1, retain=True)
            self.generation += 1
            self._set_state("connected")
            self._delay_s = self._backoff.min_s
            if self.generation > 1:
                self.reconnects += 1
            logger.info("connected to MQTT broker %s:%s", self.settings.host, self.settings.port)
        elif isinstance(event, _Refused):
            self._refused(event.reason)
        else:
            self._lost(event.reason)

    def _refused(self, reason: str) -> None:
        self.errors += 1
        s = self.settings
        if reason in AUTH_REFUSALS:
            self._set_state("auth_failed")
            self._next_attempt = time.monotonic() + self._backoff.auth_retry_s
            logger.error(
                "broker refused our credentials: %s (mqtt.username %r at %s:%s); "
                "fix mqtt.username / mqtt.password; next try in %.0f s",
                reason,
                s.username,
                s.host,
                s.port,
                self._backoff.auth_retry_s,
            )
            return
        self._set_state("disconnected")
        logger.warning(
            "MQTT broker %s:%s refused the connection: %s (next try in %.1f s)",
            s.host,
            s.port,
            reason,
            self._delay_s,
        )
        self._schedule_retry()

    def _lost(self, reason: str) -> None:
        if self._state not in ("connected", "connecting"):
            return  # a refusal already decided what happens next
        was_connected = self._state == "connected"
        self._set_state("disconnected")
        self.errors += 1
        s = self.settings
        if was_connected:
            logger.warning("lost MQTT broker %s:%s (%s); reconnecting", s.host, s.port, reason)
        else:
            logger.warning(
                "MQTT broker %s:%s closed the connection before accepting it (%s)",
                s.host,
                s.port,
                reason,
            )
        self._schedule_retry()

    def _set_state(self, state: State) -> None:
        if state != self._state:
            logger.debug("MQTT state %s -> %s", self._state, state)
        self._state = state

    def _schedule_retry(self) -> None:
        self._next_attempt = time.monotonic() + self._delay_s
        self._delay_s = min(self._delay_s * 2, self._backoff.max_s)

    def _join_network_thread(self) -> None:
        # reconnect_on_failure=False: the network thread ends with its connection; join it
        # before the client is reused so two loops never share one socket.
        # AttributeError: paho cleared its handle between its check and join: it has ended.
        with contextlib.suppress(AttributeError):
            self._client.loop_stop()

    # ---- paho callbacks (network thread): post events, never write the state ------------
    def _make_client(self, device_id: str, max_inflight: int) -> mqtt.Client:
        if not hasattr(mqtt.Client, "drop_out_messages"):
            raise MqttError("paho-mqtt >= 2.2 is required (pip install -U paho-mqtt)")
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"digitcam-{device_id}",
            protocol=mqtt.MQTTv311,
            reconnect_on_failure=False,
        )
        client.on_log = self._on_log
        client.max_inflight_messages_set(max_inflight + 32)  # room for status, discovery
        client.max_queued_messages_set(0)
        client.will_set(self._status, "offline", qos=1, retain=True)
        s = self.settings
        if s.username:
            client.username_pw_set(s.username, s.password.get_secret_value() or None)
        if s.tls:
            try:
                client.tls_set(
                    ca_certs=_opt(s.ca_file), certfile=_opt(s.cert_file), keyfile=_opt(s.key_file)
                )
            except (OSError, ValueError) as exc:
                raise MqttError(
                    f"mqtt.tls: cannot load mqtt.ca_file / cert_file / key_file: {exc}"
                ) from None
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _properties: Any
    ) -> None:
        if reason.is_failure:
            self._events.put(_Refused(str(reason)))
            return
        # paho resends its own unconfirmed copies as soon as this returns; the sender resends
        # from the outbox instead, so the outbox alone decides order and nothing is lost.
        client.drop_out_messages()
        client.subscribe(self._subscriptions)  # a clean session forgets them on reconnect
        self._events.put(_Connected())

    def _on_log(self, _client: mqtt.Client, _userdata: Any, level: int, message: str) -> None:
        py_level = _PAHO_LEVELS.get(level, logging.DEBUG)
        if self._closing and message.startswith("Client is not connected"):
            # After our own DISCONNECT paho's network loop may run once more before
            # loop_stop() ends it, find the socket closed and report it at ERR: a normal stop.
            py_level = logging.DEBUG
        _paho_logger.log(py_level, "%s", message)

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _properties: Any
    ) -> None:
        self._events.put(_Lost(str(reason)))

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._events.put(Incoming(message.topic, bytes(message.payload), bool(message.retain)))


def _opt(path: object | None) -> str | None:
    return None if path is None else str(path)
