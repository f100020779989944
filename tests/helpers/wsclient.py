"""A raw protocol-level WebSocket client for bridge tests: send ops, wait for what comes back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import msgpack
import tornado.websocket

from bridge import wire

Received = dict[str, Any] | wire.VideoFrame


class Raw:
    """One connection; everything received is kept in order in :attr:`seen`."""

    def __init__(self, conn: tornado.websocket.WebSocketClientConnection, fmt: str) -> None:
        self.conn = conn
        self.fmt = fmt
        self.seen: list[Received] = []
        self.pending: list[Received] = []
        self.closed = False

    @classmethod
    async def connect(cls, port: int, fmt: str = wire.JSON, query: str = "") -> Raw:
        url = f"ws://127.0.0.1:{port}/ws{query}"
        conn = await asyncio.wait_for(
            tornado.websocket.websocket_connect(url, subprotocols=[fmt]), 10
        )
        return cls(conn, fmt)

    async def send(self, **op: Any) -> None:
        if self.fmt == wire.JSON:
            await self.conn.write_message(json.dumps(op))
        else:
            await self.conn.write_message(msgpack.packb(op), binary=True)

    async def recv(self, timeout: float = 10.0) -> Received | None:
        data = await asyncio.wait_for(self.conn.read_message(), timeout)
        if data is None:
            self.closed = True
            return None
        if isinstance(data, bytes) and data[:1] == b"\x01":
            item: Received = wire.parse_frame(data)
        elif isinstance(data, bytes):
            item = msgpack.unpackb(data)
        else:
            item = json.loads(data)
        self.seen.append(item)
        self.pending.append(item)
        return item

    async def until(self, match: Callable[[Received], bool], timeout: float = 10.0) -> Received:
        """The first received item not taken yet that matches (others stay for later calls)."""
        async with asyncio.timeout(timeout):
            while True:
                for index, item in enumerate(self.pending):
                    if match(item):
                        del self.pending[index]
                        return item
                if await self.recv(timeout) is None:
                    raise ConnectionError(
                        f"closed: {self.conn.close_code} {self.conn.close_reason}"
                    )

    async def reply(self, op: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        found = await self.until(
            lambda m: (
                isinstance(m, dict)
                and m.get("op") == op
                and all(m.get(k) == v for k, v in fields.items())
            ),
            timeout,
        )
        assert isinstance(found, dict)
        return found

    async def messages(self, topic: str, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The next ``count`` messages of ``topic``."""
        out = []
        for _ in range(count):
            out.append(await self.reply("message", timeout, topic=topic))
        return out

    async def subscribe(self, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        ident = fields.pop("id", id(fields))
        await self.send(op="subscribe", id=ident, **fields)
        found = await self.until(lambda m: isinstance(m, dict) and m.get("id") == ident, timeout)
        assert isinstance(found, dict)
        return found

    async def call(self, node: str, request: str, timeout: float = 30.0, **args: Any) -> Any:
        ident = f"call-{node}-{request}-{len(self.seen)}"
        await self.send(op="call", node=node, request=request, args=args, id=ident)
        found = await self.until(lambda m: isinstance(m, dict) and m.get("id") == ident, timeout)
        assert isinstance(found, dict) and found["op"] == "reply", found
        return found["result"]

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (a crash, a cable pulled)."""
        protocol = self.conn.protocol
        assert protocol is not None and protocol.stream is not None
        protocol.stream.close()

    def close(self) -> None:
        """Close now (a close frame, then the socket, without waiting for the peer's answer)."""
        protocol = self.conn.protocol
        self.conn.close()
        if protocol is not None and protocol.stream is not None:
            protocol.stream.close()
