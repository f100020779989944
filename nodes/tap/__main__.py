"""``cuecast tap`` (or ``python -m nodes.tap``): the debugging tool for the bus.

Every verb is a module with ``register(verbs, parents)``; this file builds the parser, sets up
logging once, and is the one boundary where errors become a message and an exit status (see
:mod:`nodes.tap.errors`): a user error never shows a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from nodes.runtime import setup_logging
from nodes.tap import call, echo, listing, monitor, play, publish, rate, record
from nodes.tap.errors import EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE, TapError
from nodes.tap.session import common_parser
from protocol.errors import ConfigError, ControlError, ControlTimeout, CuecastError, ProtocolError

EPILOG = """examples:
  cuecast tap list                          # topics, publishers, rates; nodes and liveness
  cuecast tap list --watch                  # refreshed in place
  cuecast tap info core.state               # one topic in detail
  cuecast tap echo core.event --json        # events as JSON lines
  cuecast tap hz core.state 'vision.detections.*'
  cuecast tap delay core.state              # capture-to-now latency and jitter
  cuecast tap call core predict_shot '{"direction_deg": 30, "speed": 2}'
  cuecast tap describe vision --schemas
  cuecast tap pub system.alert.tap-pub '{"node": "tap-pub", "level": "info", "code": "hi",
      "message": "hello"}'
  cuecast tap monitor                       # connects, disconnects, handshake failures
  cuecast tap record session.mcap           # open it in Foxglove or Lichtblick
  cuecast tap play session.mcap --topic vision. --loop   # drive core and bridge, no camera

`cuecast tap VERB --help` shows each verb's options and examples. Exit status: 0 ok, 1 failed,
2 usage error, 3 nothing to talk to (no run dir, no nodes, no reply), 4 timed out.
"""

VERBS = (listing, echo, rate, call, publish, monitor, record, play)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every verb."""
    parser = argparse.ArgumentParser(
        prog="cuecast tap",
        description="See, measure, call, record and replay the cuecast bus.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = parser.add_subparsers(title="verbs", metavar="VERB")
    parents = [common_parser()]
    for module in VERBS:
        module.register(verbs, parents)
    return parser


def _status(exc: CuecastError) -> int:
    if isinstance(exc, TapError):
        return exc.status
    if isinstance(exc, ControlTimeout):
        return EXIT_UNREACHABLE
    if isinstance(exc, ConfigError | ProtocolError):
        return EXIT_USAGE
    return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    setup_logging(getattr(args, "log_level", "warning"), "tap")
    try:
        status: int = args.handler(args)
    except CuecastError as exc:
        kind = "" if isinstance(exc, TapError | ControlError) else f"{type(exc).__name__}: "
        print(f"cuecast tap {args.verb}: error: {kind}{exc}", file=sys.stderr)
        return _status(exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
