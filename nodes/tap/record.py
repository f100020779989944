"""``cuecast tap record``: the bus to MCAP, continuously or as a ring buffer dumped on SIGUSR1.

Messages are received on the event loop and written by one writer thread through a bounded
queue, so compression never holds up the socket; if the disk cannot keep up, messages are
dropped and counted (shown on the progress line and at the end). See :mod:`nodes.tap.recorder`
for the channels and schemas in the file.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import queue
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from nodes.runtime.node import VERSION
from nodes.tap import format as fmt
from nodes.tap import selection as select
from nodes.tap.errors import TapError, usage
from nodes.tap.progress import Progress
from nodes.tap.recorder import COMPRESSION, Options, Recorder, Ring, snapshot_name
from nodes.tap.session import Session, load_config, run, snapshot
from protocol import PROTOCOL_VERSION_STRING, Envelope

EXAMPLES = """examples:
  cuecast tap record session.mcap                        # everything, until Ctrl-C
  cuecast tap record session.mcap --duration 60          # one minute
  cuecast tap record game.mcap --topic core. --topic vision.detections.cam0
  cuecast tap record video.mcap --topic vision.frame.cam0.720p --no-raw   # for viewers only
  cuecast tap record long.mcap --split-duration 600      # long_000.mcap, long_001.mcap ...
  cuecast tap record last.mcap --ring 30 --dump-on-exit  # keep 30 s; kill -USR1 PID writes them

Open the file in Foxglove or Lichtblick: JSON channels with JSON Schemas, frames as
foxglove.CompressedImage (video). <topic>/msgpack channels keep the raw envelopes for `play`.
Recording everything subscribes to every frame rendition: give --topic to record fewer.
"""


def register(verbs: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``record``."""
    p = verbs.add_parser(
        "record",
        parents=parents,
        help="record topics to an MCAP file (Foxglove, Lichtblick)",
        description="Record the bus to MCAP. " + (__doc__ or "").split("\n\n", 1)[1].strip(),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = p.add_argument
    add("file", type=Path, metavar="FILE.mcap", help="output file")
    add(
        "--topic",
        action="append",
        default=[],
        metavar="PATTERN",
        help="record topics matching PATTERN (topic, prefix or glob); repeat; default: all",
    )
    add("-x", "--exclude", action="append", default=[], metavar="PATTERN", help="skip these")
    add("--duration", type=float, metavar="S", help="stop after S seconds")
    add("-n", "--count", type=int, metavar="N", help="stop after N messages")
    add("--split-size", type=float, metavar="MB", help="start a new file every MB megabytes")
    add("--split-duration", type=float, metavar="S", help="start a new file every S seconds")
    add("--compression", choices=sorted(COMPRESSION), default="zstd", help="chunk compression")
    add("--no-raw", action="store_true", help="no <topic>/msgpack channels (viewer-only file)")
    add("--no-json", action="store_true", help="no JSON channels (smaller, not viewable)")
    add(
        "--ring",
        type=float,
        metavar="S",
        help="keep the last S seconds in memory instead; SIGUSR1 writes them to FILE-<time>.mcap",
    )
    add(
        "--ring-max-mb",
        type=float,
        default=1024,
        metavar="MB",
        help="memory bound of the ring (default 1024)",
    )
    add("--dump-on-exit", action="store_true", help="with --ring: also write on exit")
    add("--queue", type=int, default=10_000, metavar="N", help="writer queue length")
    add("--force", action="store_true", help="overwrite existing files")
    add("--wait", action="store_true", help="start even if no node runs yet")
    add("--no-snapshot", action="store_true", help="do not start with current latest values")
    add("--no-fill", action="store_true", help="do not fill reliable gaps from journals")
    add("--any", action="store_true", help="accept topics of unknown families")
    p.set_defaults(handler=main, verb="record")


def options(args: argparse.Namespace, session: Session) -> Options:
    """Writer options, with the recording's metadata."""
    nodes = {name: rec.kind for name, rec in session.nodes().items()}
    return Options(
        json=not args.no_json,
        raw=not args.no_raw,
        compression=args.compression,
        split_bytes=None if args.split_size is None else int(args.split_size * 1e6),
        split_seconds=args.split_duration,
        overwrite=args.force,
        metadata={
            "protocol": PROTOCOL_VERSION_STRING,
            "tap": VERSION,
            "host": socket.gethostname(),
            "run_dir": str(session.run_dir.path),
            "started_ns": str(time.time_ns()),
            "command": " ".join(["cuecast", "tap", *sys.argv[1:]]),
            "topics": json.dumps(args.topic or [""]),
            "exclude": json.dumps(args.exclude),
            "nodes": json.dumps(nodes),
        },
    )


class Recording:
    """Receives on the loop, writes on a thread (or keeps a ring)."""

    def __init__(
        self, session: Session, selection: select.Selection, args: argparse.Namespace, opts: Options
    ) -> None:
        self.session = session
        self.selection = selection
        self.args = args
        self.opts = opts
        self.recorder = Recorder(args.file, opts)
        self.ring = None if args.ring is None else Ring(args.ring, int(args.ring_max_mb * 1e6))
        self.queue: queue.Queue[tuple[int, Envelope] | None] = queue.Queue(args.queue)
        self.thread = threading.Thread(target=self._write, name="mcap-writer", daemon=True)
        self.received = 0
        self.dropped = 0
        self.topics: set[str] = set()
        self.error: Exception | None = None
        self.started = time.monotonic()
        self.dumps: list[Path] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def on_message(self, env: Envelope) -> None:
        """Subscriber callback."""
        if not self.selection(env.topic) or self.session.stopped.is_set():
            return
        self.received += 1
        self.topics.add(env.topic)
        if self.ring is not None:
            self.ring.add(env, time.time_ns())
        else:
            try:
                self.queue.put_nowait((time.time_ns(), env))
            except queue.Full:
                self.dropped += 1
        if self.args.count is not None and self.received >= self.args.count:
            self.session.stopped.set()

    def _write(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is not None:
                continue
            try:
                self.recorder.write(item[1], item[0])
            except (OSError, ValueError) as exc:
                self.error = exc
                self.session_stop()

    def session_stop(self) -> None:
        """Ask the loop to stop (thread-safe)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.session.stopped.set)

    def start(self) -> None:
        """Start the writer thread (continuous mode)."""
        self._loop = asyncio.get_running_loop()
        if self.ring is None:
            self.thread.start()

    async def finish(self) -> list[Path]:
        """Flush the queue and close the files (or dump the ring if asked)."""
        if self.ring is not None:
            if self.args.dump_on_exit:
                await self.dump()
            return self.dumps
        self.queue.put(None)
        await asyncio.to_thread(self.thread.join)
        files = await asyncio.to_thread(self.recorder.close)
        if self.error is not None:
            raise TapError(f"writing {self.args.file} failed: {self.error}")
        return files

    async def dump(self) -> None:
        """Write the ring's contents to a new file."""
        assert self.ring is not None
        items = self.ring.contents()
        path = snapshot_name(self.args.file)
        opts = dataclasses.replace(self.opts, split_bytes=None, split_seconds=None)
        recorder = Recorder(path, opts)
        await asyncio.to_thread(recorder.write_all, items)
        await asyncio.to_thread(recorder.close)
        span = (items[-1][0] - items[0][0]) / 1e9 if items else 0.0
        self.dumps.append(path)
        print(f"wrote {path}: {len(items)} messages, {span:.1f} s", file=sys.stderr, flush=True)

    def status(self) -> str:
        """The progress line."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        if self.ring is not None:
            return (
                f"ring of {self.args.ring:g} s (pid {os.getpid()}, kill -USR1 to write):"
                f" {len(self.ring.items)} msgs, {fmt.size(self.ring.bytes)} held,"
                f" {len(self.topics)} topics, {fmt.seconds(elapsed)}"
            )
        size = self.recorder.size()
        return (
            f"recording {self.args.file}: {self.recorder.messages} msgs"
            f" ({self.received / elapsed:.0f}/s), {fmt.size(size)}"
            f" ({fmt.size(size / elapsed)}/s), {len(self.topics)} topics,"
            f" {fmt.seconds(elapsed)}, queue {self.queue.qsize()}, dropped {self.dropped}"
        )


def main(args: argparse.Namespace) -> int:
    """Run ``record``."""
    selection = select.build(args.topic, args.exclude)
    if args.no_json and args.no_raw:
        raise usage("--no-json and --no-raw together would write nothing")
    if args.ring is None and args.file.exists() and not args.force:
        raise usage(f"{args.file} exists: pass --force to overwrite")
    if not args.file.parent.is_dir():
        raise usage(f"directory {args.file.parent} does not exist")
    return run(lambda: _record(args, selection))


async def _record(args: argparse.Namespace, selection: select.Selection) -> int:
    session = Session(load_config(args))
    try:
        if not args.wait:
            session.require_system()
        recording = Recording(session, selection, args, options(args, session))
        sub = session.subscribe(recording.on_message, fill_gaps=not args.no_fill)
        for prefix in selection.prefixes():
            sub.subscribe(prefix)
        session.install_signals()
        recording.start()
        await session.start(wait=not args.wait)
        if not args.any and not args.wait:
            select.check_known(selection, session.live_topics())
        if not args.no_snapshot and sub.welcomed:
            await snapshot(session, selection.prefixes(), selection)
        await _until_done(session, recording, args)
        files = await recording.finish()
        Progress().done(_summary(recording, files))
        return 0
    finally:
        await session.close()


async def _until_done(session: Session, recording: Recording, args: argparse.Namespace) -> None:
    dump = asyncio.Event()
    if recording.ring is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump.set)
    progress = Progress()
    end = None if args.duration is None else time.monotonic() + args.duration
    try:
        while not session.stopped.is_set():
            left = 0.25 if end is None else min(0.25, end - time.monotonic())
            if left <= 0:
                break
            await session.sleep(left)
            if dump.is_set():
                dump.clear()
                await recording.dump()
            progress.show(recording.status())
    finally:
        if recording.ring is not None:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)


def _summary(recording: Recording, files: list[Path]) -> str:
    elapsed = time.monotonic() - recording.started
    size = sum(p.stat().st_size for p in files if p.exists())
    names = ", ".join(str(p) for p in files) or "no file"
    return (
        f"recorded {recording.received} messages on {len(recording.topics)} topics in"
        f" {fmt.seconds(elapsed)}: {names} ({fmt.size(size)}), dropped {recording.dropped}"
    )
