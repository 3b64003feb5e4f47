"""Commands: `<topic_prefix>/<device_id>/cmd/<name>` messages dispatched to handlers by name.

Handlers run on the publisher's sender thread, one message at a time, so a handler should only
signal the work (set an event) or do something as quick. A handler refuses a payload it cannot
take by raising ValueError with the reason: logged and counted, not an error of the device.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from edge.config import MqttSettings
from edge.mqtt.discovery import command_topic

logger = logging.getLogger(__name__)

Handler = Callable[[bytes], None]


class Commands:
    """The handlers registered for each command name, and their dispatch."""

    def __init__(self, settings: MqttSettings, device_id: str) -> None:
        self._prefix = command_topic(settings, device_id, "")
        self._handlers: dict[str, list[Handler]] = {}
        self.failed = 0  # handlers that raised
        self.refused = 0  # payloads a handler could not take (ValueError: a person's typo)
        self.unknown = 0  # commands nobody registered (typos in automations, mostly)

    @property
    def topic_filter(self) -> str:
        """The subscription that brings every command of this device."""
        return f"{self._prefix}#"

    def register(self, name: str, handler: Handler) -> None:
        """Call `handler(payload)` for every live message on `cmd/<name>`."""
        self._handlers.setdefault(name, []).append(handler)

    def handles(self, topic: str) -> bool:
        """True when `topic` is one of this device's command topics."""
        return topic.startswith(self._prefix)

    def dispatch(self, topic: str, payload: bytes, retain: bool) -> None:
        """Run the handlers of the command on `topic`; log and count what goes wrong."""
        name = topic[len(self._prefix) :]
        if retain:
            # A retained command would replay on every reconnect: run commands only live.
            logger.warning("ignoring retained command %r (publish commands without retain)", name)
            return
        handlers = self._handlers.get(name)
        if not handlers:
            self.unknown += 1
            logger.warning("ignoring unknown command %r", name)
            return
        for handler in handlers:
            try:
                handler(payload)
            except ValueError as exc:
                self.refused += 1
                logger.warning("command %r refused: %s", name, exc)
            except Exception:
                self.failed += 1
                logger.exception("command %r failed", name)
