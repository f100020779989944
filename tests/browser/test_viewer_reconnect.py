"""The viewer survives the bridge dying: it reconnects, resumes its event stream losing nothing,
and the video comes back (its own ``cuecast up``, since the bridge is killed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _bridge_pid(run_dir) -> int:
    record = json.loads((run_dir / "nodes" / "bridge.json").read_text())
    return int(record["pid"])


def test_the_page_reconnects_and_resumes_after_the_bridge_is_killed(up, viewer):
    _, _, run_dir = up
    viewer.expected.append("WebSocket connection to")  # Chromium logs each refused attempt
    viewer.wait(
        "c.link.state === 'live' && c.surface && c.surface.stats.drawn >= 3"
        " && c.log.entries.filter(e => e.kind === 'event').length >= 1",
        timeout=90,
    )
    before = viewer.js(
        "() => ({session: cuecast.link.session, drawn: cuecast.surface.stats.drawn,"
        " seq: cuecast.link.positions['core.event'].seq})"
    )
    old_pid = _bridge_pid(run_dir)
    os.kill(old_pid, signal.SIGKILL)
    viewer.wait("c.link.state !== 'live'", timeout=20)
    # an event published while no bridge runs: the resumed stream must bring it
    subprocess.run(
        [
            sys.executable,
            "-m",
            "nodes.cli",
            "tap",
            "call",
            "core",
            "reset_game",
            json.dumps({"by": "while-the-bridge-was-down"}),
            "--run-dir",
            str(run_dir),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    viewer.wait(
        "c.link.state === 'live' && c.link.session !== arg", arg=before["session"], timeout=60
    )
    assert _bridge_pid(run_dir) != old_pid
    viewer.wait("c.log.entries.some(e => e.type === 'event.game_reset')", timeout=30)
    after = viewer.js(
        "() => ({reconnects: cuecast.link.reconnects, resumes: cuecast.link.resumes,"
        " events: cuecast.log.entries.filter(e => e.kind === 'event' && e.topic === 'core.event')})"
    )
    assert after["reconnects"] >= 1
    resumed = [r for r in after["resumes"] if r["topic"] == "core.event"]
    assert resumed and resumed[-1]["recovered"] is True, after["resumes"]
    events = after["events"]
    seqs = [e["seq"] for e in events if e["epoch"] == events[-1]["epoch"]]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "events lost or repeated"
    assert seqs[-1] > before["seq"]
    viewer.wait("c.surface.stats.drawn >= arg + 5", arg=before["drawn"], timeout=60)
    assert viewer.page.locator("#link").get_attribute("data-state") == "live"
