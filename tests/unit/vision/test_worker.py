"""The capture and detection threads: video follows the source's clock whatever detection does,
detection always takes the newest frame, and requests run between frames."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from nodes.vision.calibration import TableSpec
from nodes.vision.pipeline import PipelineConfig
from nodes.vision.worker import CaptureWorker, WorkerSettings
from protocol.messages import Detections


class Recorder:
    """A Sink that records what the threads hand over."""

    def __init__(self) -> None:
        self.read: list[int] = []
        self.detected: list[int] = []
        self.states: list[tuple[bool, str]] = []

    def captured(self, captured) -> None:
        self.read.append(captured.number)

    def detections(self, detections, captured) -> None:
        self.detected.append(captured.number)

    def calibrated(self, calibration) -> None:
        pass

    def source_state(self, ok, message, details) -> None:
        self.states.append((ok, message))


class SlowPipeline:
    """Stands in for detection: each frame waits until the test lets it go."""

    calibration = None

    def __init__(self) -> None:
        self.release = threading.Event()

    def process(self, image, index, t_ns, camera) -> Detections:
        self.release.wait(5)
        height, width = image.shape[:2]
        return Detections(camera=camera, frame=index, t_capture_ns=t_ns, width=width, height=height)

    def set_calibration(self, calibration) -> None:
        self.calibration = calibration


def write_video(path: Path, frames: int = 40) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 50.0, (64, 48))
    for k in range(frames):
        writer.write(np.full((48, 64, 3), k * 5, np.uint8))
    writer.release()


@pytest.fixture
def worker(tmp_path):
    video = tmp_path / "clip.avi"
    write_video(video)
    settings = WorkerSettings(
        source=str(video), fps=50.0, loop=True, seed=0, spec=TableSpec.named("9ft"),
        auto_calibrate=False, head_right=False, camera_height=2.0, threads=1,
        reconnect_max_s=1.0, pipeline=PipelineConfig(),
    )  # fmt: skip
    sink = Recorder()
    worker = CaptureWorker(settings, sink, None, None, "cam")
    worker.pipeline = SlowPipeline()  # type: ignore[assignment]
    yield worker, sink
    worker.pipeline.release.set()
    worker.stop()


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_video_keeps_the_source_clock_while_detection_is_stuck(worker):
    worker, sink = worker
    worker.start()
    wait_for(lambda: len(sink.read) >= 25)  # half a second of frames at 50 fps
    assert sink.detected == []  # detection has not finished a single frame
    assert worker.skipped >= 20  # and will not work through a backlog either


def test_detection_takes_the_newest_frame_when_it_is_free(worker):
    worker, sink = worker
    worker.start()
    wait_for(lambda: len(sink.read) >= 10)
    worker.pipeline.release.set()
    wait_for(lambda: len(sink.detected) >= 3)
    first_taken = sink.detected[0]
    assert first_taken < 3  # the frame that was there when detection started
    later = sink.detected[1]
    assert later >= 9  # not frame first_taken + 1: the frames it missed are skipped


def test_a_new_source_is_opened_and_old_frames_are_not_detected(worker, tmp_path):
    worker, sink = worker
    worker.pipeline.release.set()
    worker.start()
    wait_for(lambda: len(sink.detected) >= 3)
    other = tmp_path / "missing.avi"
    reply = worker.submit("set_source", {"source": str(other)}).result(5)
    assert reply == {"source": str(other)}
    wait_for(lambda: any(not ok and "missing.avi" in msg for ok, msg in sink.states))
    count = len(sink.detected)
    time.sleep(0.2)
    assert len(sink.detected) == count  # nothing from the old source after the switch


class FaultyPipeline(SlowPipeline):
    """Detection with a bug that shows on some frames."""

    def process(self, image, index, t_ns, camera) -> Detections:
        if index % 2 == 0:
            raise IndexError("a bug in detection")
        return super().process(image, index, t_ns, camera)


def test_a_frame_whose_detection_raises_is_counted_and_the_next_is_detected(worker, caplog):
    worker, sink = worker
    worker.pipeline = FaultyPipeline()
    worker.pipeline.release.set()
    worker.start()
    wait_for(lambda: worker.failed >= 3 and len(sink.detected) >= 3)
    assert all(number % 2 == 1 for number in sink.detected)
    assert "detection failed on frame" in caplog.text  # with the traceback, not silently
    assert all(thread.is_alive() for thread in worker.threads)


def test_stopping_while_the_camera_renders_its_first_frame_is_prompt(tmp_path):
    settings = WorkerSettings(
        source="synthetic", fps=30.0, loop=True, seed=0, spec=TableSpec.named("9ft"),
        auto_calibrate=False, head_right=False, camera_height=2.0, threads=1,
        reconnect_max_s=1.0, pipeline=PipelineConfig(),
    )  # fmt: skip
    sink = Recorder()
    worker = CaptureWorker(settings, sink, None, None, "cam")
    worker.start()
    wait_for(lambda: worker.source is not None)  # opened, its first frame not yet rendered
    started = time.monotonic()
    worker.stop()
    assert time.monotonic() - started < 1.5
    assert not any(thread.is_alive() for thread in worker.threads)
    assert all(ok for ok, _ in sink.states)  # stopping is not reported as a lost source
