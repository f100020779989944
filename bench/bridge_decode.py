"""Decoder hook for ws_latency_client.py (--decoder bridge_decode:decode): msgspec, JSON or msgpack.

The reference client falls back to the stdlib json module when orjson is missing, which costs
about 100 us per 3.4 KB state and makes the client, not the server, the bottleneck at 200
connections. msgspec decodes both formats in C; the same hook is used for every server.
"""

from __future__ import annotations

from typing import Any

import msgspec

_json = msgspec.json.Decoder()
_msgpack = msgspec.msgpack.Decoder()


def decode(message: bytes | str) -> Any:
    if isinstance(message, bytes | bytearray | memoryview):
        return _msgpack.decode(message)
    return _json.decode(message)
