"""Fixtures for the tap's integration tests: a running test system and the CLI as a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nodes.runtime import RunDir

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class System:
    """A test publisher running in its own run dir."""

    run_dir: Path
    process: subprocess.Popen[str]
    name: str

    def stderr(self) -> str:
        return self.process.stderr.read() if self.process.stderr else ""


def start_feed(run_dir: Path, name: str = "feed", *flags: str) -> subprocess.Popen[str]:
    """Start tests.helpers.tap_publisher and wait for its node record."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.helpers.tap_publisher",
            "--run-dir",
            str(run_dir),
            "--name",
            name,
            *flags,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while RunDir(run_dir).read_record(name) is None:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"test publisher did not start:\n{process.stderr.read()}")
        time.sleep(0.05)
    return process


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM (kill if it lingers); returns what it wrote on stderr."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err or ""


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """A feed at realistic rates that skips one core.state seq in 20 (gaps on purpose)."""
    run_dir = tmp_path_factory.mktemp("run")
    process = start_feed(run_dir, "feed", "--skip-every", "20")
    yield System(run_dir, process, "feed")
    stop(process)


def tap(
    *args: str, run_dir: Path | None = None, timeout: float = 60, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m nodes.tap ARGS --run-dir RUN_DIR`` and return the finished process."""
    command = [sys.executable, "-m", "nodes.tap", *args]
    if run_dir is not None:
        command += ["--run-dir", str(run_dir)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUECAST_")}
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, input=stdin, env=env
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """stdout of a run that must have succeeded (stderr shown otherwise)."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr}\n{result.stdout}"
    return result.stdout


def spawn(*args: str, run_dir: Path) -> subprocess.Popen[str]:
    """Start the tap in the background."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUECAST_")}
    return subprocess.Popen(
        [sys.executable, "-m", "nodes.tap", *args, "--run-dir", str(run_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
