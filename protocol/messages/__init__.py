"""Every message type, in one registry.

``MESSAGES`` maps the ``TYPE`` string carried in the envelope header to its Struct. Bodies are
MessagePack maps of the Struct's fields; :func:`encode` and :func:`decode` convert them with
msgspec (validated in C), and any msgpack library reads them as plain maps.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final, get_args

import msgspec

from protocol import topics
from protocol.errors import DecodeError, UnknownMessageType
from protocol.messages.base import Message, Point, Position, to_builtins
from protocol.messages.control import ErrorInfo, Reply, Request
from protocol.messages.core import (
    BallPath,
    BallState,
    CueState,
    PathPoint,
    PocketGeometry,
    PredictedEvent,
    Prediction,
    State,
    TableGeometry,
    TipOffset,
    Trajectory,
)
from protocol.messages.events import (
    BallLost,
    BallMotion,
    BallPocketed,
    BallSpotted,
    Collision,
    CueLost,
    CueVisible,
    CushionHit,
    Event,
    Foul,
    GameReset,
    Scratch,
    ShotEnded,
    ShotStarted,
    TableCalibrated,
)
from protocol.messages.system import Alert, Heartbeat, NodeConfig, Welcome
from protocol.messages.vision import (
    BallKind,
    Calibration,
    DetectedBall,
    DetectedCue,
    Detections,
    FrameInfo,
    GroundTruth,
    TruthBall,
    TruthCue,
)

AnyMessage = (
    FrameInfo
    | Detections
    | Calibration
    | GroundTruth
    | State
    | Trajectory
    | ShotStarted
    | ShotEnded
    | BallMotion
    | Collision
    | CushionHit
    | BallPocketed
    | Scratch
    | BallSpotted
    | BallLost
    | CueVisible
    | CueLost
    | TableCalibrated
    | GameReset
    | Foul
    | Heartbeat
    | Alert
    | NodeConfig
    | Welcome
    | Request
    | Reply
)

MESSAGES: Final[Mapping[str, type[Message]]] = {cls.TYPE: cls for cls in get_args(AnyMessage)}
EVENT_TYPES: Final[tuple[str, ...]] = tuple(t for t in MESSAGES if t.startswith("event."))

_encoder: Final = msgspec.msgpack.Encoder()


@functools.cache
def _decoder(type_: str) -> msgspec.msgpack.Decoder[Any]:
    return msgspec.msgpack.Decoder(MESSAGES[type_])


def encode(message: Message) -> bytes:
    """MessagePack body of ``message``."""
    return _encoder.encode(message)


def decode(type_: str, body: bytes | memoryview) -> Message:
    """Decode and validate a body of message type ``type_``.

    Raises
    ------
    UnknownMessageType
        If ``type_`` is not registered (a newer minor version may have added it: ignore it).
    DecodeError
        If the body is not MessagePack or does not match the schema.
    """
    if type_ not in MESSAGES:
        raise UnknownMessageType(type_)
    try:
        message: Message = _decoder(type_).decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
        # msgspec reports invalid UTF-8 in a string as UnicodeDecodeError
        raise DecodeError(f"{type_}: {exc}") from exc
    return message


def decode_raw(body: bytes | memoryview) -> Any:
    """Decode a body to plain maps and lists without a schema (for relays and unknown types)."""
    try:
        return msgspec.msgpack.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise DecodeError(f"body is not MessagePack: {exc}") from exc


def from_builtins(type_: str, data: Any) -> Message:
    """Build and validate a message of type ``type_`` from plain maps (JSON input, CLI, tests)."""
    if type_ not in MESSAGES:
        raise UnknownMessageType(type_)
    try:
        message: Message = msgspec.convert(data, MESSAGES[type_], strict=False)
    except msgspec.ValidationError as exc:
        raise DecodeError(f"{type_}: {exc}") from exc
    return message


def types_for_topic(topic: str) -> tuple[str, ...]:
    """Message types a topic may carry (empty for an unknown topic family)."""
    spec = topics.spec_for(topic)
    if spec is None:
        return ()
    found: list[str] = []
    for pattern in spec.types:
        if pattern.endswith(".*"):
            found.extend(t for t in MESSAGES if t.startswith(pattern[:-1]))
        else:
            found.append(pattern)
    return tuple(found)


def json_schema(type_: str) -> dict[str, Any]:
    """JSON Schema of a message type's body (for ``describe``, the tap and MCAP channels)."""
    if type_ not in MESSAGES:
        raise UnknownMessageType(type_)
    schema: dict[str, Any] = msgspec.json.schema(MESSAGES[type_])
    return schema


__all__ = [
    "EVENT_TYPES",
    "MESSAGES",
    "Alert",
    "AnyMessage",
    "BallKind",
    "BallLost",
    "BallMotion",
    "BallPath",
    "BallPocketed",
    "BallSpotted",
    "BallState",
    "Calibration",
    "Collision",
    "CueLost",
    "CueState",
    "CueVisible",
    "CushionHit",
    "DetectedBall",
    "DetectedCue",
    "Detections",
    "ErrorInfo",
    "Event",
    "Foul",
    "FrameInfo",
    "GameReset",
    "GroundTruth",
    "Heartbeat",
    "Message",
    "NodeConfig",
    "PathPoint",
    "PocketGeometry",
    "Point",
    "Position",
    "PredictedEvent",
    "Prediction",
    "Reply",
    "Request",
    "Scratch",
    "ShotEnded",
    "ShotStarted",
    "State",
    "TableCalibrated",
    "TableGeometry",
    "TipOffset",
    "Trajectory",
    "TruthBall",
    "TruthCue",
    "Welcome",
    "decode",
    "decode_raw",
    "encode",
    "from_builtins",
    "json_schema",
    "to_builtins",
    "types_for_topic",
]
