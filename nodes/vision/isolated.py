"""The real-time synthetic camera in its own process, as a camera is its own device.

Rendering is CPU work the size of detection (10-15 ms per 720p frame). In the vision node's
process its many short numpy and OpenCV calls and detection's take turns on the GIL, and each
render took about 2.5 times as long (12.7 -> 31.8 ms median, measured with both threads in one
process; with detection in another process: 12.7 ms), which made frames late and the video lag.
So a child process renders (:meth:`SyntheticSource.render_next`) as many frames ahead of time
as ``LEAD_BYTES`` of shared memory hold (23 at 720p: 0.77 s at 30 fps), and
:meth:`IsolatedSyntheticSource.read`, in the node, hands each frame over at its due time,
stamped with it, as a camera's frame arrives whole on the camera's clock. A render slower than a
frame period eats into that lead instead of making the frame late: a ball starting or stopping
rebuilds the cached layer of resting balls (up to 150 ms on a loaded machine), and while the
balls roll after a shot, rendering under load can run slower than real time for seconds.
Measured with the whole system and a viewer on two cores (capture -> publish p95 of the frames
the viewer drew, 30 s): lead of 8 frames 40-57 ms, lead of 23 frames 21-23 ms.

- Pixels go through shared memory (an anonymous file both processes map): a 720p frame through a
  pipe took 4 ms, a copy out of shared memory well under one.
- A pipe from the child carries one small header per frame (slot, number, stamp, ground truth,
  frames skipped); a pipe back carries one byte per slot the node has copied out, so the child
  never writes a slot still being read.
- The child runs at the node's CPU priority. With a lead of 8 frames, nice 10 looked better
  (viewer p95 in 20 s runs 49-56 against 65-77 ms, other jobs on the machine); with the lead of
  23 and nothing else running, nice 10 starved it while the balls roll (30 s runs: 81-83
  against 57-58 ms), so it was dropped.

The pipes are also the liveness check: the child exits when the node goes away (its pipe
breaks), and the node sees the child's death or silence as :class:`SourceLost`, which the
capture thread answers by opening the source again with backoff.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import mmap
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
from numpy.typing import NDArray

from nodes.vision.source import (
    DEFAULT_FPS,
    Frame,
    FrameSource,
    SourceLost,
    SourceSpec,
    SourceUnavailable,
    SyntheticSource,
    SystemClock,
)

LEAD_BYTES = 64 << 20  # shared memory for frames rendered ahead: 24 at 720p (0.8 s at 30 fps)
MIN_SLOTS, MAX_SLOTS = 3, 60
FIRST_FRAME_S = 120.0  # the child imports, builds the table and renders its cached layers
SILENCE_S = 5.0  # a running child that says nothing for this long is lost
POLL_S = 0.1  # how often a wait for the child's next frame looks for an interrupt
STOP_S = 2.0
GRACE_S = 0.2  # a closed child that has not exited by then is terminated


class IsolatedSyntheticSource(FrameSource):
    """:class:`SyntheticSource` (real time) rendered ahead in a child process."""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.fps = spec.fps or DEFAULT_FPS
        self.period_ns = round(1e9 / self.fps)
        self.description = f"synthetic:{spec.seed}"
        self.dropped = 0  # frames skipped, by the child (late to render) or here (stale)
        self.frames = 0
        self.shape = (spec.height or 720, spec.width or 1280, 3)
        self.slots_n = slot_count(self.shape)
        shared = _shared_file(self.slots_n * _size(self.shape))
        frames_r, frames_w = os.pipe()
        acks_r, acks_w = os.pipe()
        child_fds = (shared, frames_w, acks_r)
        # A fresh interpreter, not multiprocessing: the node has threads (never fork it), and
        # spawn would re-import the caller's __main__.
        argv = [sys.executable, "-m", __name__, "--spec", json.dumps(dataclasses.asdict(spec))]
        argv += ["--fds", ",".join(map(str, child_fds))]
        try:
            self.process = subprocess.Popen(argv, pass_fds=child_fds, stdin=subprocess.DEVNULL)
        except OSError as exc:
            for fd in (*child_fds, frames_r, acks_w):
                os.close(fd)
            raise SourceUnavailable(f"cannot start the synthetic camera: {exc}") from exc
        self.slots = _slots(shared, self.shape, self.slots_n)
        for fd in child_fds:
            os.close(fd)
        self.conn = Connection(frames_r, writable=False)
        self.acks = acks_w
        self.skipped_here = 0
        self.interrupted = threading.Event()

    def read(self) -> Frame:
        """The next frame, at its due time (late only if the child could not render it in time;
        a frame already more than a period late while a newer one waits is skipped)."""
        while True:
            slot, number, stamp, truth, dropped = self._receive()
            late_ns = time.time_ns() - stamp
            if late_ns > self.period_ns and self.conn.poll(0):
                self._ack()
                self.skipped_here += 1
                continue
            if late_ns < 0:
                time.sleep(-late_ns / 1e9)
            image = self.slots[slot].copy()
            self._ack()
            self.frames += 1
            self.dropped = dropped + self.skipped_here
            return Frame(image, number, stamp, truth)

    def interrupt(self) -> None:
        self.interrupted.set()

    def _receive(self) -> tuple[int, int, int, Any, int]:
        timeout = FIRST_FRAME_S if self.frames == 0 else SILENCE_S
        deadline = time.monotonic() + timeout
        try:
            # in slices: the first frame may take a minute on a loaded machine, and a node
            # that stops meanwhile must not wait for it
            while not self.conn.poll(POLL_S):
                if self.interrupted.is_set():
                    raise SourceLost("interrupted: the node is stopping or changing source")
                if time.monotonic() > deadline:
                    raise SourceLost(f"the synthetic camera sent no frame for {timeout:.0f} s")
            message = self.conn.recv()
        except (EOFError, OSError) as exc:
            code = self.process.poll()
            raise SourceLost(f"the synthetic camera's process ended (exit code {code})") from exc
        if message[0] == "error":
            raise SourceLost(f"the synthetic camera failed: {message[1]}")
        return message[1:]  # type: ignore[no-any-return]

    def _ack(self) -> None:
        try:
            os.write(self.acks, b"\x01")
        except OSError as exc:
            raise SourceLost("the synthetic camera's process ended") from exc

    def close(self) -> None:
        if self.conn.closed:
            return
        self.conn.close()  # the child's next send fails and it exits
        os.close(self.acks)
        try:  # ... unless it is deep in a render (its first frames take seconds): end it
            self.process.wait(GRACE_S)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(STOP_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_S)


def _size(shape: tuple[int, int, int]) -> int:
    return shape[0] * shape[1] * shape[2]


def slot_count(shape: tuple[int, int, int]) -> int:
    """Frame slots in shared memory: as many as ``LEAD_BYTES`` holds, within bounds."""
    return max(MIN_SLOTS, min(MAX_SLOTS, LEAD_BYTES // _size(shape)))


def _shared_file(size: int) -> int:
    """A file descriptor for ``size`` bytes of memory both processes can map."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("cuecast-synthetic")
    else:
        with tempfile.TemporaryFile() as file:
            fd = os.dup(file.fileno())
    os.ftruncate(fd, size)
    return fd


def _slots(fd: int, shape: tuple[int, int, int], count: int) -> list[NDArray[np.uint8]]:
    """The frame slots in the shared file (the mapping stays alive through the arrays)."""
    size = _size(shape)
    flat = np.frombuffer(mmap.mmap(fd, count * size), np.uint8)
    return [flat[k * size : (k + 1) * size].reshape(shape) for k in range(count)]


def serve(spec: SourceSpec, shared: int, frames: Connection, acks: int) -> None:
    """The child: render each frame into a free slot as soon as there is one, until the node
    goes away. The renderer skips frames whose time has already passed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the node, which closes us
    shape = (spec.height or 720, spec.width or 1280, 3)
    slots = _slots(shared, shape, slot_count(shape))
    free, sent = len(slots), 0
    try:
        source = SyntheticSource(spec, SystemClock())
        while True:
            while free == 0:
                acked = os.read(acks, 64)
                if not acked:
                    return  # the node closed its end
                free += len(acked)  # one byte per slot copied out
            frame = source.render_next()
            if frame.image.shape != shape:
                raise ValueError(f"rendered {frame.image.shape}, expected {shape}")
            slot = sent % len(slots)
            slots[slot][...] = frame.image
            header = (slot, frame.number, frame.capture_ns, frame.truth, source.dropped)
            frames.send(("frame", *header))
            free, sent = free - 1, sent + 1
    except (BrokenPipeError, EOFError, ConnectionResetError):
        return  # the node is gone or closed us
    except Exception as exc:  # reported to the node as a lost source, with the reason
        _send_error(frames, exc)


def _send_error(conn: Connection, exc: BaseException) -> None:
    with contextlib.suppress(OSError):  # the node is gone: nobody to tell
        conn.send(("error", f"{type(exc).__name__}: {exc}"))


def main(argv: list[str] | None = None) -> int:
    """``python -m nodes.vision.isolated --spec JSON --fds SHARED,FRAMES,ACKS`` (internal)."""
    parser = argparse.ArgumentParser(description="The synthetic camera's process (internal).")
    parser.add_argument("--spec", required=True, help="the SourceSpec as JSON")
    parser.add_argument("--fds", required=True, help="shared memory, frame pipe, ack pipe")
    args = parser.parse_args(argv)
    spec = SourceSpec(**json.loads(args.spec))
    shared, frames, acks = (int(fd) for fd in args.fds.split(","))
    serve(spec, shared, Connection(frames, readable=False), acks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
