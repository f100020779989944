"""A progress line on stderr: rewritten in place on a terminal, one line per period otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Shows a status line at most every ``period`` seconds."""

    def __init__(self, stream: TextIO | None = None, period: float | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.period = period if period is not None else (0.5 if self.tty else 5.0)
        self.last = 0.0
        self.width = 0

    def show(self, text: str, *, force: bool = False) -> None:
        """Print ``text`` if the period has passed (or ``force``)."""
        now = time.monotonic()
        if not force and now - self.last < self.period:
            return
        self.last = now
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self, text: str) -> None:
        """The final line."""
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
        self.stream.write(text + "\n")
        self.stream.flush()
