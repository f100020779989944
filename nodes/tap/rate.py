"""``cuecast tap hz|bw|delay``: windowed rate, bandwidth and latency of several topics at once.

Each concrete topic gets a :class:`~nodes.tap.stats.Window` of its last ``--window`` messages
(no older than ``--horizon`` seconds); a table (or JSON lines) is printed every ``--interval``.
``delay`` is capture-to-now: reception time minus the header's ``t_origin_ns`` (the camera
frame's capture time), with its spread as jitter, and publish-to-now (transport) beside it.
Clocks must agree across hosts for cross-host delays to mean anything.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from nodes.tap import format as fmt
from nodes.tap import selection as select
from nodes.tap.errors import usage
from nodes.tap.message import wire_size
from nodes.tap.session import Session, load_config, run
from nodes.tap.stats import Arrival, Spread, Window
from protocol import Envelope

EXAMPLES = {
    "hz": """examples:
  cuecast tap hz core.state                     # messages per second, interval jitter
  cuecast tap hz core.state 'vision.detections.*' --window 300
  cuecast tap hz vision. --duration 10 --json   # every vision topic, 10 s, JSON lines
""",
    "bw": """examples:
  cuecast tap bw vision.frame.cam0.720p         # bytes per second and message sizes
  cuecast tap bw core. system.
""",
    "delay": """examples:
  cuecast tap delay core.state                  # capture-to-now latency, jitter (std)
  cuecast tap delay core.state vision.detections.cam0 --window 600 --duration 10
""",
}

HELP = {
    "hz": "message rate of topics (windowed, with interval jitter)",
    "bw": "bandwidth and message sizes of topics (windowed)",
    "delay": "capture-to-now latency of topics from t_origin_ns, with jitter",
}


def register(verbs: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``hz``, ``bw`` and ``delay``."""
    for verb in ("hz", "bw", "delay"):
        p = verbs.add_parser(
            verb,
            parents=parents,
            help=HELP[verb],
            description=HELP[verb].capitalize() + ". " + (__doc__ or "").split("\n\n")[1],
            epilog=EXAMPLES[verb],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("topics", nargs="+", metavar="TOPIC", help="topic, prefix or glob")
        p.add_argument(
            "-w",
            "--window",
            type=int,
            default=100,
            metavar="N",
            help="messages per window (default 100)",
        )
        p.add_argument(
            "--horizon",
            type=float,
            default=10.0,
            metavar="S",
            help="forget messages older than S seconds (default 10)",
        )
        p.add_argument(
            "--interval",
            type=float,
            default=1.0,
            metavar="S",
            help="seconds between reports (default 1)",
        )
        p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
        p.add_argument("-x", "--exclude", action="append", default=[], metavar="PATTERN")
        p.add_argument("--json", action="store_true", help="JSON lines instead of a table")
        p.add_argument("--any", action="store_true", help="accept topics of unknown families")
        p.set_defaults(handler=main, verb=verb)


class Meter:
    """One window per concrete topic."""

    def __init__(self, selection: select.Selection, size: int, horizon: float) -> None:
        self.selection = selection
        self.size = size
        self.horizon = horizon
        self.windows: dict[str, Window] = {}

    def on_message(self, env: Envelope) -> None:
        """Subscriber callback."""
        if not self.selection(env.topic):
            return
        window = self.windows.get(env.topic)
        if window is None:
            window = self.windows[env.topic] = Window(self.size, self.horizon)
        h = env.header
        window.add(
            Arrival(time.monotonic(), wire_size(env), h.t_origin_ns, h.t_pub_ns, time.time_ns())
        )


def _ms(spread: Spread | None, name: str) -> str:
    return "-" if spread is None else fmt.seconds(getattr(spread, name))


def hz_row(topic: str, w: Window, now: float) -> dict[str, Any]:
    """Rate and interval spread of one topic."""
    iv = w.intervals()
    return {
        "topic": topic,
        "rate_hz": round(w.rate(now), 3),
        "n": len(w.arrivals),
        "interval_s": None if iv is None else fmt_spread(iv),
    }


def bw_row(topic: str, w: Window, now: float) -> dict[str, Any]:
    """Bandwidth and size spread of one topic."""
    sizes = w.sizes()
    return {
        "topic": topic,
        "bandwidth_bps": round(w.bandwidth(now), 1),
        "n": len(w.arrivals),
        "size_bytes": None if sizes is None else fmt_spread(sizes),
    }


def delay_row(topic: str, w: Window, now: float) -> dict[str, Any]:
    """Capture-to-now and publish-to-now spreads of one topic."""
    d, t = w.delays(), w.transport()
    w.expire(now)
    return {
        "topic": topic,
        "n": len(w.arrivals),
        "delay_s": None if d is None else fmt_spread(d),
        "transport_s": None if t is None else fmt_spread(t),
    }


def fmt_spread(s: Spread) -> dict[str, float]:
    """A spread as a rounded map."""
    return {k: round(getattr(s, k), 9) for k in ("mean", "min", "p50", "p99", "max", "std", "n")}


def _cells_hz(w: Window, row: dict[str, Any]) -> list[str]:
    iv = w.intervals()
    return [
        row["topic"],
        fmt.rate(row["rate_hz"]),
        _ms(iv, "min"),
        _ms(iv, "mean"),
        _ms(iv, "max"),
        _ms(iv, "std"),
        str(row["n"]),
    ]


def _cells_bw(w: Window, row: dict[str, Any]) -> list[str]:
    s = w.sizes()

    def size(name: str) -> str:
        return "-" if s is None else fmt.size(getattr(s, name))

    return [
        row["topic"],
        fmt.size(row["bandwidth_bps"]) + "/s",
        size("mean"),
        size("min"),
        size("max"),
        str(row["n"]),
    ]


def _cells_delay(w: Window, row: dict[str, Any]) -> list[str]:
    d, t = w.delays(), w.transport()
    return [
        row["topic"],
        _ms(d, "mean"),
        _ms(d, "min"),
        _ms(d, "p50"),
        _ms(d, "p99"),
        _ms(d, "max"),
        _ms(d, "std"),
        _ms(t, "mean"),
        str(row["n"]),
    ]


Verb = tuple[
    Callable[[str, Window, float], dict[str, Any]],
    Callable[[Window, dict[str, Any]], list[str]],
    tuple[str, ...],
]
VERBS: dict[str, Verb] = {
    "hz": (hz_row, _cells_hz, ("TOPIC", "HZ", "MIN", "MEAN", "MAX", "JITTER", "N")),
    "bw": (bw_row, _cells_bw, ("TOPIC", "BW", "MEAN", "MIN", "MAX", "N")),
    "delay": (
        delay_row,
        _cells_delay,
        ("TOPIC", "MEAN", "MIN", "P50", "P99", "MAX", "JITTER", "TRANSPORT", "N"),
    ),
}


def report(verb: str, meter: Meter, as_json: bool) -> str:
    """One report of every topic."""
    row_of, cells_of, headers = VERBS[verb]
    now = time.monotonic()
    rows = [(row_of(t, w, now), w) for t, w in sorted(meter.windows.items())]
    if as_json:
        stamp = time.time_ns()
        return "\n".join(fmt.json_text({"t_ns": stamp, **row}) for row, _ in rows)
    if not rows:
        return "(no messages yet)"
    return "\n".join(fmt.table(headers, [cells_of(w, row) for row, w in rows]))


def main(args: argparse.Namespace) -> int:
    """Run ``hz``, ``bw`` or ``delay``."""
    selection = select.build(args.topics, args.exclude)
    if args.window < 2:
        raise usage("--window must be at least 2")
    return run(lambda: _meter(args, selection))


async def _meter(args: argparse.Namespace, selection: select.Selection) -> int:
    session = Session(load_config(args))
    try:
        session.require_system()
        meter = Meter(selection, args.window, args.horizon)
        sub = session.subscribe(meter.on_message, fill_gaps=False)
        for prefix in selection.prefixes():
            sub.subscribe(prefix)
        session.install_signals()
        await session.start()
        if not args.any:
            select.check_known(selection, session.live_topics())
        end = None if args.duration is None else time.monotonic() + args.duration
        while True:
            wait = args.interval if end is None else min(args.interval, end - time.monotonic())
            stopped = await session.sleep(max(0.0, wait))
            print(report(args.verb, meter, args.json) + ("" if args.json else "\n"), flush=True)
            if stopped or (end is not None and time.monotonic() >= end):
                return 0
    finally:
        await session.close()
