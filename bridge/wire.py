"""The WebSocket wire format of protocol v1 (DESIGN.md §6, docs/websocket.md): pure, no I/O.

- Subprotocols ``cuecast.v1.json`` (text frames) and ``cuecast.v1.msgpack`` (binary frames):
  every message is the same map in either encoding, with an ``op``.
- Client messages decode (validated in C by msgspec) into the ``ClientOp`` tagged union, or raise
  :class:`WireError` with the error code the client gets back.
- Server messages are plain maps encoded by :func:`encode`; bus messages are encoded once per
  format by :mod:`bridge.item` and only the ``sub`` id is spliced in per client.
- Video frames are binary messages: :data:`FRAME_HEADER` then the JPEG bytes, never base64.

Every subprotocol name, error code and close code is defined here and nowhere else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Final, Literal

import msgspec

from protocol.messages import Position

JSON: Final = "cuecast.v1.json"
MSGPACK: Final = "cuecast.v1.msgpack"
SUBPROTOCOLS: Final = (JSON, MSGPACK)
Format = Literal["cuecast.v1.json", "cuecast.v1.msgpack"]

#: Error codes a client may receive in ``{"op":"error","code":...}`` (docs/websocket.md).
ERRORS: Final = {
    "bad_request": "the message is not a valid map of its op (the message says which field)",
    "unknown_op": "the op is not one of protocol v1",
    "bad_topic": "the topic or prefix breaks the naming rules or cannot be subscribed",
    "bad_mode": "the delivery mode or an option does not fit the topic",
    "no_such_sub": "no subscription with that id (or none covering that topic) on this connection",
    "bad_ack": "the ack names a seq that was never delivered, or another epoch",
    "too_large": "the message is larger than limits.max_message_bytes",
    "too_many_subs": "limits.max_subscriptions reached",
    "rate_limited": "more than limits.inbound_rate messages per second; the message was dropped",
    "unauthorized": "a token is required (hello, ?token= or Authorization: Bearer) or was wrong",
    "forbidden": "the operation is not allowed for this connection",
    "unavailable": "the node that should answer is down or unreachable",
    "not_found": "no such node or request",
    "failed": "the node answered the call with an error (the message has its code)",
    "internal": "a bug in the bridge; the connection stays usable",
}

#: WebSocket close codes the bridge uses besides the standard ones (1000, 1001, 1008, 1009, 1011).
CLOSE_NORMAL: Final = 1000
CLOSE_GOING_AWAY: Final = 1001
CLOSE_POLICY: Final = 1008
CLOSE_TOO_BIG: Final = 1009
CLOSE_INTERNAL: Final = 1011
CLOSE_UNAUTHORIZED: Final = 4001
CLOSE_SLOW: Final = 4008
CLOSE_KICKED: Final = 4009
CLOSES: Final = {
    CLOSE_NORMAL: "normal closure",
    CLOSE_GOING_AWAY: "the bridge is stopping; reconnect (to it or another bridge) and resume",
    CLOSE_POLICY: "kept sending after rate_limited errors (limits.inbound_rate); slow down",
    CLOSE_TOO_BIG: "a frame exceeded the bridge's hard size limit",
    CLOSE_INTERNAL: "internal error",
    CLOSE_UNAUTHORIZED: "hello carried a wrong token",
    CLOSE_SLOW: "slow consumer: a reliable backlog or the connection budget overflowed; resume",
    CLOSE_KICKED: "closed by an operator (DELETE /api/v1/connections/<id>)",
}

Mode = Literal["latest", "queue", "reliable"]


class WireError(Exception):
    """A refused client message: ``code`` from :data:`ERRORS`, and the client's ``id``."""

    def __init__(self, code: str, message: str, id: int | str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.id = id


# -- client messages ---------------------------------------------------------------------------

Id = int | str | None


class Op(msgspec.Struct, tag_field="op", frozen=True, kw_only=True):
    """Fields every client message may carry: ``id`` is echoed in the reply."""

    id: Id = None


class Hello(Op, tag="hello", frozen=True, kw_only=True):
    """Optional first message: a token, and a client-chosen session name (for operators)."""

    token: str | None = None
    session: str | None = None


class Condition(msgspec.Struct, array_like=False, frozen=True, kw_only=True):
    """One ``where`` condition on a dotted path of the message data."""

    path: str
    op: Literal["eq", "ne", "lt", "le", "gt", "ge", "in"]
    value: Any


class Subscribe(Op, tag="subscribe", frozen=True, kw_only=True):
    """Subscribe to a topic, or a prefix at a dot."""

    topic: str
    mode: Mode | None = None
    queue: int | None = None
    since: dict[str, Position] | None = None
    max_hz: float | None = None
    fields: list[str] | None = None
    where: list[Condition] | None = None
    rendition: str | None = None


class Unsubscribe(Op, tag="unsubscribe", frozen=True, kw_only=True):
    """End a subscription."""

    sub: int


class Ack(Op, tag="ack", frozen=True, kw_only=True):
    """Cumulative ack: every message of ``topic`` up to ``seq`` is processed."""

    topic: str
    seq: int
    sub: int | None = None
    epoch: str | None = None


class Ping(Op, tag="ping", frozen=True, kw_only=True):
    """Application-level ping; answered with ``pong``."""


class Status(Op, tag="status", frozen=True, kw_only=True):
    """Ask for a ``status`` message now."""


class Call(Op, tag="call", frozen=True, kw_only=True):
    """A control request to a node (``predict_shot``, ``reset_game`` ...)."""

    node: str
    request: str
    args: dict[str, Any] = msgspec.field(default_factory=dict)


class Publish(Op, tag="publish", frozen=True, kw_only=True):
    """Publish an alert on the bridge's own alert topic."""

    topic: str
    data: dict[str, Any]


ClientOp = Hello | Subscribe | Unsubscribe | Ack | Ping | Status | Call | Publish

_json_ops: Final = msgspec.json.Decoder(ClientOp)
_msgpack_ops: Final = msgspec.msgpack.Decoder(ClientOp)
_json_encoder: Final = msgspec.json.Encoder()
_msgpack_encoder: Final = msgspec.msgpack.Encoder()


def decode(fmt: Format, data: bytes | str) -> ClientOp:
    """Decode and validate one client message; raise :class:`WireError` if it is refused."""
    try:
        if fmt == JSON:
            op: ClientOp = _json_ops.decode(data)
        else:
            op = _msgpack_ops.decode(data.encode() if isinstance(data, str) else data)
        return op
    except msgspec.ValidationError as exc:  # a subclass of DecodeError: test it first
        raise _refusal(fmt, data, str(exc)) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        kind = "JSON" if fmt == JSON else "MessagePack"
        raise WireError("bad_request", f"not valid {kind}: {exc}") from None


def _refusal(fmt: Format, data: bytes | str, problem: str) -> WireError:
    raw = _raw(fmt, data)
    if not isinstance(raw, dict):
        return WireError("bad_request", "a message is a map with an 'op' field")
    ident = raw.get("id")
    ident = ident if isinstance(ident, int | str) and not isinstance(ident, bool) else None
    op = raw.get("op")
    if "op" not in raw:
        return WireError("bad_request", "a message needs an 'op' field", ident)
    if not isinstance(op, str) or problem.endswith("at `$.op`"):
        known = ", ".join(sorted(_OP_NAMES))
        return WireError("unknown_op", f"unknown op {op!r} (protocol v1 has: {known})", ident)
    return WireError("bad_request", f"{op}: {problem}", ident)


def _raw(fmt: Format, data: bytes | str) -> Any:
    try:
        if fmt == JSON:
            return msgspec.json.decode(data)
        return msgspec.msgpack.decode(data.encode() if isinstance(data, str) else data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None


_OP_NAMES: Final = {
    str(cls.__struct_config__.tag)
    for cls in (Hello, Subscribe, Unsubscribe, Ack, Ping, Status, Call, Publish)
}


# -- server messages ---------------------------------------------------------------------------


def encode(fmt: Format, message: dict[str, Any]) -> bytes:
    """Encode a server message map (``welcome``, ``subscribed``, ``error`` ...)."""
    if fmt == JSON:
        return _json_encoder.encode(message)
    return _msgpack_encoder.encode(message)


def error(code: str, message: str, id: Id = None, **extra: Any) -> dict[str, Any]:
    """An ``error`` map; ``code`` must be one of :data:`ERRORS`."""
    assert code in ERRORS, code
    reply: dict[str, Any] = {"op": "error", "code": code, "message": message, **extra}
    if id is not None:
        reply["id"] = id
    return reply


def json_message_tail(
    topic: str,
    type_: str,
    epoch: str,
    seq: int,
    t_origin_ns: int,
    t_pub_ns: int,
    redelivered: bool,
    data: bytes,
) -> bytes:
    """Everything of a JSON ``message`` after its ``sub`` value: shared by every client."""
    head = _json_encoder.encode(
        {
            "topic": topic,
            "type": type_,
            "epoch": epoch,
            "seq": seq,
            "t_origin_ns": t_origin_ns,
            "t_pub_ns": t_pub_ns,
            "redelivered": redelivered,
        }
    )
    return b"," + head[1:-1] + b',"data":' + data + b"}"


def json_message(sub: int, tail: bytes) -> bytes:
    """A JSON ``message`` for one subscription: the shared tail with ``sub`` spliced in."""
    return b'{"op":"message","sub":%d%s' % (sub, tail)


_MSGPACK_FIELDS: Final = 10  # op, sub, topic, type, epoch, seq, t_origin_ns, t_pub_ns, redel., data


def msgpack_message_tail(
    topic: str,
    type_: str,
    epoch: str,
    seq: int,
    t_origin_ns: int,
    t_pub_ns: int,
    redelivered: bool,
    body: bytes,
) -> bytes:
    """The map entries of a MessagePack ``message`` after ``sub``; ``data`` is the bus body as is.

    A MessagePack map is a header and its key/value pairs, so the entries encode once and the
    per-client part is just the header, ``op`` and ``sub``.
    """
    pack = _msgpack_encoder.encode
    parts = [
        pack("topic") + pack(topic),
        pack("type") + pack(type_),
        pack("epoch") + pack(epoch),
        pack("seq") + pack(seq),
        pack("t_origin_ns") + pack(t_origin_ns),
        pack("t_pub_ns") + pack(t_pub_ns),
        pack("redelivered") + pack(redelivered),
        pack("data") + body,
    ]
    return b"".join(parts)


_MSGPACK_HEAD: Final = bytes([0x80 | _MSGPACK_FIELDS]) + b"\xa2op\xa7message\xa3sub"


def msgpack_message(sub: int, tail: bytes) -> bytes:
    """A MessagePack ``message`` for one subscription."""
    return _MSGPACK_HEAD + _msgpack_encoder.encode(sub) + tail


# -- binary video frames -----------------------------------------------------------------------

#: kind u8 (1 = video frame), version u8 (1), header length u16, sub u32, seq u64,
#: t_capture_ns i64, t_pub_ns i64, frame u32, width u16, height u16; then the topic (UTF-8) up
#: to the header length; then the JPEG. Little-endian. A MessagePack map never starts with 0x01.
FRAME_HEADER: Final = struct.Struct("<BBHIQqqIHH")
FRAME_KIND: Final = 1
FRAME_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """A decoded binary video frame (for clients and tests; the bridge only encodes them)."""

    sub: int
    seq: int
    t_capture_ns: int
    t_pub_ns: int
    frame: int
    width: int
    height: int
    topic: str
    jpeg: bytes


def frame_header(
    sub: int,
    seq: int,
    t_capture_ns: int,
    t_pub_ns: int,
    frame: int,
    width: int,
    height: int,
    topic: str,
) -> bytes:
    """The header that goes before a JPEG in a binary video frame message."""
    name = topic.encode()
    size = FRAME_HEADER.size + len(name)
    fixed = FRAME_HEADER.pack(
        FRAME_KIND,
        FRAME_VERSION,
        size,
        sub & 0xFFFFFFFF,
        seq,
        t_capture_ns,
        t_pub_ns,
        frame & 0xFFFFFFFF,
        min(width, 0xFFFF),
        min(height, 0xFFFF),
    )
    return fixed + name


def parse_frame(data: bytes) -> VideoFrame:
    """Decode a binary video frame; raise ValueError if it is not one."""
    if len(data) < FRAME_HEADER.size or data[0] != FRAME_KIND:
        raise ValueError("not a cuecast video frame")
    _, _, size, sub, seq, t_capture, t_pub, frame, width, height = FRAME_HEADER.unpack_from(data)
    if size < FRAME_HEADER.size or size > len(data):
        raise ValueError(f"bad video frame header length {size}")
    topic = bytes(data[FRAME_HEADER.size : size]).decode()
    return VideoFrame(sub, seq, t_capture, t_pub, frame, width, height, topic, bytes(data[size:]))
