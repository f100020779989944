"""Playback planning: remaps, the clock, time shifting and the one-publisher check."""

from __future__ import annotations

import msgspec
import pytest

from nodes.tap import timeline
from protocol import messages
from protocol.errors import TopicError


def test_remaps_apply_to_topics_and_prefixes():
    pairs = timeline.parse_remaps(
        ["vision.detections.cam0=vision.detections.cam9", "core.=replay.core."]
    )
    assert timeline.remap("vision.detections.cam0", pairs) == "vision.detections.cam9"
    assert timeline.remap("core.state", pairs) == "replay.core.state"
    assert timeline.remap("system.alert.core", pairs) == "system.alert.core"


@pytest.mark.parametrize("spec", ["core.state", "core.=x", "=b", "Core=x"])
def test_bad_remaps_are_rejected(spec):
    with pytest.raises((ValueError, TopicError)):
        timeline.parse_remaps([spec])


def test_clock_maps_recorded_time_to_wall_time_at_a_rate():
    clock = timeline.Clock(log0=1_000, wall0=10_000, rate=2.0)
    assert clock.wall(1_000) == 10_000 and clock.wall(3_000) == 11_000


def test_retime_shifts_top_level_timestamps_only():
    t0 = 1_700_000_000_000_000_000
    state = messages.State(frame=4, t_capture_ns=t0 + 500, balls=[])
    clock = timeline.Clock(log0=t0, wall0=t0 + 10**12, rate=1.0)
    shifted = messages.decode("core.state", timeline.retime(messages.encode(state), clock))
    assert shifted.t_capture_ns == t0 + 10**12 + 500 and shifted.frame == 4
    event = messages.Collision(t_ns=t0, frame=9, balls=[1], x=0.0, y=0.0)
    moved = messages.decode("event.collision", timeline.retime(messages.encode(event), clock))
    assert moved.t_ns == t0 + 10**12 and moved.frame == 9
    plain = msgspec.msgpack.encode({"count_ns": 5})
    assert timeline.retime(plain, clock) == plain and timeline.retime(b"\xc1", clock) == b"\xc1"


def test_conflicts_name_topics_a_live_node_publishes():
    planned = {
        "core.state": "core.state",
        "vision.detections.cam0": "vision.detections.cam0",
        "system.config.core": "system.config.core",
    }
    live = {"core": ["core.state"], "bridge": []}
    assert timeline.conflicts(planned, live) == ["core.state (core)", "system.config.core (core)"]
    assert timeline.conflicts(planned, {}) == []
