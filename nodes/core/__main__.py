"""``cuecast core`` / ``python -m nodes.core``: the core node."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from nodes.core.config import CoreConfig
from nodes.core.node import CoreNode
from nodes.runtime import load, run_forever, setup_logging

DESCRIPTION = """Run the core node: tracks balls from every camera's detections with stable ids,
derives game events (reliable, journalled), predicts shots with real physics, and publishes
core.state, core.event and core.trajectory."""

EPILOG = """examples:
  cuecast core --run-dir /tmp/table
  cuecast core --cameras cam0,cam1 --still-hz 1
  cuecast tap call core predict_shot '{"direction_deg": 0, "speed": 2}'
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    config = load(CoreConfig, "core", argv, description=DESCRIPTION, epilog=EPILOG)
    setup_logging(config.log_level, config.name)
    return run_forever(CoreNode(config).run)


if __name__ == "__main__":
    sys.exit(main())
