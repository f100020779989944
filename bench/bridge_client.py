"""A lean WebSocket client for benchmarks: an asyncio Protocol that parses frames in bulk.

Tornado's and websockets' clients spend 50-100 us of Python per received message (a few
coroutine steps per frame), so at 10k+ messages/s the client, not the server, sets the figure.
This one parses every frame of a read in one loop and decodes JSON/MessagePack with msgspec
(a few us per message), answers pings, and masks what it sends as RFC 6455 requires.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec

_json = msgspec.json.Decoder()
_msgpack = msgspec.msgpack.Decoder()

OnMessage = Callable[[Any, bytes, bool], None]  # decoded map (None for frames), raw, binary


def _mask(payload: bytes) -> bytes:
    key = os.urandom(4)
    size = len(payload)
    wide = int.from_bytes(payload, "little") ^ int.from_bytes(
        (key * (size // 4 + 1))[:size], "little"
    )
    return key + wide.to_bytes(size, "little")


def frame(payload: bytes, opcode: int) -> bytes:
    """A masked client frame."""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    return head + _mask(payload)


class Lean(asyncio.Protocol):
    """One connection; ``on_message`` is called for every data frame."""

    def __init__(self, on_message: OnMessage) -> None:
        self.on_message = on_message
        self.buffer = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.received = 0
        self.pending: deque[Any] = deque()

    @classmethod
    async def connect(
        cls, port: int, on_message: OnMessage, path: str = "/ws", protocol: str = "cuecast.v1.json"
    ) -> Lean:
        loop = asyncio.get_running_loop()
        _, lean = await loop.create_connection(lambda: cls(on_message), "127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {protocol}\r\n\r\n"
        )
        assert lean.transport is not None
        lean.transport.write(request.encode())
        await asyncio.wait_for(lean.upgraded, 10)
        return lean

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("closed during the handshake"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded.done():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[:end]).split(b"\r\n", 1)[0]
            del self.buffer[: end + 4]
            if b" 101 " not in status:
                self.upgraded.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            self.upgraded.set_result(None)
        self._frames()

    def _frames(self) -> None:
        buf = self.buffer
        pos, size = 0, len(buf)
        while size - pos >= 2:
            opcode, length = buf[pos] & 0x0F, buf[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length, start = struct.unpack_from("!H", buf, pos + 2)[0], pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, start = struct.unpack_from("!Q", buf, pos + 2)[0], pos + 10
            if size < start + length:
                break
            payload = bytes(buf[start : start + length])
            pos = start + length
            self._frame(opcode, payload)
        del buf[:pos]

    def _frame(self, opcode: int, payload: bytes) -> None:
        if opcode == 1:
            self.received += 1
            self.on_message(_json.decode(payload), payload, False)
        elif opcode == 2:
            self.received += 1
            decoded = None if payload[:1] == b"\x01" else _msgpack.decode(payload)
            self.on_message(decoded, payload, True)
        elif opcode == 9 and self.transport is not None:  # ping: pong with the same data
            self.transport.write(frame(payload, 0xA))
        elif opcode == 8 and self.transport is not None:
            self.transport.close()

    def send(self, message: dict[str, Any]) -> None:
        assert self.transport is not None
        self.transport.write(frame(msgspec.json.encode(message), 1))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
