"""Configuration of the core node (defaults < TOML [core] < CUECAST_CORE_* < flags)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from nodes.runtime.config import CommonConfig, describe


class CoreConfig(CommonConfig, frozen=True, kw_only=True):
    """Settings of the core node."""

    cameras: Annotated[
        list[str], describe("cameras to follow (default: every vision.detections.* on the bus)")
    ] = msgspec.field(default_factory=list)
    table: Annotated[str, describe("table size: 9ft, 8ft or 7ft")] = "9ft"
    still_hz: Annotated[float, describe("core.state rate while nothing moves (Hz)")] = 2.0
    idle_flush_s: Annotated[
        float, describe("release pending events when no detections arrive for this long (s)")
    ] = 0.5
    history_states: Annotated[int, describe("states kept for the history request")] = 2000
    history_events: Annotated[int, describe("events kept for the history request")] = 5000
