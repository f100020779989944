"""Topics and their current values over HTTP: ``/api/v1/topics``, ``/api/v1/topics/<topic>``,
``/api/v1/state``.

``/api/v1/topics`` lists every topic the publishers announce or the bridge has seen, with its
delivery class, publisher, last ``(epoch, seq)``, the publisher's rate, what the bridge receives
and sends, and how many clients subscribe (WebSocket subscriptions and MJPEG watchers).

``/api/v1/topics/<topic>`` is the newest message of a latest or reliable+latest topic, shaped like
a WebSocket ``message`` without ``op`` and ``sub``: from the bridge's cache if it is subscribed,
else asked from the publisher (``snapshot``). ``/api/v1/state`` is that of ``core.state``.
"""

from __future__ import annotations

import time
from typing import Any

import tornado.web

from bridge.item import Item, is_frame
from bridge.mjpeg import Watch
from bridge.rest import ApiHandler
from nodes.runtime.control import decode_stored
from protocol import envelope, topics
from protocol.errors import ControlError, ProtocolError, TopicError

FRESH = 2.0  # seconds a cached value counts as current


def subscribers(sinks: list[Any], topic: str) -> dict[str, int]:
    """WebSocket subscriptions and MJPEG watchers of ``topic`` among the hub's sinks."""
    websocket = mjpeg = 0
    for sink in sinks:
        if isinstance(sink, Watch):
            mjpeg += 1
            continue
        session = getattr(sink, "session", None)
        if session is not None:
            websocket += sum(1 for sub in session.subs.values() if sub.covers(topic))
    return {"websocket": websocket, "mjpeg": mjpeg}


def shape(item: Item, now: float) -> dict[str, Any]:
    """A message as the REST routes show it."""
    out: dict[str, Any] = {
        "topic": item.topic,
        "type": item.type,
        "source": item.src,
        "epoch": item.epoch,
        "seq": item.seq,
        "t_origin_ns": item.t_origin_ns,
        "t_pub_ns": item.t_pub_ns,
        "age_ms": round((time.time_ns() - item.t_pub_ns) / 1e6, 1) if item.t_pub_ns else None,
        "data": item.data(),
    }
    if is_frame(item.topic):
        out["jpeg_bytes"] = len(item.jpeg())
    return out


class TopicsHandler(ApiHandler):
    """``GET /api/v1/topics``."""

    def get(self) -> None:
        hub = self.ctx.hub
        known: dict[str, str] = {}
        for node, welcome in hub.subscriber.welcomed.items():
            known.update(dict.fromkeys(welcome.topics, node))
        names = set(known) | set(self.ctx.traffic.topics) | set(hub.tips)
        counts = {name: subscribers(hub.targets(name), name) for name in names}
        listing = self.ctx.traffic.report(time.monotonic(), known, counts)
        self.reply({"count": len(listing), "topics": listing})


class TopicHandler(ApiHandler):
    """``GET /api/v1/topics/<topic>``: the topic's newest message."""

    async def get(self, topic: str) -> None:
        try:
            topics.validate(topic)
        except TopicError as exc:
            raise tornado.web.HTTPError(400, reason=str(exc)) from None
        if not topics.is_latest(topic):
            raise tornado.web.HTTPError(
                400, reason=f"{topic} is a stream: subscribe to it over /ws instead"
            )
        item = await self.current(topic)
        if item is None:
            raise tornado.web.HTTPError(404, reason=f"no value of {topic} yet")
        self.reply(shape(item, time.monotonic()))

    async def current(self, topic: str) -> Item | None:
        """The newest message of ``topic``: cached, else from its publisher."""
        hub = self.ctx.hub
        cached = hub.cache.get(topic)
        now = time.monotonic()
        if cached is not None and (now - cached.arrived < FRESH or topics.is_reliable(topic)):
            return cached
        node = hub.source_of(topic)
        client = hub.subscriber.control(node) if node else None
        if client is None:
            return cached
        try:
            reply = await client.request("snapshot", {"topic": topic}, retries=1)
        except ControlError as exc:
            raise tornado.web.HTTPError(503, reason=f"{node} did not answer: {exc}") from None
        return _item(reply.value, reply.blobs, now) or cached


class StateHandler(TopicHandler):
    """``GET /api/v1/state``: the newest ``core.state``."""

    async def get(self) -> None:  # type: ignore[override]
        await super().get(topics.CORE_STATE)


def _item(value: Any, blobs: list[bytes], now: float) -> Item | None:
    stored = value.get("messages") if isinstance(value, dict) else None
    if not stored:
        return None
    try:
        frames = decode_stored(stored[0])
        frames += blobs[: int(stored[0].get("blobs", 0))]
        return Item.from_envelope(envelope.unpack(frames), now)
    except (ControlError, ProtocolError, ValueError):
        return None
