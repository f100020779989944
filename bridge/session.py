"""The per-connection state machine: one subscription registry, acks, budgets (pure).

A :class:`Session` takes the client's raw messages (:meth:`Session.receive`), bus messages
(:meth:`Session.offer`) and history pages (:meth:`Session.fetched`), and says what to write next
(:meth:`Session.next_out`, in the priority order of :mod:`bridge.outbox`). It never touches a
socket: work it cannot do itself (bus interest, history, node calls, publishing) goes to
:attr:`Session.effects` for the shell, and a reason to close goes to :attr:`Session.closing`.

This registry is the only record of what the client subscribed: the hub asks it (``wants``)
rather than keeping a copy, so the two can never drift apart.

A connection's held bytes and messages are budgeted: over budget, video frames, then queued and
then latest messages are shed (counted as dropped); if reliable messages alone exceed it, or a
reliable backlog passes its bound, the connection closes with ``4008`` and the client resumes.
"""

from __future__ import annotations

import hmac
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from bridge import option, wire
from bridge.effect import Attach, CallNode, Detach, Effect, Fetch, PublishAlert
from bridge.item import Item, is_frame
from bridge.limit import Limits
from bridge.outbox import Frame, Outbox
from bridge.ratelimit import Bucket
from bridge.reliable import Fetched, ReliableStream
from bridge.stream import Budget, LatestStream, QueueStream, Stream
from bridge.subscription import Subscription
from protocol import PROTOCOL_VERSION_STRING
from protocol.messages import Position


class Session:
    """Everything one WebSocket connection is, without the socket."""

    def __init__(
        self,
        id: str,
        fmt: wire.Format,
        limits: Limits,
        *,
        server: str,
        now: float,
        authorized: bool = True,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.id = id
        self.fmt = fmt
        self.limits = limits
        self.server = server
        self.authorized = authorized
        self.clock = clock
        self.name: str | None = None
        self.subs: dict[int, Subscription] = {}
        self.budget = Budget()
        self.outbox = Outbox(fmt)
        self.effects: list[Effect] = []
        self.closing: tuple[int, str] | None = None
        self.counts: Counter[str] = Counter()
        self.opened = now
        self._next_id = 1
        self._routes: dict[str, list[Subscription]] = {}
        self._bucket = Bucket(limits.inbound_rate, 2 * limits.inbound_rate)
        self._limited_at = float("-inf")
        self._next_status = now + limits.status_interval
        self.outbox.push(self._welcome())

    # -- input from the client -------------------------------------------------------------

    def receive(self, data: bytes | str, now: float) -> None:
        """Handle one client message (the protocol-error boundary of the connection)."""
        self.counts["received"] += 1
        if len(data) > self.limits.max_message_bytes:
            self._error("too_large", f"{len(data)} bytes > {self.limits.max_message_bytes}")
            return
        if not self._admit(now):
            return
        fmt = wire.JSON if isinstance(data, str) else self.fmt  # text frames are always JSON
        try:
            op = wire.decode(fmt, data)
        except wire.WireError as exc:
            self._error(exc.code, exc.message, exc.id)
            return
        try:
            self._dispatch(op, now)
        except wire.WireError as exc:
            self._error(exc.code, exc.message, op.id if exc.id is None else exc.id)

    def _admit(self, now: float) -> bool:
        rate = self.limits.inbound_rate
        if rate <= 0 or self._bucket.take(now):
            return True
        self.counts["rate_limited"] += 1
        if now - self._limited_at >= 1.0:
            self._limited_at = now
            dropped = self.counts["rate_limited"]
            self._error("rate_limited", f"over {rate:g} messages/s; {dropped} dropped so far")
        return False

    def _dispatch(self, op: wire.ClientOp, now: float) -> None:
        if not self.authorized and not isinstance(op, wire.Hello | wire.Ping):
            raise wire.WireError("unauthorized", "send hello with the token first (or ?token=)")
        match op:
            case wire.Ack():
                self._ack(op)
            case wire.Subscribe():
                self._subscribe(op)
            case wire.Unsubscribe():
                self._unsubscribe(op)
            case wire.Ping():
                self.outbox.push({"op": "pong", "id": op.id, "t_ns": self.clock()})
            case wire.Status():
                self.outbox.push({**self.status(now), "id": op.id})
            case wire.Hello():
                self._hello(op)
            case wire.Call():
                self.effects.append(CallNode.of(op))
            case wire.Publish():
                self.effects.append(PublishAlert.of(op, self.server))

    def _hello(self, op: wire.Hello) -> None:
        if op.token is not None and self.limits.token:
            if not hmac.compare_digest(op.token.encode(), self.limits.token.encode()):
                self._error("unauthorized", "wrong token", op.id)
                self.close(wire.CLOSE_UNAUTHORIZED, "wrong token")
                return
            self.authorized = True
        if not self.authorized:
            raise wire.WireError("unauthorized", "this bridge needs a token in hello")
        if op.session:
            self.name = op.session[:80]
        self.outbox.push({**self._welcome(), "id": op.id})

    def _welcome(self) -> dict[str, Any]:
        return {
            "op": "welcome",
            "session": self.id,
            "server": self.server,
            "protocol": PROTOCOL_VERSION_STRING,
            "format": self.fmt,
            "authorized": self.authorized,
            "limits": self.limits.public(),
        }

    # -- subscriptions ---------------------------------------------------------------------

    def _subscribe(self, op: wire.Subscribe) -> None:
        limits = self.limits
        if len(self.subs) >= limits.max_subscriptions:
            raise wire.WireError("too_many_subs", f"at most {limits.max_subscriptions}")
        options = option.parse(
            op,
            rendition=limits.rendition,
            queue_max=limits.queue_max,
            max_since=limits.max_subscriptions,
        )
        sub_id, self._next_id = self._next_id, self._next_id + 1

        def request_fetch(stream: ReliableStream) -> None:
            self._request_fetch(sub_id, stream)

        sub = Subscription(sub_id, options, self.budget, limits.reliable, request_fetch)
        sub.request = op.id
        self.subs[sub_id] = sub
        self._routes.clear()
        self.effects.append(Attach(sub))

    def attach(
        self, sub: Subscription, tips: dict[str, Position], values: list[Item], now: float
    ) -> None:
        """The shell subscribed the bus: start streams at ``tips``, deliver current ``values``."""
        if self.subs.get(sub.id) is not sub or self.closing is not None:
            return
        sub.tips = tips
        sub.start(tips)
        for item in values:
            if sub.covers(item.topic):
                sub.offer(item, now)
        if sub.resolved():
            self._confirm(sub)
        self._enforce_budget()

    def _confirm(self, sub: Subscription) -> None:
        sub.confirmed = True
        self.outbox.push({**sub.reply(sub.tips), "id": sub.request})
        for stream in sub.streams.values():
            if stream.pending():
                self.outbox.mark(stream, sub)

    def _unsubscribe(self, op: wire.Unsubscribe) -> None:
        sub = self.subs.pop(op.sub, None)
        if sub is None:
            raise wire.WireError("no_such_sub", f"no subscription {op.sub} on this connection")
        for stream in sub.streams.values():
            self.outbox.forget(stream)
        sub.clear()
        self._routes.clear()
        self.effects.append(Detach(sub))
        self.outbox.push({"op": "unsubscribed", "sub": op.sub, "id": op.id})

    # -- acks and history ------------------------------------------------------------------

    def _ack(self, op: wire.Ack) -> None:
        if op.sub is not None:
            sub = self.subs.get(op.sub)
            if sub is None:
                raise wire.WireError("no_such_sub", f"no subscription {op.sub} on this connection")
            subs = [sub]
        else:
            subs = self._route(op.topic, cache=False)
        found = False
        for sub in subs:
            stream = sub.streams.get(op.topic)
            if not isinstance(stream, ReliableStream):
                continue
            found = True
            refusal = stream.ack(op.seq, op.epoch)
            if refusal is not None:
                raise wire.WireError("bad_ack", refusal)
            if sub.confirmed and stream.pending():
                self.outbox.mark(stream, sub)
        if not found:
            raise wire.WireError("no_such_sub", f"no reliable subscription of {op.topic!r} here")
        self.counts["acks"] += 1

    def _request_fetch(self, sub_id: int, stream: ReliableStream) -> None:
        assert stream.epoch is not None and stream.next is not None
        limit = min(self.limits.reliable.page, self.limits.reliable.backlog)
        after = stream.next - 1
        fetch = Fetch(sub_id, stream, stream.topic, stream.epoch, after, limit, stream.resuming)
        self.effects.append(fetch)

    def fetched(self, fetch: Fetch, result: Fetched, now: float) -> None:
        """The shell read history for ``fetch``."""
        sub = self.subs.get(fetch.sub)
        if sub is None or sub.streams.get(fetch.topic) is not fetch.stream:
            return
        if fetch.stream.fetched(result) and sub.confirmed:
            self.outbox.mark(fetch.stream, sub)
        if not sub.confirmed and sub.resolved():
            self._confirm(sub)
        self._enforce_budget()

    def check_tip(self, topic: str, epoch: str, seq: int) -> None:
        """A publisher's heartbeat or welcome says where ``topic`` stands (a reliable topic
        that no message has brought yet gets its stream here)."""
        for sub in self._route(topic, cache=False):
            if not sub.attached or sub.mode_for(topic) != "reliable":
                continue
            stream = sub.stream(topic)
            if isinstance(stream, ReliableStream):
                stream.check_tip(epoch, seq)

    # -- input from the bus ----------------------------------------------------------------

    def _route(self, topic: str, cache: bool = True) -> list[Subscription]:
        found = self._routes.get(topic)
        if found is None:
            found = [sub for sub in self.subs.values() if sub.covers(topic)]
            if cache:
                self._routes[topic] = found
        return found

    def wants(self, topic: str) -> bool:
        """Whether some subscription covers ``topic``."""
        return bool(self._route(topic))

    def offer(self, item: Item, now: float) -> None:
        """Take one bus message for every subscription that covers it."""
        if self.closing is not None:
            return
        for sub in self._route(item.topic):
            stream = sub.offer(item, now)
            if stream is not None and sub.confirmed:
                self.outbox.mark(stream, sub)
            reliable = sub.streams.get(item.topic)
            if isinstance(reliable, ReliableStream) and reliable.overflow:
                self.close(wire.CLOSE_SLOW, reliable.overflow)
                return
        self._enforce_budget()

    def _enforce_budget(self) -> None:
        if not self._over():
            return
        for stream in self._sheddable():
            while self._over() and stream.shed():
                self.counts["shed"] += 1
            if not self._over():
                return
        self.close(
            wire.CLOSE_SLOW,
            f"connection budget exceeded: {self.budget.bytes} bytes, {self.budget.messages}"
            f" messages held (limits {self.limits.max_bytes}, {self.limits.max_messages});"
            " resume with since",
        )

    def _over(self) -> bool:
        budget, limits = self.budget, self.limits
        return budget.bytes > limits.max_bytes or budget.messages > limits.max_messages

    def _sheddable(self) -> Iterator[Stream]:
        streams = [s for sub in self.subs.values() for s in sub.streams.values()]
        yield from (s for s in streams if is_frame(s.topic))
        yield from (s for s in streams if isinstance(s, QueueStream))
        yield from (s for s in streams if isinstance(s, LatestStream) and not is_frame(s.topic))

    # -- output ----------------------------------------------------------------------------

    def next_out(self, now: float) -> Frame | None:
        """The next message to write, as ``(data, binary)``, or None if nothing may go now."""
        return self.outbox.next(now)

    def deadline(self, now: float) -> float | None:
        """When a paced message becomes sendable (None: nothing is paced)."""
        return self.outbox.deadline(now)

    def tick(self, now: float) -> None:
        """Redeliver what waited past the ack timeout; send the periodic status."""
        for sub in self.subs.values():
            if not sub.confirmed:
                continue
            for stream in sub.streams.values():
                if isinstance(stream, ReliableStream) and stream.timeline and stream.due(now):
                    self.outbox.mark(stream, sub)
        interval = self.limits.status_interval
        if interval > 0 and self.subs and now >= self._next_status:
            self._next_status = now + interval
            self.outbox.push(self.status(now))

    def answer(self, id: wire.Id, result: Any) -> None:
        """The reply of a ``call`` or ``publish``."""
        self.outbox.push({"op": "reply", "id": id, "result": result})

    def refuse(self, id: wire.Id, code: str, message: str) -> None:
        """An error reply to a ``call`` or ``publish``."""
        self._error(code, message, id)

    def close(self, code: int, reason: str) -> None:
        """Ask the shell to close the connection; what was queued is released."""
        if self.closing is None:
            self.closing = (code, reason[:120])
            for sub in self.subs.values():
                sub.clear()
            self.outbox.clear()

    def _error(self, code: str, message: str, id: wire.Id = None) -> None:
        self.counts["errors"] += 1
        self.outbox.push(wire.error(code, message, id))

    # -- introspection ---------------------------------------------------------------------

    def status(self, now: float) -> dict[str, Any]:
        """The ``status`` message: per subscription queued, dropped, unacked and lag."""
        return {
            "op": "status",
            "subs": {str(i): sub.status(now) for i, sub in self.subs.items()},
            "held_bytes": self.budget.bytes,
            "held_messages": self.budget.messages,
        }

    def describe(self, now: float) -> dict[str, Any]:
        """What ``/api/v1/connections`` shows of this session."""
        counts = {**self.counts, "messages": self.outbox.messages}
        counts["redelivered"] = self.outbox.redelivered
        return {
            "id": self.id,
            "name": self.name,
            "format": self.fmt,
            "age_s": round(now - self.opened, 3),
            "held_bytes": self.budget.bytes,
            "held_messages": self.budget.messages,
            "counts": counts,
            "subs": {str(i): sub.status(now) for i, sub in self.subs.items()},
        }
