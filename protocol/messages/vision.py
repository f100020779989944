"""Messages of the vision node: frames, detections, calibration and synthetic ground truth.

Pixel coordinates are named ``*_px``; everything else is in table metres (DESIGN.md §3).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from protocol.messages.base import Message

BallKind = Literal["cue", "eight", "solid", "stripe", "unknown"]


class FrameInfo(Message, frozen=True, kw_only=True):
    """Metadata of one encoded frame; the JPEG bytes follow as the first blob.

    Topic: ``vision.frame.<camera>.<rendition>``. Since 1.0.
    """

    TYPE = "vision.frame"
    camera: str
    rendition: str
    frame: int
    t_capture_ns: int
    width: int
    height: int
    encoding: str = "jpeg"
    quality: int = 80
    source_width: int = 0
    source_height: int = 0


class DetectedBall(Message, frozen=True, kw_only=True):
    """One ball found in a frame: sub-pixel centre, radius, table position and colour class."""

    x_px: float
    y_px: float
    r_px: float
    x: float
    y: float
    kind: BallKind = "unknown"
    number: int | None = None
    color: str | None = None
    confidence: float = 1.0


class DetectedCue(Message, frozen=True, kw_only=True):
    """The cue stick: tip and the direction it points along (the shot direction), in degrees."""

    tip_x_px: float
    tip_y_px: float
    tip_x: float
    tip_y: float
    direction_deg: float
    visible_fraction: float = 1.0
    confidence: float = 1.0


class Detections(Message, frozen=True, kw_only=True):
    """Everything found in one frame. Topic: ``vision.detections.<camera>``. Since 1.0."""

    TYPE = "vision.detections"
    camera: str
    frame: int
    t_capture_ns: int
    width: int
    height: int
    balls: list[DetectedBall] = msgspec.field(default_factory=list)
    cue: DetectedCue | None = None
    calibrated: bool = True
    timings_ms: dict[str, float] = msgspec.field(default_factory=dict)
    #: ok, or why nothing was looked for: no_frame, bad_dtype, bad_shape, uncalibrated,
    #: calibration_size_mismatch
    status: str = "ok"


class Calibration(Message, frozen=True, kw_only=True):
    """How a camera sees the table. Topic: ``vision.calibration.<camera>``. Since 1.0.

    ``homography`` maps table metres on the plane of ball centres (z = ball radius) to
    undistorted pixels, row-major 3x3; ``homography_surface`` does the same for the cloth (z = 0),
    for pockets and cushions. To draw on the camera image, apply ``distortion`` (OpenCV's
    k1, k2, p1, p2, k3 with ``camera_matrix``) to the undistorted pixel.
    ``corners_px`` are the playing-surface corners in image pixels in the order
    (-L/2, -W/2), (L/2, -W/2), (L/2, W/2), (-L/2, W/2).
    """

    TYPE = "vision.calibration"
    camera: str
    width: int
    height: int
    table_length: float
    table_width: float
    ball_radius: float
    corners_px: list[list[float]]
    homography: list[float]
    homography_surface: list[float]
    camera_matrix: list[float] | None = None
    distortion: list[float] | None = None
    method: str = "auto"
    rms_px: float | None = None
    t_ns: int = 0


class TruthBall(Message, frozen=True, kw_only=True):
    """Ground truth of one ball in a synthetic frame."""

    number: int
    kind: BallKind
    x: float
    y: float
    vx: float = 0.0
    vy: float = 0.0
    pocketed: bool = False
    visible_fraction: float = 1.0
    x_px: float | None = None
    y_px: float | None = None
    r_px: float | None = None


class TruthCue(Message, frozen=True, kw_only=True):
    """Ground truth of the cue stick in a synthetic frame."""

    tip_x: float
    tip_y: float
    direction_deg: float
    visible_fraction: float = 1.0


class GroundTruth(Message, frozen=True, kw_only=True):
    """What the synthetic camera really rendered. Topic: ``vision.truth.<camera>``. Since 1.0."""

    TYPE = "vision.truth"
    camera: str
    frame: int
    t_capture_ns: int
    balls: list[TruthBall] = msgspec.field(default_factory=list)
    cue: TruthCue | None = None
