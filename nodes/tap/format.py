"""Text for people and lines for programs: pretty values, JSON lines, hex dumps, tables, units."""

from __future__ import annotations

import json
import math
import string
from collections.abc import Sequence
from typing import Any, Final

import msgspec

_PRINTABLE: Final = frozenset(string.printable) - frozenset("\t\n\r\x0b\x0c")
_SIMPLE: Final = (str, int, float, bool, type(None))


def scalar(value: Any) -> str:
    """One scalar as pretty text: floats to 6 significant digits, strings bare if plain."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    if isinstance(value, str):
        plain = value and value.strip() == value and ":" not in value and "\n" not in value
        return value if plain else json.dumps(value)
    return str(value)


def _inline(values: list[Any]) -> str:
    return "[" + ", ".join(scalar(v) for v in values) + "]"


def pretty(value: Any, *, indent: int = 0, max_items: int = 32) -> list[str]:
    """YAML-like lines of a decoded message; lists longer than ``max_items`` are cut."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        lines: list[str] = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item and not _flat(item):
                lines.append(f"{pad}{key}:")
                lines.extend(pretty(item, indent=indent + 1, max_items=max_items))
            else:
                lines.append(f"{pad}{key}: {_short(item, max_items)}")
        return lines
    if isinstance(value, list):
        return _pretty_list(value, indent, max_items)
    return [pad + scalar(value)]


def _flat(item: dict[Any, Any] | list[Any]) -> bool:
    return isinstance(item, list) and all(isinstance(v, _SIMPLE) for v in item)


def _short(item: Any, max_items: int) -> str:
    if isinstance(item, list):
        shown = _inline(item[:max_items])
        return shown if len(item) <= max_items else f"{shown[:-1]}, ... ({len(item)} items)]"
    if isinstance(item, dict):
        return "{}"
    return scalar(item)


def _pretty_list(value: list[Any], indent: int, max_items: int) -> list[str]:
    pad = "  " * indent
    if not value:
        return [pad + "[]"]
    lines: list[str] = []
    for item in value[:max_items]:
        inner = pretty(item, indent=indent + 1, max_items=max_items)
        lines.append(pad + "- " + inner[0].lstrip())
        lines.extend(inner[1:])
    if len(value) > max_items:
        lines.append(f"{pad}... ({len(value) - max_items} more of {len(value)})")
    return lines


def plain(value: Any) -> Any:
    """A JSON-safe copy: bytes become ``"<N bytes>"``, stored messages are decoded."""
    if isinstance(value, dict):
        if {"topic", "header", "body"} <= value.keys() and isinstance(value["body"], bytes):
            return _stored(value)
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    return value


def _stored(item: dict[str, Any]) -> dict[str, Any]:
    """A message carried inside a reply (``snapshot``, ``replay``), decoded for reading."""
    from protocol import decode_header, messages
    from protocol.errors import ProtocolError

    out: dict[str, Any] = {k: plain(v) for k, v in item.items() if k not in ("header", "body")}
    try:
        header = decode_header(item["header"])
        out["header"] = msgspec.to_builtins(header)
        out["data"] = msgspec.to_builtins(messages.decode(header.type, item["body"]))
    except ProtocolError as exc:
        out["error"] = str(exc)
        out["body"] = f"<{len(item['body'])} bytes>"
    return out


def json_text(value: Any, *, indent: int | None = None) -> str:
    """JSON of a value (after :func:`plain`)."""
    return json.dumps(plain(value), indent=indent, ensure_ascii=False, allow_nan=True)


def hexdump(data: bytes, *, limit: int | None = 256, width: int = 16) -> list[str]:
    """``offset  hex bytes  ascii`` lines, cut after ``limit`` bytes (None: all)."""
    shown = data if limit is None else data[:limit]
    lines = []
    for offset in range(0, len(shown), width):
        chunk = shown[offset : offset + width]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if chr(b) in _PRINTABLE else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<{width * 3 - 1}}  {text}")
    if len(shown) < len(data):
        lines.append(f"... {len(data) - len(shown)} more bytes")
    return lines


def size(n: float) -> str:
    """Bytes with a binary unit: ``512 B``, ``70.3 KiB``, ``4.20 MiB``."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= scale:
            value = n / scale
            return f"{value:.1f} {unit}" if value >= 10 else f"{value:.2f} {unit}"
    return f"{n:.0f} B"


def rate(hz: float) -> str:
    """A rate in Hz with sensible digits."""
    if hz <= 0:
        return "-"
    return f"{hz:.1f}" if hz >= 10 else f"{hz:.2f}"


def seconds(value: float | None) -> str:
    """A duration: ``850 us``, ``12.3 ms``, ``4.2 s``, ``3m05s``."""
    if value is None:
        return "-"
    if abs(value) < 1e-3:
        return f"{value * 1e6:.0f} us"
    if abs(value) < 1:
        return f"{value * 1e3:.1f} ms"
    if abs(value) < 120:
        return f"{value:.1f} s"
    minutes, rest = divmod(int(value), 60)
    return f"{minutes}m{rest:02d}s"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns (right-aligned when every cell looks numeric)."""
    columns = list(zip(headers, *rows, strict=True)) if rows else [(h,) for h in headers]
    widths = [max(len(cell) for cell in column) for column in columns]
    numeric = [all(_numeric(c) for c in column[1:]) and len(column) > 1 for column in columns]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def _numeric(cell: str) -> bool:
    head = cell.split(" ")[0]
    return cell == "-" or head.replace(".", "", 1).replace("-", "", 1).isdigit()
