"""Two threads between the source and the node: one reads frames, one detects.

The capture thread owns the source (open, read, reconnect with backoff) and hands every frame to
the node at once (``Sink.captured``: the video encoder), then to a one-frame slot. The detection
thread takes the newest frame from the slot when it is free, keeps the calibration, detects and
hands the results back (``Sink.detections``). So video follows the camera's clock and never waits
for detection, and a slow frame of detection makes detection skip frames (counted), never the
video lag. Requests from control handlers (calibrate, set_source) run on the detection thread
between frames, so they see the frames detection does. Everything blocking (the source, OpenCV)
runs on these threads, never on the event loop; the node schedules their results on its loop.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2

from nodes.vision import compiled, table
from nodes.vision.calibration import Intrinsics, TableCalibration, TableSpec
from nodes.vision.pipeline import Pipeline, PipelineConfig
from nodes.vision.source import (
    Backoff,
    Frame,
    FrameSource,
    SourceLost,
    SourceUnavailable,
    open_source,
)
from protocol.messages import Detections

log = logging.getLogger(__name__)

AUTO_RETRY_S = 1.0
IDLE_S = 0.1  # how often an idle detection thread looks at the requests


class Sink(Protocol):
    """Where the threads' results go (called from the capture or the detection thread)."""

    def captured(self, captured: Frame) -> None:
        """A frame was read (capture thread; before detection: video need not wait for it)."""

    def detections(self, detections: Detections, captured: Frame) -> None:
        """One frame's detections (and the frame, for truth)."""

    def calibrated(self, calibration: TableCalibration) -> None:
        """A new calibration is in use."""

    def source_state(self, ok: bool, message: str, details: dict[str, Any]) -> None:
        """The source was opened (ok) or lost/ended (not ok)."""


@dataclass(slots=True)
class Request:
    """Work for the detection thread: ``action`` with ``args``, answered through ``future``."""

    action: str
    args: dict[str, Any]
    future: Future[Any] = field(default_factory=Future)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """What the threads need from the node's config."""

    source: str
    fps: float
    loop: bool
    seed: int
    spec: TableSpec
    auto_calibrate: bool
    head_right: bool
    camera_height: float
    threads: int
    reconnect_max_s: float
    pipeline: PipelineConfig


class Latest:
    """A one-frame slot between the threads: a new frame replaces one not yet taken (counted).

    Frames carry the source generation they were read under, so a frame of a source that has
    since been replaced is never detected.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: tuple[int, Frame] | None = None
        self.replaced = 0

    def put(self, generation: int, frame: Frame) -> None:
        """Offer a frame (from the capture thread)."""
        with self._cond:
            if self._item is not None:
                self.replaced += 1
            self._item = (generation, frame)
            self._cond.notify()

    def take(self, timeout: float) -> tuple[int, Frame] | None:
        """The newest frame, waiting up to ``timeout`` seconds; None if none came."""
        with self._cond:
            if self._item is None:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def clear(self) -> None:
        """Drop a waiting frame (the source changed)."""
        with self._cond:
            self._item = None

    def wake(self) -> None:
        """Wake a waiting ``take`` (stopping)."""
        with self._cond:
            self._cond.notify_all()


class CaptureWorker:
    """The capture thread and the detection thread of one camera."""

    def __init__(
        self,
        settings: WorkerSettings,
        sink: Sink,
        calibration: TableCalibration | None,
        intrinsics: Intrinsics | None,
        camera: str,
    ) -> None:
        self.settings = settings
        self.sink = sink
        self.camera = camera
        self.intrinsics = intrinsics
        self.pipeline = Pipeline(calibration, settings.pipeline)
        self.requests: queue.Queue[Request] = queue.Queue()
        self.stopping = threading.Event()
        self.changed = threading.Event()  # the source spec changed: reopen now
        self.source_spec = settings.source
        self.source: FrameSource | None = None  # the one the capture thread reads now
        self.generation = 0  # bumped when the source spec changes
        self.latest = Latest()
        self.last: Frame | None = None  # the newest frame the detection thread took
        self.read = 0  # frames read from the source
        self.frames = 0  # frames detected
        self.failed = 0  # frames whose detection raised
        self.last_auto = 0.0
        self.threads = [
            threading.Thread(target=self._capture, name="capture", daemon=True),
            threading.Thread(target=self._detect, name="detect", daemon=True),
        ]

    @property
    def skipped(self) -> int:
        """Frames read but not detected because detection was busy with an earlier one."""
        return self.latest.replaced

    def start(self) -> None:
        """Start both threads."""
        for thread in self.threads:
            thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Ask both threads to stop and wait for them."""
        self.stopping.set()
        self._change()
        self.latest.wake()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def submit(self, action: str, args: dict[str, Any]) -> Future[Any]:
        """Queue a request; its future resolves when the detection thread has handled it."""
        request = Request(action, args)
        self.requests.put(request)
        return request.future

    # -- the capture thread ----------------------------------------------------------------

    def _change(self) -> None:
        """Tell the capture thread to leave its source (stopping, or another source set),
        interrupting a read that waits."""
        self.changed.set()
        if (source := self.source) is not None:
            source.interrupt()

    def _capture(self) -> None:
        backoff = Backoff(maximum=self.settings.reconnect_max_s)
        while not self.stopping.is_set():
            self.changed.clear()
            spec, generation = self.source_spec, self.generation
            source = self._open(spec)
            if source is None:
                self.changed.wait(backoff.failure())
                continue
            backoff.success()
            self.source = source
            if self.changed.is_set():  # set while it opened: it missed the interrupt
                source.interrupt()
            try:
                self._read(source, spec, generation)
            finally:
                self.source = None
                source.close()

    def _open(self, spec: str) -> FrameSource | None:
        try:
            source = open_source(
                spec,
                fps=self.settings.fps or None,
                loop=self.settings.loop,
                seed=self.settings.seed,
            )
        except (SourceUnavailable, SourceLost, OSError, ValueError) as exc:
            self.sink.source_state(False, f"cannot open source {spec}: {exc}", {"source": spec})
            return None
        self.sink.source_state(True, f"source {spec} open", {"source": spec})
        return source

    def _read(self, source: FrameSource, spec: str, generation: int) -> None:
        while not self.changed.is_set():
            try:
                captured = source.read()
            except (SourceLost, OSError) as exc:
                if not self.changed.is_set():  # else interrupted on purpose
                    self.sink.source_state(False, f"source lost: {exc}", {"source": spec})
                return
            if captured is None:
                self.sink.source_state(False, f"end of {spec}", {"source": spec, "ended": True})
                self.changed.wait()  # until another source is set, or stop
                return
            self.read += 1
            self.sink.captured(captured)
            self.latest.put(generation, captured)

    # -- the detection thread --------------------------------------------------------------

    def _detect(self) -> None:
        cv2.setNumThreads(max(1, self.settings.threads))
        try:
            if (seconds := compiled.warm_up()) > 1.0:
                log.info(
                    "compiled the detection kernels in %.1f s (cached for later starts)", seconds
                )
        except Exception:  # each frame will fail and be counted: the node stays up to say so
            log.exception("the detection kernels could not be compiled")
        while not self.stopping.is_set():
            item = self.latest.take(IDLE_S)
            if item is not None and item[0] == self.generation:
                self.last = item[1]
            self._handle_requests(self.last)
            if item is not None and item[0] == self.generation:  # a request may change it
                self._guarded(item[1])
        self._fail_pending("the vision node is stopping")

    def _guarded(self, captured: Frame) -> None:
        """Detect one frame; a fault in detection (a bug: bad input gives empty detections)
        is logged and counted, and the thread goes on with the next frame."""
        try:
            self._frame(captured)
        except Exception:
            self.failed += 1
            if self.failed in (1, 10, 100) or self.failed % 1000 == 0:
                log.exception(
                    "detection failed on frame %d (%d so far)", captured.number, self.failed
                )

    def _frame(self, captured: Frame) -> None:
        self._auto_calibrate(captured)
        detections = self.pipeline.process(
            captured.image, captured.number, captured.capture_ns, self.camera
        )
        self.frames += 1
        self.sink.detections(detections, captured)

    def _auto_calibrate(self, captured: Frame) -> None:
        if self.pipeline.calibration is not None and self._fits(captured):
            return
        now = time.monotonic()
        if not self.settings.auto_calibrate or now - self.last_auto < AUTO_RETRY_S:
            return
        self.last_auto = now
        self._calibrate_auto(captured)

    def _fits(self, captured: Frame) -> bool:
        cal = self.pipeline.calibration
        height, width = captured.image.shape[:2]
        return cal is not None and cal.size == (width, height)

    def _calibrate_auto(self, captured: Frame) -> TableCalibration | None:
        found = table.calibrate(
            captured.image,
            self.settings.spec,
            self.intrinsics,
            camera_height=self.settings.camera_height,
        )
        return self._use(found) if found is not None else None

    def _use(self, calibration: TableCalibration) -> TableCalibration:
        if self.settings.head_right and calibration.method == "auto":
            calibration = calibration.turned()
        self.pipeline.set_calibration(calibration)
        self.sink.calibrated(calibration)
        return calibration

    # -- requests --------------------------------------------------------------------------

    def _handle_requests(self, captured: Frame | None) -> None:
        """Run the queued requests against this frame (None: no frame yet)."""
        while True:
            try:
                request = self.requests.get_nowait()
            except queue.Empty:
                return
            handler = self._handler(request.action)
            try:
                request.future.set_result(handler(request.args, captured))
            except Exception as exc:  # reported to the caller as an error reply
                request.future.set_exception(exc)

    def _handler(self, action: str) -> Callable[[dict[str, Any], Frame | None], Any]:
        handlers = {
            "calibrate_auto": self._req_auto,
            "calibrate_manual": self._req_manual,
            "intrinsics": self._req_intrinsics,
            "set_source": self._req_source,
        }
        return handlers[action]

    def _req_auto(self, args: dict[str, Any], captured: Frame | None) -> Any:
        if captured is None:
            raise ValueError("no frame to calibrate from: the source is not giving frames")
        found = self._calibrate_auto(captured)
        if found is None:
            raise ValueError("no table found in the current frame")
        return found

    def _req_manual(self, args: dict[str, Any], captured: Frame | None) -> Any:
        size = args.get("size")
        if captured is not None:
            size = (captured.image.shape[1], captured.image.shape[0])
        if size is None:
            raise ValueError("no frame yet: the image size is unknown")
        cal = table.calibrate_manual(
            args["corners_px"], self.settings.spec, size, self.intrinsics,
            camera_height=self.settings.camera_height,
        )  # fmt: skip
        self._use(cal)
        return cal

    def _req_intrinsics(self, args: dict[str, Any], captured: Frame | None) -> Any:
        self.intrinsics = args["intrinsics"]
        if captured is None:
            return None
        return self._calibrate_auto(captured)

    def _req_source(self, args: dict[str, Any], captured: Frame | None) -> Any:
        self.source_spec = str(args["source"])
        self.generation += 1
        self.last = None
        self.latest.clear()
        self._change()
        self.pipeline.set_calibration(self.pipeline.calibration)  # fresh felt model
        return {"source": self.source_spec}

    def _fail_pending(self, reason: str) -> None:
        while True:
            try:
                request = self.requests.get_nowait()
            except queue.Empty:
                return
            request.future.set_exception(RuntimeError(reason))
