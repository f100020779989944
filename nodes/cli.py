"""``cuecast``: one command, a subcommand per process.

Each subcommand is the same code as ``python -m <module>`` and the launchers in ``scripts/``.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from nodes.runtime.node import VERSION

#: subcommand -> (module with main(argv), one-line description)
COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("nodes.up", "start vision, core and bridge on one machine and print the viewer URL"),
    "vision": ("nodes.vision.__main__", "run a vision node: camera, video file or synthetic table"),
    "core": ("nodes.core.__main__", "run the core node: tracking, game events, shot prediction"),
    "bridge": ("bridge", "run the WebSocket/HTTP bridge (viewer, video, REST, metrics)"),
    "tap": ("nodes.tap.__main__", "inspect the bus: list, echo, hz, call, record, play ..."),
}

USAGE = """usage: cuecast <command> [options]

cuecast watches a pool table through a camera and streams what it sees, live, to browsers,
projectors and Python programs.

commands:
{commands}

Every command takes --run-dir DIR (default $CUECAST_RUN_DIR or ~/.local/state/cuecast): processes
started with the same run dir form one system. `cuecast <command> --help` shows its options.

examples:
  cuecast up                      # the whole system on the synthetic camera
  cuecast tap list                # what is on the bus
  cuecast tap echo core.state -n 1
"""


def usage() -> str:
    """The top-level help text."""
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    return USAGE.format(commands="\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``cuecast <command> ...`` to the command's ``main``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] == "--version":
        print(f"cuecast {VERSION}")
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"cuecast: unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = COMMANDS[command][0]
    if command == "bridge":
        # The bridge is its own package; nodes never import it (docs/DESIGN.md §7).
        os.execv(sys.executable, [sys.executable, "-m", module, *rest])  # noqa: S606
    result = importlib.import_module(module).main(rest)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
