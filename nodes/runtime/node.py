"""NodeRuntime: what every cuecast process shares, wired together.

::

    async with NodeRuntime(config, kind="core") as node:
        node.control.route("reset_game", handler, "reset the game")
        node.publisher.publish(topics.CORE_STATE, state)
        await node.wait()            # until SIGINT/SIGTERM or node.stop()

It binds the PUB and control endpoints (ipc in the run dir unless configured), writes the node's
record so the others find it, answers the built-in control requests (``ping``, ``describe``,
``status``, ``config.get``, ``config.set``, ``snapshot``, ``replay``), publishes heartbeats and
the effective config, journals reliable topics, and on stop removes its record and closes every
socket. A crashed background task stops the node with exit status 1 rather than leaving it
half-alive.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Generic, TypeVar

from nodes.runtime import config as configuration
from nodes.runtime.bus import Bus
from nodes.runtime.control import ControlServer, Result, encode_stored
from nodes.runtime.heartbeat import HeartbeatTask, Status
from nodes.runtime.journal import Journal, Limits
from nodes.runtime.publisher import Publisher
from nodes.runtime.rundir import NodeRecord, RunDir
from protocol import PROTOCOL_VERSION_STRING, messages, topics
from protocol.errors import ConfigError, ControlError
from protocol.messages import Alert, NodeConfig
from protocol.messages.system import AlertLevel

log = logging.getLogger(__name__)

C = TypeVar("C", bound=configuration.CommonConfig)
VERSION = "0.1.0"
ConfigCallback = Callable[[Any, list[str]], None]


class NodeRuntime(Generic[C]):
    """Sockets, record, heartbeat, control and lifecycle of one node."""

    def __init__(self, config: C, kind: str, *, journal: bool = True) -> None:
        topics.name(config.name, "node name")
        self.config = config
        self.kind = kind
        self.name = config.name
        self.run_dir = RunDir(config.resolved_run_dir())
        self.bus = Bus(hwm=config.hwm)
        self.want_journal = journal
        self.journal: Journal | None = None
        self.exit_code = 0
        self.describe_extra: dict[str, Any] = {}
        self.stats: list[Callable[[], dict[str, Any]]] = []
        self.status: Callable[[], Status] = lambda: ("ok", None)
        self.on_config: list[ConfigCallback] = []
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.started_ns = time.time_ns()

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> NodeRuntime[C]:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _check_name_free(self) -> None:
        record = self.run_dir.read_record(self.name)
        if record is not None and record.pid != os.getpid() and not record.is_stale():
            raise ConfigError(
                f"a node named {self.name!r} is already running in {self.run_dir.path}"
                f" (pid {record.pid} on {record.host}); stop it or pass --name"
            )

    async def start(self) -> None:
        """Bind, register, and start the background tasks."""
        self._check_name_free()
        if self.want_journal:
            limits = Limits(
                self.config.journal_max_messages,
                self.config.journal_max_age_s,
                self.config.journal_max_bytes,
            )
            self.journal = Journal(self.run_dir.data_dir(self.name) / "journal.sqlite3", limits)
        pub = self.config.pub or self.run_dir.ipc_endpoint(self.name, "pub")
        ctl = self.config.control or self.run_dir.ipc_endpoint(self.name, "ctl")
        self.control = ControlServer(self.bus, self.name, ctl)
        self.publisher = Publisher(
            self.bus, self.name, pub, control_endpoint=self.control.endpoint, journal=self.journal
        )
        self._routes()
        self.heartbeat = HeartbeatTask(
            self.publisher,
            kind=self.kind,
            interval=self.config.heartbeat_interval,
            endpoints={"pub": self.publisher.endpoint, "control": self.control.endpoint},
            stats=self._stats,
            status=lambda: self.status(),
            version=VERSION,
        )
        self.task(self.publisher.run(), "publisher")
        self.task(self.control.run(), "control")
        self.task(self.heartbeat.run(), "heartbeat")
        self.run_dir.write_record(self._record())
        self._install_signals()
        self.publish_config([])
        if self.journal is not None and self.journal.recovered_from:
            self.alert(
                "error",
                "journal_corrupt",
                "journal was corrupt and started over",
                reason=self.journal.recovered_from,
                epoch=self.journal.epoch,
            )
        log.info("%s %s up: pub %s, control %s", self.kind, self.name, pub, ctl)

    def _record(self) -> NodeRecord:
        return NodeRecord(
            name=self.name,
            kind=self.kind,
            pid=os.getpid(),
            host=socket.gethostname(),
            pub=self.publisher.endpoint,
            control=self.control.endpoint,
            started_ns=self.started_ns,
            version=VERSION,
        )

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if self._stop.is_set():
            log.warning("second %s: exiting now", sig.name)
            os._exit(130)
        log.info("%s received: stopping", sig.name)
        self.stop()

    def stop(self, exit_code: int = 0) -> None:
        """Ask the node to stop (``wait()`` returns)."""
        self.exit_code = max(self.exit_code, exit_code)
        self._stop.set()

    async def wait(self) -> int:
        """Wait until the node is asked to stop; returns the exit status."""
        await self._stop.wait()
        return self.exit_code

    def task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run a background task for the node's life; if it crashes, the node stops."""
        task = asyncio.ensure_future(coro)
        task.set_name(f"{self.name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.critical("task %s crashed; stopping", task.get_name(), exc_info=exc)
            self.stop(1)

    async def close(self) -> None:
        """Cancel tasks, remove the record, close sockets and the journal."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if hasattr(self, "publisher"):
            self.run_dir.remove_record(self.name, os.getpid())
            self.control.close()
        self.bus.close()
        if self.journal is not None:
            self.journal.close()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        log.info("%s %s stopped", self.kind, self.name)

    # -- publishing helpers ----------------------------------------------------------------

    def alert(self, level: AlertLevel, code: str, message: str, **details: Any) -> None:
        """Publish an alert on ``system.alert.<node>`` (reliable) and log it."""
        logging.getLogger(f"alert.{self.name}").log(
            logging.getLevelName(level.upper()) if level != "critical" else logging.CRITICAL,
            "%s: %s %s",
            code,
            message,
            details or "",
        )
        alert = Alert(node=self.name, level=level, code=code, message=message, details=details)
        self.publisher.publish(topics.system_alert(self.name), alert)

    def publish_config(self, changed: list[str]) -> None:
        """Publish the effective config on ``system.config.<node>`` (reliable: needs a journal).

        A node started without a journal (a short-lived tool) has no reliable history to offer,
        so it publishes no config; ``config.get`` still answers.
        """
        if self.journal is None:
            return
        body = NodeConfig(node=self.name, config=self.config.public_dict(), changed=changed)
        self.publisher.publish(topics.system_config(self.name), body)

    # -- built-in control requests ---------------------------------------------------------

    def _routes(self) -> None:
        route = self.control.route
        route("ping", self._ping, "answer pong (liveness check)")
        route("describe", self._describe, "version, topics, schemas, endpoints, requests, config")
        route("status", self._status, "health, uptime, counters and node statistics")
        route("config.get", lambda args: self._config_get(), "the effective configuration")
        route("config.set", self._config_set, "change live settings: {name: value, ...}")
        route("snapshot", self._snapshot, "newest message of topics: {topic} or {prefix}")
        route("replay", self._replay, "journalled messages: {topic, after, limit}")

    def _ping(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"node": self.name, "pong": True, "t_ns": time.time_ns()}

    def _describe(self, args: dict[str, Any]) -> dict[str, Any]:
        published = self.publisher.known_topics()
        types = sorted({t for topic in published for t in messages.types_for_topic(topic)})
        return {
            "node": self.name,
            "kind": self.kind,
            "version": VERSION,
            "protocol": PROTOCOL_VERSION_STRING,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "run_dir": str(self.run_dir.path),
            "endpoints": {"pub": self.publisher.endpoint, "control": self.control.endpoint},
            "topics": [
                {
                    "topic": t,
                    "delivery": topics.delivery_of(t).name,
                    "types": list(messages.types_for_topic(t)),
                }
                for t in published
            ],
            "requests": {name: r.help for name, r in sorted(self.control.routes.items())},
            "schemas": {t: messages.json_schema(t) for t in types} if args.get("schemas") else {},
            "config": self.config.public_dict(),
            **self.describe_extra,
        }

    def _stats(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for provider in self.stats:
            merged.update(provider())
        return merged

    def _status(self, args: dict[str, Any]) -> dict[str, Any]:
        status, reason = self.status()
        return {
            "node": self.name,
            "kind": self.kind,
            "status": status,
            "reason": reason,
            "uptime_s": round((time.time_ns() - self.started_ns) / 1e9, 3),
            "published": {
                t: n
                for t, n in self.publisher.sent.items()
                if not t.startswith(topics.WELCOME_PREFIX)
            },
            "interest": sorted(self.publisher.interest),
            "control": {"handled": self.control.handled, "errors": self.control.errors},
            "journal": self.publisher.positions() if self.journal else {},
            "epoch": self.journal.epoch if self.journal else None,
            "stats": self._stats(),
        }

    def _config_get(self) -> dict[str, Any]:
        live = sorted(configuration.live_fields(type(self.config)))
        return {"node": self.name, "config": self.config.public_dict(), "live": live}

    def _config_set(self, args: dict[str, Any]) -> dict[str, Any]:
        changes = args.get("changes", args)
        if not isinstance(changes, dict) or not changes:
            raise ControlError("bad_request", "config.set needs {name: value, ...}")
        try:
            new, changed = configuration.update(self.config, changes)
        except ConfigError as exc:
            raise ControlError("bad_request", str(exc)) from exc
        self.config = new
        if "log_level" in changed:
            logging.getLogger().setLevel(new.log_level.upper())
        for callback in self.on_config:
            callback(new, changed)
        self.publish_config(changed)
        return {"node": self.name, "config": new.public_dict(), "changed": changed}

    def _snapshot(self, args: dict[str, Any]) -> Result:
        wanted = args.get("topic", args.get("prefix", ""))
        if not isinstance(wanted, str):
            raise ControlError("bad_request", "snapshot needs {topic} or {prefix} as a string")
        exact = "topic" in args
        items: list[dict[str, Any]] = []
        blobs: list[bytes] = []
        for topic in self.publisher.known_topics():
            if (topic != wanted) if exact else not topics.matches(wanted, topic):
                continue
            frames = self.publisher.last(topic)
            if frames is None:
                continue
            item = encode_stored(topic, frames[1], frames[2])
            item["blobs"] = len(frames) - 3
            items.append(item)
            blobs.extend(frames[3:])
        return Result({"messages": items}, blobs)

    async def _replay(self, args: dict[str, Any]) -> dict[str, Any]:
        topic, after, limit = args.get("topic"), args.get("after", 0), args.get("limit", 1000)
        if not isinstance(topic, str) or not isinstance(after, int) or not isinstance(limit, int):
            raise ControlError("bad_request", "replay needs {topic: str, after: int, limit: int}")
        if self.journal is None or not topics.is_reliable(topic):
            raise ControlError("not_found", f"{self.name} keeps no journal of {topic!r}")
        journal = self.journal
        limit = max(1, min(limit, 5000))
        first, last = await asyncio.to_thread(journal.bounds, topic)
        stored = await asyncio.to_thread(journal.read, topic, after, limit)
        return {
            "topic": topic,
            "epoch": journal.epoch,
            "first": first,
            "last": last,
            "messages": [encode_stored(s.topic, s.header, s.body) for s in stored],
        }


def run_forever(main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run a node's async main with asyncio and return its exit status."""
    try:
        return asyncio.run(main())
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
