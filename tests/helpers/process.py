"""Child processes for integration tests: start, wait for health, stop, and show stderr."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when the test process dies (no orphans after a crash)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """One child process whose stderr goes to a file (printed when a test fails)."""

    def __init__(
        self, name: str, args: list[str], log_dir: Path, env: dict[str, str] | None = None
    ):
        self.name = name
        self.args = args
        self.log = log_dir / f"{name}.{int(time.time() * 1000)}.log"
        environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.stderr = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=environ,
            stdout=self.stderr,
            stderr=self.stderr,
            preexec_fn=_die_with_parent,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup at all."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not stop in time."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.stderr.close()
        return self.popen.returncode

    def output(self) -> str:
        if not self.stderr.closed:
            self.stderr.flush()
        return self.log.read_text(errors="replace")


def get_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def wait_health(port: int, proc: Proc, timeout: float = 20.0, nodes: tuple[str, ...] = ()) -> Any:
    """Poll /api/v1/health until it answers (and lists ``nodes`` alive)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if not proc.alive():
            raise AssertionError(f"{proc.name} exited:\n{proc.output()}")
        try:
            last = get_json(f"http://127.0.0.1:{port}/api/v1/health")
            alive = {n for n, h in last["nodes"].items() if h["alive"]}
            if set(nodes) <= alive:
                return last
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{proc.name} not healthy in {timeout} s (last {last}):\n{proc.output()}")
