"""Topic names, prefix matching at dots, and delivery classes."""

from __future__ import annotations

import pytest

from protocol import topics
from protocol.errors import TopicError


@pytest.mark.parametrize(
    ("prefix", "topic", "expected"),
    [
        ("core.state", "core.state", True),
        ("core", "core.state", True),
        ("core.", "core.state", True),
        ("", "core.state", True),
        ("core.st", "core.state", False),
        ("core.state", "core.statex", False),
        ("vision.frame.cam0", "vision.frame.cam0.720p", True),
        ("vision.frame.cam0", "vision.frame.cam01.720p", False),
    ],
)
def test_matches_only_at_dot_boundaries(prefix, topic, expected):
    assert topics.matches(prefix, topic) is expected


@pytest.mark.parametrize("bad", ["", "Core.state", "core..state", ".core", "core.", "a b", "ü"])
def test_invalid_topics_raise_topic_error(bad):
    with pytest.raises(TopicError):
        topics.validate(bad)


def test_builders_validate_their_segments():
    assert topics.vision_frame("cam0", "720p") == "vision.frame.cam0.720p"
    assert topics.system_alert("bridge") == "system.alert.bridge"
    with pytest.raises(TopicError):
        topics.vision_frame("cam.0", "720p")


@pytest.mark.parametrize(
    ("topic", "reliable", "latest"),
    [
        ("core.event", True, False),
        ("core.state", False, True),
        ("system.config.core", True, True),
        ("vision.calibration.cam0", True, True),
        ("vision.detections.cam0", False, False),
        ("vision.frame.cam0.full", False, True),
        ("unknown.topic", False, False),
    ],
)
def test_delivery_classes_follow_design(topic, reliable, latest):
    assert topics.is_reliable(topic) is reliable
    assert topics.is_latest(topic) is latest


def test_glob_star_stays_in_one_segment():
    assert topics.glob_matches("vision.*.cam0", "vision.frame.cam0") is True
    assert topics.glob_matches("vision.*", "vision.frame.cam0") is False
    assert topics.glob_matches("vision.**", "vision.frame.cam0") is True
