"""Logging setup, done once in each process's ``main()``, never at import."""

from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)-7s {node} %(name)s: %(message)s"


def setup_logging(level: str, node: str) -> None:
    """Log to stderr with the node name on every line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT.format(node=node), datefmt="%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    logging.captureWarnings(True)


class Once:
    """Log a repeated condition once per key, then only count it."""

    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger
        self.counts: dict[str, int] = {}

    def warning(self, key: str, msg: str, *args: object) -> None:
        """Log ``msg`` the first time ``key`` is seen; count every time."""
        count = self.counts.get(key, 0) + 1
        self.counts[key] = count
        if count == 1:
            self._log.warning(msg + " (further occurrences are counted, not logged)", *args)
