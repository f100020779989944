"""Configuration of the vision node (defaults < TOML [vision] < CUECAST_VISION_* < flags)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from nodes.runtime.config import CommonConfig, describe
from nodes.vision.rendition import DEFAULT_RENDITIONS


class VisionConfig(CommonConfig, frozen=True, kw_only=True):
    """Settings of one vision node (one camera)."""

    source: Annotated[
        str,
        describe("frames from: synthetic, a video file, a folder of images, a camera index or URL"),
    ] = "synthetic"
    camera: Annotated[str, describe("camera id used in topic names (vision.*.<camera>)")] = "cam0"
    fps: Annotated[
        float, describe("frame rate of the synthetic source and of video files (0: as recorded)")
    ] = 30.0
    loop: Annotated[bool, describe("play video files and image folders in a loop")] = True
    seed: Annotated[int, describe("seed of the synthetic scene")] = 0
    renditions: Annotated[list[str], describe("JPEG renditions as name:max_width:quality")] = (
        msgspec.field(default_factory=lambda: list(DEFAULT_RENDITIONS))
    )
    publish_truth: Annotated[
        bool, describe("publish the synthetic camera's ground truth on vision.truth.<camera>")
    ] = False
    table: Annotated[str, describe("table size: 9ft, 8ft or 7ft")] = "9ft"
    head_right: Annotated[
        bool,
        describe(
            "the table's head (-x end) is at the image's right: one image cannot tell the"
            " ends apart, so auto calibration puts -x on the left unless told"
        ),
    ] = False
    auto_calibrate: Annotated[
        bool, describe("find the table from the felt when no stored calibration fits the frame")
    ] = True
    camera_height: Annotated[
        float,
        describe(
            "camera height above the cloth assumed when no chessboard intrinsics are known and"
            " the view is too straight down to measure the focal length (m)"
        ),
    ] = 2.0
    cue_elevation_deg: Annotated[
        float,
        describe(
            "how far the cue's butt is assumed raised, unless it must be raised more to clear"
            " the cushion or a ball (degrees; one camera cannot see it)"
        ),
    ] = 6.0
    cue_joint_m: Annotated[
        float,
        describe(
            "distance from the cue's tip to the joint where its pale shaft ends, which tells the"
            " cue's elevation where it is seen (m; a standard 29 in shaft: 0.74; 0: not used)"
        ),
    ] = 0.74
    threads: Annotated[int, describe("OpenCV threads for detection (1 keeps one core free)")] = 1
    reconnect_max_s: Annotated[
        float, describe("longest wait between attempts to reopen a lost source (s)")
    ] = 5.0
