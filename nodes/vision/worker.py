"""The capture thread: read a frame, keep the calibration, detect, hand results to the node.

Everything blocking (the source, OpenCV) runs here, never on the event loop. Results go back
through the :class:`Sink` callbacks, which the node implements by scheduling work on its loop.
Requests from control handlers (calibrate, set_source) are queued and run between frames, so
they see the same frames detection does.
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

from nodes.vision import table
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


class Sink(Protocol):
    """Where the capture thread's results go (called from the capture thread)."""

    def captured(self, captured: Frame) -> None:
        """A frame was read (before detection: video need not wait for it)."""

    def detections(self, detections: Detections, captured: Frame) -> None:
        """One frame's detections (and the frame, for video and truth)."""

    def calibrated(self, calibration: TableCalibration) -> None:
        """A new calibration is in use."""

    def source_state(self, ok: bool, message: str, details: dict[str, Any]) -> None:
        """The source was opened (ok) or lost/ended (not ok)."""


@dataclass(slots=True)
class Request:
    """Work for the capture thread: ``action`` with ``args``, answered through ``future``."""

    action: str
    args: dict[str, Any]
    future: Future[Any] = field(default_factory=Future)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """What the capture thread needs from the node's config."""

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


class CaptureWorker:
    """Runs the source and the pipeline in one thread."""

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
        self.source_spec = settings.source
        self.source: FrameSource | None = None
        self.frames = 0
        self.last_auto = 0.0
        self.thread = threading.Thread(target=self._run, name="capture", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self.thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Ask the thread to stop and wait for it."""
        self.stopping.set()
        self.thread.join(timeout)

    def submit(self, action: str, args: dict[str, Any]) -> Future[Any]:
        """Queue a request; its future resolves when the thread has handled it."""
        request = Request(action, args)
        self.requests.put(request)
        return request.future

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        cv2.setNumThreads(max(1, self.settings.threads))
        backoff = Backoff(maximum=self.settings.reconnect_max_s)
        while not self.stopping.is_set():
            source = self._open()
            if source is None:
                self._handle_requests(None)
                self.stopping.wait(backoff.failure())
                continue
            backoff.success()
            self._frames(source)
            source.close()
        self._fail_pending("the vision node is stopping")

    def _open(self) -> FrameSource | None:
        spec = self.source_spec
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
        self.source = source
        self.sink.source_state(True, f"source {spec} open", {"source": spec})
        return source

    def _frames(self, source: FrameSource) -> None:
        while not self.stopping.is_set():
            try:
                captured = source.read()
            except (SourceLost, OSError) as exc:
                self.sink.source_state(False, f"source lost: {exc}", {"source": self.source_spec})
                return
            if captured is None:
                self.sink.source_state(
                    False, f"end of {self.source_spec}", {"source": self.source_spec, "ended": True}
                )
                self._idle_until_new_source()
                return
            if not self._handle_requests(captured):
                return  # the source changed
            self._frame(captured)

    def _idle_until_new_source(self) -> None:
        spec = self.source_spec
        while not self.stopping.is_set() and self.source_spec == spec:
            self._handle_requests(None)
            self.stopping.wait(0.1)

    def _frame(self, captured: Frame) -> None:
        self.sink.captured(captured)
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

    def _handle_requests(self, captured: Frame | None) -> bool:
        """Run queued requests; False when the source must be reopened."""
        keep = True
        while True:
            try:
                request = self.requests.get_nowait()
            except queue.Empty:
                return keep
            handler = self._handler(request.action)
            try:
                result, keep_source = handler(request.args, captured)
                keep = keep and keep_source
                request.future.set_result(result)
            except Exception as exc:  # reported to the caller as an error reply
                request.future.set_exception(exc)

    def _handler(self, action: str) -> Callable[[dict[str, Any], Frame | None], tuple[Any, bool]]:
        handlers = {
            "calibrate_auto": self._req_auto,
            "calibrate_manual": self._req_manual,
            "intrinsics": self._req_intrinsics,
            "set_source": self._req_source,
        }
        return handlers[action]

    def _req_auto(self, args: dict[str, Any], captured: Frame | None) -> tuple[Any, bool]:
        if captured is None:
            raise ValueError("no frame to calibrate from: the source is not giving frames")
        found = self._calibrate_auto(captured)
        if found is None:
            raise ValueError("no table found in the current frame")
        return found, True

    def _req_manual(self, args: dict[str, Any], captured: Frame | None) -> tuple[Any, bool]:
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
        return cal, True

    def _req_intrinsics(self, args: dict[str, Any], captured: Frame | None) -> tuple[Any, bool]:
        self.intrinsics = args["intrinsics"]
        if captured is None:
            return None, True
        return self._calibrate_auto(captured), True

    def _req_source(self, args: dict[str, Any], captured: Frame | None) -> tuple[Any, bool]:
        self.source_spec = str(args["source"])
        self.pipeline.set_calibration(self.pipeline.calibration)  # fresh felt model
        return {"source": self.source_spec}, False

    def _fail_pending(self, reason: str) -> None:
        while True:
            try:
                request = self.requests.get_nowait()
            except queue.Empty:
                return
            request.future.set_exception(RuntimeError(reason))
