"""The process's ZeroMQ context and the one way sockets are made (linger and HWM always set)."""

from __future__ import annotations

import logging
from typing import Any

import zmq
import zmq.asyncio

log = logging.getLogger(__name__)


class Bus:
    """Owns one ``zmq.asyncio.Context`` and every socket made from it."""

    def __init__(self, *, hwm: int = 1000) -> None:
        self.context = zmq.asyncio.Context()
        self.hwm = hwm
        self._sockets: list[zmq.asyncio.Socket] = []

    def socket(
        self, kind: int, *, hwm: int | None = None, linger_ms: int = 0, **options: Any
    ) -> zmq.asyncio.Socket:
        """A socket with explicit high-water marks and linger."""
        sock = self.context.socket(kind)
        sock.setsockopt(zmq.LINGER, linger_ms)
        sock.setsockopt(zmq.SNDHWM, self.hwm if hwm is None else hwm)
        sock.setsockopt(zmq.RCVHWM, self.hwm if hwm is None else hwm)
        for name, value in options.items():
            sock.setsockopt(getattr(zmq, name.upper()), value)
        self._sockets.append(sock)
        return sock

    def forget(self, sock: zmq.asyncio.Socket) -> None:
        """Close a socket now and stop tracking it."""
        sock.close(linger=0)
        if sock in self._sockets:
            self._sockets.remove(sock)

    def close(self) -> None:
        """Close every socket (pending PUB data gets its linger) and terminate the context."""
        for sock in self._sockets:
            if not sock.closed:
                sock.close()
        self._sockets.clear()
        self.context.term()
