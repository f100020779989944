"""``cuecast up``: the whole system on one machine, supervised.

Starts the vision node (synthetic camera by default), the core node and the bridge as child
processes sharing one run dir, waits until the bridge answers, prints the viewer URL, restarts a
child that dies (with backoff), and on Ctrl-C or SIGTERM stops every child within a few seconds.
Children get SIGTERM if this process dies, so nothing is left running.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from nodes.runtime.logs import setup_logging
from nodes.runtime.rundir import RunDir, default_run_dir

log = logging.getLogger("cuecast.up")

STOP_GRACE_S = 5.0
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0


@dataclass
class Child:
    """One supervised process."""

    name: str
    argv: list[str]
    proc: asyncio.subprocess.Process | None = None
    starts: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_RESTARTS + 1))
    log_file: IO[bytes] | None = None


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the supervisor dies (Linux prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options of ``cuecast up``."""
    parser = argparse.ArgumentParser(
        prog="cuecast up",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  cuecast up\n  cuecast up --port 9000 --run-dir /tmp/table2\n"
        "  cuecast up --source match.mp4\n",
    )
    parser.add_argument("--port", type=int, default=8080, help="bridge HTTP port (default 8080)")
    parser.add_argument("--host", default="127.0.0.1", help="bridge bind address")
    parser.add_argument(
        "--run-dir",
        default="",
        help="run dir (default: $CUECAST_RUN_DIR or ~/.local/state/cuecast)",
    )
    parser.add_argument(
        "--source",
        default="synthetic",
        help="synthetic (default), a video file, a folder of images, a camera "
        "index or a stream URL",
    )
    parser.add_argument("--camera", default="cam0", help="camera id (default cam0)")
    parser.add_argument("--config", default="", help="TOML file passed to every process")
    parser.add_argument("--log-level", default="info", help="log level of every process")
    parser.add_argument(
        "--ready-timeout", type=float, default=60.0, help="seconds to wait for the bridge to answer"
    )
    return parser.parse_args(argv)


class Supervisor:
    """Starts, watches, restarts and stops the children."""

    def __init__(self, children: list[Child], logs_dir: Path) -> None:
        self.children = children
        self.logs_dir = logs_dir
        self.stopping = False
        self.failed = False
        self._done = asyncio.Event()
        self._pumps: set[asyncio.Task[None]] = set()

    async def start(self, child: Child) -> None:
        """Start one child and pump its output to stderr and its log file."""
        child.starts.append(time.monotonic())
        child.proc = await asyncio.create_subprocess_exec(
            *child.argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_die_with_parent,
            # its own process group: a terminal's Ctrl-C reaches only the supervisor, which
            # stops each child with one SIGTERM (a second signal makes a node exit at once)
            process_group=0,
        )
        log.info("started %s (pid %d)", child.name, child.proc.pid)
        pump = asyncio.ensure_future(self._pump(child, child.proc))
        self._pumps.add(pump)
        pump.add_done_callback(self._pumps.discard)

    async def _pump(self, child: Child, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        if child.log_file is None:
            child.log_file = open(self.logs_dir / f"{child.name}.log", "ab")  # noqa: SIM115
        async for line in proc.stdout:
            sys.stderr.buffer.write(line)
            sys.stderr.buffer.flush()
            child.log_file.write(line)
            child.log_file.flush()

    async def watch(self, child: Child) -> None:
        """Restart ``child`` whenever it exits, unless stopping or it keeps crashing."""
        while True:
            assert child.proc is not None
            code = await child.proc.wait()
            if self.stopping:
                return
            recent = [t for t in child.starts if time.monotonic() - t < RESTART_WINDOW_S]
            if len(recent) > MAX_RESTARTS:
                log.error(
                    "%s exited %d times in %.0f s; giving up",
                    child.name,
                    len(recent),
                    RESTART_WINDOW_S,
                )
                self.failed = True
                self.stop()
                return
            delay = min(30.0, 0.5 * 2 ** (len(recent) - 1))
            log.warning("%s exited with status %s; restarting in %.1f s", child.name, code, delay)
            await asyncio.sleep(delay)
            if not self.stopping:
                await self.start(child)

    def stop(self) -> None:
        """Begin stopping (idempotent)."""
        if not self.stopping:
            self.stopping = True
            self._done.set()

    async def wait(self) -> None:
        """Until asked to stop."""
        await self._done.wait()

    async def terminate(self) -> None:
        """SIGTERM every child, then SIGKILL whatever is still running after the grace period."""
        running = [c.proc for c in self.children if c.proc and c.proc.returncode is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in running:
            try:
                await asyncio.wait_for(proc.wait(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                log.warning("pid %d did not stop in %.0f s: killing it", proc.pid, STOP_GRACE_S)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        for child in self.children:
            if child.log_file is not None:
                child.log_file.close()


def _check_port(host: str, port: int) -> str | None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return f"port {port} on {host} is not free ({exc.strerror}); pass --port"
    return None


def _check_run_dir(run_dir: RunDir) -> str | None:
    live = run_dir.records()
    if live:
        names = ", ".join(f"{r.name} (pid {r.pid})" for r in live.values())
        return (
            f"a cuecast system is already running in {run_dir.path}: {names};"
            " stop it or pass --run-dir"
        )
    return None


def children(args: argparse.Namespace, run_dir: Path) -> list[Child]:
    """The processes of one system."""
    common = ["--run-dir", str(run_dir), "--log-level", args.log_level]
    if args.config:
        common += ["--config", args.config]
    py = [sys.executable, "-m"]
    return [
        Child(
            "vision",
            [*py, "nodes.vision", *common, "--source", args.source, "--camera", args.camera],
        ),
        Child("core", [*py, "nodes.core", *common]),
        Child("bridge", [*py, "bridge", *common, "--port", str(args.port), "--host", args.host]),
    ]


async def _wait_ready(url: str, timeout: float, supervisor: Supervisor) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not supervisor.stopping:
        try:
            await asyncio.to_thread(urllib.request.urlopen, url, timeout=1.0)
            return True
        except (urllib.error.URLError, OSError):
            await asyncio.sleep(0.2)
    return False


async def run(args: argparse.Namespace) -> int:
    """Start the system, print the URL, supervise until a signal."""
    run_dir = RunDir(Path(args.run_dir) if args.run_dir else default_run_dir())
    problem = _check_port(args.host, args.port) or _check_run_dir(run_dir)
    if problem:
        log.error("%s", problem)
        return 2
    run_dir.logs_dir.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(children(args, run_dir.path), run_dir.logs_dir)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, supervisor.stop)
    for child in supervisor.children:
        await supervisor.start(child)
    watchers = [asyncio.ensure_future(supervisor.watch(c)) for c in supervisor.children]
    host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
    url = f"http://{host}:{args.port}/"
    if await _wait_ready(url + "api/v1/health", args.ready_timeout, supervisor):
        print(
            f"\ncuecast is up: open {url}  (run dir {run_dir.path}; logs in"
            f" {run_dir.logs_dir}; Ctrl-C to stop)\n",
            file=sys.stderr,
            flush=True,
        )
    elif not supervisor.stopping:
        log.error(
            "the bridge did not answer on %s within %.0f s; see %s",
            url,
            args.ready_timeout,
            run_dir.logs_dir / "bridge.log",
        )
        supervisor.failed = True
        supervisor.stop()
    await supervisor.wait()
    log.info("stopping")
    for watcher in watchers:
        watcher.cancel()
    await supervisor.terminate()
    log.info("stopped")
    return 1 if supervisor.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``cuecast up``."""
    args = parse(argv)
    setup_logging(args.log_level, "up")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
