"""One bus message on its way to WebSocket clients, encoded once per wire format.

The hub makes one :class:`Item` per received bus message and hands the same object to every
interested session. Encodings are computed on first use and cached on the item: the JSON or
MessagePack "tail" once per format (and per ``redelivered`` flag), and the whole per-client
message once per distinct ``sub`` id (clients that subscribe in the same order share ids, so
most clients share the bytes too). Video frames become a binary header plus the JPEG.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Final

import msgspec

from bridge import wire
from protocol import Envelope, topics
from protocol.errors import ProtocolError
from protocol.messages import FrameInfo, Message, decode

if TYPE_CHECKING:
    from bridge.filter import Filter

_stamps = itertools.count(1)
_CACHE_MAX: Final = 32


def next_stamp() -> int:
    """A number larger than every earlier one: the order messages reached the bridge."""
    return next(_stamps)


def is_frame(topic: str) -> bool:
    """Whether ``topic`` carries video frames (``vision.frame.<camera>.<rendition>``)."""
    return topic.startswith("vision.frame.")


class Item:
    """A relayed bus message: header fields, the undecoded body, blobs and cached encodings."""

    __slots__ = (
        "_cache",
        "_data",
        "_decoded",
        "_info",
        "_tails",
        "arrived",
        "blobs",
        "body",
        "epoch",
        "frame",
        "seq",
        "size",
        "src",
        "stamp",
        "t_origin_ns",
        "t_pub_ns",
        "topic",
        "type",
    )

    def __init__(
        self,
        topic: str,
        type_: str,
        src: str,
        epoch: str,
        seq: int,
        t_origin_ns: int,
        t_pub_ns: int,
        body: bytes,
        blobs: tuple[bytes, ...] = (),
        arrived: float = 0.0,
    ) -> None:
        self.topic = topic
        self.type = type_
        self.src = src
        self.epoch = epoch
        self.seq = seq
        self.t_origin_ns = t_origin_ns
        self.t_pub_ns = t_pub_ns
        self.body = body
        self.blobs = blobs
        self.arrived = arrived
        self.stamp = next(_stamps)
        self.frame = is_frame(topic) and bool(blobs)
        self.size = len(body) + sum(len(b) for b in blobs) + 160
        self._tails: dict[tuple[str, bool, tuple[str, ...] | None], bytes] = {}
        self._cache: dict[tuple[str, int, bool, tuple[str, ...] | None], bytes] = {}
        self._data: bytes | None = None
        self._decoded: Any = None
        self._info: FrameInfo | None = None

    @classmethod
    def from_envelope(cls, env: Envelope, arrived: float) -> Item:
        """The item of a received bus message."""
        h = env.header
        return cls(
            env.topic,
            h.type,
            h.src,
            h.epoch,
            h.seq,
            h.t_origin_ns,
            h.t_pub_ns,
            env.body,
            env.blobs,
            arrived,
        )

    @property
    def reliable(self) -> bool:
        """Whether the topic is reliable (journalled by its publisher)."""
        return topics.is_reliable(self.topic)

    def message(self) -> Message:
        """The body decoded and validated as its message type (raises ProtocolError)."""
        return decode(self.type, self.body)

    def data(self) -> Any:
        """The body as plain maps and lists (decoded once; for filters)."""
        if self._decoded is None:
            self._decoded = msgspec.msgpack.decode(self.body)
        return self._decoded

    def data_json(self) -> bytes:
        """The body as JSON (converted from MessagePack once)."""
        if self._data is None:
            self._data = msgspec.json.encode(self.data())
        return self._data

    def encoded(
        self, fmt: wire.Format, sub: int, redelivered: bool = False, view: Filter | None = None
    ) -> bytes:
        """The whole ``message`` (or binary frame) for subscription ``sub``.

        ``view`` is the subscription's filter: its ``fields`` make a distinct encoding.
        """
        fields = view.fields if view is not None else None
        key = (fmt, sub, redelivered, fields)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if self.frame:
            out = self._frame_bytes(sub)
        elif fmt == wire.JSON:
            out = wire.json_message(sub, self._tail(fmt, redelivered, view))
        else:
            out = wire.msgpack_message(sub, self._tail(fmt, redelivered, view))
        if len(self._cache) < _CACHE_MAX:
            self._cache[key] = out
        return out

    def _tail(self, fmt: wire.Format, redelivered: bool, view: Filter | None) -> bytes:
        fields = view.fields if view is not None else None
        key = (fmt, redelivered, fields)
        tail = self._tails.get(key)
        if tail is None:
            head = (self.topic, self.type, self.epoch, self.seq, self.t_origin_ns, self.t_pub_ns)
            if fmt == wire.JSON:
                data = self.data_json() if not fields else _json(view, self.data())
                tail = wire.json_message_tail(*head, redelivered, data)
            else:
                body = self.body if not fields else _msgpack(view, self.data())
                tail = wire.msgpack_message_tail(*head, redelivered, body)
            self._tails[key] = tail
        return tail

    def info(self) -> FrameInfo | None:
        """The frame's metadata (None if the body is not a valid ``vision.frame``)."""
        if self._info is None and self.frame:
            try:
                message = decode(self.type, self.body)
            except ProtocolError:
                return None
            self._info = message if isinstance(message, FrameInfo) else None
        return self._info

    def jpeg(self) -> bytes:
        """The JPEG bytes of a frame (the first blob)."""
        return self.blobs[0] if self.blobs else b""

    def _frame_bytes(self, sub: int) -> bytes:
        info = self.info()
        header = wire.frame_header(
            sub,
            self.seq,
            info.t_capture_ns if info else self.t_origin_ns,
            self.t_pub_ns,
            info.frame if info else 0,
            info.width if info else 0,
            info.height if info else 0,
            self.topic,
        )
        return header + self.jpeg()


def _json(view: Filter | None, data: Any) -> bytes:
    return msgspec.json.encode(view.shape(data) if view is not None else data)


def _msgpack(view: Filter | None, data: Any) -> bytes:
    return msgspec.msgpack.encode(view.shape(data) if view is not None else data)
