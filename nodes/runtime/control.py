"""Control requests (DESIGN.md §4): a ROUTER server with named handlers, and a Lazy Pirate client.

Requests and replies use the bus envelope with topic ``control``: ``[b"control", header, body,
*blobs]`` where the body is a :class:`~protocol.messages.Request` or
:class:`~protocol.messages.Reply`. The server handles each request in its own task, so a slow
``replay`` never holds up a ``ping``; a bad request gets an error reply, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import zmq
import zmq.asyncio

from nodes.runtime.bus import Bus
from protocol import Header, pack, unpack
from protocol.errors import ControlError, ControlTimeout, ProtocolError
from protocol.messages import ErrorInfo, Reply, Request

log = logging.getLogger(__name__)

CONTROL_TOPIC = "control"


@dataclass(slots=True)
class Result:
    """A handler's answer: a msgpack-able value plus optional binary blobs (JPEG, raw bodies)."""

    value: Any = None
    blobs: list[bytes] = field(default_factory=list)


Handler = Callable[[dict[str, Any]], Awaitable[Any] | Any]


@dataclass(frozen=True, slots=True)
class Route:
    """A registered request."""

    name: str
    handler: Handler
    help: str


def _header(type_: str, src: str, seq: int) -> Header:
    now = time.time_ns()
    return Header(type=type_, src=src, epoch="", seq=seq, t_origin_ns=now, t_pub_ns=now)


class ControlServer:
    """Answers control requests on a ROUTER socket."""

    def __init__(self, bus: Bus, node: str, endpoint: str) -> None:
        self.node = node
        self.socket = bus.socket(zmq.ROUTER, linger_ms=100)
        self.socket.bind(endpoint)
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.routes: dict[str, Route] = {}
        self.handled = 0
        self.errors = 0
        self._replies = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def route(self, name: str, handler: Handler, help: str) -> None:
        """Register ``handler`` for request ``name`` (sync or async; gets the args dict)."""
        self.routes[name] = Route(name, handler, help)

    async def run(self) -> None:
        """Receive requests forever; each is handled in its own task."""
        while True:
            frames = await self.socket.recv_multipart()
            try:
                delimiter = frames.index(b"")
            except ValueError:
                self.errors += 1
                continue
            task = asyncio.ensure_future(
                self._serve(frames[: delimiter + 1], frames[delimiter + 1 :])
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve(self, routing: list[bytes], frames: list[bytes]) -> None:
        started = time.perf_counter()
        try:
            request = self._parse(frames)
            result = await self._dispatch(request)
            reply, blobs = Reply(ok=True, result=result.value), result.blobs
        except ControlError as exc:
            self.errors += 1
            reply, blobs = Reply(ok=False, error=ErrorInfo(code=exc.code, message=exc.message)), []
        except Exception as exc:  # a handler bug must not take the node down: report it
            self.errors += 1
            log.exception("control request failed")
            error = ErrorInfo(code="internal", message=f"{type(exc).__name__}: {exc}")
            reply, blobs = Reply(ok=False, error=error), []
        self.handled += 1
        self._replies += 1
        out = pack(CONTROL_TOPIC, _header(Reply.TYPE, self.node, self._replies), reply, blobs)
        with contextlib.suppress(zmq.ZMQError):
            await self.socket.send_multipart([*routing, *out], copy=False)
        log.debug("control reply in %.1f ms", (time.perf_counter() - started) * 1e3)

    def _parse(self, frames: Sequence[bytes]) -> Request:
        try:
            envelope = unpack(frames)
            message = envelope.message()
        except ProtocolError as exc:
            raise ControlError("bad_request", str(exc)) from exc
        if not isinstance(message, Request):
            raise ControlError(
                "bad_request", f"expected control.request, got {envelope.header.type}"
            )
        return message

    async def _dispatch(self, request: Request) -> Result:
        route = self.routes.get(request.request)
        if route is None:
            known = ", ".join(sorted(self.routes))
            raise ControlError(
                "unknown_request",
                f"{self.node} has no request {request.request!r} (it has: {known})",
            )
        value = route.handler(dict(request.args))
        if inspect.isawaitable(value):
            value = await value
        return value if isinstance(value, Result) else Result(value)

    def close(self) -> None:
        """Cancel requests still being handled."""
        for task in self._tasks:
            task.cancel()


class ControlClient:
    """Lazy Pirate request client: timeout, retry on a fresh socket, then give up clearly.

    One request at a time per client (requests queue on a lock); make one client per peer.
    """

    def __init__(
        self,
        bus: Bus,
        endpoint: str,
        *,
        name: str = "client",
        timeout: float = 2.0,
        retries: int = 3,
    ) -> None:
        self.bus = bus
        self.endpoint = endpoint
        self.name = name
        self.timeout = timeout
        self.retries = retries
        self._socket: zmq.asyncio.Socket | None = None
        self._lock = asyncio.Lock()
        self._seq = 0

    def _open(self) -> zmq.asyncio.Socket:
        if self._socket is None:
            self._socket = self.bus.socket(zmq.REQ, hwm=10)
            self._socket.connect(self.endpoint)
        return self._socket

    def _reset(self) -> None:
        if self._socket is not None:
            self.bus.forget(self._socket)
            self._socket = None

    async def request(
        self,
        request: str,
        args: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> Result:
        """Send a request and return its result; raise ControlError or ControlTimeout."""
        timeout = self.timeout if timeout is None else timeout
        attempts = max(1, self.retries if retries is None else retries)
        async with self._lock:
            for attempt in range(1, attempts + 1):
                self._seq += 1
                frames = pack(
                    CONTROL_TOPIC,
                    _header(Request.TYPE, self.name, self._seq),
                    Request(request=request, args=args or {}),
                )
                sock = self._open()
                await sock.send_multipart(frames)
                if await sock.poll(timeout * 1000):  # POLLIN
                    return self._result(await sock.recv_multipart())
                self._reset()
                log.debug(
                    "%s %s: no reply (attempt %d/%d)", self.endpoint, request, attempt, attempts
                )
        raise ControlTimeout(
            f"no reply from {self.endpoint} to {request!r} after {attempts} attempt(s) of"
            f" {timeout:g} s: is the node running?"
        )

    @staticmethod
    def _result(frames: Sequence[bytes]) -> Result:
        try:
            envelope = unpack(frames)
            reply = envelope.message()
        except ProtocolError as exc:
            raise ControlError("bad_reply", str(exc)) from exc
        if not isinstance(reply, Reply):
            raise ControlError("bad_reply", f"expected control.reply, got {envelope.header.type}")
        if not reply.ok:
            error = reply.error or ErrorInfo(code="internal", message="error without details")
            raise ControlError(error.code, error.message)
        return Result(reply.result, list(envelope.blobs))

    def close(self) -> None:
        """Close the socket."""
        self._reset()


def encode_stored(topic: str, header: bytes, body: bytes) -> dict[str, Any]:
    """How ``snapshot`` and ``replay`` carry a whole message inside a reply."""
    return {"topic": topic, "header": header, "body": body}


def decode_stored(item: Any) -> list[bytes]:
    """Frames ``[topic, header, body]`` of a message carried by :func:`encode_stored`."""
    if not isinstance(item, dict):
        raise ControlError("bad_reply", "stored message is not a map")
    try:
        return [str(item["topic"]).encode(), bytes(item["header"]), bytes(item["body"])]
    except (KeyError, TypeError) as exc:
        raise ControlError("bad_reply", f"stored message lacks {exc}") from exc
