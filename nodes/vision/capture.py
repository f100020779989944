"""Frame sources the node reads from: the synthetic camera, video files, image folders, camera
indices and stream URLs, behind one small interface.

This is the node's side of capture: :func:`open_source` picks a source from its spec and every
source gives :class:`Captured` frames (BGR image, capture time, frame number, optional ground
truth) or raises :class:`SourceLost`. Pacing (frame rate of files and the synthetic camera)
happens here, in the capture thread, never on the event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)

U8 = NDArray[np.uint8]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


class SourceLost(RuntimeError):
    """The source stopped giving frames (file removed, camera unplugged, stream dropped)."""


class SourceEnded(RuntimeError):
    """A finite source (video file or folder, not looping) has no more frames."""


@dataclass(frozen=True, slots=True)
class Captured:
    """One frame: BGR pixels, capture time (ns, wall clock), frame number, synthetic truth."""

    image: U8
    t_ns: int
    index: int
    truth: Any = None


class FrameSource(Protocol):
    """What the node reads frames from."""

    name: str

    def read(self) -> Captured:
        """The next frame (blocks until it is due); raises SourceLost or SourceEnded."""
        ...

    def close(self) -> None:
        """Release the device or file."""
        ...


class Pacer:
    """Sleeps so frames come at ``fps`` (0: as fast as they can be read)."""

    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps if fps > 0 else 0.0
        self.next = time.monotonic()

    def wait(self) -> None:
        """Sleep until the next frame is due."""
        if self.period <= 0:
            return
        now = time.monotonic()
        if self.next > now:
            time.sleep(self.next - now)
        self.next = max(self.next + self.period, time.monotonic() - self.period)


class SyntheticSource:
    """The synthetic camera (nodes.vision.synthetic), rendered in real time."""

    def __init__(self, seed: int, fps: float, width: int = 1280, height: int = 720) -> None:
        from nodes.vision.synthetic.feed import SyntheticCamera

        self.name = "synthetic"
        self.camera = SyntheticCamera.from_seed(seed, width=width, height=height, fps=fps)
        self.pacer = Pacer(fps)

    def read(self) -> Captured:
        """Render the next frame, stamped with the wall clock."""
        self.pacer.wait()
        stamp = time.time_ns()
        frame = self.camera.next_frame(stamp)
        return Captured(frame.image, stamp, frame.truth.frame, frame.truth)

    def close(self) -> None:
        """Nothing to release."""


class VideoSource:
    """A video file, camera index or stream URL through cv2.VideoCapture."""

    def __init__(self, spec: str, fps: float, loop: bool) -> None:
        self.name = spec
        self.spec = spec
        self.is_file = not spec.isdigit() and "://" not in spec
        self.loop = loop and self.is_file
        if self.is_file and not Path(spec).is_file():
            raise SourceLost(f"no such video file: {spec}")
        self.capture = cv2.VideoCapture(int(spec) if spec.isdigit() else spec)
        if not self.capture.isOpened():
            raise SourceLost(f"cannot open video source {spec}")
        recorded = float(self.capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.pacer = Pacer((fps or recorded) if self.is_file else 0.0)
        self.index = 0

    def read(self) -> Captured:
        """The next frame; files loop when asked to."""
        self.pacer.wait()
        if self.is_file and not Path(self.spec).is_file():
            raise SourceLost(f"video file removed: {self.spec}")
        ok, image = self.capture.read()
        if not ok and self.loop:
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self.capture.read()
        if not ok or image is None:
            if self.is_file and Path(self.spec).is_file():
                raise SourceEnded(f"end of {self.spec}")
            raise SourceLost(f"no frame from {self.spec}")
        self.index += 1
        return Captured(np.asarray(image, dtype=np.uint8), time.time_ns(), self.index - 1)

    def close(self) -> None:
        """Release the capture."""
        self.capture.release()


class FolderSource:
    """Every image in a folder, in name order."""

    def __init__(self, folder: str, fps: float, loop: bool) -> None:
        self.name = folder
        self.folder = Path(folder)
        self.loop = loop
        self.pacer = Pacer(fps)
        self.files = self._list()
        if not self.files:
            raise SourceLost(f"no images in {folder}")
        self.iterator: Iterator[Path] = iter(self.files)
        self.index = 0

    def _list(self) -> list[Path]:
        try:
            return sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        except OSError as exc:
            raise SourceLost(f"cannot list {self.folder}: {exc}") from exc

    def read(self) -> Captured:
        """The next image."""
        self.pacer.wait()
        path = next(self.iterator, None)
        if path is None:
            if not self.loop:
                raise SourceEnded(f"end of {self.folder}")
            self.files = self._list()
            self.iterator = iter(self.files)
            path = next(self.iterator, None)
            if path is None:
                raise SourceLost(f"no images left in {self.folder}")
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise SourceLost(f"cannot read {path}")
        self.index += 1
        return Captured(np.asarray(image, dtype=np.uint8), time.time_ns(), self.index - 1)

    def close(self) -> None:
        """Nothing to release."""


def open_source(spec: str, *, fps: float, loop: bool, seed: int) -> FrameSource:
    """Open ``synthetic``, a video file, a folder of images, a camera index or a URL."""
    if spec == "synthetic":
        return SyntheticSource(seed, fps)
    if not spec.isdigit() and "://" not in spec and Path(spec).is_dir():
        return FolderSource(spec, fps, loop)
    return VideoSource(spec, fps, loop)
