"""A small Python client of the bridge (docs/websocket.md), on Tornado's WebSocket client.

It subscribes, acks reliable messages once your code has taken them (cumulative acks, batched),
keeps each reliable topic's position, and on any disconnect reconnects with backoff and
resubscribes with ``since`` so nothing is lost or repeated::

    import asyncio
    from bridge.client import BridgeClient

    async def main():
        async with BridgeClient("ws://127.0.0.1:8080/ws") as client:
            events = await client.subscribe("core.event")          # reliable by default
            async for event in events:
                print(event.seq, event.type, event.data)           # acked after this
    asyncio.run(main())

Save ``client.positions`` and pass it back (``BridgeClient(url, positions=saved)``) to resume
across restarts of your own process. Loss is never silent: if history no longer reaches back,
the subscription yields a :class:`Gap`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec
import tornado.websocket

from bridge import wire
from protocol import topics

log = logging.getLogger(__name__)


class BridgeError(Exception):
    """The bridge refused a request: ``code`` is from docs/websocket.md."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Message:
    """A bus message as the bridge delivered it."""

    topic: str
    type: str
    epoch: str
    seq: int
    t_origin_ns: int
    t_pub_ns: int
    redelivered: bool
    data: Any


@dataclass(frozen=True, slots=True)
class Gap:
    """Messages history could not give back: the app should reload its state."""

    topic: str
    reason: str
    epoch: str = ""
    first: int | None = None
    last: int | None = None


Item = Message | Gap | wire.VideoFrame


class Subscription:
    """Messages of one subscription, as an async iterator; survives reconnects."""

    def __init__(self, client: BridgeClient, topic: str, options: dict[str, Any]) -> None:
        self.client = client
        self.topic = topic
        self.options = options
        self.reliable = False
        self.recovered: bool | None = None
        self.sub = 0
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self.dropped = 0
        self._taken: Message | None = None

    def __aiter__(self) -> AsyncIterator[Item]:
        return self

    async def __anext__(self) -> Item:
        self.done()
        item = await self.queue.get()
        if isinstance(item, Message):
            self._taken = item
        return item

    async def get(self, timeout: float | None = None) -> Item:
        """The next item (acks the previous one), waiting at most ``timeout`` seconds."""
        return await asyncio.wait_for(self.__anext__(), timeout)

    def done(self) -> None:
        """Mark the last item taken as processed (iteration does this for you)."""
        if self._taken is not None:
            self.client._processed(self, self._taken)
            self._taken = None

    def _put(self, item: Item) -> None:
        if isinstance(item, wire.VideoFrame | Message) and not self.reliable:
            limit = 1 if isinstance(item, wire.VideoFrame) else 10000
            while self.queue.qsize() >= limit:
                self.queue.get_nowait()
                self.dropped += 1
        self.queue.put_nowait(item)

    async def close(self) -> None:
        """Unsubscribe."""
        await self.client._unsubscribe(self)


class BridgeClient:
    """One connection to a bridge, kept up across disconnects."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        positions: dict[str, dict[str, Any]] | None = None,
        ack_interval: float = 0.1,
        ack_every: int = 100,
        reconnect: bool = True,
        backoff: tuple[float, float] = (0.2, 5.0),
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.token = token
        self.positions: dict[str, dict[str, Any]] = dict(positions or {})
        self.ack_interval = ack_interval
        self.ack_every = ack_every
        self.reconnect = reconnect
        self.backoff = backoff
        self.timeout = timeout
        self.subs: list[Subscription] = []
        self.connected = asyncio.Event()
        self.connections = 0
        self._ws: tornado.websocket.WebSocketClientConnection | None = None
        self._by_id: dict[int, Subscription] = {}
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._subscribing: dict[int, Subscription] = {}
        self._ids = itertools.count(1)
        self._acks: dict[str, int] = {}
        self._unacked = 0
        self._delivered: dict[str, tuple[str, int]] = {}
        self._runner: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._closing = False

    async def __aenter__(self) -> BridgeClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Connect (and keep reconnecting in the background until :meth:`close`)."""
        await self._open()
        self._runner = asyncio.ensure_future(self._run())

    async def _open(self) -> None:
        if self._ws is not None:
            self._ws.close()  # already closed by the peer; this releases it
        url = self.url
        if self.token:
            url += ("&" if "?" in url else "?") + f"token={self.token}"
        self._ws = await tornado.websocket.websocket_connect(
            url, subprotocols=[wire.JSON], ping_interval=5, ping_timeout=5
        )
        self.connections += 1
        data = await asyncio.wait_for(self._ws.read_message(), self.timeout)
        welcome = msgspec.json.decode(data) if data is not None else None
        if not isinstance(welcome, dict) or welcome.get("op") != "welcome":
            raise ConnectionError(f"expected a welcome from the bridge, got {welcome!r}")
        self.connected.set()

    async def _run(self) -> None:
        flusher = asyncio.ensure_future(self._flush_forever())
        try:
            while not self._closing:
                resubscribe = asyncio.ensure_future(self._resubscribe())
                await self._read_until_closed()
                resubscribe.cancel()
                self.connected.clear()
                for future in self._pending.values():
                    if not future.done():
                        future.set_exception(ConnectionError("connection lost"))
                self._pending.clear()
                if self._closing or not self.reconnect:
                    return
                await self._reconnect()
        finally:
            flusher.cancel()

    async def _reconnect(self) -> None:
        delay = self.backoff[0]
        while not self._closing:
            try:
                await self._open()
                return
            except (OSError, ConnectionError, TimeoutError, BridgeError) as exc:
                log.info("reconnect to %s failed (%s); retrying in %.1f s", self.url, exc, delay)
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(self.backoff[1], delay * 2)

    async def _resubscribe(self) -> None:
        if self.connections <= 1:
            return
        for sub in list(self.subs):
            try:
                await self._subscribe(sub)
            except (BridgeError, ConnectionError, TimeoutError) as exc:
                log.warning("resubscribe to %s failed: %s", sub.topic, exc)

    async def close(self) -> None:
        """Flush acks and close: returns once the bridge has closed its end too (at most
        ``timeout`` later), so that no socket is left for the garbage collector."""
        self._closing = True
        if self._ws is not None:
            with contextlib.suppress(tornado.websocket.WebSocketClosedError):
                await self._flush()
            self._ws.close()
        if self._runner is not None:
            # the reader sees the bridge's closing handshake and returns
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._runner), self.timeout)
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    async def request(self, message: dict[str, Any], ident: int | None = None) -> dict[str, Any]:
        """Send an op with a fresh id and wait for the reply carrying that id."""
        await asyncio.wait_for(self.connected.wait(), self.timeout)
        ident = next(self._ids) if ident is None else ident
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self._send({**message, "id": ident})
        try:
            reply = await asyncio.wait_for(future, self.timeout)
        finally:
            self._pending.pop(ident, None)
            self._subscribing.pop(ident, None)
        if reply.get("op") == "error":
            raise BridgeError(reply["code"], reply["message"])
        return reply

    async def _send(self, message: dict[str, Any]) -> None:
        if self._ws is None:
            raise ConnectionError("not connected")
        await self._ws.write_message(msgspec.json.encode(message).decode())

    async def subscribe(self, topic: str, mode: str | None = None, **options: Any) -> Subscription:
        """Subscribe to a topic or prefix (options as in docs/websocket.md)."""
        if mode is not None:
            options["mode"] = mode
        sub = Subscription(self, topic, options)
        await self._subscribe(sub)
        self.subs.append(sub)
        return sub

    async def _subscribe(self, sub: Subscription) -> None:
        message: dict[str, Any] = {"op": "subscribe", "topic": sub.topic, **sub.options}
        since = {t: p for t, p in self.positions.items() if topics.matches(sub.topic, t)}
        if since and sub.options.get("mode") in (None, "reliable"):
            message["since"] = since
        ident = next(self._ids)
        self._subscribing[ident] = sub
        await self.request(message, ident)

    def _bind(self, sub: Subscription, reply: dict[str, Any]) -> None:
        """Route the subscription's messages: done as the reply is read, before any message."""
        self._by_id.pop(sub.sub, None)
        sub.sub = reply["sub"]
        sub.reliable = reply["mode"] in ("reliable", "auto")
        sub.recovered = reply["recovered"]
        self._by_id[sub.sub] = sub
        for topic, reason in reply.get("unrecovered", {}).items():
            position = reply["positions"].get(topic, {})
            sub._put(Gap(topic, reason, position.get("epoch", "")))
            self.positions[topic] = position
            self._delivered.pop(topic, None)

    async def _unsubscribe(self, sub: Subscription) -> None:
        if sub in self.subs:
            self.subs.remove(sub)
            await self.request({"op": "unsubscribe", "sub": sub.sub})

    async def call(self, node: str, request: str, args: dict[str, Any] | None = None) -> Any:
        """A control request to a node, through the bridge."""
        reply = await self.request(
            {"op": "call", "node": node, "request": request, "args": args or {}}
        )
        return reply["result"]

    async def _read_until_closed(self) -> None:
        assert self._ws is not None
        while True:
            data = await self._ws.read_message()
            if data is None:
                log.info("bridge closed: %s %s", self._ws.close_code, self._ws.close_reason)
                return
            if isinstance(data, bytes) and data[:1] == b"\x01":
                frame = wire.parse_frame(data)
                target = self._by_id.get(frame.sub)
                if target is not None:
                    target._put(frame)
                continue
            self._dispatch(msgspec.json.decode(data))

    def _dispatch(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "message":
            self._message(message)
        elif op == "gap":
            sub, m = self._by_id.get(message.get("sub", 0)), message
            if sub is not None:
                gap = Gap(
                    m["topic"], m["reason"], m.get("epoch") or "", m.get("first"), m.get("last")
                )
                sub._put(gap)
                self._delivered.pop(m["topic"], None)
                self.positions[m["topic"]] = m["continue"]
        elif "id" in message and message["id"] in self._pending:
            if op == "subscribed" and message["id"] in self._subscribing:
                self._bind(self._subscribing.pop(message["id"]), message)
            future = self._pending.pop(message["id"])
            if not future.done():
                future.set_result(message)
        elif op == "error":
            log.warning("bridge error: %s %s", message.get("code"), message.get("message"))

    def _message(self, m: dict[str, Any]) -> None:
        sub = self._by_id.get(m["sub"])
        if sub is None:
            return
        topic, epoch, seq = m["topic"], m["epoch"], m["seq"]
        last = self._delivered.get(topic)
        if last is None and topic in self.positions:
            last = (str(self.positions[topic].get("epoch")), int(self.positions[topic]["seq"]))
        if (
            sub.reliable
            and topics.is_reliable(topic)
            and last is not None
            and last[0] == epoch
            and seq <= last[1]
        ):
            self._ack(topic, epoch, seq)  # already have it: ack again so the window moves
            return
        self._delivered[topic] = (epoch, seq)
        sub._put(
            Message(
                topic,
                m["type"],
                epoch,
                seq,
                m["t_origin_ns"],
                m["t_pub_ns"],
                m["redelivered"],
                m["data"],
            )
        )

    def _processed(self, sub: Subscription, message: Message) -> None:
        if not sub.reliable or not topics.is_reliable(message.topic):
            return
        self.positions[message.topic] = {"epoch": message.epoch, "seq": message.seq}
        self._ack(message.topic, message.epoch, message.seq)

    def _ack(self, topic: str, epoch: str, seq: int) -> None:
        self._acks[topic] = seq
        self._unacked += 1
        if self._unacked >= self.ack_every and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        acks, self._acks, self._unacked = self._acks, {}, 0
        for topic, seq in acks.items():
            with contextlib.suppress(ConnectionError, tornado.websocket.WebSocketClosedError):
                await self._send({"op": "ack", "topic": topic, "seq": seq})

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.ack_interval)
            if self._acks and self.connected.is_set():
                await self._flush()
