"""Start and stop whole cuecast systems (``cuecast up``) and single nodes for integration tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("CUECAST_RUN_DIR", None)
    return env


class Process:
    """A child process whose output is kept in a file and shown when a test fails."""

    def __init__(self, argv: list[str], log: Path, group: bool = False) -> None:
        """``group``: in a process group of its own, as a terminal's foreground job is (a
        Ctrl-C there signals the whole group: ``os.killpg(proc.pid, SIGINT)``)."""
        self.argv = argv
        self.log = log
        self._out = open(log, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            argv,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env=child_env(),
            process_group=0 if group else None,
        )

    def output(self) -> str:
        if not self._out.closed:  # after stop() too: a failing stop shows what was said
            self._out.flush()
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._out.close()
        return self.proc.returncode


def cuecast(*args: str) -> list[str]:
    return [sys.executable, "-m", "nodes.cli", *args]


def http_json(url: str, timeout: float = 2.0, **kwargs: Any) -> Any:
    request = urllib.request.Request(url, **kwargs)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def wait_until(predicate: Any, timeout: float, what: str, proc: Process | None = None) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the system is still starting: keep asking
            last = exc
        if proc is not None and proc.proc.poll() is not None:
            raise AssertionError(f"process exited while waiting for {what}:\n{proc.output()}")
        time.sleep(0.1)
    output = f"\n--- output ---\n{proc.output()}" if proc is not None else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last}){output}")


@contextlib.contextmanager
def system(tmp_path: Path, *extra: str, group: bool = False) -> Iterator[tuple[Process, int, Path]]:
    """Run ``cuecast up`` on a free port and tmp run dir; yield (process, port, run dir);
    ``group``: as :class:`Process`."""
    port = free_port()
    tmp_path.mkdir(parents=True, exist_ok=True)
    run_dir = tmp_path / "run"
    proc = Process(
        cuecast("up", "--port", str(port), "--run-dir", str(run_dir), *extra),
        tmp_path / "up.log",
        group,
    )
    try:
        wait_until(
            lambda: http_json(f"http://127.0.0.1:{port}/api/v1/health"),
            60,
            "the bridge to answer",
            proc,
        )
        yield proc, port, run_dir
    finally:
        code = proc.stop()
        if code not in (0, None):
            print(proc.output())
