"""Bounded in-memory rings of published states and events, for the ``history`` request.

The reliable ``core.event`` journal (in the node shell) is the durable record; these rings answer
"what happened since t" quickly and are bounded by count, so memory never grows.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Mapping
from typing import Any

from protocol.errors import ControlError
from protocol.messages import Event, State

ARGS = frozenset({"since_ns", "until_ns", "limit", "states", "events"})
MAX_LIMIT = 10_000


def _int_arg(args: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = args.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ControlError("bad_request", f"{key} must be an integer, got {value!r}")
    return value


def _bool_arg(args: Mapping[str, Any], key: str) -> bool:
    value = args.get(key, True)
    if not isinstance(value, bool):
        raise ControlError("bad_request", f"{key} must be true or false, got {value!r}")
    return value


class History:
    """The newest ``max_states`` published states and ``max_events`` events."""

    def __init__(self, max_states: int = 2000, max_events: int = 5000) -> None:
        self.states: deque[State] = deque(maxlen=max_states)
        self.events: deque[Event] = deque(maxlen=max_events)

    def add_state(self, state: State) -> None:
        """Remember a published state."""
        self.states.append(state)

    def add_events(self, events: list[Event]) -> None:
        """Remember released events."""
        self.events.extend(events)

    def query(self, args: Any) -> dict[str, Any]:
        """Answer a ``history`` request: ``{since_ns, until_ns?, limit?, states?, events?}``.

        Returns ``states`` and ``events`` (each event as ``{"type", "data"}``, since one list
        holds many schemas) with ``since_ns <= t < until_ns``, oldest first, at most ``limit``
        of each (the oldest ones), and ``truncated`` if the rings no longer reach ``since_ns``
        or ``limit`` cut the answer short.
        """
        if not isinstance(args, Mapping):
            raise ControlError("bad_request", "history arguments must be an object")
        unknown = sorted(str(k) for k in args if k not in ARGS)
        if unknown:
            raise ControlError("bad_request", f"history: unknown field(s) {', '.join(unknown)}")
        since = _int_arg(args, "since_ns", 0) or 0
        until = _int_arg(args, "until_ns", None)
        limit = _int_arg(args, "limit", 1000) or 0
        if not 0 < limit <= MAX_LIMIT:
            raise ControlError("bad_request", f"limit must be 1-{MAX_LIMIT}, got {limit}")
        states = self._window(self.states, since, until, limit, lambda s: s.t_capture_ns)
        events = self._window(self.events, since, until, limit, lambda e: e.t_ns)
        cut = len(states) == limit or len(events) == limit
        older = (self.states and self.states[0].t_capture_ns > since) or (
            self.events and self.events[0].t_ns > since
        )
        return {
            "states": states if _bool_arg(args, "states") else [],
            "events": [{"type": e.TYPE, "data": e} for e in events]
            if _bool_arg(args, "events")
            else [],
            "truncated": bool(cut or (older and self._full())),
        }

    def _full(self) -> bool:
        return len(self.states) == self.states.maxlen or len(self.events) == self.events.maxlen

    @staticmethod
    def _window(ring: deque[Any], since: int, until: int | None, limit: int, key: Any) -> list[Any]:
        items = list(ring)
        times = [key(x) for x in items]
        lo = bisect.bisect_left(times, since)
        hi = len(items) if until is None else bisect.bisect_left(times, until)
        return items[lo : min(hi, lo + limit)]
