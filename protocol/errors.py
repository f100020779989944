"""One error hierarchy for everything cuecast raises on purpose.

::

    CuecastError
    ├── ProtocolError            something received breaks the wire contract
    │   ├── FramingError         wrong number or kind of multipart frames
    │   ├── DecodeError          header or body is not valid MessagePack of the declared schema
    │   ├── VersionMismatch      another major protocol version
    │   ├── UnknownMessageType   a type this build does not know (ignore it: a newer minor sent it)
    │   └── TopicError           a topic name that breaks the naming rules
    ├── ControlError             a control request failed; ``code`` says why
    │   └── ControlTimeout       no reply after every retry (the peer is down or wedged)
    └── ConfigError              a configuration value is missing, unknown or of the wrong type

Each input stream (a SUB socket, a control socket, a WebSocket) has one boundary that catches
:class:`ProtocolError`, counts it, logs once and goes on. Programming errors are not caught there.
"""

from __future__ import annotations


class CuecastError(Exception):
    """Base class of every error cuecast raises on purpose."""


class ProtocolError(CuecastError):
    """Something received breaks the wire contract."""


class FramingError(ProtocolError):
    """A multipart message has the wrong number or kind of frames."""


class DecodeError(ProtocolError):
    """A header or body is not valid MessagePack of the declared schema."""


class VersionMismatch(ProtocolError):
    """The peer speaks another major protocol version."""


class UnknownMessageType(ProtocolError):
    """The message type is not in this build's registry (a newer minor may have added it)."""

    def __init__(self, type_: str) -> None:
        super().__init__(f"unknown message type {type_!r}")
        self.type = type_


class TopicError(ProtocolError):
    """A topic name breaks the naming rules of ``docs/protocol.md``."""


class ControlError(CuecastError):
    """A control request failed.

    ``code`` is one of the codes of ``docs/protocol.md`` (``bad_request``, ``unknown_request``,
    ``not_found``, ``unavailable``, ``internal``, ``timeout`` ...).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ControlTimeout(ControlError):
    """No reply after every retry: the peer is down, unreachable or wedged."""

    def __init__(self, message: str) -> None:
        super().__init__("timeout", message)


class ConfigError(CuecastError):
    """A configuration value is missing, unknown or of the wrong type."""
