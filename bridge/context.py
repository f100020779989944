"""What every handler of the bridge shares: config, hub, the node runtime, the connections.

Handlers get one :class:`Context` through ``initialize(ctx=...)`` (tornado's way to pass
dependencies), so a new route is one line in :func:`bridge.app.routes` and a class here or in
its own module.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bridge.auth import Policy
from bridge.checkup import Checkup
from bridge.config import BridgeConfig
from bridge.hub import Hub
from bridge.limit import Limits
from bridge.meter import Meter
from bridge.ratelimit import PerKey
from bridge.reliable import ReliableLimits
from bridge.traffic import Traffic
from nodes.runtime import NodeRuntime
from protocol import Header, topics
from protocol.messages import Alert
from protocol.messages.system import AlertLevel

if TYPE_CHECKING:
    from bridge.ws import Connection


def limits_of(config: BridgeConfig) -> Limits:
    """Per-connection limits from the config."""
    return Limits(
        max_subscriptions=config.max_subscriptions,
        queue_max=config.queue_max,
        max_bytes=config.client_max_bytes,
        max_messages=config.client_max_messages,
        reliable=ReliableLimits(
            window=config.reliable_window,
            ack_timeout=config.ack_timeout,
            backlog=config.reliable_backlog,
            page=config.replay_page,
        ),
        inbound_rate=config.inbound_rate,
        status_interval=config.status_interval,
        max_message_bytes=config.max_message_bytes,
        rendition=config.rendition,
        token=config.token,
    )


@dataclass
class Context:
    """The bridge's shared state (caches only: nothing here must survive a restart)."""

    config: BridgeConfig
    node: NodeRuntime[BridgeConfig]
    hub: Hub
    limits: Limits
    connections: dict[str, Connection] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    url: str = ""
    policy: Policy = field(default_factory=Policy)
    traffic: Traffic = field(default_factory=Traffic)
    meter: Meter = field(default_factory=Meter)
    connects: PerKey = field(default_factory=lambda: PerKey(0.0, 0.0))
    checkup: Checkup = field(default_factory=Checkup)

    @classmethod
    def create(cls, config: BridgeConfig, node: NodeRuntime[BridgeConfig]) -> Context:
        """The context of a started node: a hub on its bus that alerts through it."""
        hub = Hub(
            node.bus,
            name=config.name,
            run_dir=node.run_dir,
            peers=config.peers,
            history_messages=config.history_messages,
            history_bytes=config.history_bytes,
            down_after=config.down_after,
            on_alert=node.alert,
        )
        ctx = cls(config, node, hub, limits_of(config))
        ctx.policy = Policy(config.token, tuple(config.call_allow), config.trust_loopback)
        ctx.meter = Meter(ctx.traffic)
        ctx.connects = PerKey(config.connect_rate, config.connect_burst)
        hub.add(ctx.traffic)
        return ctx

    @property
    def name(self) -> str:
        """The bridge's node name (its alert topic is ``system.alert.<name>``)."""
        return self.node.name

    def alert(self, level: AlertLevel, code: str, message: str, details: dict[str, Any]) -> Header:
        """Publish an alert reliably on ``system.alert.<bridge>``; returns its header."""
        alert = Alert(node=self.name, level=level, code=code, message=message, details=details)
        return self.node.publisher.publish(topics.system_alert(self.name), alert)

    def stats(self) -> dict[str, Any]:
        """Bridge counters for its heartbeat (``stats``) and ``status``."""
        held = sum(c.session.budget.bytes for c in self.connections.values())
        return {
            "connections": len(self.connections),
            "held_bytes": held,
            **self.hub.stats(),
        }
