"""``cuecast tap call`` and ``cuecast tap describe``: control requests from the command line.

Requests go through the Lazy Pirate client (timeout, retry on a fresh socket, clear failure).
The reply's value is printed as JSON on stdout; a node's error reply goes to stderr with exit
status 1, no reply at all with exit status 3. Messages carried inside replies (``snapshot``,
``replay``) are decoded; binary blobs are listed by size or saved with ``--save-blobs``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from nodes.runtime import Result
from nodes.tap import format as fmt
from nodes.tap.errors import usage
from nodes.tap.session import Session, load_config, run

CALL_EXAMPLES = """examples:
  cuecast tap call core ping
  cuecast tap call core status
  cuecast tap call core predict_shot '{"direction_deg": 30, "speed": 2.0}'
  cuecast tap call vision config.set '{"log_level": "debug"}'
  cuecast tap call core snapshot '{"topic": "core.state"}'
  cuecast tap call vision snapshot '{"prefix": "vision.frame."}' --save-blobs /tmp/snap
  echo '{"topic": "core.event", "after": 0, "limit": 5}' | cuecast tap call core replay -
  cuecast tap call tcp://10.0.0.5:5556 ping --timeout 0.5 --retries 1   # an endpoint

ARGS is a JSON object, '-' to read it from stdin, or @FILE. `cuecast tap describe NODE` lists a
node's requests.
"""

DESCRIBE_EXAMPLES = """examples:
  cuecast tap describe core                 # version, topics, endpoints, requests, config
  cuecast tap describe vision --schemas     # with the JSON Schema of each message type
"""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="seconds to wait for each attempt (default: request_timeout, 2)",
    )
    p.add_argument(
        "--retries",
        type=int,
        metavar="N",
        help="attempts before giving up (default: request_retries, 3)",
    )
    p.add_argument("--compact", action="store_true", help="one-line JSON")


def register(verbs: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``call`` and ``describe``."""
    p = verbs.add_parser(
        "call",
        parents=parents,
        help="send a control request to a node, print the reply",
        description="Send any control request to a node and print its reply as JSON.",
        epilog=CALL_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("node", metavar="NODE", help="node name (see `list`) or control endpoint")
    p.add_argument("request", metavar="REQUEST", help="request name (ping, status, ...)")
    p.add_argument("args", nargs="?", metavar="ARGS", help="JSON object, '-' (stdin) or @FILE")
    p.add_argument("--save-blobs", type=Path, metavar="DIR", help="write reply blobs to DIR")
    _common(p)
    p.set_defaults(handler=call_main, verb="call")
    p = verbs.add_parser(
        "describe",
        parents=parents,
        help="what a node is: topics, requests, schemas, config",
        description="Print a node's `describe` reply as JSON.",
        epilog=DESCRIBE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("node", metavar="NODE", help="node name or control endpoint")
    p.add_argument("--schemas", action="store_true", help="include message JSON Schemas")
    _common(p)
    p.set_defaults(handler=describe_main, verb="describe", save_blobs=None)


def parse_args(text: str | None) -> dict[str, Any]:
    """The request arguments: a JSON object from the text, stdin ('-') or a file (@path)."""
    if text is None:
        return {}
    where = "ARGS"
    if text == "-":
        text, where = sys.stdin.read(), "stdin"
    elif text.startswith("@"):
        try:
            text, where = Path(text[1:]).read_text(), text[1:]
        except OSError as exc:
            raise usage(f"cannot read {text[1:]}: {exc.strerror}") from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise usage(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise usage(f"{where} must be a JSON object, e.g. '{{\"speed\": 2}}'")
    return value


def call_main(args: argparse.Namespace) -> int:
    """Run ``call``."""
    request_args = parse_args(args.args)
    return run(lambda: _call(args, args.request, request_args))


def describe_main(args: argparse.Namespace) -> int:
    """Run ``describe``."""
    return run(lambda: _call(args, "describe", {"schemas": True} if args.schemas else {}))


async def _call(args: argparse.Namespace, request: str, request_args: dict[str, Any]) -> int:
    session = Session(load_config(args))
    try:
        if "://" not in args.node and session.config.peers and not session.nodes():
            session.subscribe(lambda env: None, fill_gaps=False)
            await session.start()
            await session.wait_welcomed((args.node,))
        client = session.control(args.node, timeout=args.timeout, retries=args.retries)
        result = await client.request(request, request_args)
        client.close()
        _print(result, args)
        return 0
    finally:
        await session.close()


def _print(result: Result, args: argparse.Namespace) -> None:
    print(fmt.json_text(result.value, indent=None if args.compact else 2), flush=True)
    if not result.blobs:
        return
    sizes = ", ".join(fmt.size(len(b)) for b in result.blobs)
    if args.save_blobs is None:
        print(
            f"({len(result.blobs)} blob(s): {sizes}; --save-blobs DIR writes them)", file=sys.stderr
        )
        return
    args.save_blobs.mkdir(parents=True, exist_ok=True)
    for index, blob in enumerate(result.blobs):
        path = args.save_blobs / f"{args.node}-{args.request}-{index}.bin"
        if blob[:2] == b"\xff\xd8":
            path = path.with_suffix(".jpg")
        path.write_bytes(blob)
        print(f"wrote {path} ({fmt.size(len(blob))})", file=sys.stderr)
