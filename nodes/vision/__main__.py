"""``cuecast vision`` / ``python -m nodes.vision``: one camera's vision node."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from nodes.runtime import load, run_forever, setup_logging
from nodes.vision.config import VisionConfig
from nodes.vision.node import VisionNode

SWITCH_INTERVAL_S = 0.0005

DESCRIPTION = """Run a vision node: reads frames (the synthetic table by default, a video file,
a folder of images, a camera index or a stream URL), finds the table, the balls and the cue, and
publishes vision.detections.<camera> in table metres, vision.calibration.<camera>, and JPEG
renditions on vision.frame.<camera>.<rendition> while someone watches them."""

EPILOG = """examples:
  cuecast vision --run-dir /tmp/table
  cuecast vision --source match.mp4 --camera cam1
  cuecast vision --source 0 --renditions full:0:85,preview:640:70
  cuecast tap call vision calibrate '{"chessboard": "~/boards", "pattern": [9, 6]}'
  cuecast tap call vision calibrate '{"corners_px": [[99, 650], [1181, 650], [1181, 70], [99, 70]]}'
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    config = load(VisionConfig, "vision", argv, description=DESCRIPTION, epilog=EPILOG)
    setup_logging(config.log_level, config.name)
    # Three threads share the GIL: capture and detection, the JPEG encoder and the event loop
    # that publishes. With CPython's default 5 ms switch interval a frame's encode and publish
    # each wait up to 5 ms for detection's many short numpy calls; 0.5 ms cuts that wait.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    return run_forever(VisionNode(config).run)


if __name__ == "__main__":
    sys.exit(main())
