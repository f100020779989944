"""``cuecast tap pub``: publish a message by hand, validated against the topic's message type.

The tap publishes as a node of its own (kind ``tap``, name ``tap-pub`` unless ``--name``), so
subscribers discover it through the run dir like any node. Each concrete topic has exactly one
publisher: ``pub`` refuses a topic that a running node already publishes unless ``--force``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from nodes.runtime import NodeRuntime
from nodes.tap.call import parse_args
from nodes.tap.errors import usage
from nodes.tap.session import Session, TapConfig, load_config, run
from protocol import messages, topics
from protocol.errors import DecodeError, TopicError
from protocol.messages import Message

EXAMPLES = """examples:
  cuecast tap pub system.alert.tap-pub '{"node": "tap-pub", "level": "warning",
      "code": "test", "message": "hello from the tap"}'
  cuecast tap pub core.event --type game_reset '{"t_ns": 0, "reason": "manual"}' --force
  cuecast tap pub core.state @state.json --rate 30 --times 300   # 10 s of a fixed state
  cuecast tap pub vision.frame.cam9.720p @info.json --blob frame.jpg

JSON is a message body (see `cuecast tap describe NODE --schemas`), '-' (stdin) or @FILE. A topic
that carries several types (core.event) needs --type. Only publish a topic whose real publisher
is not running (or use --force and expect subscribers to see two histories).
"""


def register(verbs: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``pub``."""
    p = verbs.add_parser(
        "pub",
        parents=parents,
        help="publish a message by hand (validated)",
        description=(__doc__ or "").split("\n\n", 1)[1].strip(),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("topic", metavar="TOPIC", help="exact topic")
    p.add_argument("body", metavar="JSON", help="message body: JSON object, '-' or @FILE")
    p.add_argument("--type", metavar="TYPE", help="message type (event.collision or collision)")
    p.add_argument(
        "--blob",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="attach a file as a blob (a JPEG for frames); repeat",
    )
    p.add_argument(
        "-r",
        "--rate",
        type=float,
        default=10.0,
        metavar="HZ",
        help="rate when publishing several times (default 10)",
    )
    p.add_argument("-t", "--times", type=int, default=1, metavar="N", help="publish N times")
    p.add_argument(
        "--wait",
        type=float,
        default=2.0,
        metavar="S",
        help="wait up to S seconds for a subscriber of the topic (default 2)",
    )
    p.add_argument("--name", default="tap-pub", help="node name of the tap (default tap-pub)")
    p.add_argument("--force", action="store_true", help="publish even if a node already does")
    p.set_defaults(handler=main, verb="pub")


def message_type(topic: str, wanted: str | None) -> str:
    """The type to publish on ``topic`` (usage errors name the choices)."""
    allowed = messages.types_for_topic(topic)
    if wanted is not None:
        matches = [
            t
            for t in (allowed or tuple(messages.MESSAGES))
            if t in (wanted,) or t.endswith("." + wanted)
        ]
        if len(matches) != 1:
            choices = ", ".join(allowed or tuple(messages.MESSAGES))
            raise usage(f"type {wanted!r} is not one {topic} carries; choose one of: {choices}")
        return matches[0]
    if not allowed:
        raise usage(f"unknown topic family for {topic!r}: pass --type to publish it anyway")
    if len(allowed) > 1:
        raise usage(f"{topic} carries several types; pass --type, one of: {', '.join(allowed)}")
    return allowed[0]


def build(type_: str, data: dict[str, Any]) -> Message:
    """Validate a body against its type (usage error naming the problem)."""
    try:
        return messages.from_builtins(type_, data)
    except DecodeError as exc:
        raise usage(f"invalid message: {exc}") from None


def main(args: argparse.Namespace) -> int:
    """Run ``pub``."""
    try:
        topics.validate(args.topic)
        topics.name(args.name, "node name")
    except TopicError as exc:
        raise usage(str(exc)) from None
    message = build(message_type(args.topic, args.type), parse_args(args.body))
    blobs = []
    for path in args.blob:
        try:
            blobs.append(path.read_bytes())
        except OSError as exc:
            raise usage(f"cannot read blob {path}: {exc.strerror}") from None
    if args.times < 1 or args.rate <= 0:
        raise usage("--times must be at least 1 and --rate positive")
    config = load_config(args, name=args.name)
    return run(lambda: _publish(args, config, message, blobs))


async def _conflicts(config: TapConfig, topic: str) -> list[str]:
    """Running nodes that already publish ``topic``."""
    session = Session(config)
    try:
        if not session.nodes() and not config.peers:
            return []
        session.subscribe(lambda env: None, fill_gaps=False)
        await session.start()
        await asyncio.sleep(0.2)  # let the other publishers' welcomes arrive too
        sub = session.subscriber
        assert sub is not None
        return sorted(n for n, w in sub.welcomed.items() if topic in w.topics and n != config.name)
    finally:
        await session.close()


async def _publish(
    args: argparse.Namespace, config: TapConfig, message: Message, blobs: list[bytes]
) -> int:
    owners = await _conflicts(config, args.topic)
    if owners and not args.force:
        raise usage(
            f"{args.topic} is already published by {', '.join(owners)}: a topic has"
            " exactly one publisher (stop it, or pass --force)"
        )
    async with NodeRuntime(config, "tap") as node:
        deadline = time.monotonic() + args.wait
        while not node.publisher.wanted(args.topic) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if not node.publisher.wanted(args.topic):
            print(f"warning: nobody subscribes to {args.topic} yet", file=sys.stderr)
        for index in range(args.times):
            header = node.publisher.publish(args.topic, message, blobs=blobs)
            print(
                json.dumps(
                    {
                        "topic": args.topic,
                        "type": header.type,
                        "seq": header.seq,
                        "epoch": header.epoch,
                        "src": header.src,
                    }
                ),
                flush=True,
            )
            if index + 1 < args.times and await _stopped(node, 1.0 / args.rate):
                break
        await asyncio.sleep(0.1)  # let the last message leave before the socket closes
    return node.exit_code


async def _stopped(node: NodeRuntime[TapConfig], seconds: float) -> bool:
    try:
        await asyncio.wait_for(node.wait(), seconds)
    except TimeoutError:
        return False
    return True
