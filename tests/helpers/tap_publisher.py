"""A stand-in system for the tap's tests and benchmarks: one NodeRuntime publishing realistic
traffic (``python -m tests.helpers.tap_publisher --run-dir DIR``).

- ``core.state`` at ``--state-hz`` (16 balls circling), ``vision.detections.<camera>`` at
  ``--detections-hz``, ``core.event`` (reliable) at ``--events-hz``, and
  ``vision.calibration.<camera>`` once;
- ``vision.frame.<camera>.<rendition>``: real 1280x720 JPEGs of about ``--frame-kb`` kB at
  ``--frames-hz``, sent only while someone subscribes, as the vision node does;
- ``--skip-every N`` skips one ``core.state`` seq every N messages, so subscribers see gaps.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Annotated

import cv2
import numpy as np

from nodes.runtime import CommonConfig, NodeRuntime, describe, load, run_forever, setup_logging
from protocol import messages, topics


class FeedConfig(CommonConfig, frozen=True, kw_only=True):
    state_hz: Annotated[float, describe("core.state rate (0: off)")] = 60.0
    detections_hz: Annotated[float, describe("detections rate (0: off)")] = 30.0
    frames_hz: Annotated[float, describe("frame rate while subscribed (0: off)")] = 30.0
    frame_kb: Annotated[int, describe("approximate JPEG size in kB")] = 70
    events_hz: Annotated[float, describe("core.event rate (0: off)")] = 2.0
    camera: Annotated[str, describe("camera id")] = "cam0"
    rendition: Annotated[str, describe("frame rendition")] = "720p"
    skip_every: Annotated[int, describe("skip one core.state seq every N (0: never)")] = 0


def jpeg_frames(target_kb: int, count: int = 8) -> list[bytes]:
    """Distinct 1280x720 JPEGs of a table with balls and sensor noise, about target_kb each."""
    rng = np.random.default_rng(7)
    sigma, frames = 8.0, []
    for attempt in range(4):
        frames = [_frame(rng, sigma, i) for i in range(count if attempt == 3 else 1)]
        size = len(frames[0]) / 1000
        sigma *= max(0.2, min(5.0, target_kb / max(size, 1.0)))
    return frames


def _frame(rng: np.random.Generator, sigma: float, index: int) -> bytes:
    image = np.zeros((720, 1280, 3), np.uint8)
    image[:] = (40, 110, 30)
    for ball in range(16):
        angle = ball * 0.39 + index * 0.05
        centre = (640 + int(400 * math.cos(angle)), 360 + int(200 * math.sin(angle)))
        cv2.circle(image, centre, 14, (20 + 14 * ball, 200 - 9 * ball, 240), -1)
    noise = rng.normal(0, sigma, image.shape)
    noisy = np.clip(image + noise, 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return bytes(data.tobytes())


def _balls(t: float) -> list[messages.BallState]:
    return [
        messages.BallState(
            id=i + 1,
            number=i,
            kind="cue" if i == 0 else ("solid" if i < 8 else "stripe"),
            x=0.9 * math.cos(t + i * 0.39),
            y=0.45 * math.sin(t + i * 0.39),
            vx=-0.9 * math.sin(t + i * 0.39),
            vy=0.45 * math.cos(t + i * 0.39),
            moving=True,
        )
        for i in range(16)
    ]


class Feed:
    """The periodic streams of one run."""

    def __init__(self, node: NodeRuntime[FeedConfig]) -> None:
        self.node = node
        self.config = node.config
        self.frame_no = 0
        self.jpegs = jpeg_frames(self.config.frame_kb) if self.config.frames_hz > 0 else []

    def state(self) -> None:
        pub, now = self.node.publisher, time.time_ns()
        skip = self.config.skip_every
        if skip and (pub.sent[topics.CORE_STATE] + 1) % skip == 0:
            pub._seq[topics.CORE_STATE] = pub._seq.get(topics.CORE_STATE, 0) + 1
        state = messages.State(
            frame=self.frame_no,
            t_capture_ns=now,
            balls=_balls(now / 1e9),
            moving=True,
            cameras=[self.config.camera],
        )
        pub.publish(topics.CORE_STATE, state, t_origin_ns=now)

    def detections(self) -> None:
        now = time.time_ns()
        self.frame_no += 1
        balls = [
            messages.DetectedBall(
                x_px=640 + b.x * 500,
                y_px=360 + b.y * 500,
                r_px=14.0,
                x=b.x,
                y=b.y,
                kind=b.kind,
                number=b.number,
            )
            for b in _balls(now / 1e9)
        ]
        det = messages.Detections(
            camera=self.config.camera,
            frame=self.frame_no,
            t_capture_ns=now,
            width=1280,
            height=720,
            balls=balls,
        )
        self.node.publisher.publish(
            topics.vision_detections(self.config.camera), det, t_origin_ns=now
        )

    def frame(self) -> None:
        topic = topics.vision_frame(self.config.camera, self.config.rendition)
        if not self.node.publisher.wanted(topic):
            return
        now = time.time_ns()
        jpeg = self.jpegs[self.frame_no % len(self.jpegs)]
        info = messages.FrameInfo(
            camera=self.config.camera,
            rendition=self.config.rendition,
            frame=self.frame_no,
            t_capture_ns=now,
            width=1280,
            height=720,
        )
        self.node.publisher.publish(topic, info, t_origin_ns=now, blobs=[jpeg])

    def event(self) -> None:
        now = time.time_ns()
        event = messages.Collision(
            t_ns=now, frame=self.frame_no, balls=[1, 2], x=0.1, y=0.2, speed=1.5, angle_deg=30.0
        )
        self.node.publisher.publish(topics.CORE_EVENT, event, t_origin_ns=now)

    def calibration(self) -> None:
        cal = messages.Calibration(
            camera=self.config.camera,
            width=1280,
            height=720,
            table_length=2.54,
            table_width=1.27,
            ball_radius=0.028575,
            corners_px=[[10.0, 10.0], [1270.0, 10.0], [1270.0, 710.0], [10.0, 710.0]],
            homography=[500.0, 0, 640, 0, 500.0, 360, 0, 0, 1],
            homography_surface=[500.0, 0, 640, 0, 500.0, 360, 0, 0, 1],
            t_ns=time.time_ns(),
        )
        self.node.publisher.publish(topics.vision_calibration(self.config.camera), cal)


async def every(hz: float, action: Callable[[], None]) -> None:
    """Call ``action`` at ``hz`` on absolute deadlines (no drift)."""
    if hz <= 0:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time()
    while True:
        action()
        deadline += 1.0 / hz
        await asyncio.sleep(max(0.0, deadline - loop.time()))


async def _main(config: FeedConfig) -> int:
    async with NodeRuntime(config, "test") as node:
        feed = Feed(node)
        feed.calibration()
        node.task(every(config.state_hz, feed.state), "state")
        node.task(every(config.detections_hz, feed.detections), "detections")
        node.task(every(config.frames_hz, feed.frame), "frames")
        node.task(every(config.events_hz, feed.event), "events")
        return await node.wait()


def main(argv: Sequence[str] | None = None) -> int:
    config = load(FeedConfig, "feed", argv, description="test publisher for the tap")
    setup_logging(config.log_level, config.name)
    return run_forever(lambda: _main(config))


if __name__ == "__main__":
    sys.exit(main())
