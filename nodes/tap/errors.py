"""What the tap tells its user when something is wrong, and the exit status that goes with it.

=====  ===============================================================================
 0     success (also after Ctrl-C for commands that run until stopped)
 1     the operation failed (a node replied with an error, a file could not be written)
 2     usage error (bad flag, bad JSON, unknown node, unknown topic family or type)
 3     nothing to talk to (no run dir, no nodes, no reply from a node)
 4     timed out waiting for messages (``echo --timeout``)
=====  ===============================================================================
"""

from __future__ import annotations

from typing import Final

from protocol.errors import CuecastError

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_UNREACHABLE: Final = 3
EXIT_TIMEOUT: Final = 4


class TapError(CuecastError):
    """An error for the user: printed on stderr without a traceback, then exit ``status``."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


def usage(message: str) -> TapError:
    """A usage error (exit status 2)."""
    return TapError(message, EXIT_USAGE)


def unreachable(message: str) -> TapError:
    """Nothing to talk to (exit status 3)."""
    return TapError(message, EXIT_UNREACHABLE)
