"""``/ws``: the WebSocket endpoint, a thin shell around :class:`~bridge.session.Session`.

Writes are awaited, one at a time: a connection writes what its session has ready (one batch,
one socket write) as soon as it arrives, and writes again only once the socket has taken the
previous batch. While the socket is full (a slow or stalled client) nothing more goes to
Tornado; messages wait, budgeted, in the session, so such a client holds only its budget and
slows nobody else. Writing where the message arrives (rather than waking a writer task) keeps
the cost per client and message low. Everything the session cannot do itself (bus interest,
history, node calls, publishing) it asks for through effects, which :class:`Connection`
carries out and reports back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import struct
import time
from typing import Any

import tornado.iostream
import tornado.web
import tornado.websocket

from bridge import auth, control, wire
from bridge.context import Context
from bridge.effect import Attach, CallNode, Detach, Effect, Fetch, PublishAlert
from bridge.item import Item
from bridge.meter import session_counters
from bridge.mjpeg import too_many
from bridge.ratelimit import Abuse
from bridge.reliable import Unavailable
from bridge.session import Session
from protocol.errors import ControlError

log = logging.getLogger(__name__)

RESUME_WAIT = 5.0  # seconds a resume waits for an unreachable publisher before recovered:false
BATCH_BYTES = 256 * 1024  # written to Tornado before awaiting the socket


class Connection:
    """One client: its session, its writes, and the effects the session asks for."""

    def __init__(self, handler: WebSocket, session: Session, ctx: Context) -> None:
        self.handler = handler
        self.session = session
        self.ctx = ctx
        self.remote = handler.request.remote_ip
        self.opened = time.time()
        self.closed = False
        self.bytes_out = 0
        self._inflight: asyncio.Future[Any] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.abuse = Abuse(ctx.config.abuse_limit)

    # -- the hub's side (Sink) -------------------------------------------------------------

    def wants(self, topic: str) -> bool:
        return self.session.wants(topic)

    def offer(self, item: Item) -> None:
        self.session.offer(item, time.monotonic())
        self._after()

    def check_tip(self, topic: str, epoch: str, seq: int) -> None:
        self.session.check_tip(topic, epoch, seq)
        self._after()

    # -- the client's side -----------------------------------------------------------------

    def receive(self, data: str | bytes) -> None:
        now = time.monotonic()
        self.session.receive(data, now)
        self._after()
        if self.abuse.abused(self.session.counts["rate_limited"], now):
            self.ctx.meter.refuse("abuse")
            self.close(wire.CLOSE_POLICY, "too many messages after rate_limited errors")

    def tick(self, now: float) -> None:
        self.session.tick(now)
        self._after()

    def _after(self) -> None:
        session = self.session
        while session.effects:
            effects, session.effects = session.effects, []
            for effect in effects:
                if isinstance(effect, Attach) and effect.sub.options.since:
                    self.ctx.meter.count("resumes")
                self._apply(effect)
        if session.closing is not None:
            self.close(*session.closing)
        elif self._inflight is None and session.outbox.waiting():
            self.flush()

    def _apply(self, effect: Effect) -> None:
        hub = self.ctx.hub
        if isinstance(effect, Attach):
            hub.interest(effect.sub.options.bus, True)
            self._spawn(self._attach(effect))
        elif isinstance(effect, Detach):
            hub.interest(effect.sub.options.bus, False)
        elif isinstance(effect, Fetch):
            self._spawn(self._fetch(effect))
        elif isinstance(effect, CallNode):
            refusal = self.ctx.policy.refusal(effect.node, effect.request, trusted=self.trusted())
            if refusal is not None:
                self.ctx.meter.refuse("forbidden_call")
                self.session.refuse(effect.id, "forbidden", refusal)
            else:
                self._spawn(self._call(effect))
        elif isinstance(effect, PublishAlert):
            header = self.ctx.alert(effect.level, effect.code, effect.message, effect.details)
            self.session.answer(
                effect.id,
                {
                    "topic": f"system.alert.{self.ctx.name}",
                    "epoch": header.epoch,
                    "seq": header.seq,
                },
            )

    def trusted(self) -> bool:
        """Whether this client may make mutating control requests (:mod:`bridge.auth`)."""
        presented = bool(self.ctx.config.token) and self.session.authorized
        return self.ctx.policy.trusted(presented, self.remote)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attach(self, attach: Attach) -> None:
        hub, sub = self.ctx.hub, attach.sub
        await hub.settle()
        if self.closed:
            return
        tips, values = hub.positions(sub.covers), hub.values(sub.covers)
        self.session.attach(sub, tips, values, time.monotonic())
        hub.prime(sub.options.bus)
        self._after()

    async def _fetch(self, fetch: Fetch) -> None:
        give_up = time.monotonic() + RESUME_WAIT if fetch.resuming else None
        delay = 0.25
        while True:
            hub = self.ctx.hub
            result = await hub.fetch(fetch.topic, fetch.epoch, fetch.after, fetch.limit)
            if self.closed:
                return
            if not isinstance(result, Unavailable):
                break
            if give_up is not None and time.monotonic() >= give_up:
                break
            log.debug("%s: %s; retrying", self.session.id, result.reason)
            await asyncio.sleep(delay)
            delay = min(2.0, delay * 2)
        self.session.fetched(fetch, result, time.monotonic())
        self._after()

    async def _call(self, call: CallNode) -> None:
        try:
            result = await control.call(self.ctx, call.node, call.request, call.args)
        except ControlError as exc:
            code = control.WS_CODE.get(exc.code, "failed")
            self.session.refuse(call.id, code, f"{call.node} {call.request}: {exc}")
        else:
            self.session.answer(call.id, result)
        if not self.closed:
            self._after()

    # -- writing ---------------------------------------------------------------------------

    def flush(self) -> None:
        """Write what is ready, as long as the socket takes each batch at once."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._inflight is None and not self.closed:
            frame = self.session.next_out(time.monotonic())
            if frame is None:
                self._arm(self.session.deadline(time.monotonic()))
                return
            try:
                sent = self._send(frame)
            except tornado.websocket.WebSocketClosedError:
                self.gone()
                return
            if not sent.done():
                self._inflight = sent  # the socket is full: wait for it before writing more
                sent.add_done_callback(self._written)
                return
            if sent.cancelled() or sent.exception() is not None:
                self.gone()
                return

    def _written(self, sent: asyncio.Future[Any]) -> None:
        self._inflight = None
        if sent.cancelled() or sent.exception() is not None:
            self.gone()
        elif not self.closed:
            self.flush()

    def _send(self, frame: tuple[bytes, bool] | None) -> asyncio.Future[Any]:
        """Write what is ready now, up to a batch, with one socket write; its future."""
        frames: list[tuple[bytes, bool]] = []
        written = 0
        while frame is not None:
            frames.append(frame)
            self.ctx.meter.wrote(frame[0], frame[1], time.time_ns())
            written += len(frame[0])
            if written >= BATCH_BYTES:
                break
            frame = self.session.next_out(time.monotonic())
        self.bytes_out += written
        protocol = self.handler.ws_connection
        if protocol is None or protocol.is_closing():
            raise tornado.websocket.WebSocketClosedError()
        stream: tornado.iostream.IOStream | None = getattr(protocol, "stream", None)
        if stream is None or self.handler.get_compression_options():
            futures = [self.handler.write_message(d, binary=b) for d, b in frames]
            for earlier in futures[:-1]:  # not expected: the bridge offers no compression
                earlier.add_done_callback(_quiet)
            return futures[-1]
        if len(frames) == 1:
            out = websocket_frame(*frames[0])
        else:
            out = b"".join(websocket_frame(d, b) for d, b in frames)
        try:
            return stream.write(out)  # the stream's own future: no task per message
        except tornado.iostream.StreamClosedError:
            raise tornado.websocket.WebSocketClosedError() from None

    def _arm(self, deadline: float | None) -> None:
        if deadline is not None:
            loop = asyncio.get_running_loop()
            delay = max(0.0, deadline - time.monotonic())
            self._timer = loop.call_later(delay, self.flush)

    def close(self, code: int, reason: str) -> None:
        """Close now: queued control messages (an error saying why) go first, unawaited."""
        if self.closed:
            return
        log.info("closing %s (%s): %d %s", self.session.id, self.remote, code, reason)
        while (frame := self.session.next_out(time.monotonic())) is not None:
            with contextlib.suppress(tornado.websocket.WebSocketClosedError):
                sent = self.handler.write_message(frame[0], binary=frame[1])
                sent.add_done_callback(_quiet)
        self.handler.close(code, reason)
        self.gone()

    def gone(self) -> None:
        """The connection ended: release bus interest and tasks."""
        if self.closed and self.session.id not in self.ctx.connections:
            return
        self.closed = True
        meter = self.ctx.meter
        meter.sample(self.session.id, session_counters(self.session))
        meter.retire(self.session.id)
        meter.count("closed")
        self.ctx.connections.pop(self.session.id, None)
        self.ctx.hub.remove(self)
        for sub in self.session.subs.values():
            self.ctx.hub.interest(sub.options.bus, False)
        self.session.close(wire.CLOSE_NORMAL, "closed")
        self.session.subs.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._timer is not None:
            self._timer.cancel()

    def describe(self) -> dict[str, Any]:
        """What ``/api/v1/connections`` shows."""
        info = self.session.describe(time.monotonic())
        info.update(remote=self.remote, opened=self.opened, bytes_out=self.bytes_out)
        return info


def websocket_frame(data: bytes, binary: bool) -> bytes:
    """One unmasked, unfragmented server frame (RFC 6455 section 5.2)."""
    opcode, size = (0x82 if binary else 0x81), len(data)
    if size < 126:
        return struct.pack("!BB", opcode, size) + data
    if size < 65536:
        return struct.pack("!BBH", opcode, 126, size) + data
    return struct.pack("!BBQ", opcode, 127, size) + data


def _quiet(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class WebSocket(tornado.websocket.WebSocketHandler):
    """``/ws``: subprotocol ``cuecast.v1.json`` or ``cuecast.v1.msgpack`` (or ``?format=``)."""

    def initialize(self, ctx: Context) -> None:
        self.ctx = ctx
        self.connection: Connection | None = None
        self.authorized = not ctx.config.token

    def prepare(self) -> None:
        if too_many(self, self.ctx):
            return
        token = self.ctx.config.token
        if not token:
            return
        given = self.get_query_argument("token", None)
        given = auth.bearer(self.request.headers.get("Authorization")) or given
        if given is not None:
            if not auth.token_matches(given, token):
                self.ctx.meter.refuse("wrong_token")
                raise tornado.web.HTTPError(401, reason="wrong token")
            self.authorized = True

    def check_origin(self, origin: str) -> bool:
        host = self.request.headers.get("Host")
        if auth.origin_allowed(origin, host, self.ctx.config.origins):
            return True
        self.ctx.meter.refuse("origin")
        log.info("refused a WebSocket from origin %r (host %r)", origin, host)
        return False

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return next((p for p in subprotocols if p in wire.SUBPROTOCOLS), None)

    def _format(self) -> wire.Format:
        chosen = self.selected_subprotocol
        if chosen == wire.MSGPACK or self.get_query_argument("format", "") == "msgpack":
            return wire.MSGPACK
        return wire.JSON

    def open(self, *args: str, **kwargs: str) -> None:
        self.set_nodelay(True)
        ctx = self.ctx
        session = Session(
            secrets.token_hex(6),
            self._format(),
            ctx.limits,
            server=ctx.name,
            now=time.monotonic(),
            authorized=self.authorized,
        )
        self.connection = Connection(self, session, ctx)
        ctx.connections[session.id] = self.connection
        ctx.meter.count("opened")
        ctx.hub.add(self.connection)
        self.connection.flush()
        log.info(
            "client %s connected from %s (%s)", session.id, self.request.remote_ip, session.fmt
        )

    def on_message(self, message: str | bytes) -> None:
        if self.connection is not None:
            self.connection.receive(message)

    def on_close(self) -> None:
        if self.connection is not None:
            log.info(
                "client %s left (%s %s)",
                self.connection.session.id,
                self.close_code,
                self.close_reason,
            )
            self.connection.gone()


async def tick_forever(ctx: Context, period: float = 0.25) -> None:
    """Redelivery timers and periodic status of every connection."""
    while True:
        await asyncio.sleep(period)
        now = time.monotonic()
        for connection in list(ctx.connections.values()):
            connection.tick(now)
