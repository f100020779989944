"""A system of real processes per test: the stand-in publisher and one or more bridges."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge import wire
from tests.helpers.process import Proc, free_port, wait_health
from tests.helpers.wsclient import Raw


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


class System:
    """Processes sharing one run dir; stopped (and their stderr shown on failure) at the end."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.procs: list[Proc] = []
        self.clients: list[Raw] = []
        self.logs = run_dir / "test-logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def publisher(self, *args: str, name: str = "core") -> Proc:
        """The stand-in core/vision publisher (``tests.helpers.publisher``)."""
        argv = ["-m", "tests.helpers.publisher", "--run-dir", str(self.run_dir), "--name", name]
        proc = Proc(name, [*argv, "--heartbeat-interval", "0.2", *args], self.logs)
        self.procs.append(proc)
        return proc

    async def bridge(
        self, *args: str, name: str = "bridge", port: int | None = None, nodes: tuple[str, ...] = ()
    ) -> tuple[Proc, int]:
        """A bridge process, once its health route answers (and lists ``nodes`` alive)."""
        port = port or free_port()
        argv = ["-m", "bridge", "--run-dir", str(self.run_dir), "--name", name]
        argv += ["--port", str(port), "--heartbeat-interval", "0.2", *args]
        proc = Proc(name, argv, self.logs)
        self.procs.append(proc)
        await asyncio.to_thread(wait_health, port, proc, 30.0, nodes)
        return proc, port

    async def connect(self, port: int, fmt: str = wire.JSON, query: str = "") -> Raw:
        """A raw protocol client, closed at the end of the test."""
        client = await Raw.connect(port, fmt, query)
        self.clients.append(client)
        return client

    def stop(self, show: bool) -> None:
        for proc in reversed(self.procs):  # stop every one first, whatever happens
            try:
                proc.stop()
            except Exception:  # a failing stop must not leak the others
                proc.kill()
        if show:
            for proc in self.procs:
                sys.stderr.write(f"\n===== {proc.name} ({proc.log.name}) =====\n{proc.output()}")


@pytest.fixture
async def system(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[System]:
    found = System(tmp_path / "run")
    yield found
    for client in found.clients:
        client.close()
    await asyncio.sleep(0)
    gc.collect()  # surface leaked sockets in the test that leaked them
    report = getattr(request.node, "rep_call", None)
    found.stop(show=report is None or report.failed)
