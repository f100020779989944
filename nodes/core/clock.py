"""The core's clock: capture nanoseconds on the wire, float seconds inside.

The first frame's ``t_capture_ns`` is time zero, so float seconds keep sub-microsecond precision
for weeks; every event and state converts back with :meth:`Clock.ns`.
"""

from __future__ import annotations


class Clock:
    """Converts between capture nanoseconds and seconds since the first frame."""

    __slots__ = ("t0_ns",)

    def __init__(self) -> None:
        self.t0_ns: int | None = None

    def seconds(self, t_ns: int) -> float:
        """Seconds since the first frame (which sets the origin)."""
        if self.t0_ns is None:
            self.t0_ns = t_ns
        return (t_ns - self.t0_ns) * 1.0e-9

    def ns(self, t: float) -> int:
        """Capture nanoseconds of ``t`` seconds since the first frame."""
        return (self.t0_ns or 0) + round(t * 1.0e9)
