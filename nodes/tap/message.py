"""A received message made readable: decoded body, header, blob sizes (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from protocol import Envelope, encode_header, messages
from protocol.errors import DecodeError, UnknownMessageType


@dataclass(slots=True)
class Decoded:
    """The body of an envelope as plain values, and whether the schema knew it."""

    data: Any
    known: bool = True
    error: str | None = None
    files: list[str] = field(default_factory=list)


def decode(env: Envelope) -> Decoded:
    """Decode a body with its registered schema, else without one; never raises."""
    error: str | None = None
    try:
        return Decoded(msgspec.to_builtins(messages.decode(env.header.type, env.body)))
    except UnknownMessageType:
        pass
    except DecodeError as exc:
        error = str(exc)
    try:
        raw = messages.decode_raw(env.body)
    except DecodeError as exc:
        return Decoded(None, known=False, error=str(exc))
    return Decoded(msgspec.to_builtins(raw), known=False, error=error)


def header_dict(env: Envelope) -> dict[str, Any]:
    """The header as a plain map."""
    data: dict[str, Any] = msgspec.to_builtins(env.header)
    return data


def with_header(env: Envelope, data: Any) -> Any:
    """``data`` with the header reachable as ``header`` (unless the body has its own)."""
    if isinstance(data, dict) and "header" not in data:
        return {**data, "header": header_dict(env)}
    return data


def frames(env: Envelope) -> list[bytes]:
    """The multipart frames of an envelope (the header re-encoded from its decoded form)."""
    return [env.topic.encode(), encode_header(env.header), env.body, *env.blobs]


def wire_size(env: Envelope) -> int:
    """Bytes of the message on the wire (header size estimated by re-encoding it)."""
    return len(env.topic) + len(encode_header(env.header)) + len(env.body) + blob_bytes(env)


def blob_bytes(env: Envelope) -> int:
    """Total size of the blobs."""
    return sum(len(b) for b in env.blobs)


def blob_extension(env: Envelope, data: Any) -> str:
    """File extension for an envelope's blobs (``.jpg`` for JPEG frames)."""
    if env.header.type == "vision.frame" and isinstance(data, dict):
        encoding = str(data.get("encoding", "jpeg")).lower()
        return ".jpg" if encoding in ("jpeg", "jpg") else f".{encoding}"
    return ".bin"


def save_blobs(directory: Path, env: Envelope, data: Any) -> list[str]:
    """Write each blob to ``<dir>/<topic>-<seq>[-i].<ext>``; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    ext = blob_extension(env, data)
    paths = []
    for index, blob in enumerate(env.blobs):
        suffix = f"-{index}" if len(env.blobs) > 1 else ""
        path = directory / f"{env.topic}-{env.header.seq:08d}{suffix}{ext}"
        path.write_bytes(blob)
        paths.append(str(path))
    return paths
