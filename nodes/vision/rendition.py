"""JPEG renditions of a frame: each encoded once for every subscriber, only while watched.

A rendition is ``name:max_width:quality`` (``720p:1280:80``); ``max_width`` 0 keeps the source
size. Frames are scaled with INTER_LINEAR (INTER_AREA costs 4-5x more at 1080p->720p, see
bench-reference/RESULTS.md) and encoded with 4:2:0 subsampling.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from protocol import topics
from protocol.errors import ConfigError, TopicError

Image = npt.NDArray[np.uint8]

DEFAULT_RENDITIONS = ("full:0:80", "720p:1280:80", "preview:640:70")


@dataclass(frozen=True, slots=True)
class Rendition:
    """How to encode one rendition."""

    name: str
    max_width: int
    quality: int

    @classmethod
    def parse(cls, spec: str) -> Rendition:
        """Parse ``name:max_width:quality`` (quality defaults to 80, width to 0 = source)."""
        parts = spec.split(":")
        try:
            name = topics.name(parts[0], "rendition")
            width = int(parts[1]) if len(parts) > 1 and parts[1] else 0
            quality = int(parts[2]) if len(parts) > 2 and parts[2] else 80
        except (ValueError, TopicError) as exc:
            raise ConfigError(
                f"bad rendition {spec!r}: {exc}; expected name:max_width:quality"
            ) from exc
        if width < 0 or not 1 <= quality <= 100 or len(parts) > 3:
            raise ConfigError(f"bad rendition {spec!r}: width >= 0, quality 1-100")
        return cls(name, width, quality)

    def size(self, width: int, height: int) -> tuple[int, int]:
        """Output size for a source of ``width`` x ``height`` (even dimensions, aspect kept)."""
        if self.max_width <= 0 or width <= self.max_width:
            return width, height
        scale = self.max_width / width
        return self.max_width, max(2, round(height * scale / 2) * 2)


@dataclass(frozen=True, slots=True)
class Encoded:
    """One encoded rendition."""

    rendition: Rendition
    jpeg: bytes
    width: int
    height: int


def encode(frame: Image, rendition: Rendition) -> Encoded:
    """Scale (if needed) and JPEG-encode a BGR frame."""
    height, width = frame.shape[:2]
    out_w, out_h = rendition.size(width, height)
    image = frame
    if (out_w, out_h) != (width, height):
        image = np.asarray(
            cv2.resize(frame, (out_w, out_h), interpolation=cv2.INTER_LINEAR), np.uint8
        )
    params = [
        cv2.IMWRITE_JPEG_QUALITY,
        rendition.quality,
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
    ]
    ok, buffer = cv2.imencode(".jpg", image, params)
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for rendition {rendition.name}")
    return Encoded(rendition, buffer.tobytes(), out_w, out_h)
