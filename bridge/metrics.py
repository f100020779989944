"""``/metrics``: the bridge in Prometheus format, through ``prometheus-client``.

One :class:`BridgeCollector` per bridge reads the live objects at scrape time (connections,
hub, meter, traffic, liveness) into metric families; a private registry holds it with the
standard process collector (CPU seconds, memory, open files). Nothing is counted twice: the
counters live where the work happens (:mod:`bridge.meter`, :mod:`bridge.traffic`, the hub) and
this module only reads them. Every name starts with ``cuecast_``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import tornado.web
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from bridge.context import Context
from bridge.meter import COUNTERS, session_counters
from bridge.mjpeg import Watch


def registry_for(ctx: Context) -> CollectorRegistry:
    """A registry with the bridge's metrics and its process metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BridgeCollector(ctx))
    ProcessCollector(namespace="cuecast_bridge", registry=registry)
    return registry


def sample_connections(ctx: Context) -> None:
    """Read every live connection's counters into the meter (also done once a second)."""
    for key, connection in list(ctx.connections.items()):
        ctx.meter.sample(key, session_counters(connection.session))


def observe(ctx: Context, now: float) -> None:
    """Once a second: sample connection counters; tell the checkup about the bus and nodes."""
    sample_connections(ctx)
    others = [n for n, h in ctx.hub.liveness.nodes.items() if n != ctx.name and not h.down]
    ctx.checkup.bus(now, ctx.hub.counts["gaps"], len(others))


class BridgeCollector:
    """Metric families of one bridge, read from its live objects."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        sample_connections(self.ctx)
        yield from self._connections()
        yield from self._topics()
        yield from self._delivery()
        yield from self._nodes()

    def _connections(self) -> Iterator[Metric]:
        ctx, meter = self.ctx, self.ctx.meter
        live = GaugeMetricFamily(
            "cuecast_bridge_connections", "open WebSocket connections", labels=["format"]
        )
        formats: dict[str, int] = {}
        for connection in ctx.connections.values():
            formats[connection.session.fmt] = formats.get(connection.session.fmt, 0) + 1
        for fmt, n in sorted(formats.items()):
            live.add_metric([fmt], n)
        yield live
        watchers = sum(1 for s in ctx.hub.sinks if isinstance(s, Watch))
        yield GaugeMetricFamily("cuecast_bridge_mjpeg_clients", "MJPEG viewers", value=watchers)
        held = sum(c.session.budget.bytes for c in ctx.connections.values())
        yield GaugeMetricFamily(
            "cuecast_bridge_held_bytes", "bytes queued for clients (all connections)", value=held
        )
        events = CounterMetricFamily(
            "cuecast_bridge_connection_events",
            "connections opened and closed, resumes asked and not recovered, MJPEG frames",
            labels=["event"],
        )
        for name in ("opened", "closed", "resumes", "resumes_unrecovered", "mjpeg_frames"):
            events.add_metric([name], meter.events.get(name, 0))
        yield events
        refused = CounterMetricFamily(
            "cuecast_bridge_refused", "connections and requests refused", labels=["reason"]
        )
        for reason, n in sorted(meter.refused.items()):
            refused.add_metric([reason], n)
        yield refused
        totals = meter.totals()
        for name, help_text in COUNTERS.items():
            yield CounterMetricFamily(f"cuecast_bridge_{name}", help_text, value=totals[name])

    def _topics(self) -> Iterator[Metric]:
        traffic = self.ctx.traffic
        families = {
            "messages_in": "bus messages received, per topic",
            "bytes_in": "bus bytes received, per topic",
            "messages_out": "messages written to clients (WebSocket and MJPEG), per topic",
            "bytes_out": "bytes written to clients (WebSocket and MJPEG), per topic",
        }
        made = {
            name: CounterMetricFamily(f"cuecast_bridge_topic_{name}", text, labels=["topic"])
            for name, text in families.items()
        }
        for topic, entry in sorted(traffic.topics.items()):
            made["messages_in"].add_metric([topic], entry.received)
            made["bytes_in"].add_metric([topic], entry.bytes_in)
            made["messages_out"].add_metric([topic], entry.sent)
            made["bytes_out"].add_metric([topic], entry.bytes_out)
        yield from made.values()
        hub = self.ctx.hub
        yield CounterMetricFamily(
            "cuecast_bridge_bus_gaps", "gaps seen on the bus", value=hub.counts["gaps"]
        )
        bus = CounterMetricFamily(
            "cuecast_bridge_bus_messages", "bus subscriber counters", labels=["outcome"]
        )
        for outcome, n in sorted(hub.subscriber.counts.items()):
            bus.add_metric([outcome], n)
        yield bus

    def _delivery(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "cuecast_bridge_delivery_latency_seconds",
            "publish time to written on the client's socket (video frames and messages)",
            labels=["kind"],
        )
        for kind, histogram in sorted(self.ctx.meter.latency.items()):
            buckets = [(le, float(n)) for le, n in histogram.cumulative()]
            family.add_metric([kind], buckets, histogram.total)
        yield family

    def _nodes(self) -> Iterator[Metric]:
        now = time.monotonic()
        up = GaugeMetricFamily("cuecast_node_up", "1 while heartbeats arrive", labels=["node"])
        level = GaugeMetricFamily(
            "cuecast_node_degraded", "1 while a node reports itself degraded", labels=["node"]
        )
        silent = GaugeMetricFamily(
            "cuecast_node_heartbeat_age_seconds", "time since the last heartbeat", labels=["node"]
        )
        for name, health in sorted(self.ctx.hub.liveness.nodes.items()):
            up.add_metric([name], 0 if health.down else 1)
            level.add_metric([name], 1 if health.status == "degraded" else 0)
            silent.add_metric([name], max(0.0, now - health.last_seen))
        yield from (up, level, silent)


class MetricsHandler(tornado.web.RequestHandler):
    """``GET /metrics``."""

    def initialize(self, ctx: Context, registry: CollectorRegistry) -> None:
        self.ctx = ctx
        self.registry = registry

    def get(self) -> None:
        encoder, content_type = choose_encoder(self.request.headers.get("Accept", ""))
        self.set_header("Content-Type", content_type)
        self.finish(encoder(self.registry))
