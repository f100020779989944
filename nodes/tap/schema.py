"""JSON Schemas and JSON bodies for MCAP channels that Foxglove and Lichtblick can open (pure).

msgspec's schemas (``messages.json_schema``) use ``$ref``, ``anyOf`` for optional fields,
type-less ``enum`` for literals, arrays of arrays and maps without ``properties``. Lichtblick's
JSON-schema reader (``packages/mcap-support/src/parseJsonSchema.ts``) accepts none of these: every
property needs a ``type`` among boolean, string, number, integer, object (with ``properties``)
and array (of scalars or objects). :func:`viewer` rewrites a schema into that subset:

- ``$ref`` are inlined; ``X | None`` becomes ``X`` and :func:`strip_nulls` drops null values from
  the JSON bodies, so they still validate;
- string (or integer) enums get their ``type``; maps get empty ``properties``;
- a property the viewer cannot describe (``Any``, unions, arrays of arrays) leaves the schema but
  stays in the body (the schema does not forbid extra properties), so nothing is lost.

A topic that carries several types (``core.event``) gets one merged schema with a ``type``
property naming the message type. JPEG frames become ``foxglove.CompressedImage`` so the image
panel shows them as video, with the frame metadata under ``info``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Final

from protocol import messages

_SCALARS: Final = ("boolean", "number", "integer", "string")
FRAME_TYPE: Final = "vision.frame"
TYPE_KEY: Final = "type"

COMPRESSED_IMAGE: Final[dict[str, Any]] = {
    "title": "foxglove.CompressedImage",
    "description": "A compressed image",
    "type": "object",
    "properties": {
        "timestamp": {
            "type": "object",
            "title": "time",
            "properties": {
                "sec": {"type": "integer", "minimum": 0},
                "nsec": {"type": "integer", "minimum": 0, "maximum": 999999999},
            },
            "description": "Timestamp of image",
        },
        "frame_id": {"type": "string", "description": "Frame of reference for the image"},
        "data": {"type": "string", "contentEncoding": "base64", "description": "Image data"},
        "format": {"type": "string", "description": "Image format: jpeg, png, webp"},
    },
}


def inline(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every local ``$ref`` replaced by its definition."""
    defs = schema.get("$defs", {})

    def walk(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.rsplit("/", 1)[1]
            if name in seen:
                raise ValueError(f"recursive schema {name} cannot be inlined")
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**walk(defs[name], (*seen, name)), **walk(rest, seen)}
        return {k: walk(v, seen) for k, v in node.items() if k != "$defs"}

    result: dict[str, Any] = walk(schema, ())
    return result


def _unwrap_nullable(node: dict[str, Any]) -> dict[str, Any] | None:
    options = node.get("anyOf")
    if options is None:
        return node
    kept = [o for o in options if o.get("type") != "null"]
    if len(kept) != 1:
        return None
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    return {**kept[0], **rest}


def _enum_type(values: Sequence[Any]) -> str | None:
    if all(isinstance(v, str) for v in values):
        return "string"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    return None


def _field(node: Any) -> dict[str, Any] | None:
    """A property schema the viewer accepts, or None to leave it out."""
    unwrapped = _unwrap_nullable(node) if isinstance(node, dict) else None
    if unwrapped is None:
        return None
    out = {k: v for k, v in unwrapped.items() if k != "default"}
    if "enum" in out and "type" not in out:
        kind = _enum_type(out["enum"])
        if kind is None:
            return None
        out["type"] = kind
    kind = out.get("type")
    if kind == "object":
        return _object(out)
    if kind == "array":
        items = _field(out.get("items", {}))
        if items is None or items["type"] == "array" or "contentEncoding" in items:
            return None
        return {**out, "items": items}
    if kind == "string" and out.get("contentEncoding") not in (None, "base64"):
        return None
    return out if kind in _SCALARS else None


def _object(node: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, value in node.get("properties", {}).items():
        converted = _field(value)
        if converted is not None:
            properties[name] = converted
    out = {k: v for k, v in node.items() if k not in ("properties", "required", "default")}
    out["type"] = "object"
    out["properties"] = properties
    required = [r for r in node.get("required", []) if r in properties]
    if required:
        out["required"] = required
    return out


def viewer(schema: dict[str, Any]) -> dict[str, Any]:
    """A msgspec JSON Schema rewritten into the subset Foxglove and Lichtblick read."""
    return _object(inline(schema))


def for_type(type_: str) -> dict[str, Any]:
    """The viewer schema of one registered message type."""
    return viewer(messages.json_schema(type_))


def merged(title: str, types: Sequence[str]) -> dict[str, Any]:
    """One schema for a topic carrying several types: shared fields, plus ``type``."""
    schemas = [for_type(t) for t in types]
    properties: dict[str, Any] = {TYPE_KEY: {"type": "string", "enum": list(types)}}
    dropped: set[str] = set()
    for schema in schemas:
        for name, value in schema["properties"].items():
            if name in dropped:
                continue
            if name in properties and properties[name] != value:
                dropped.add(name)
                del properties[name]
            else:
                properties[name] = value
    required = (
        set.intersection(*(set(s.get("required", [])) for s in schemas)) if schemas else set()
    )
    return {
        "title": title,
        "description": f"any of: {', '.join(types)} (see the type property)",
        "type": "object",
        "properties": properties,
        "required": [TYPE_KEY, *sorted(r for r in required if r in properties)],
    }


def frame_schema() -> dict[str, Any]:
    """``foxglove.CompressedImage`` with cuecast's frame metadata under ``info``."""
    schema = copy.deepcopy(COMPRESSED_IMAGE)
    schema["properties"]["info"] = for_type(FRAME_TYPE)
    return schema


def strip_nulls(value: Any) -> Any:
    """``value`` without null map entries (optional fields absent instead of null)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def frame_body(info: dict[str, Any], jpeg: bytes, t_ns: int) -> dict[str, Any]:
    """A ``foxglove.CompressedImage`` body for one frame (``data`` is base64 once encoded)."""
    return {
        "timestamp": {"sec": t_ns // 1_000_000_000, "nsec": t_ns % 1_000_000_000},
        "frame_id": str(info.get("camera", "")),
        "format": str(info.get("encoding", "jpeg")),
        "data": jpeg,
        "info": strip_nulls(info),
    }
