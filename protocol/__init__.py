"""cuecast's wire protocol: topics, the envelope and every message type.

Pure: no zmq, tornado or cv2 imports, so any process (or another implementation) can use it.
``docs/protocol.md`` is the specification; this package is its one implementation.
"""

from __future__ import annotations

from protocol import messages, topics
from protocol.envelope import Envelope, Header, decode_header, encode_header, pack, unpack
from protocol.errors import (
    ConfigError,
    ControlError,
    ControlTimeout,
    CuecastError,
    DecodeError,
    FramingError,
    ProtocolError,
    TopicError,
    UnknownMessageType,
    VersionMismatch,
)
from protocol.version import PROTOCOL_VERSION, PROTOCOL_VERSION_STRING, check_version

__all__ = [
    "PROTOCOL_VERSION",
    "PROTOCOL_VERSION_STRING",
    "ConfigError",
    "ControlError",
    "ControlTimeout",
    "CuecastError",
    "DecodeError",
    "Envelope",
    "FramingError",
    "Header",
    "ProtocolError",
    "TopicError",
    "UnknownMessageType",
    "VersionMismatch",
    "check_version",
    "decode_header",
    "encode_header",
    "messages",
    "pack",
    "topics",
    "unpack",
]
