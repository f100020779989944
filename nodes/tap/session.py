"""One tap invocation's view of a system: its config, run dir, bus, subscriber and stop signal.

The tap is configured like every cuecast process (defaults < TOML < environment < flags, see
:mod:`nodes.runtime.config`): ``--run-dir``, ``--peer``, ``--config`` and ``--log-level`` are
common to every verb, and ``[tap]`` in ``cuecast.toml`` sets the tap's own defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from nodes.runtime import Bus, ControlClient, RunDir, Subscriber
from nodes.runtime import config as configuration
from nodes.runtime.config import CommonConfig, describe
from nodes.runtime.control import decode_stored
from nodes.runtime.rundir import NodeRecord
from nodes.runtime.subscriber import MessageCallback
from nodes.tap.errors import unreachable, usage
from protocol import topics
from protocol.errors import ControlError


class TapConfig(CommonConfig, frozen=True, kw_only=True):
    """Settings of the tap (``[tap]`` in cuecast.toml, ``CUECAST_TAP_*`` in the environment)."""

    log_level: Annotated[str, describe("debug, info, warning or error", live=True)] = "warning"
    request_timeout: Annotated[float, describe("seconds to wait for each control reply")] = 2.0
    request_retries: Annotated[int, describe("control request attempts before giving up")] = 3
    welcome_timeout: Annotated[
        float, describe("seconds to wait for the system's publishers to answer")
    ] = 3.0


def common_parser() -> argparse.ArgumentParser:
    """The options every verb takes (a parent parser)."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("system options")
    keep = argparse.SUPPRESS
    group.add_argument(
        "--run-dir",
        metavar="DIR",
        default=keep,
        help="run directory of the system to tap (default: $CUECAST_RUN_DIR, else"
        " ~/.local/state/cuecast)",
    )
    group.add_argument(
        "--peer",
        metavar="ENDPOINT",
        action="append",
        default=keep,
        help="also connect to this publisher endpoint (tcp://host:port); repeat",
    )
    group.add_argument(
        "--config", metavar="FILE", default=keep, help="TOML file (default: <run dir>/cuecast.toml)"
    )
    group.add_argument(
        "--log-level", metavar="LEVEL", default=keep, help="debug, info, warning (default) or error"
    )
    return parser


def load_config(args: argparse.Namespace, name: str = "tap") -> TapConfig:
    """The effective config from the common options, the TOML file and the environment."""
    given = vars(args)
    argv = ["--name", name]
    if "run_dir" in given:
        argv += ["--run-dir", given["run_dir"]]
    for peer in given.get("peer", []):
        argv += ["--peers", peer]
    if "config" in given:
        argv += ["--config", given["config"]]
    if "log_level" in given:
        argv += ["--log-level", given["log_level"]]
    config = configuration.load(TapConfig, "tap", argv, description="cuecast tap")
    logging.getLogger().setLevel(config.log_level.upper())
    return config


class Session:
    """Bus, run dir and (optionally) one subscriber for the life of one verb."""

    def __init__(self, config: TapConfig) -> None:
        self.config = config
        self.run_dir = RunDir(config.resolved_run_dir())
        self.bus = Bus(hwm=config.hwm)
        self.stopped = asyncio.Event()
        self.subscriber: Subscriber | None = None
        self._task: asyncio.Task[None] | None = None
        self._signals: list[signal.Signals] = []

    # -- the system ------------------------------------------------------------------------

    def nodes(self) -> dict[str, NodeRecord]:
        """Live node records of the run dir, by name."""
        return self.run_dir.records()

    def require_system(self) -> dict[str, NodeRecord]:
        """The live nodes; a clear error if there is no run dir or nothing runs in it."""
        path = self.run_dir.path
        if self.config.peers:
            return self.nodes()
        if not path.is_dir():
            raise unreachable(
                f"run dir {path} does not exist: start a system there (`cuecast up --run-dir"
                f" {path}`) or pass --run-dir/--peer"
            )
        records = self.nodes()
        if not records:
            raise unreachable(
                f"no nodes are running in {path} (no live record in {self.run_dir.nodes_dir});"
                " start them with `cuecast up` or pass --run-dir/--peer"
            )
        return records

    # -- subscribing -----------------------------------------------------------------------

    def subscribe(
        self, on_message: MessageCallback, *, fill_gaps: bool, hwm: int | None = None
    ) -> Subscriber:
        """The session's subscriber (created once; subscribe prefixes on it)."""
        if self.subscriber is None:
            self.subscriber = Subscriber(
                self.bus,
                name="tap",
                on_message=on_message,
                run_dir=self.run_dir,
                peers=self.config.peers,
                fill_gaps=fill_gaps,
                hwm=hwm,
            )
        return self.subscriber

    async def start(self, *, wait: bool = True) -> None:
        """Start receiving; with ``wait``, until at least one publisher welcomed us."""
        assert self.subscriber is not None, "call subscribe() first"
        self._task = asyncio.ensure_future(self.subscriber.run())
        if wait:
            await self.wait_welcomed()

    async def wait_welcomed(self, nodes: tuple[str, ...] = ()) -> None:
        """Wait for welcomes, or fail clearly after ``welcome_timeout``."""
        assert self.subscriber is not None
        timeout = self.config.welcome_timeout
        try:
            await self.subscriber.wait_welcomed(nodes, timeout=timeout)
        except TimeoutError:
            known = ", ".join(sorted(self.nodes())) or "none"
            wanted = ", ".join(nodes) or "any publisher"
            raise unreachable(
                f"no answer from {wanted} within {timeout:g} s (nodes in {self.run_dir.path}:"
                f" {known}); are they running? (slow start: set CUECAST_TAP_WELCOME_TIMEOUT)"
            ) from None

    def live_topics(self) -> set[str]:
        """Topics the welcoming publishers say they publish."""
        if self.subscriber is None:
            return set()
        return {t for w in self.subscriber.welcomed.values() for t in w.topics}

    # -- control ---------------------------------------------------------------------------

    def control_endpoint(self, node: str) -> str:
        """Control endpoint of a node name (from the run dir or a welcome) or a literal one."""
        if "://" in node:
            return node
        record = self.run_dir.read_record(node)
        if record is not None and not record.is_stale():
            return record.control
        if self.subscriber is not None and node in self.subscriber.welcomed:
            return self.subscriber.welcomed[node].control
        if record is not None:
            raise unreachable(f"node {node!r} is not running (its record names pid {record.pid})")
        known = sorted(self.nodes())
        if self.subscriber is not None:
            known = sorted(set(known) | set(self.subscriber.welcomed))
        if not known:
            self.require_system()
        raise usage(f"unknown node {node!r}; running nodes: {', '.join(known) or 'none'}")

    def control(
        self, node: str, *, timeout: float | None = None, retries: int | None = None
    ) -> ControlClient:
        """A Lazy Pirate client to a node's control endpoint."""
        return ControlClient(
            self.bus,
            self.control_endpoint(node),
            name="tap",
            timeout=self.config.request_timeout if timeout is None else timeout,
            retries=self.config.request_retries if retries is None else retries,
        )

    # -- lifecycle -------------------------------------------------------------------------

    def install_signals(self) -> None:
        """SIGINT and SIGTERM end the verb cleanly (``stopped`` is set)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopped.set)
            self._signals.append(sig)

    async def sleep(self, seconds: float | None) -> bool:
        """Sleep up to ``seconds`` (None: until stopped); True if the session was stopped."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.stopped.wait()
        return self.stopped.is_set()

    async def close(self) -> None:
        """Stop receiving, close every socket and restore the signal handlers."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.subscriber is not None:
            self.subscriber.close()
        self.bus.close()
        loop = asyncio.get_running_loop()
        for sig in self._signals:
            loop.remove_signal_handler(sig)


def run(main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run a verb's async main."""
    return asyncio.run(main())


async def snapshot(session: Session, prefixes: list[str], wanted: Callable[[str], bool]) -> int:
    """Feed the current value of every wanted *latest* topic to the subscriber (Clone pattern).

    Unlike :meth:`Subscriber.snapshot` this skips pure reliable and stream topics, so a late
    joiner sees current state but not an old event as if it were new. Returns how many.
    """
    sub = session.subscriber
    assert sub is not None
    fed = 0
    for node in list(sub.welcomed):
        client = sub.control(node)
        if client is None:
            continue
        for prefix in prefixes:
            try:
                reply = await client.request("snapshot", {"prefix": prefix}, retries=1)
            except ControlError:
                continue
            blobs = iter(reply.blobs)
            for item in reply.value.get("messages", []):
                frames = decode_stored(item) + [next(blobs) for _ in range(item.get("blobs", 0))]
                topic = str(item.get("topic", ""))
                if topics.is_latest(topic) and wanted(topic) and sub.wants(topic):
                    sub.feed(frames)
                    fed += 1
    return fed
