"""What one WebSocket connection may hold and do: its budgets and rates (from the config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bridge.reliable import ReliableLimits


@dataclass(frozen=True, slots=True)
class Limits:
    """What one connection may hold and do (from :class:`~bridge.config.BridgeConfig`)."""

    max_subscriptions: int = 64
    queue_max: int = 10000
    max_bytes: int = 8 * 2**20
    max_messages: int = 20000
    reliable: ReliableLimits = field(default_factory=ReliableLimits)
    inbound_rate: float = 200.0
    status_interval: float = 5.0
    max_message_bytes: int = 65536
    rendition: str = "720p"
    token: str = ""

    def public(self) -> dict[str, Any]:
        """The limits a client is told in ``welcome``."""
        return {
            "max_subscriptions": self.max_subscriptions,
            "queue_max": self.queue_max,
            "max_bytes": self.max_bytes,
            "max_messages": self.max_messages,
            "window": self.reliable.window,
            "ack_timeout": self.reliable.ack_timeout,
            "backlog": self.reliable.backlog,
            "inbound_rate": self.inbound_rate,
            "max_message_bytes": self.max_message_bytes,
        }
