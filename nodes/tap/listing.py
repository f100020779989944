"""``cuecast tap list`` and ``cuecast tap info``: what is on the bus, and one topic in detail.

``list`` subscribes only to what it needs: heartbeats, plus each topic the publishers say they
have (welcomes) or are sending (heartbeat rates). A frame topic is watched only while some
node already publishes it, so listing never makes the vision node encode a rendition nobody
wants; ``--all`` subscribes to everything instead.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from nodes.tap import catalog as cat
from nodes.tap import format as fmt
from nodes.tap import selection as select
from nodes.tap.errors import usage
from nodes.tap.message import wire_size
from nodes.tap.session import Session, load_config, run
from protocol import Envelope, messages, topics
from protocol.errors import ControlError, TopicError

LIST_EXAMPLES = """examples:
  cuecast tap list                     # sample 2 s, print topics and nodes
  cuecast tap list core. system.alert  # only some topics
  cuecast tap list --watch             # refresh every second until Ctrl-C
  cuecast tap list --json | jq '.topics[] | {topic, rate_hz}'
"""

INFO_EXAMPLES = """examples:
  cuecast tap info core.state
  cuecast tap info vision.frame.cam0.720p --duration 5
  cuecast tap info core.event --json --schema
"""


def register(verbs: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``list`` and ``info``."""
    p = verbs.add_parser(
        "list",
        parents=parents,
        help="topics, publishers, rates, gaps; nodes and liveness",
        description="List the topics on the bus (rate, bandwidth, last seq, gaps, duplicates,"
        " age) and the nodes of the run dir with their liveness.",
        epilog=LIST_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("patterns", nargs="*", metavar="TOPIC", help="only these topics/prefixes/globs")
    p.add_argument(
        "--duration",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds to measure before printing (default 2)",
    )
    p.add_argument("--watch", action="store_true", help="refresh in place until Ctrl-C")
    p.add_argument(
        "--interval",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds between refreshes with --watch (default 1)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per refresh")
    p.add_argument(
        "--all",
        action="store_true",
        help="subscribe to every topic (makes the vision node encode every rendition)",
    )
    p.set_defaults(handler=list_main, verb="list")
    p = verbs.add_parser(
        "info",
        parents=parents,
        help="one topic in detail: family, publisher, rate, delay",
        description="Measure one topic and describe it: family and delivery class, message"
        " types, publisher and epoch, who subscribes, rate, size, delay, gaps.",
        epilog=INFO_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("topic", metavar="TOPIC", help="an exact topic name")
    p.add_argument(
        "--duration", type=float, default=3.0, metavar="S", help="seconds to measure (default 3)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--schema", action="store_true", help="include the JSON Schema of each type")
    p.add_argument("--any", action="store_true", help="accept a topic of an unknown family")
    p.set_defaults(handler=info_main, verb="info")


class Lister:
    """Feeds the catalog and subscribes to topics as it learns about them."""

    def __init__(
        self, session: Session, selection: select.Selection, window: int = 200, horizon: float = 5.0
    ) -> None:
        self.session = session
        self.selection = selection
        self.catalog = cat.Catalog(window=window, horizon=horizon)
        self.subscribed: set[str] = set()

    def on_message(self, env: Envelope) -> None:
        """Subscriber callback."""
        if self.selection(env.topic) or env.topic.startswith(topics.HEARTBEAT_PREFIX):
            self.catalog.observe(env, wire_size(env), time.monotonic(), time.time_ns())

    def learn(self) -> None:
        """Subscribe to topics announced by welcomes or heartbeats."""
        sub = self.session.subscriber
        assert sub is not None
        for welcome in list(sub.welcomed.values()):
            self.catalog.learn(welcome)
        active = cat.heartbeat_topics(self.catalog)
        for topic in set(self.catalog.topics) | set(active):
            if topic in self.subscribed or not self.selection(topic):
                continue
            spec = topics.spec_for(topic)
            if spec is not None and spec.blobs and active.get(topic, 0.0) <= 0:
                continue
            sub.subscribe(topic)
            self.subscribed.add(topic)

    def topic_rows(self, now: float) -> list[tuple[dict[str, Any], cat.TopicRecord]]:
        """Rows of the selected topics, by name."""
        sub = self.session.subscriber
        assert sub is not None
        rows = []
        for topic in sorted(self.catalog.topics):
            if self.selection(topic):
                rec = self.catalog.topics[topic]
                rows.append((cat.topic_row(rec, sub.tracker.topics.get(topic), now), rec))
        return rows

    def node_rows(self, now: float, waited: float) -> list[dict[str, Any]]:
        """Rows of the nodes of the run dir and those seen on the bus."""
        records = self.session.run_dir.records(include_stale=True)
        names = sorted(set(records) | set(self.catalog.nodes))
        return [
            cat.node_row(n, records.get(n), self.catalog.nodes.get(n), now, waited) for n in names
        ]


def render(lister: Lister, waited: float, as_json: bool) -> str:
    """The list output for now."""
    now = time.monotonic()
    rows = lister.topic_rows(now)
    nodes = lister.node_rows(now, waited)
    if as_json:
        return fmt.json_text({"topics": [r for r, _ in rows], "nodes": nodes})
    lines = fmt.table(cat.TOPIC_HEADERS, [cat.topic_cells(r, rec) for r, rec in rows])
    lines += ["", *fmt.table(cat.NODE_HEADERS, [cat.node_cells(n) for n in nodes])]
    return "\n".join(lines)


def list_main(args: argparse.Namespace) -> int:
    """Run ``list``."""
    selection = select.build(args.patterns)
    return run(lambda: _list(args, selection))


async def _list(args: argparse.Namespace, selection: select.Selection) -> int:
    session = Session(load_config(args))
    try:
        session.require_system()
        lister = Lister(session, selection)
        sub = session.subscribe(lister.on_message, fill_gaps=False)
        sub.subscribe(topics.HEARTBEAT_PREFIX)
        if args.all:
            sub.subscribe("")
        session.install_signals()
        started = time.monotonic()
        await session.start()
        await _refresh(session, lister, args, started)
        return 0
    finally:
        await session.close()


async def _refresh(
    session: Session, lister: Lister, args: argparse.Namespace, started: float
) -> None:
    clear = args.watch and not args.json and sys.stdout.isatty()
    next_render = started + args.duration
    while not session.stopped.is_set():
        lister.learn()
        now = time.monotonic()
        if now >= next_render:
            text = render(lister, now - started, args.json)
            print(("\x1b[H\x1b[2J" if clear else "") + text, flush=True)
            if not args.watch:
                return
            if not clear and not args.json:
                print()
            next_render = now + args.interval
        await session.sleep(min(0.25, max(0.01, next_render - time.monotonic())))


def info_main(args: argparse.Namespace) -> int:
    """Run ``info``."""
    try:
        topics.validate(args.topic)
    except TopicError as exc:
        raise usage(f"{exc} (info takes one exact topic; `list` shows them)") from None
    return run(lambda: _info(args))


async def _info(args: argparse.Namespace) -> int:
    session = Session(load_config(args))
    try:
        session.require_system()
        selection = select.Selection((args.topic,))
        lister = Lister(session, selection, window=100_000, horizon=args.duration + 1)
        sub = session.subscribe(lister.on_message, fill_gaps=False)
        sub.subscribe(args.topic)
        session.install_signals()
        await session.start()
        if not args.any:
            select.check_known(selection, session.live_topics())
        lister.learn()
        await session.sleep(args.duration)
        report = await _report(session, lister, args)
        print(fmt.json_text(report, indent=2) if args.json else "\n".join(describe(report)))
        return 0
    finally:
        await session.close()


async def _report(session: Session, lister: Lister, args: argparse.Namespace) -> dict[str, Any]:
    now = time.monotonic()
    rec = lister.catalog.record(args.topic)
    sub = session.subscriber
    assert sub is not None
    row = cat.topic_row(rec, sub.tracker.topics.get(args.topic), now)
    spec = topics.spec_for(args.topic)
    window = rec.window
    report: dict[str, Any] = {
        **row,
        "family": spec.pattern if spec else None,
        "description": spec.description if spec else None,
        "blobs": spec.blobs if spec else None,
        "intervals_s": _spread(window.intervals()),
        "sizes_bytes": _spread(window.sizes()),
        "delay_s": _spread(window.delays()),
        "transport_s": _spread(window.transport()),
        "watched_by": await _interest(session, rec, args.topic),
    }
    if args.schema:
        report["schemas"] = {
            t: messages.json_schema(t) for t in report["types"] if t in messages.MESSAGES
        }
    return report


def _spread(spread: Any) -> dict[str, float] | None:
    return None if spread is None else {k: round(v, 6) for k, v in cat.as_builtins(spread).items()}


async def _interest(session: Session, rec: cat.TopicRecord, topic: str) -> dict[str, Any]:
    """Subscription prefixes covering ``topic`` at each publisher (from its ``status``)."""
    found: dict[str, Any] = {}
    for node in rec.publishers:
        try:
            status = (await session.control(node, retries=1).request("status")).value
        except ControlError as exc:
            found[node] = f"unknown ({exc})"
            continue
        found[node] = [p for p in status.get("interest", []) if topics.matches(p, topic)]
    return found


def describe(report: dict[str, Any]) -> list[str]:
    """``info`` as text."""

    def spread(name: str, unit: str) -> str:
        s = report[name]
        if s is None:
            return "-"
        show = fmt.size if unit == "B" else fmt.seconds
        return (
            f"mean {show(s['mean'])}  min {show(s['min'])}  p50 {show(s['p50'])}"
            f"  p99 {show(s['p99'])}  max {show(s['max'])}  jitter(std) {show(s['std'])}"
        )

    pubs = ", ".join(f"{n} (epoch {e or '?'})" for n, e in report["publishers"].items())
    return [
        f"topic:       {report['topic']}",
        f"family:      {report['family'] or 'unknown'} ({report['class']})"
        + (f": {report['description']}" if report["description"] else ""),
        f"types:       {', '.join(report['types']) or '-'}",
        f"publishers:  {pubs or 'none seen'}",
        f"watched by:  {fmt.json_text(report['watched_by'])}  (subscription prefixes at the"
        " publisher)",
        f"rate:        {fmt.rate(report['rate_hz'])} Hz, {report['received']} received",
        f"interval:    {spread('intervals_s', 's')}",
        f"bandwidth:   {fmt.size(report['bandwidth_bps'])}/s",
        f"size:        {spread('sizes_bytes', 'B')}",
        f"delay:       {spread('delay_s', 's')}  (capture t_origin_ns -> received)",
        f"transport:   {spread('transport_s', 's')}  (t_pub_ns -> received)",
        f"last seq:    {report['last_seq'] or '-'}, age {fmt.seconds(report['age_s'])}",
        f"sequence:    {report['gaps']} gap(s), {report['lost']} lost, {report['duplicates']}"
        f" duplicate(s), {report['epochs']} epoch(s)",
    ] + ([f"schemas:     {fmt.json_text(report['schemas'])}"] if "schemas" in report else [])
