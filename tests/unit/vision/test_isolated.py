"""The real-time synthetic camera in its own process: frames through shared memory, handed over
when due, and a child that dies or goes quiet is a lost source, never a hang."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time

import pytest

from nodes.vision.isolated import IsolatedSyntheticSource
from nodes.vision.source import SourceLost, open_source


@pytest.fixture
def source():
    source = open_source("synthetic:4", width=320, height=192, fps=30.0)
    assert isinstance(source, IsolatedSyntheticSource)
    yield source
    source.close()


def test_frames_come_in_order_with_truth_and_stamps_already_past(source):
    frames = [source.read() for _ in range(8)]
    numbers = [f.number for f in frames]
    assert numbers == sorted(numbers) and len(set(numbers)) == 8
    for frame in frames:
        assert frame.image.shape == (192, 320, 3) and frame.image.flags.writeable
        assert frame.truth is not None and frame.truth.frame == frame.number
        assert frame.capture_ns <= time.time_ns()  # handed over when due, never before
    steps = {b.number - a.number for a, b in itertools.pairwise(frames)}
    stamps = {b.capture_ns - a.capture_ns for a, b in itertools.pairwise(frames)}
    assert {round(s / 1e9 * 30.0) for s in stamps} == steps  # one period per frame number


def test_the_frames_are_the_ones_the_in_process_camera_renders(source):
    reference = open_source("synthetic:4", width=320, height=192, fps=30.0, realtime=False)
    frame = source.read()
    for _ in range(frame.number + 1):
        expected = reference.read()
    assert expected.number == frame.number
    assert (expected.image == frame.image).all()


def test_a_killed_camera_process_is_a_lost_source_not_a_hang(source):
    source.read()
    os.kill(source.process.pid, signal.SIGKILL)
    with pytest.raises(SourceLost, match=r"process ended|mid-frame"):
        for _ in range(10):
            source.read()


def test_closing_stops_the_camera_process(source):
    source.read()
    source.close()
    assert source.process.poll() is not None


NODE = """
import sys, time
from nodes.vision.source import open_source
source = open_source("synthetic:4", width=320, height=192, fps=30.0)
source.read()
print(source.process.pid, flush=True)
time.sleep(60)
"""


def test_the_camera_process_exits_when_its_node_is_killed():
    with subprocess.Popen([sys.executable, "-c", NODE], stdout=subprocess.PIPE, text=True) as node:
        _expect_child_to_follow(node)


def _expect_child_to_follow(node: subprocess.Popen[str]) -> None:
    assert node.stdout is not None
    try:
        child = int(node.stdout.readline())
        node.kill()
        node.wait(5)
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        node.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_a_read_waiting_for_the_first_frame_gives_up_when_interrupted():
    source = open_source("synthetic:4", width=320, height=192, fps=30.0)
    try:
        source.interrupt()  # before the child could render anything (it is still importing)
        started = time.monotonic()
        with pytest.raises(SourceLost, match="interrupted"):
            source.read()
        assert time.monotonic() - started < 0.5  # not the 120 s a first frame may take
    finally:
        source.close()


def test_closing_a_camera_still_starting_ends_it_at_once():
    source = open_source("synthetic:4", width=1280, height=720, fps=30.0)
    started = time.monotonic()
    source.close()  # the child is deep in imports and its first render: it sends nothing soon
    assert source.process.poll() is not None
    assert time.monotonic() - started < 1.5  # not the 2 s the child was given before
