"""Topic patterns: prefixes, globs, excludes, ZeroMQ prefixes and known families."""

from __future__ import annotations

import pytest

from nodes.tap import selection
from nodes.tap.errors import EXIT_USAGE, TapError


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("core", "core.state", True),
        ("core.", "core.state", True),
        ("core.st", "core.state", False),
        ("core.state", "core.state", True),
        ("vision.frame.*.720p", "vision.frame.cam0.720p", True),
        ("vision.frame.*.720p", "vision.frame.cam0.full", False),
        ("vision.*", "vision.frame.cam0.720p", False),  # * stays in one segment
        ("vision.**", "vision.frame.cam0.720p", True),
        ("system.*.core", "system.alert.core", True),
    ],
)
def test_patterns_match_at_dots_and_segments(pattern, topic, expected):
    assert selection.matches(pattern, topic) is expected


def test_zmq_prefixes_are_literal_heads_without_redundancy():
    sel = selection.build(["core.state", "core", "vision.frame.*.720p", "system.alert.core"])
    assert sel.prefixes() == ["core", "system.alert.core", "vision.frame."]
    assert selection.build(["*.state"]).prefixes() == [""]
    assert selection.build([]).prefixes() == [""]


def test_excludes_and_hidden_welcomes():
    sel = selection.build(["core"], ["core.trajectory"])
    assert sel("core.state") and not sel("core.trajectory") and not sel("vision.detections.a")
    everything = selection.build([])
    assert not everything("system.welcome.tap-1234")
    assert selection.build([], hidden=True)("system.welcome.tap-1234")


@pytest.mark.parametrize(
    "pattern",
    [
        "core.state",
        "core",
        "vision.frame.cam9.full",
        "vision.detections.*",
        "system.**",
        "system.alert.",
    ],
)
def test_known_families(pattern):
    assert selection.known(pattern)


@pytest.mark.parametrize(
    "pattern", ["cor.state", "core.state.x", "vision.detections.*.x", "bridge.stats"]
)
def test_unknown_families_unless_a_live_node_publishes_them(pattern):
    assert not selection.known(pattern)
    assert selection.known("bridge.stats", live=["bridge.stats"])


def test_unknown_family_is_a_usage_error_naming_the_families():
    with pytest.raises(TapError) as info:
        selection.check_known(selection.build(["cor.state"]), [])
    assert info.value.status == EXIT_USAGE
    assert "core.state" in str(info.value) and "--any" in str(info.value)


@pytest.mark.parametrize("pattern", ["Core", "core..state", "core.*x[", ".core"])
def test_malformed_patterns_are_usage_errors(pattern):
    with pytest.raises(TapError) as info:
        selection.build([pattern])
    assert info.value.status == EXIT_USAGE
