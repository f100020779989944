"""Where the vision node gets frames: the synthetic camera (default), a video file, a camera
index, a stream URL or a folder of images, behind one interface.

    with open_source("synthetic", seed=7) as source:
        for frame in source:           # Frame(image, number, capture_ns, truth)
            ...

Sources pace themselves at their frame rate (``realtime=False`` delivers as fast as possible,
for benchmarks and tests). Live sources stamp frames with ``time.time_ns()`` when the frame
is grabbed; the synthetic source renders frame n ahead and hands it over when it is due,
stamped ``start_ns + n / fps``, and when it falls behind real time skips frames rather than
drifting. A source that cannot be opened raises
:class:`SourceUnavailable`; one that stops delivering (file removed, camera unplugged, stream
dropped) raises :class:`SourceLost`. The node turns either into an alert and retries with
:class:`Backoff`. The end of a non-looping file or folder is not an error: ``read()`` returns
None and iteration stops.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from nodes.vision.synthetic import SyntheticCamera
from nodes.vision.synthetic.truth import GroundTruth
from protocol.errors import CuecastError

log = logging.getLogger(__name__)

Kind = Literal["synthetic", "file", "camera", "stream", "folder"]
STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_FPS = 30.0
OPEN_TIMEOUT_MS = 5000


class SourceError(CuecastError):
    """A frame source failed."""


class SourceUnavailable(SourceError):
    """The source could not be opened (no such file, camera or stream)."""


class SourceLost(SourceError):
    """The source was delivering and stopped (file removed, camera unplugged, stream dropped)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame: 8-bit BGR image, its number in this source (0, 1, ...; loops keep counting),
    capture time in ns since the epoch, and ground truth for synthetic frames."""

    image: NDArray[np.uint8]
    number: int
    capture_ns: int
    truth: GroundTruth | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceSpec:
    """What to open. ``target`` is the path, URL or camera index ("" for synthetic)."""

    kind: Kind
    target: str = ""
    seed: int = 0
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    loop: bool = True
    realtime: bool = True
    randomize: bool = False


def parse_source(text: str) -> SourceSpec:
    """``synthetic`` or ``synthetic:SEED``; a camera index (``0``); a stream URL (``rtsp://``,
    ``http://`` ...); an existing directory (images); anything else is a video file path."""
    text = text.strip()
    if text == "synthetic" or text.startswith("synthetic:"):
        seed = text.partition(":")[2]
        if seed and not seed.lstrip("-").isdigit():
            raise SourceUnavailable(f"synthetic seed must be an integer, got {seed!r}")
        return SourceSpec(kind="synthetic", seed=int(seed) if seed else 0)
    if text.isdigit():
        return SourceSpec(kind="camera", target=text)
    if text.lower().startswith(STREAM_SCHEMES):
        return SourceSpec(kind="stream", target=text)
    if text.startswith("file:"):
        text = text[5:]
    if not text:
        raise SourceUnavailable("empty source")
    if Path(text).is_dir():
        return SourceSpec(kind="folder", target=text)
    return SourceSpec(kind="file", target=text)


class Clock(Protocol):
    """Time for pacing (monotonic) and stamping (wall clock), injectable for tests."""

    def monotonic(self) -> float: ...
    def wall_ns(self) -> int: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall_ns(self) -> int:
        return time.time_ns()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class FrameSource:
    """Base class: ``read()`` the next frame (None at the end), iterate, close."""

    fps: float = DEFAULT_FPS
    description: str = ""

    def read(self) -> Frame | None:
        """The next frame, paced at ``fps`` when real-time; None when a finite source ends."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file."""

    def interrupt(self) -> None:
        """From another thread: make a ``read()`` that waits for a long time give up soon
        (raising :class:`SourceLost`); the reading thread is stopping or moving on. Sources
        whose reads return within a frame period need not do anything."""

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Pacer:
    """Due times of frames at a fixed rate from the first call."""

    def __init__(self, fps: float, clock: Clock) -> None:
        self.period = 1.0 / fps
        self.clock = clock
        self.start: float | None = None

    def wait(self, number: int) -> None:
        """Sleep until frame ``number`` is due."""
        now = self.clock.monotonic()
        if self.start is None:
            self.start = now
        due = self.start + number * self.period
        if due > now:
            self.clock.sleep(due - now)

    def behind(self, number: int) -> int:
        """How many whole frames late frame ``number`` is."""
        if self.start is None:
            return 0
        late = self.clock.monotonic() - (self.start + number * self.period)
        return max(0, int(late / self.period))


def open_source(
    spec: str | SourceSpec, *, clock: Clock | None = None, **overrides: object
) -> FrameSource:
    """Open a source from a spec string or :class:`SourceSpec`; keyword arguments override
    spec fields (seed, width, height, fps, loop, realtime, randomize). The real-time synthetic
    camera on the system clock renders in its own process (:mod:`nodes.vision.isolated`)."""
    if isinstance(spec, str):
        spec = parse_source(spec)
    spec = replace(spec, **overrides)  # type: ignore[arg-type]
    if spec.kind == "synthetic" and spec.realtime and clock is None:
        from nodes.vision.isolated import IsolatedSyntheticSource  # it imports this module

        return IsolatedSyntheticSource(spec)
    clock = clock or SystemClock()
    if spec.kind == "synthetic":
        return SyntheticSource(spec, clock)
    if spec.kind == "folder":
        return FolderSource(spec, clock)
    return CaptureSource(spec, clock)


class SyntheticSource(FrameSource):
    """The synthetic camera: frame n shows scene time n / fps, stamped start_ns + n / fps.

    Real time, it behaves like a camera: a frame is rendered before it is due and handed over at
    its due time (a camera's frame arrives whole on the camera's clock; rendering is the
    simulator's work, not the system's latency). A frame whose render ends after its due time is
    handed over late with its due-time stamp, so that lateness counts as latency; frames whose
    time passed before their render could start are skipped and counted in ``dropped``.
    """

    def __init__(self, spec: SourceSpec, clock: Clock) -> None:
        self.spec, self.clock = spec, clock
        self.fps = spec.fps or DEFAULT_FPS
        self.camera = SyntheticCamera.from_seed(
            spec.seed,
            width=spec.width or 1280,
            height=spec.height or 720,
            fps=self.fps,
            randomize=spec.randomize,
        )
        self.description = f"synthetic:{spec.seed}"
        self.pacer = Pacer(self.fps, clock)
        self.start_ns = 0
        self.dropped = 0

    def read(self) -> Frame:
        frame = self.render_next()
        if self.spec.realtime:
            self.pacer.wait(frame.number)
        return frame

    def render_next(self) -> Frame:
        """Render the next frame without waiting for its due time (real time: after skipping
        the frames already late)."""
        if self.spec.realtime:
            self._catch_up()
        number = self.camera.frame
        stamp = self.start_ns + round(number * 1e9 / self.fps)
        rendered = self.camera.next_frame(stamp)
        return Frame(rendered.image, number, stamp, rendered.truth)

    def _catch_up(self) -> None:
        """Start the clock (frame 0 due one period from now), or skip the frames already late."""
        if self.pacer.start is None:
            self.pacer.start = self.clock.monotonic() + self.pacer.period
            self.start_ns = self.clock.wall_ns() + round(self.pacer.period * 1e9)
            return
        late = self.pacer.behind(self.camera.frame)
        if late:
            self.camera.skip(late)
            self.dropped += late


class CaptureSource(FrameSource):
    """OpenCV capture of a video file, a camera index or a stream URL."""

    def __init__(self, spec: SourceSpec, clock: Clock) -> None:
        self.spec, self.clock = spec, clock
        self.description = f"{spec.kind}:{spec.target}"
        self.capture = self._open()
        reported = float(self.capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = spec.fps or (reported if 1.0 <= reported <= 1000.0 else DEFAULT_FPS)
        self.pacer = Pacer(self.fps, clock)
        self.number = 0
        self.live = spec.kind in ("camera", "stream")

    def _open(self) -> cv2.VideoCapture:
        spec = self.spec
        if spec.kind == "file" and not Path(spec.target).is_file():
            raise SourceUnavailable(f"no such video file: {spec.target}")
        if spec.kind == "camera":
            capture = cv2.VideoCapture(int(spec.target))
        elif spec.kind == "stream":
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                OPEN_TIMEOUT_MS,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                OPEN_TIMEOUT_MS,
            ]
            capture = cv2.VideoCapture(spec.target, cv2.CAP_FFMPEG, params)
        else:
            capture = cv2.VideoCapture(spec.target)
        if not capture.isOpened():
            capture.release()
            raise SourceUnavailable(f"cannot open {self.description}")
        if spec.kind == "camera":
            _request_format(capture, spec)
        return capture

    def read(self) -> Frame | None:
        if not self.live and self.spec.realtime:
            self.pacer.wait(self.number)
        image, stamp = self._grab()
        if image is None:
            if self.live:
                raise SourceLost(f"{self.description} stopped delivering frames")
            if not self.spec.loop:
                return None
            self.capture.release()
            self.capture = self._reopen()
            image, stamp = self._grab()
            if image is None:
                raise SourceLost(f"{self.description} has no readable frames")
        frame = Frame(np.asarray(image, np.uint8), self.number, stamp)
        self.number += 1
        return frame

    def _grab(self) -> tuple[NDArray[np.uint8] | None, int]:
        if self.spec.kind == "file" and not os.path.exists(self.spec.target):
            raise SourceLost(f"video file removed: {self.spec.target}")
        if not self.capture.grab():
            return None, 0
        stamp = self.clock.wall_ns() if self.spec.realtime else round(self.number * 1e9 / self.fps)
        ok, image = self.capture.retrieve()
        return (np.asarray(image, np.uint8) if ok and image is not None else None), stamp

    def _reopen(self) -> cv2.VideoCapture:
        try:
            return self._open()
        except SourceUnavailable as exc:
            raise SourceLost(str(exc)) from exc

    def close(self) -> None:
        self.capture.release()


def _request_format(capture: cv2.VideoCapture, spec: SourceSpec) -> None:
    if spec.width:
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, spec.width)
    if spec.height:
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, spec.height)
    if spec.fps:
        capture.set(cv2.CAP_PROP_FPS, spec.fps)


class FolderSource(FrameSource):
    """Images of a folder in name order, at ``fps``; unreadable files are skipped, and not read
    again on the next loops unless they change (each read of a damaged JPEG makes libjpeg
    print a warning)."""

    def __init__(self, spec: SourceSpec, clock: Clock) -> None:
        self.spec, self.clock = spec, clock
        self.folder = Path(spec.target)
        self.description = f"folder:{spec.target}"
        self.fps = spec.fps or DEFAULT_FPS
        self.pacer = Pacer(self.fps, clock)
        self.files = self._list()
        if not self.files:
            raise SourceUnavailable(f"no images in {self.folder}")
        self.position = 0
        self.number = 0
        self.skipped = 0
        self.unreadable: dict[Path, tuple[int, int]] = {}  # path -> (mtime_ns, size) when read

    def _list(self) -> list[Path]:
        if not self.folder.is_dir():
            raise SourceUnavailable(f"no such folder: {self.folder}")
        return sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)

    def read(self) -> Frame | None:
        if self.spec.realtime:
            self.pacer.wait(self.number)
        misses = 0
        while True:
            if self.position >= len(self.files):
                if not self.spec.loop:
                    return None
                self.position = 0
                self.files = self._relist()
            path = self.files[self.position]
            self.position += 1
            image = self._image(path)
            if image is not None:
                break
            misses += 1
            self._skip(path, misses)
        stamp = self.clock.wall_ns() if self.spec.realtime else round(self.number * 1e9 / self.fps)
        frame = Frame(np.asarray(image, np.uint8), self.number, stamp)
        self.number += 1
        return frame

    def _image(self, path: Path) -> NDArray[np.uint8] | None:
        """The image at ``path``, or None if it cannot be read (as it could not be last time,
        unchanged since)."""
        try:
            stat = path.stat()
        except OSError:
            return None
        seen = (stat.st_mtime_ns, stat.st_size)
        if self.unreadable.get(path) == seen:
            return None
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            self.unreadable[path] = seen
        else:
            self.unreadable.pop(path, None)
        return None if image is None else np.asarray(image, np.uint8)

    def _relist(self) -> list[Path]:
        try:
            files = self._list()
        except SourceUnavailable as exc:
            raise SourceLost(str(exc)) from exc
        if not files:
            raise SourceLost(f"no images left in {self.folder}")
        return files

    def _skip(self, path: Path, misses: int) -> None:
        if not self.folder.is_dir():
            raise SourceLost(f"folder removed: {self.folder}")
        if misses > len(self.files):
            raise SourceLost(f"no readable images in {self.folder}")
        if self.skipped == 0:
            log.warning("skipping unreadable image %s (further ones are only counted)", path)
        self.skipped += 1


class Backoff:
    """Reconnect delays: ``initial`` seconds, times ``factor`` after each failure, at most
    ``maximum``, each spread by +-``jitter`` (a share) so that many nodes do not retry in step.
    ``success()`` starts over. Pure: no sleeping, no clock; seed the jitter for tests."""

    def __init__(
        self,
        initial: float = 0.5,
        factor: float = 2.0,
        maximum: float = 30.0,
        jitter: float = 0.1,
        seed: int | None = None,
    ) -> None:
        if not (initial > 0 and factor >= 1 and maximum >= initial and 0 <= jitter < 1):
            raise ValueError("need initial > 0, factor >= 1, maximum >= initial, 0 <= jitter < 1")
        self.initial, self.factor, self.maximum, self.jitter = initial, factor, maximum, jitter
        self.random = random.Random(seed)
        self.attempts = 0

    def failure(self) -> float:
        """Record a failed attempt; the delay (s) to wait before the next one."""
        base = min(self.initial * self.factor ** min(self.attempts, 64), self.maximum)
        self.attempts += 1
        spread = 1.0 + self.jitter * (2.0 * self.random.random() - 1.0)
        return min(base * spread, self.maximum)

    def success(self) -> None:
        """The source works again: the next failure waits ``initial`` again."""
        self.attempts = 0
