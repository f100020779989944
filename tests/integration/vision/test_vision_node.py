"""The vision node as a subprocess: detections, frames only while watched, video files, and a
source that goes away."""

from __future__ import annotations

import asyncio
from pathlib import Path

import cv2
import numpy as np
import pytest

from nodes.runtime import Bus, RunDir, Subscriber
from protocol import topics
from protocol.messages import Alert, Detections, FrameInfo
from tests.helpers.process import Proc

pytestmark = pytest.mark.slow
START_S = 90.0  # the synthetic camera renders its table first; CI machines are slow


@pytest.fixture
async def bus():
    b = Bus()
    yield b
    b.close()


def start(run_dir: Path, source: str, *extra: str) -> Proc:
    args = ["-m", "nodes.vision", "--run-dir", str(run_dir), "--source", source]
    return Proc("vision", [*args, "--heartbeat-interval", "0.5", *extra], run_dir)


class Inbox:
    """Messages of a few topics, with waiting."""

    def __init__(self, bus: Bus, run_dir: Path, *prefixes: str) -> None:
        self.items: list = []
        self.event = asyncio.Event()
        self.sub = Subscriber(bus, name="test", on_message=self._on, run_dir=RunDir(run_dir))
        for prefix in prefixes:
            self.sub.subscribe(prefix)
        self.task = asyncio.ensure_future(self.sub.run())

    def _on(self, env) -> None:
        self.items.append(env)
        self.event.set()

    async def first(self, predicate, timeout: float):
        async with asyncio.timeout(timeout):
            while True:
                for env in self.items:
                    if predicate(env):
                        return env
                self.event.clear()
                await self.event.wait()

    def close(self) -> None:
        self.task.cancel()
        self.sub.close()


def with_balls(env) -> bool:
    message = env.message()
    return isinstance(message, Detections) and len(message.balls) >= 5


async def test_synthetic_source_gives_balls_and_frames_only_while_watched(bus, tmp_path):
    proc = start(tmp_path, "synthetic")
    inbox = Inbox(bus, tmp_path, topics.vision_detections("cam0"))
    try:
        env = await inbox.first(with_balls, START_S)
        detections = env.message()
        assert detections.calibrated and detections.status == "ok"
        assert env.header.t_origin_ns == detections.t_capture_ns
        for ball in detections.balls:
            assert abs(ball.x) < 1.27 and abs(ball.y) < 0.635
        status = (await inbox.sub.control("vision").request("status")).value
        assert not [t for t in status["published"] if t.startswith("vision.frame.")]
        assert "timings_ms" in status["stats"] and "felt" in status["stats"]["timings_ms"]
        inbox.sub.subscribe(topics.vision_frame("cam0", "preview"))
        frame = await inbox.first(lambda e: e.topic.startswith("vision.frame."), 30.0)
        info = frame.message()
        assert isinstance(info, FrameInfo) and info.rendition == "preview"
        image = cv2.imdecode(np.frombuffer(frame.blobs[0], np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[1] == info.width == 640
        status = (await inbox.sub.control("vision").request("status")).value
        assert "vision.frame.cam0.preview" in status["published"]
        assert "vision.frame.cam0.full" not in status["published"]
    finally:
        inbox.close()
        code = proc.stop()
        print(proc.output()[-3000:])
    assert code == 0


def write_video(path: Path, frames: int = 40) -> None:
    from nodes.vision.synthetic.feed import SyntheticCamera

    camera = SyntheticCamera.from_seed(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (1280, 720))
    assert writer.isOpened()
    for _ in range(frames):
        writer.write(camera.next_frame().image)
    writer.release()


async def test_a_video_file_source_works_and_its_removal_raises_an_alert(bus, tmp_path):
    video = tmp_path / "table.avi"
    write_video(video)
    proc = start(tmp_path, str(video), "--fps", "15")
    inbox = Inbox(bus, tmp_path, topics.vision_detections("cam0"), topics.system_alert("vision"))
    try:
        await inbox.first(with_balls, START_S)
        video.unlink()
        alert = await inbox.first(
            lambda e: isinstance(e.message(), Alert) and e.message().code == "source_lost", 30.0
        )
        assert "table.avi" in alert.message().message
        await asyncio.sleep(1.0)  # the node keeps retrying, and keeps answering
        assert proc.alive()
        reply = await inbox.sub.control("vision").request("ping")
        assert reply.value["pong"] is True
        status = (await inbox.sub.control("vision").request("status")).value
        assert status["status"] == "degraded"
    finally:
        inbox.close()
        code = proc.stop()
        print(proc.output()[-3000:])
    assert code == 0


async def test_a_camera_too_coarse_for_the_balls_is_reported(bus, tmp_path):
    # 640x360 over a 9-ft table: balls 4-6 px in radius, where detection misses one in ten
    from nodes.vision.synthetic.feed import SyntheticCamera

    folder = tmp_path / "frames"
    folder.mkdir()
    image = SyntheticCamera.from_seed(0).next_frame().image
    cv2.imwrite(
        str(folder / "frame.png"), cv2.resize(image, (640, 360), interpolation=cv2.INTER_AREA)
    )
    proc = start(tmp_path, str(folder), "--fps", "5")
    inbox = Inbox(bus, tmp_path, topics.vision_detections("cam0"))
    try:
        await inbox.first(lambda e: e.message().calibrated, START_S)
        status = (await inbox.sub.control("vision").request("status")).value
        assert status["status"] == "degraded"
        assert "px in radius" in status["reason"] and "1280x720" in status["reason"]
    finally:
        inbox.close()
        code = proc.stop()
    assert code == 0
    assert "balls are" in proc.output() and "px in radius, under the 7 px" in proc.output()


async def test_calibrate_and_set_source_requests(bus, tmp_path):
    proc = start(tmp_path, "synthetic")
    inbox = Inbox(
        bus, tmp_path, topics.vision_detections("cam0"), topics.vision_calibration("cam0")
    )
    try:
        await inbox.first(with_balls, START_S)
        control = inbox.sub.control("vision")
        auto = (await control.request("calibrate", {}, timeout=20.0)).value
        assert auto["method"] == "auto" and len(auto["corners_px"]) == 4
        manual = (
            await control.request("calibrate", {"corners_px": auto["corners_px"]}, timeout=20.0)
        ).value
        assert manual["method"] == "manual"
        assert np.allclose(manual["corners_px"], auto["corners_px"], atol=1.0)
        assert (tmp_path / "data" / "vision" / "calibration.json").exists()
        with pytest.raises(Exception, match="corners_px"):
            await control.request("calibrate", {"corners_px": [[1, 2]]})
        moved = (await control.request("set_source", {"source": "synthetic:5"}, timeout=20.0)).value
        assert moved["source"] == "synthetic:5"
    finally:
        inbox.close()
        code = proc.stop()
        print(proc.output()[-3000:])
    assert code == 0


def write_boards(folder: Path) -> None:
    """Chessboard photos through an undistorted 960x540 lens, as an installer would take."""
    from nodes.vision.chessboard import render_board

    folder.mkdir()
    ys, xs = np.mgrid[0:540, 0:960]
    normalized = np.column_stack([(xs.ravel() - 479.5) / 640.0, (ys.ravel() - 269.5) / 640.0])
    rng = np.random.default_rng(2)
    for k in range(8):
        rot, _ = cv2.Rodrigues(np.radians(rng.uniform(-35, 35, 3)))
        centre = np.array([rng.uniform(-0.2, 0.2), rng.uniform(-0.1, 0.1), rng.uniform(1.0, 1.3)])
        trans = centre - rot @ np.array([5 * 0.05, 3.5 * 0.05, 0.0])
        image = render_board(normalized, (960, 540), rot, trans, (9, 6), 0.05)
        cv2.imwrite(str(folder / f"board{k}.png"), image)


async def test_intrinsics_from_a_folder_of_chessboards_are_stored(bus, tmp_path):
    write_boards(tmp_path / "boards")
    proc = start(tmp_path, "synthetic")
    inbox = Inbox(bus, tmp_path, topics.vision_detections("cam0"))
    try:
        await inbox.first(with_balls, START_S)
        args = {"chessboard": str(tmp_path / "boards"), "pattern": [9, 6], "square_m": 0.05}
        reply = (await inbox.sub.control("vision").request("calibrate", args, timeout=60.0)).value
        assert reply["intrinsics"]["source"] == "chessboard"
        assert len(reply["images_used"]) >= 6
        assert reply["intrinsics"]["matrix"][0] == pytest.approx(640.0, rel=0.02)
        assert (tmp_path / "data" / "vision" / "intrinsics.json").exists()
    finally:
        inbox.close()
        code = proc.stop()
        print(proc.output()[-3000:])
    assert code == 0
