"""Ground truth of a synthetic frame: what was really there when the image was exposed.

Plain frozen dataclasses, so tests and ``bench/`` can score detectors without the renderer.
Field names follow ``protocol.messages.vision.TruthBall``/``TruthCue`` (``*_px`` in pixels,
everything else in table metres, angles in degrees).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from nodes.vision.synthetic.camera import CameraModel
from protocol.messages.vision import BallKind


@dataclass(frozen=True, slots=True, kw_only=True)
class BallTruth:
    """One ball: centre (x, y, z = R on the cloth) and velocity in table metres, kind and
    number, whether it has dropped, the share of its silhouette that is visible (hidden by the
    cue, hands, other balls, cushions or the image border reduce it), and its projected centre
    and radius in pixels (None when pocketed). ``centroid_*_px`` is the centroid of the exact
    perspective silhouette, a fraction of a pixel from the projected centre off-axis."""

    number: int
    kind: BallKind
    x: float
    y: float
    z: float
    vx: float = 0.0
    vy: float = 0.0
    pocketed: bool = False
    visible_fraction: float = 1.0
    x_px: float | None = None
    y_px: float | None = None
    r_px: float | None = None
    centroid_x_px: float | None = None
    centroid_y_px: float | None = None

    @property
    def moving(self) -> bool:
        """True when the ball rolls or slides."""
        return (self.vx * self.vx + self.vy * self.vy) > 1e-8


@dataclass(frozen=True, slots=True, kw_only=True)
class CueTruth:
    """The cue stick: tip centre (table metres), the direction the tip points (degrees,
    0 = +x, counter-clockwise), the butt's elevation, the share of the cue visible in the image
    (cut by the border and hidden by hands), the tip in pixels (None if off the image) and the
    tip's speed along the cue (m/s, positive towards the tip)."""

    tip_x: float
    tip_y: float
    tip_z: float
    direction_deg: float
    elevation_deg: float
    visible_fraction: float
    tip_x_px: float | None = None
    tip_y_px: float | None = None
    speed: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ShotTruth:
    """The shot being played (chosen by the scene director)."""

    number: int
    cue_ball: int
    target: int | None
    pocket: str | None
    cut_deg: float
    direction_deg: float
    speed: float
    tip_side: float = 0.0
    tip_height: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class GroundTruth:
    """Everything about one frame. ``time_s`` is scene time at the middle of the exposure
    (positions are given for that instant); ``capture_ns`` the frame's capture timestamp."""

    frame: int
    time_s: float
    capture_ns: int
    exposure_s: float
    phase: str
    balls: tuple[BallTruth, ...]
    cue: CueTruth | None
    shot: ShotTruth | None
    camera: CameraModel

    def ball(self, number: int) -> BallTruth:
        """The ball with this number (KeyError if absent)."""
        for b in self.balls:
            if b.number == number:
                return b
        raise KeyError(number)

    @property
    def on_table(self) -> tuple[BallTruth, ...]:
        """Balls not pocketed."""
        return tuple(b for b in self.balls if not b.pocketed)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready), for storing beside images."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SyntheticFrame:
    """A rendered image (8-bit BGR, OpenCV order) and its ground truth."""

    image: NDArray[np.uint8]
    truth: GroundTruth
