"""The vision node's shell: frames in from a source, detections, calibration and JPEG frames out.

The capture thread (:mod:`nodes.vision.worker`) reads frames and hands each to the encoder
thread (:mod:`nodes.vision.encoder`), which makes the JPEG renditions someone subscribes to; the
detection thread takes the newest frame, calibrates and detects. This
module only moves their results onto the bus (from the event loop, which owns the sockets),
answers the control requests and reports stats and alerts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from nodes.runtime import NodeRuntime
from nodes.vision import calibration as calib
from nodes.vision import chessboard
from nodes.vision.calibration import TableCalibration, TableSpec
from nodes.vision.config import VisionConfig
from nodes.vision.encoder import FrameEncoder, Job
from nodes.vision.geometry import SMALLEST_RADIUS, ball_radius
from nodes.vision.pipeline import PipelineConfig
from nodes.vision.rendition import Encoded, Rendition
from nodes.vision.source import Frame
from nodes.vision.truth import truth_message
from nodes.vision.worker import CaptureWorker, WorkerSettings
from protocol import topics
from protocol.errors import ConfigError, ControlError
from protocol.messages import Detections, FrameInfo

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 20.0


class VisionNode:
    """One camera on the bus."""

    def __init__(self, config: VisionConfig) -> None:
        self.config = config
        self.camera = topics.name(config.camera, "camera")
        try:
            self.renditions = [Rendition.parse(spec) for spec in config.renditions]
            self.spec = TableSpec.named(config.table)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        self.wanted: tuple[Rendition, ...] = ()
        self.source_ok = False
        self.stats_timings: dict[str, float] = {}
        self.counts = {"frames": 0, "published_frames": 0, "calibrations": 0}
        self._rate = (time.monotonic(), 0)
        self._failed_seen = 0  # detection failures already reported in the status
        self.calibration: TableCalibration | None = None
        self.ball_px = 0.0  # a ball's radius in the image with this calibration

    async def run(self) -> int:
        """Serve until SIGINT/SIGTERM; returns the exit status."""
        async with NodeRuntime(self.config, "vision") as node:
            self.node = node
            self.loop = asyncio.get_running_loop()
            self.data = node.run_dir.data_dir(node.name)
            stored = calib.load(self.data / "calibration.json")
            intrinsics = chessboard.load_intrinsics(self.data / "intrinsics.json")
            self.worker = CaptureWorker(self._settings(), self, stored, intrinsics, self.camera)
            self.encoder = FrameEncoder(self._encoded)
            self._routes(node)
            node.stats.append(self._stats)
            node.status = self._status
            node.publisher.on_interest.append(lambda prefix, on: self._update_wanted())
            node.describe_extra["camera"] = self.camera
            if stored is not None:
                self._publish_calibration(stored)
            self.worker.start()
            try:
                return await node.wait()
            finally:
                await asyncio.to_thread(self.worker.stop)
                await asyncio.to_thread(self.encoder.close)

    def _settings(self) -> WorkerSettings:
        c = self.config
        return WorkerSettings(
            source=c.source,
            fps=c.fps,
            loop=c.loop,
            seed=c.seed,
            spec=self.spec,
            auto_calibrate=c.auto_calibrate,
            head_right=c.head_right,
            camera_height=c.camera_height,
            threads=c.threads,
            reconnect_max_s=c.reconnect_max_s,
            pipeline=PipelineConfig(
                cue_elevation_deg=c.cue_elevation_deg, cue_joint_m=c.cue_joint_m
            ),
        )

    # -- from the capture and detection threads (Sink) ---------------------------------------

    def captured(self, captured: Frame) -> None:
        """Offer the frame to the encoder if watched, from the capture thread: the video's
        latency is capture + encode, never detection."""
        wanted = self.wanted
        if wanted:
            self.encoder.offer(captured.image, captured.number, captured.capture_ns, wanted)

    def detections(self, detections: Detections, captured: Frame) -> None:
        """Publish detections (and truth)."""
        self.loop.call_soon_threadsafe(self._publish_detections, detections, captured)

    def calibrated(self, calibration: TableCalibration) -> None:
        """Store and publish a new calibration."""
        try:
            calib.save(calibration, self.data / "calibration.json")
        except OSError as exc:
            log.warning("cannot store the calibration: %s", exc)
        self.loop.call_soon_threadsafe(self._publish_calibration, calibration)

    def source_state(self, ok: bool, message: str, details: dict[str, Any]) -> None:
        """Alert when the source is lost, and when it is back."""
        self.loop.call_soon_threadsafe(self._source_state, ok, message, details)

    # -- on the event loop -----------------------------------------------------------------

    def _publish_detections(self, detections: Detections, captured: Frame) -> None:
        self.counts["frames"] += 1
        for stage, ms in detections.timings_ms.items():
            old = self.stats_timings.get(stage, ms)
            self.stats_timings[stage] = round(0.9 * old + 0.1 * ms, 3)
        publish = self.node.publisher.publish
        publish(topics.vision_detections(self.camera), detections, t_origin_ns=captured.capture_ns)
        if self.config.publish_truth and captured.truth is not None:
            truth = truth_message(captured.truth, self.camera, captured.capture_ns)
            publish(topics.vision_truth(self.camera), truth, t_origin_ns=captured.capture_ns)

    def _publish_calibration(self, calibration: TableCalibration) -> None:
        self.calibration = calibration
        self.counts["calibrations"] += 1
        message = calibration.message(self.camera)
        self.node.publisher.publish(topics.vision_calibration(self.camera), message)
        self.ball_px = ball_radius(calibration)
        log.info(
            "calibration (%s, %s intrinsics): corners %s, balls %.1f px in radius",
            calibration.method,
            calibration.intrinsics.source,
            [[round(v, 1) for v in c] for c in message.corners_px],
            self.ball_px,
        )
        if self.ball_px < SMALLEST_RADIUS:
            log.warning("%s", self._too_small())

    def _too_small(self) -> str:
        return (
            f"balls are {self.ball_px:.1f} px in radius, under the {SMALLEST_RADIUS:.0f} px "
            "detection is measured at: expect missed and false balls (a camera of 1280x720 or "
            "more, or closer to the table)"
        )

    def _source_state(self, ok: bool, message: str, details: dict[str, Any]) -> None:
        if ok and not self.source_ok:
            if self.counts["frames"]:
                self.node.alert("info", "source_restored", message, **details)
            else:
                log.info("%s", message)
        elif not ok and (self.source_ok or not self.counts["frames"]):
            self.node.alert("error", "source_lost", message, **details)
        self.source_ok = ok

    def _encoded(self, job: Job, encoded: list[Encoded]) -> None:
        """From the encoder thread: publish on the loop."""
        self.loop.call_soon_threadsafe(self._publish_frames, job, encoded)

    def _publish_frames(self, job: Job, encoded: list[Encoded]) -> None:
        height, width = job.image.shape[:2]
        for item in encoded:
            info = FrameInfo(
                camera=self.camera, rendition=item.rendition.name, frame=job.index,
                t_capture_ns=job.t_ns, width=item.width, height=item.height,
                quality=item.rendition.quality, source_width=width, source_height=height,
            )  # fmt: skip
            topic = topics.vision_frame(self.camera, item.rendition.name)
            self.node.publisher.publish(topic, info, t_origin_ns=job.t_ns, blobs=[item.jpeg])
            self.counts["published_frames"] += 1

    def _update_wanted(self) -> None:
        wanted = self.node.publisher.wanted
        self.wanted = tuple(
            r for r in self.renditions if wanted(topics.vision_frame(self.camera, r.name))
        )

    # -- control requests ------------------------------------------------------------------

    def _routes(self, node: NodeRuntime[VisionConfig]) -> None:
        node.control.route(
            "calibrate",
            self._calibrate,
            "find the table again: {} from the felt; {corners_px: [[x, y] x4]} manual "
            "(order (-L/2,-W/2), (L/2,-W/2), (L/2,W/2), (-L/2,W/2)); {chessboard: DIR, "
            "pattern?: [cols, rows], square_m?} intrinsics from chessboard images",
        )
        node.control.route(
            "set_source", self._set_source, "read frames from {source: synthetic|PATH|INDEX|URL}"
        )
        node.control.route("calibration", self._calibration, "the calibration in use")

    async def _calibrate(self, args: dict[str, Any]) -> dict[str, Any]:
        if "chessboard" in args:
            return await self._chessboard(args)
        if "corners_px" in args:
            corners = _corners(args["corners_px"])
            result = await self._ask("calibrate_manual", {"corners_px": corners})
        else:
            result = await self._ask("calibrate_auto", {})
        assert isinstance(result, TableCalibration)
        return _summary(result)

    async def _chessboard(self, args: dict[str, Any]) -> dict[str, Any]:
        folder = Path(str(args["chessboard"])).expanduser()
        pattern = args.get("pattern", [9, 6])
        square = float(args.get("square_m", 0.025))
        if not (isinstance(pattern, list) and len(pattern) == 2):
            raise ControlError("bad_request", "pattern must be [inner corners across, down]")
        try:
            result = await asyncio.to_thread(
                chessboard.calibrate_folder, folder, (int(pattern[0]), int(pattern[1])), square
            )
        except (OSError, ValueError) as exc:
            raise ControlError("bad_request", f"chessboard calibration failed: {exc}") from exc
        chessboard.save_intrinsics(result.intrinsics, self.data / "intrinsics.json")
        table_cal = await self._ask("intrinsics", {"intrinsics": result.intrinsics})
        reply: dict[str, Any] = {
            "intrinsics": result.intrinsics.as_dict(),
            "images_used": result.used,
            "images_rejected": result.rejected,
        }
        if isinstance(table_cal, TableCalibration):
            reply["table"] = _summary(table_cal)
        return reply

    async def _set_source(self, args: dict[str, Any]) -> dict[str, Any]:
        source = args.get("source")
        if not isinstance(source, str) or not source:
            raise ControlError("bad_request", "set_source needs {source: synthetic|PATH|INDEX|URL}")
        result = await self._ask("set_source", {"source": source})
        assert isinstance(result, dict)
        return result

    def _calibration(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.calibration is None:
            raise ControlError("not_found", "no calibration yet")
        return _summary(self.calibration)

    async def _ask(self, action: str, args: dict[str, Any]) -> Any:
        future = self.worker.submit(action, args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), REQUEST_TIMEOUT_S)
        except TimeoutError as exc:
            raise ControlError(
                "timeout", f"{action} took longer than {REQUEST_TIMEOUT_S} s"
            ) from exc
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise ControlError("bad_request", f"{action} failed: {exc}") from exc

    # -- heartbeat -------------------------------------------------------------------------

    def _stats(self) -> dict[str, Any]:
        now = time.monotonic()
        last_t, last_n = self._rate
        fps = (self.counts["frames"] - last_n) / max(now - last_t, 1e-6)
        self._rate = (now, self.counts["frames"])
        return {
            "fps": round(fps, 2),
            **self.counts,
            "captured": self.worker.read,
            "detection_skipped": self.worker.skipped,
            "detection_failed": self.worker.failed,
            "timings_ms": dict(self.stats_timings),
            "encoder": {
                "encoded": self.encoder.encoded,
                "skipped_busy": self.encoder.skipped,
                "failed": self.encoder.failed,
                "renditions_wanted": [r.name for r in self.wanted],
            },
            "source": {"spec": self.worker.source_spec, "ok": self.source_ok},
            "calibration": self.calibration.method if self.calibration else None,
        }

    def _status(self) -> tuple[Any, str | None]:
        if not self.source_ok:
            return "degraded", f"source {self.worker.source_spec} is not giving frames"
        if self.calibration is None:
            return "degraded", "no table calibration yet"
        if self.worker.failed > self._failed_seen:
            self._failed_seen = self.worker.failed
            return "degraded", f"detection failed on {self.worker.failed} frames (see the log)"
        if self.ball_px < SMALLEST_RADIUS:
            return "degraded", self._too_small()
        return "ok", None


def _corners(value: Any) -> list[list[float]]:
    try:
        corners = [[float(p[0]), float(p[1])] for p in value]
    except (TypeError, ValueError, IndexError) as exc:
        raise ControlError("bad_request", "corners_px must be [[x, y] x 4]") from exc
    if len(corners) != 4:
        raise ControlError("bad_request", "corners_px must be [[x, y] x 4]")
    return corners


def _summary(cal: TableCalibration) -> dict[str, Any]:
    return {
        "method": cal.method,
        "intrinsics": cal.intrinsics.source,
        "focal_px": round(cal.intrinsics.focal, 2),
        "rms_px": cal.rms_px,
        "corners_px": [[round(float(v), 3) for v in c] for c in cal.corners_px],
        "camera_position_m": [round(float(v), 4) for v in cal.camera_position],
    }
