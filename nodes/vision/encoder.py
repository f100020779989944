"""JPEG renditions off the detection path: one worker thread, one frame slot.

The capture thread offers each frame with the renditions someone subscribes to; if the encoder
is still busy with an earlier frame, the offer is refused and counted (video skips a frame,
detection never waits). Renditions with the same output size and quality share one encoding.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nodes.vision.rendition import Encoded, Rendition, encode

log = logging.getLogger(__name__)

U8 = NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Job:
    """A frame to encode and the renditions wanted."""

    image: U8
    index: int
    t_ns: int
    renditions: tuple[Rendition, ...]


Deliver = Callable[[Job, list[Encoded]], None]


class FrameEncoder:
    """Encodes the newest offered frame in a background thread."""

    def __init__(self, deliver: Deliver) -> None:
        self.deliver = deliver
        self.skipped = 0
        self.encoded = 0
        self.failed = 0
        self._job: Job | None = None
        self._busy = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="jpeg-encoder", daemon=True)
        self._thread.start()

    def offer(self, image: U8, index: int, t_ns: int, renditions: Sequence[Rendition]) -> bool:
        """Hand a frame over; False (and counted) if the encoder is still busy."""
        if not renditions:
            return False
        with self._cond:
            if self._busy or self._job is not None:
                self.skipped += 1
                return False
            self._job = Job(image, index, t_ns, tuple(renditions))
            self._cond.notify()
            return True

    def close(self, timeout: float = 2.0) -> None:
        """Stop the worker thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._job is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job, self._job, self._busy = self._job, None, True
            try:
                assert job is not None
                self.deliver(job, encode_all(job.image, job.renditions))
                self.encoded += 1
            except Exception:  # one bad frame must not end the video: log and go on
                self.failed += 1
                log.exception("JPEG encoding failed")
            finally:
                with self._cond:
                    self._busy = False


def encode_all(image: U8, renditions: Sequence[Rendition]) -> list[Encoded]:
    """Every rendition of ``image``, encoding each distinct (size, quality) once."""
    height, width = image.shape[:2]
    done: dict[tuple[int, int, int], Encoded] = {}
    out = []
    for rendition in renditions:
        key = (*rendition.size(width, height), rendition.quality)
        if key not in done:
            done[key] = encode(image, rendition)
        shared = done[key]
        out.append(Encoded(rendition, shared.jpeg, shared.width, shared.height))
    return out
