"""A stand-in publisher for bridge tests and benchmarks (until the real core and vision land).

    python -m tests.helpers.publisher --run-dir D [--name core] [--state-hz 60]
        [--event-hz 0 --event-bytes 0] [--frame-hz 30] [--hwm 1000]

A NodeRuntime that publishes ``core.state`` (16 moving balls) at ``--state-hz``, ``core.event``
reliably (periodically with ``--event-hz``, and in bursts on the control request
``publish_events {"n": N, "pad": bytes}``), ``vision.calibration.<camera>`` once, and JPEG frames
on ``vision.frame.<camera>.<rendition>`` only while someone subscribes to them (as the vision
node does). Kill it and start it again with the same run dir: its journal continues.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from typing import Annotated, Any

import cv2
import numpy as np

from nodes.runtime import NodeRuntime, load, run_forever, setup_logging
from nodes.runtime.config import CommonConfig, describe
from protocol import topics
from protocol.messages import BallState, Calibration, FrameInfo, GameReset, State

LENGTH, WIDTH, SCALE = 2.54, 1.27, 600.0  # table metres; pixels per metre in the full frame
SIZES = {"full": (1920, 1080), "720p": (1280, 720), "preview": (320, 180)}


class PublisherConfig(CommonConfig, frozen=True, kw_only=True):
    """Rates and sizes of what the stand-in publishes."""

    state_hz: Annotated[float, describe("core.state messages per second (0: none)")] = 60.0
    event_hz: Annotated[float, describe("core.event messages per second (0: only on request)")] = (
        0.0
    )
    event_bytes: Annotated[int, describe("padding bytes in each periodic event")] = 0
    frame_hz: Annotated[float, describe("frames per second of each watched rendition")] = 30.0
    camera: Annotated[str, describe("camera id of frames and calibration")] = "cam0"
    frame_cache: Annotated[
        int, describe("render this many frames per rendition once and cycle (0: draw each)")
    ] = 0


def balls(t: float) -> list[BallState]:
    """16 balls circling the table centre at different speeds."""
    out = []
    for i in range(16):
        angle = t * (0.3 + 0.05 * i) + i
        radius = 0.15 + 0.025 * i
        x, y = radius * 2 * math.cos(angle), radius * math.sin(angle)
        out.append(BallState(id=i + 1, number=i, x=x, y=y, vx=-math.sin(angle), moving=True))
    return out


def homography(width: int, height: int) -> list[float]:
    """Table metres (y up) to pixels of a frame of this size (y down), row-major 3x3."""
    s = SCALE * width / 1920
    return [s, 0.0, width / 2, 0.0, -s, height / 2, 0.0, 0.0, 1.0]


def calibration(camera: str) -> Calibration:
    width, height = SIZES["full"]
    h = homography(width, height)
    corners = [[h[0] * x + h[2], h[4] * y + h[5]] for x, y in _corners()]
    return Calibration(
        camera=camera,
        width=width,
        height=height,
        table_length=LENGTH,
        table_width=WIDTH,
        ball_radius=0.028575,
        corners_px=corners,
        homography=h,
        homography_surface=h,
        method="synthetic",
    )


def _corners() -> list[tuple[float, float]]:
    return [
        (-LENGTH / 2, -WIDTH / 2),
        (LENGTH / 2, -WIDTH / 2),
        (LENGTH / 2, WIDTH / 2),
        (-LENGTH / 2, WIDTH / 2),
    ]


def render(rendition: str, state: list[BallState], frame: int) -> bytes:
    """A JPEG of the table with the balls where the state says."""
    width, height = SIZES.get(rendition, SIZES["preview"])
    image = np.full((height, width, 3), (40, 110, 30), np.uint8)
    h = homography(width, height)
    r = max(2, int(0.028575 * h[0]))
    for ball in state:
        center = (int(h[0] * ball.x + h[2]), int(h[4] * ball.y + h[5]))
        cv2.circle(image, center, r, (230, 230, 230) if ball.number == 0 else (30, 30, 200), -1)
    cv2.putText(image, str(frame), (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return bytes(data)


class Publisher:
    """The stand-in node's behaviour."""

    def __init__(self, node: NodeRuntime[PublisherConfig]) -> None:
        self.node = node
        self.config = node.config
        self.frame = 0
        self.cache: dict[str, list[bytes]] = {}

    def state(self) -> State:
        self.frame += 1
        return State(frame=self.frame, t_capture_ns=time.time_ns(), balls=balls(time.time()))

    def publish_events(self, args: dict[str, Any]) -> Any:
        return self._events(int(args.get("n", 1)), int(args.get("pad", 0)))

    async def _events(self, n: int, pad: int) -> dict[str, Any]:
        first = last = None
        for i in range(n):
            header = self.event(pad)
            first = first or header.seq
            last = header.seq
            if i % 200 == 199:
                await asyncio.sleep(0)
        return {
            "first": first,
            "last": last,
            "epoch": self.node.journal.epoch if self.node.journal else "",
        }

    def event(self, pad: int) -> Any:
        reason = "x" * pad if pad else "request"
        now = time.time_ns()
        return self.node.publisher.publish(topics.CORE_EVENT, GameReset(t_ns=now, reason=reason))

    async def states(self) -> None:
        await self._every(
            self.config.state_hz,
            lambda: self.node.publisher.publish(
                topics.CORE_STATE, self.state(), t_origin_ns=time.time_ns()
            ),
        )

    async def events(self) -> None:
        await self._every(self.config.event_hz, lambda: self.event(self.config.event_bytes))

    async def frames(self) -> None:
        await self._every(self.config.frame_hz, self.publish_frames)

    def publish_frames(self) -> None:
        state = balls(time.time())
        for rendition, (width, height) in SIZES.items():
            topic = topics.vision_frame(self.config.camera, rendition)
            if not self.node.publisher.wanted(topic):
                continue
            now = time.time_ns()
            info = FrameInfo(
                camera=self.config.camera,
                rendition=rendition,
                frame=self.frame,
                t_capture_ns=now,
                width=width,
                height=height,
            )
            jpeg = self.jpeg(rendition, state)
            self.node.publisher.publish(topic, info, t_origin_ns=now, blobs=[jpeg])

    def jpeg(self, rendition: str, state: list[BallState]) -> bytes:
        count = self.config.frame_cache
        if count <= 0:
            return render(rendition, state, self.frame)
        cached = self.cache.get(rendition)
        if cached is None:
            cached = [render(rendition, balls(i / 30), i) for i in range(count)]
            self.cache[rendition] = cached
        return cached[self.frame % count]

    @staticmethod
    async def _every(hz: float, action: Any) -> None:
        if hz <= 0:
            return
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            action()
            due += 1.0 / hz
            delay = due - loop.time()
            if delay < -1.0:
                due = loop.time()
            await asyncio.sleep(max(0.0, delay))


async def run(config: PublisherConfig) -> int:
    async with NodeRuntime(config, "core") as node:
        publisher = Publisher(node)
        node.control.route("publish_events", publisher.publish_events, "publish N events now")
        node.publisher.publish(topics.vision_calibration(config.camera), calibration(config.camera))
        node.task(publisher.states(), "states")
        node.task(publisher.events(), "events")
        node.task(publisher.frames(), "frames")
        return await node.wait()


def main(argv: Sequence[str] | None = None) -> int:
    config = load(PublisherConfig, "core", argv, description=__doc__ or "")
    setup_logging(config.log_level, config.name)
    return run_forever(lambda: run(config))


if __name__ == "__main__":
    raise SystemExit(main())
