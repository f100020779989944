"""What waits to be written to one client, in priority order (pure).

Three classes: control replies (``subscribed``, ``error``, ``pong``, ``status``) first; then
messages (events, state, alerts ...) in the order they reached the bridge across streams; then
video frames, which are conflated per stream so only the newest waits. Big frames therefore
never hold back small control and state messages.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from bridge import wire
from bridge.item import is_frame
from bridge.stream import Notice, Out, Stream

if TYPE_CHECKING:
    from bridge.subscription import Subscription

Frame = tuple[bytes, bool]  # data and whether it is a binary WebSocket message


class Outbox:
    """The control queue and the streams that have something to send."""

    def __init__(self, fmt: wire.Format) -> None:
        self.fmt = fmt
        self.binary = fmt == wire.MSGPACK
        self.control: deque[Frame] = deque()
        self.ready: dict[Stream, Subscription] = {}
        self.video: dict[Stream, Subscription] = {}
        self.messages = 0
        self.redelivered = 0

    def push(self, message: dict[str, Any]) -> None:
        """Queue a control message (a map without ``id: None``)."""
        if "id" in message and message["id"] is None:
            del message["id"]
        self.control.append((wire.encode(self.fmt, message), self.binary))

    def mark(self, stream: Stream, sub: Subscription) -> None:
        """``stream`` has something to send."""
        (self.video if is_frame(stream.topic) else self.ready)[stream] = sub

    def forget(self, stream: Stream) -> None:
        """``stream`` is gone."""
        self.ready.pop(stream, None)
        self.video.pop(stream, None)

    def clear(self) -> None:
        """Drop every stream (the connection is closing); control messages stay."""
        self.ready.clear()
        self.video.clear()

    def next(self, now: float) -> Frame | None:
        """The next message to write, or None if nothing may go now."""
        if self.control:
            return self.control.popleft()
        for ready in (self.ready, self.video):
            if ready:
                picked = self._pick(ready, now)
                if picked is not None:
                    return picked
        return None

    def _pick(self, ready: dict[Stream, Subscription], now: float) -> Frame | None:
        best: tuple[Stream, Subscription] | None = None
        best_stamp = 0
        idle: list[Stream] = []
        for stream, sub in ready.items():
            head = stream.head(now)
            if head is None:
                if not stream.pending():
                    idle.append(stream)
                continue
            if best is None or head.entry.stamp < best_stamp:
                best, best_stamp = (stream, sub), head.entry.stamp
        for stream in idle:
            del ready[stream]
        if best is None:
            return None
        stream, sub = best
        out = stream.pop(now)
        if not stream.pending():
            del ready[stream]
        return self._encode(out, sub)

    def _encode(self, out: Out, sub: Subscription) -> Frame:
        entry = out.entry
        self.messages += 1
        if isinstance(entry, Notice):
            return wire.encode(self.fmt, {**entry.payload, "sub": sub.id}), self.binary
        if out.redelivered:
            self.redelivered += 1
        data = entry.encoded(self.fmt, sub.id, out.redelivered, sub.options.filter)
        return data, entry.frame or self.binary

    def deadline(self, now: float) -> float | None:
        """The earliest time a paced message becomes sendable (None: nothing is paced)."""
        times = [t for s in (*self.ready, *self.video) if (t := s.deadline(now)) is not None]
        return min(times) if times else None

    def waiting(self) -> bool:
        """Whether anything is queued (sendable now or later)."""
        return bool(self.control or self.ready or self.video)
