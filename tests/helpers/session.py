"""Drive a bridge Session synchronously, as its shell would, and read what the client gets."""

from __future__ import annotations

import json
from typing import Any

import msgpack
import msgspec

from bridge import wire
from bridge.effect import Attach, Fetch
from bridge.item import Item
from bridge.limit import Limits
from bridge.reliable import ReliableLimits
from bridge.session import Session
from protocol.messages import Position


def make_item(
    topic: str = "core.event",
    seq: int = 1,
    epoch: str = "e1",
    data: dict[str, Any] | None = None,
    type_: str = "event.game_reset",
    arrived: float = 0.0,
    blobs: tuple[bytes, ...] = (),
) -> Item:
    body = msgspec.msgpack.encode(data if data is not None else {"t_ns": seq, "reason": "r"})
    return Item(topic, type_, "core", epoch, seq, 1_000 + seq, 2_000 + seq, body, blobs, arrived)


class Client:
    """A session plus helpers that act like the shell and read what the client would get."""

    def __init__(self, fmt: wire.Format = wire.JSON, **limits: Any) -> None:
        reliable = {
            k: limits.pop(k) for k in ("window", "ack_timeout", "backlog", "page") if k in limits
        }
        limits.setdefault("status_interval", 0.0)
        self.session = Session(
            "s1",
            fmt,
            Limits(reliable=ReliableLimits(**reliable), **limits),
            server="bridge",
            now=0.0,
            clock=lambda: 123,
        )
        self.fmt = fmt
        self.now = 0.0

    def send(self, message: dict[str, Any] | str | bytes) -> None:
        if isinstance(message, dict):
            data: str | bytes = (
                json.dumps(message) if self.fmt == wire.JSON else msgpack.packb(message)
            )
        else:
            data = message
        self.session.receive(data, self.now)

    def subscribe(
        self,
        tips: dict[str, tuple[str, int]] | None = None,
        values: list[Item] = (),  # type: ignore[assignment]
        **fields: Any,
    ) -> int:
        """Subscribe and do what the shell does for Attach; returns the sub id."""
        self.send({"op": "subscribe", **fields})
        attach = [e for e in self.session.effects if isinstance(e, Attach)]
        assert attach, self.read()
        self.session.effects.clear()
        positions = {t: Position(epoch=e, seq=s) for t, (e, s) in (tips or {}).items()}
        self.session.attach(attach[-1].sub, positions, list(values), self.now)
        return attach[-1].sub.id

    def fetches(self) -> list[Fetch]:
        found = [e for e in self.session.effects if isinstance(e, Fetch)]
        self.session.effects[:] = [e for e in self.session.effects if not isinstance(e, Fetch)]
        return found

    def read(self) -> list[Any]:
        """Everything the session would write now, decoded (binary frames as bytes)."""
        out = []
        while (frame := self.session.next_out(self.now)) is not None:
            data, binary = frame
            if binary and data[:1] == b"\x01":
                out.append(wire.parse_frame(data))
            elif self.fmt == wire.JSON:
                assert not binary
                out.append(json.loads(data))
            else:
                out.append(msgpack.unpackb(data))
        return out

    def messages(self) -> list[dict[str, Any]]:
        return [m for m in self.read() if isinstance(m, dict) and m["op"] == "message"]
