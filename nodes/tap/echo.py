"""``cuecast tap echo``: print the messages of some topics, filtered and formatted."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from nodes.tap import fields as projection
from nodes.tap import format as fmt
from nodes.tap import selection as select
from nodes.tap import where
from nodes.tap.errors import EXIT_OK, EXIT_TIMEOUT, TapError, usage
from nodes.tap.message import Decoded, decode, frames, header_dict, save_blobs, with_header
from nodes.tap.session import Session, load_config, run, snapshot
from protocol import Envelope

EXAMPLES = """examples:
  cuecast tap echo core.state -n 1                 # the current state, once
  cuecast tap echo core.event --json               # events as JSON lines
  cuecast tap echo 'vision.detections.*' --fields frame,balls.*.x
  cuecast tap echo core.state --where 'balls.*.number eq 8' --where 'moving eq true'
  cuecast tap echo core --exclude core.trajectory  # every core.* topic but one
  cuecast tap echo vision.frame.cam0.720p -n 5 --save-blobs /tmp/frames   # look at JPEGs
  cuecast tap echo system.alert. --headers --timeout 10
  cuecast tap echo core.state --hex -n 1           # the raw frames

Patterns: a topic (core.state), a prefix at a dot (core or core.), or a glob (* is one segment,
** any number). Give exact frame topics: a prefix or glob over vision.frame makes the vision
node encode every rendition while you watch.
"""


@dataclass(frozen=True, slots=True)
class Options:
    """What and how to print."""

    fields: tuple[projection.Path, ...] = ()
    conditions: tuple[where.Condition, ...] = ()
    mode: str = "pretty"
    headers: bool = False
    max_items: int = 32
    save_blobs: Path | None = None
    full: bool = False


def register(verbs: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``echo`` verb."""
    p = verbs.add_parser(
        "echo",
        parents=parents,
        help="print messages of topics (filters, fields, JSON, hex)",
        description="Print the messages of one or more topics as they arrive.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("topics", nargs="+", metavar="TOPIC", help="topic, prefix or glob")
    p.add_argument("-n", "--count", type=int, metavar="N", help="stop after N messages")
    p.add_argument("--once", action="store_true", help="stop after one message (-n 1)")
    p.add_argument("--timeout", type=float, metavar="S", help="give up after S seconds (exit 4)")
    p.add_argument("-x", "--exclude", action="append", default=[], metavar="PATTERN")
    p.add_argument(
        "--fields",
        action="append",
        default=[],
        metavar="PATHS",
        help="print only these dotted paths (comma-separated, * for every element)",
    )
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COND",
        help="keep messages where 'path op value' holds (eq ne lt le gt ge in)",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument(
        "--json", dest="mode", action="store_const", const="json", help="one JSON object per line"
    )
    out.add_argument(
        "--hex", dest="mode", action="store_const", const="hex", help="hex dump of the raw frames"
    )
    p.add_argument("--headers", action="store_true", help="show the envelope header")
    p.add_argument(
        "--save-blobs",
        type=Path,
        metavar="DIR",
        help="write blobs (JPEG frames) to DIR/<topic>-<seq>.jpg",
    )
    p.add_argument(
        "--max-items",
        type=int,
        default=32,
        metavar="N",
        help="show at most N list items in pretty output (default 32)",
    )
    p.add_argument("--full", action="store_true", help="no truncation (lists, hex dumps)")
    p.add_argument(
        "--no-snapshot",
        action="store_true",
        help="do not print the current value of latest topics at once",
    )
    p.add_argument(
        "--no-fill",
        action="store_true",
        help="do not fill gaps of reliable topics from the publisher's journal",
    )
    p.add_argument("--any", action="store_true", help="accept topics of unknown families")
    p.add_argument("--all", action="store_true", help="include handshake topics (system.welcome)")
    p.set_defaults(handler=main, verb="echo", mode="pretty")


def options(args: argparse.Namespace) -> Options:
    """Parse fields and conditions (usage errors on bad syntax)."""
    try:
        paths = tuple(projection.parse(args.fields))
        conditions = tuple(where.parse(c) for c in args.where)
    except ValueError as exc:
        raise usage(str(exc)) from None
    return Options(
        fields=paths,
        conditions=conditions,
        mode=args.mode,
        headers=args.headers,
        max_items=10**9 if args.full else args.max_items,
        save_blobs=args.save_blobs,
        full=args.full,
    )


class Printer:
    """Turns envelopes into output lines."""

    def __init__(self, opts: Options, out: TextIO) -> None:
        self.opts = opts
        self.out = out

    def show(self, env: Envelope) -> bool:
        """Print ``env`` if it passes the conditions; returns whether it was printed."""
        decoded = decode(env)
        if self.opts.conditions and not where.evaluate_all(
            self.opts.conditions, with_header(env, decoded.data)
        ):
            return False
        if self.opts.save_blobs is not None and env.blobs:
            decoded.files = save_blobs(self.opts.save_blobs, env, decoded.data)
        lines = {"json": self._json, "hex": self._hex}.get(self.opts.mode, self._pretty)(
            env, decoded
        )
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()
        return True

    def _data(self, env: Envelope, decoded: Decoded) -> Any:
        if not self.opts.fields:
            return decoded.data
        return projection.project(with_header(env, decoded.data), self.opts.fields)

    def _blobs(self, env: Envelope, decoded: Decoded) -> list[dict[str, Any]]:
        files = decoded.files + [""] * (len(env.blobs) - len(decoded.files))
        return [
            {"size": len(b), **({"file": f} if f else {})}
            for b, f in zip(env.blobs, files, strict=True)
        ]

    def _json(self, env: Envelope, decoded: Decoded) -> list[str]:
        record: dict[str, Any] = {"topic": env.topic, "type": env.header.type}
        if self.opts.headers:
            record["header"] = header_dict(env)
            record["recv_ns"] = time.time_ns()
        record["data"] = self._data(env, decoded)
        if env.blobs:
            record["blobs"] = self._blobs(env, decoded)
        if decoded.error:
            record["error"] = decoded.error
        return [fmt.json_text(record)]

    def _pretty(self, env: Envelope, decoded: Decoded) -> list[str]:
        lines = [f"--- {env.topic} #{env.header.seq}"]
        if self.opts.headers:
            age = (time.time_ns() - env.header.t_origin_ns) / 1e9
            lines.append(f"header: {fmt.json_text(header_dict(env))}  (age {fmt.seconds(age)})")
        if decoded.error:
            lines.append(f"# {decoded.error}")
        data = self._data(env, decoded)
        if self.opts.fields and len(self.opts.fields) == 1:
            data = next(iter(data.values()))
        lines.extend(fmt.pretty(data, max_items=self.opts.max_items))
        lines.extend(self._blob_lines(env, decoded))
        return lines

    def _blob_lines(self, env: Envelope, decoded: Decoded) -> list[str]:
        if not env.blobs:
            return []
        return ["blobs:"] + [
            f"  - {fmt.size(b['size'])} ({b['size']} bytes)"
            + (f" -> {b['file']}" if "file" in b else "")
            for b in self._blobs(env, decoded)
        ]

    def _hex(self, env: Envelope, decoded: Decoded) -> list[str]:
        names = ["topic", "header", "body"] + [f"blob {i}" for i in range(len(env.blobs))]
        lines = [f"--- {env.topic} #{env.header.seq}: {len(names)} frames"]
        limit = None if self.opts.full else 256
        for name, frame in zip(names, frames(env), strict=True):
            lines.append(f"[{name}] {len(frame)} bytes")
            lines.extend(fmt.hexdump(frame, limit=limit if name != "topic" else None))
        return lines


class Echo:
    """Receives, filters, prints and counts."""

    def __init__(
        self, session: Session, selection: select.Selection, printer: Printer, count: int | None
    ) -> None:
        self.session = session
        self.selection = selection
        self.printer = printer
        self.count = count
        self.printed = 0

    def on_message(self, env: Envelope) -> None:
        """Subscriber callback."""
        if self.session.stopped.is_set() or not self.selection(env.topic):
            return
        try:
            shown = self.printer.show(env)
        except BrokenPipeError:
            self.session.stopped.set()
            return
        if shown:
            self.printed += 1
            if self.count is not None and self.printed >= self.count:
                self.session.stopped.set()


def main(args: argparse.Namespace) -> int:
    """Run ``echo``."""
    selection = select.build(args.topics, args.exclude, hidden=args.all)
    opts = options(args)
    count = 1 if args.once else args.count
    if count is not None and count < 1:
        raise usage("-n must be at least 1")
    return run(lambda: _echo(args, selection, opts, count))


async def _echo(
    args: argparse.Namespace, selection: select.Selection, opts: Options, count: int | None
) -> int:
    session = Session(load_config(args))
    try:
        session.require_system()
        echo = Echo(session, selection, Printer(opts, sys.stdout), count)
        sub = session.subscribe(echo.on_message, fill_gaps=not args.no_fill)
        for prefix in selection.prefixes():
            sub.subscribe(prefix)
        session.install_signals()
        await session.start()
        if not args.any:
            select.check_known(selection, session.live_topics())
        if not args.no_snapshot:
            await snapshot(session, selection.prefixes(), selection)
        stopped = await session.sleep(args.timeout)
        if not stopped and (count is not None or echo.printed == 0):
            wanted = f"{count} message(s)" if count is not None else "a message"
            raise TapError(
                f"timed out after {args.timeout:g} s: got {echo.printed} of {wanted} on"
                f" {', '.join(args.topics)}",
                EXIT_TIMEOUT,
            )
        return EXIT_OK
    finally:
        await session.close()
