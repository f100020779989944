"""``cuecast tap monitor``: ZeroMQ socket events for every endpoint of the system.

The tap connects a SUB socket to every publisher and a DEALER socket to every control endpoint
(both idle) and prints what libzmq's socket monitor reports for each: connects, retries,
handshakes (and their failures: protocol, auth), disconnects. Nodes appearing in and leaving
the run dir are reported too. "connected" is not "subscribed": `echo` waits for the welcome.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import zmq
import zmq.asyncio
from zmq.utils.monitor import parse_monitor_message

from nodes.runtime.rundir import NodeRecord
from nodes.tap import format as fmt
from nodes.tap.session import Session, load_config, run

EXAMPLES = """examples:
  cuecast tap monitor                        # until Ctrl-C
  cuecast tap monitor --json -n 20           # 20 events as JSON lines
  cuecast tap monitor --peer tcp://10.0.0.5:5555   # a remote publisher too

Events: CONNECTED, CONNECT_DELAYED, CONNECT_RETRIED (value: next retry in ms),
HANDSHAKE_SUCCEEDED, HANDSHAKE_FAILED_NO_DETAIL / _PROTOCOL / _AUTH (value: errno or ZMTP code),
DISCONNECTED, CLOSED; plus NODE_UP / NODE_GONE when a record appears in or leaves the run dir.
"""


def register(verbs: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``monitor``."""
    p = verbs.add_parser(
        "monitor",
        parents=parents,
        help="socket events (connect, disconnect, handshake failures)",
        description=(__doc__ or "").split("\n\n", 1)[1].strip(),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-n", "--count", type=int, metavar="N", help="stop after N events")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--json", action="store_true", help="JSON lines")
    p.set_defaults(handler=main, verb="monitor")


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened to an endpoint."""

    t_ns: int
    node: str
    socket: str
    endpoint: str
    event: str
    value: int | None = None

    def text(self) -> str:
        """A line for people."""
        clock = time.strftime("%H:%M:%S", time.localtime(self.t_ns / 1e9))
        ms = f"{self.t_ns // 1_000_000 % 1000:03d}"
        value = "" if self.value is None else f" ({self.value})"
        return (
            f"{clock}.{ms}  {self.node:<12} {self.socket:<8} {self.event}{value}  {self.endpoint}"
        )


def event_name(code: int) -> str:
    """The name of a monitor event code."""
    try:
        return str(zmq.Event(code).name)
    except ValueError:
        return f"EVENT_{code}"


class Monitor:
    """Follows the run dir and prints socket events."""

    def __init__(self, session: Session, args: argparse.Namespace) -> None:
        self.session = session
        self.args = args
        self.printed = 0
        self.names: dict[str, str] = {p: "peer" for p in session.config.peers}
        self.records: dict[str, NodeRecord] = {}
        self.sockets = {
            "pub": session.bus.socket(zmq.SUB),
            "control": session.bus.socket(zmq.DEALER),
        }

    def emit(self, event: Event) -> None:
        """Print one event; stop after ``--count``."""
        line = fmt.json_text(_as_dict(event)) if self.args.json else event.text()
        print(line, flush=True)
        self.printed += 1
        if self.args.count is not None and self.printed >= self.args.count:
            self.session.stopped.set()

    async def watch(self, kind: str) -> None:
        """Print the monitor events of one socket forever."""
        monitor = self.sockets[kind].get_monitor_socket()
        try:
            while True:
                found = parse_monitor_message(await monitor.recv_multipart())
                endpoint = bytes(found["endpoint"]).decode(errors="replace")
                code = int(found["event"])
                value = int(found["value"]) if code in _VALUED else None
                node = self.names.get(endpoint, "?")
                self.emit(Event(time.time_ns(), node, kind, endpoint, event_name(code), value))
        finally:
            self.sockets[kind].disable_monitor()
            monitor.close(linger=0)

    def follow(self) -> None:
        """Connect to new nodes and report those that left."""
        now = time.time_ns()
        records = self.session.nodes()
        for name in sorted(set(records) - set(self.records)):
            rec = records[name]
            self.names.update({rec.pub: name, rec.control: name})
            self.emit(Event(now, name, "record", rec.pub, "NODE_UP", rec.pid))
            self.sockets["pub"].connect(rec.pub)
            self.sockets["control"].connect(rec.control)
        for name in sorted(set(self.records) - set(records)):
            rec = self.records[name]
            self.emit(Event(now, name, "record", rec.pub, "NODE_GONE", rec.pid))
            for kind, endpoint in (("pub", rec.pub), ("control", rec.control)):
                with contextlib.suppress(zmq.ZMQError):
                    self.sockets[kind].disconnect(endpoint)
        self.records = records


_VALUED = frozenset(
    int(e)
    for e in (
        zmq.EVENT_CONNECT_RETRIED,
        zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
        zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
        zmq.EVENT_HANDSHAKE_FAILED_AUTH,
        zmq.EVENT_DISCONNECTED,
    )
)


def _as_dict(event: Event) -> dict[str, Any]:
    return {
        "t_ns": event.t_ns,
        "node": event.node,
        "socket": event.socket,
        "endpoint": event.endpoint,
        "event": event.event,
        "value": event.value,
    }


def main(args: argparse.Namespace) -> int:
    """Run ``monitor``."""
    return run(lambda: _monitor(args))


async def _monitor(args: argparse.Namespace) -> int:
    session = Session(load_config(args))
    tasks: list[asyncio.Task[None]] = []
    try:
        monitor = Monitor(session, args)
        tasks = [asyncio.ensure_future(monitor.watch(k)) for k in ("pub", "control")]
        await asyncio.sleep(0)  # let the monitors attach before the first connect
        for peer in session.config.peers:
            monitor.sockets["pub"].connect(peer)
        session.install_signals()
        end = None if args.duration is None else time.monotonic() + args.duration
        while not session.stopped.is_set():
            monitor.follow()
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                break
            await session.sleep(0.5 if left is None else min(0.5, left))
        return 0
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await session.close()
