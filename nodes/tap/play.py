"""``cuecast tap play``: republish a recording onto the bus with its original timing.

The tap publishes as a node of its own (kind ``tap``, name ``tap-play`` unless ``--name``), so
the core, the bridge and the viewer discover it through the run dir and take the recorded
topics from it: a recorded session drives the system with no camera at all. Each concrete topic
has exactly one publisher, so ``play`` refuses topics that a running node publishes: play them
while their original publisher is stopped, select others with ``--topic``/``--exclude``, or
rename them with ``--remap``. Messages get new headers (the tap's epoch and seqs); bodies and
blobs are the recorded bytes, with times shifted to now (see :mod:`nodes.tap.timeline`).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from mcap.exceptions import McapError
from mcap.reader import McapReader, make_reader

from nodes.runtime import NodeRuntime
from nodes.tap import selection as select
from nodes.tap import timeline
from nodes.tap.errors import TapError, usage
from nodes.tap.progress import Progress
from nodes.tap.session import Session, TapConfig, load_config, run
from protocol import topics
from protocol.errors import ProtocolError, TopicError

EXAMPLES = """examples:
  cuecast tap play session.mcap                     # everything recorded, nothing else running
  cuecast tap play session.mcap --topic vision.     # feed a running core (and bridge) with the
                                                    # recorded camera: no camera needed
  cuecast tap play session.mcap --rate 0.5 --loop   # half speed, forever
  cuecast tap play session.mcap --start 20 --duration 10
  cuecast tap play session.mcap --remap vision.detections.cam0=vision.detections.cam9

By default system.heartbeat.* is not replayed (a recorded heartbeat would make a stopped node
look alive); --heartbeats replays it. Times (t_origin_ns, t_capture_ns, t_ns) are shifted to now
so latency figures stay meaningful; --keep-times publishes the recorded ones.
"""

DEFAULT_EXCLUDE = (topics.HEARTBEAT_PREFIX, topics.WELCOME_PREFIX)


def register(verbs: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``play``."""
    p = verbs.add_parser(
        "play",
        parents=parents,
        help="republish a recording with its original timing",
        description=(__doc__ or "").split("\n\n", 1)[1].strip(),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = p.add_argument
    add("file", type=Path, metavar="FILE.mcap", help="a recording made by `cuecast tap record`")
    add("--topic", action="append", default=[], metavar="PATTERN", help="only these; repeat")
    add("-x", "--exclude", action="append", default=[], metavar="PATTERN", help="skip these")
    add(
        "--remap",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="publish topic (or prefix.) OLD as NEW; repeat",
    )
    add("-r", "--rate", type=float, default=1.0, metavar="X", help="speed factor (default 1)")
    add("-l", "--loop", action="store_true", help="start over at the end, until Ctrl-C")
    add("--start", type=float, default=0.0, metavar="S", help="skip the first S seconds")
    add("--duration", type=float, metavar="S", help="play only S seconds of the recording")
    add("--keep-times", action="store_true", help="publish recorded times, not shifted to now")
    add("--heartbeats", action="store_true", help="replay system.heartbeat.* too")
    add(
        "--wait",
        type=float,
        default=2.0,
        metavar="S",
        help="wait up to S seconds for a subscriber before starting (default 2)",
    )
    add("--name", default="tap-play", help="node name of the tap (default tap-play)")
    add("--force", action="store_true", help="publish topics a running node publishes too")
    p.set_defaults(handler=main, verb="play")


class Player:
    """Reads the file and publishes on schedule."""

    def __init__(
        self,
        args: argparse.Namespace,
        reader: McapReader,
        sources: dict[str, timeline.Source],
        remaps: list[tuple[str, str]],
        span: tuple[int, int],
    ) -> None:
        self.args = args
        self.reader = reader
        self.sources = sources
        self.by_channel = {s.channel: s for s in sources.values()}
        self.remaps = remaps
        self.first = span[0] + int(args.start * 1e9)
        end = span[1] + 1
        self.end = end if args.duration is None else min(end, self.first + int(args.duration * 1e9))
        self.sent = 0
        self.late = 0
        self.bad = 0
        self.passes = 0
        self.position = 0.0

    def targets(self) -> dict[str, str]:
        """Recorded topic -> published topic."""
        return {t: timeline.remap(t, self.remaps) for t in self.sources}

    async def play_once(self, node: NodeRuntime[TapConfig], progress: Progress) -> None:
        """One pass over the selected range."""
        self.passes += 1
        clock = timeline.Clock(self.first, time.time_ns(), self.args.rate)
        loop = asyncio.get_running_loop()
        mono0, wall0 = loop.time(), clock.wall0
        for schema, channel, message in self.reader.iter_messages(
            topics=list(self.by_channel),
            start_time=self.first,
            end_time=self.end,
            log_time_order=True,
        ):
            due = (clock.wall(message.log_time) - wall0) / 1e9
            delay = mono0 + due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.02:
                self.late += 1
            self._publish(node, schema, channel.topic, message, clock)
            self.position = (message.log_time - self.first) / 1e9
            progress.show(self.status())

    def _publish(
        self,
        node: NodeRuntime[TapConfig],
        schema: Any,
        channel: str,
        message: Any,
        clock: timeline.Clock,
    ) -> None:
        source = self.by_channel[channel]
        try:
            item = timeline.item(source, schema, message, timeline.remap(source.topic, self.remaps))
        except ProtocolError:
            self.bad += 1
            return
        body, origin = item.body, item.t_origin_ns
        if not self.args.keep_times:
            body, origin = timeline.retime(body, clock), clock.wall(origin)
        node.publisher.publish_encoded(
            item.topic, item.type, body, t_origin_ns=origin, blobs=item.blobs
        )
        self.sent += 1

    def status(self) -> str:
        """The progress line."""
        total = (self.end - self.first) / 1e9
        share = 100 * self.position / total if total > 0 else 100
        return (
            f"playing {self.args.file}: {self.position:.1f}/{total:.1f} s ({share:.0f}%)"
            f" x{self.args.rate:g}, pass {self.passes}, {self.sent} msgs, late {self.late},"
            f" unreadable {self.bad}"
        )


def open_reader(path: Path) -> tuple[McapReader, Any]:
    """A seeking reader and its open stream (usage error if not an MCAP file)."""
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise usage(f"cannot open {path}: {exc.strerror}") from None
    try:
        reader = make_reader(stream)
        summary = reader.get_summary()
    except (McapError, ValueError, OSError) as exc:
        stream.close()
        raise usage(f"{path} is not a readable MCAP file: {exc}") from None
    if summary is None or summary.statistics is None or not summary.statistics.message_count:
        stream.close()
        raise usage(f"{path} has no messages (or no summary: run `mcap recover` on it)")
    return reader, stream


def main(args: argparse.Namespace) -> int:
    """Run ``play``."""
    if args.rate <= 0 or args.start < 0 or (args.duration is not None and args.duration <= 0):
        raise usage("--rate and --duration must be positive and --start not negative")
    try:
        topics.name(args.name, "node name")
        remaps = timeline.parse_remaps(args.remap)
    except (TopicError, ValueError) as exc:
        raise usage(str(exc)) from None
    exclude = [*args.exclude, *([] if args.heartbeats else DEFAULT_EXCLUDE)]
    selection = select.build(args.topic, exclude)
    reader, stream = open_reader(args.file)
    try:
        summary = reader.get_summary()
        assert summary is not None and summary.statistics is not None
        span = (summary.statistics.message_start_time, summary.statistics.message_end_time)
        sources = {
            t: s for t, s in timeline.plan(list(summary.channels.values())).items() if selection(t)
        }
        if not sources:
            raise usage(f"no recorded topic of {args.file} is selected")
        player = Player(args, reader, sources, remaps, span)
        config = load_config(args, name=args.name)
        return run(lambda: _play(args, config, player))
    finally:
        stream.close()


async def _live_topics(config: TapConfig) -> dict[str, list[str]]:
    session = Session(config)
    try:
        if not session.nodes() and not config.peers:
            return {}
        session.subscribe(lambda env: None, fill_gaps=False)
        await session.start()
        await asyncio.sleep(0.2)  # the other publishers' welcomes
        sub = session.subscriber
        assert sub is not None
        return {n: list(w.topics) for n, w in sub.welcomed.items() if n != config.name}
    finally:
        await session.close()


async def _play(args: argparse.Namespace, config: TapConfig, player: Player) -> int:
    clashes = timeline.conflicts(player.targets(), await _live_topics(config))
    if clashes and not args.force:
        raise usage(
            "running nodes already publish: " + ", ".join(clashes) + "; a topic has"
            " exactly one publisher: stop them, or select topics (--topic, --exclude),"
            " or rename them (--remap), or --force"
        )
    async with NodeRuntime(config, "tap") as node:
        await _wait_for_subscriber(node, player, args.wait)
        progress = Progress()
        task = asyncio.ensure_future(_passes(node, player, progress))
        stop = asyncio.ensure_future(node.wait())
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        for pending in (task, stop):
            pending.cancel()
        await asyncio.gather(task, stop, return_exceptions=True)
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise TapError(f"playback failed: {task.exception()}")
        await asyncio.sleep(0.1)  # let the last messages leave
        progress.done(
            f"played {player.sent} messages from {args.file} in {player.passes}"
            f" pass(es); late {player.late}, unreadable {player.bad}"
        )
    return node.exit_code


async def _passes(node: NodeRuntime[TapConfig], player: Player, progress: Progress) -> None:
    while True:
        await player.play_once(node, progress)
        if not player.args.loop:
            return


async def _wait_for_subscriber(
    node: NodeRuntime[TapConfig], player: Player, seconds: float
) -> None:
    targets = set(player.targets().values())
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(node.publisher.wanted(t) for t in targets):
            return
        await asyncio.sleep(0.02)
