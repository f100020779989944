"""Topic names, their delivery classes and the message types each may carry.

A topic is a dotted lowercase name. ZeroMQ filters by byte prefix, so a subscription is a topic
or a prefix ending at a dot, and every receiver checks the exact topic it wanted with
:func:`matches`. Each concrete topic has exactly one publisher, which owns its sequence numbers.
This module is the only place that spells a topic name.
"""

from __future__ import annotations

import enum
import fnmatch
import re
from dataclasses import dataclass
from typing import Final

from protocol.errors import TopicError

_SEGMENT = r"[a-z0-9][a-z0-9_-]*"
_TOPIC_RE: Final = re.compile(rf"^{_SEGMENT}(\.{_SEGMENT})*$")
_NAME_RE: Final = re.compile(rf"^{_SEGMENT}$")

CORE_STATE: Final = "core.state"
CORE_TRAJECTORY: Final = "core.trajectory"
CORE_EVENT: Final = "core.event"

#: Renditions the vision node knows by default (``vision.frame.<camera>.<rendition>``).
RENDITIONS: Final = ("full", "720p", "preview")


class Delivery(enum.Flag):
    """How a topic is delivered (DESIGN.md §2)."""

    STREAM = 0
    LATEST = enum.auto()
    RELIABLE = enum.auto()
    RELIABLE_LATEST = LATEST | RELIABLE


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One family of topics: a glob pattern (``*`` is one segment), its class and message types.

    A type ending in ``.*`` stands for every registered type with that prefix (``event.*``).
    """

    pattern: str
    delivery: Delivery
    types: tuple[str, ...]
    description: str
    blobs: bool = False

    @property
    def reliable(self) -> bool:
        """Whether the topic is journalled, gap-filled and acked."""
        return Delivery.RELIABLE in self.delivery

    @property
    def latest(self) -> bool:
        """Whether only the newest value matters (conflated, cached for late joiners)."""
        return Delivery.LATEST in self.delivery


def name(value: str, what: str = "name") -> str:
    """Return ``value`` if it is a valid single topic segment (camera id, node name, rendition)."""
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise TopicError(f"invalid {what} {value!r}: use lowercase letters, digits, '_' or '-'")
    return value


def validate(topic: str) -> str:
    """Return ``topic`` if it is a valid topic name, else raise :class:`TopicError`."""
    if not isinstance(topic, str) or not _TOPIC_RE.match(topic):
        raise TopicError(f"invalid topic {topic!r}: dotted lowercase segments of [a-z0-9_-]")
    return topic


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is a topic or a topic prefix ending at a dot (or empty: all)."""
    if prefix == "":
        return prefix
    validate(prefix[:-1] if prefix.endswith(".") else prefix)
    return prefix


def matches(prefix: str, topic: str) -> bool:
    """Whether a subscription to ``prefix`` covers ``topic``: equal, or a prefix at a dot.

    ``core`` and ``core.`` cover ``core.state``; ``core.st`` does not.
    """
    if prefix in ("", topic):
        return True
    if prefix.endswith("."):
        return topic.startswith(prefix)
    return topic.startswith(prefix + ".")


def glob_matches(pattern: str, topic: str) -> bool:
    """Shell-style match where ``*`` stays within one segment and ``**`` spans segments."""
    regex = re.escape(pattern).replace(r"\*\*", ".+").replace(r"\*", "[^.]+").replace(r"\?", ".")
    return re.fullmatch(regex, topic) is not None


def vision_frame(camera: str, rendition: str) -> str:
    """Topic of one JPEG rendition of a camera's frames."""
    return f"vision.frame.{name(camera, 'camera')}.{name(rendition, 'rendition')}"


def vision_frame_prefix(camera: str) -> str:
    """Prefix covering every rendition of a camera's frames."""
    return f"vision.frame.{name(camera, 'camera')}."


def vision_detections(camera: str) -> str:
    """Topic of a camera's per-frame detections."""
    return f"vision.detections.{name(camera, 'camera')}"


def vision_calibration(camera: str) -> str:
    """Topic of a camera's calibration."""
    return f"vision.calibration.{name(camera, 'camera')}"


def vision_truth(camera: str) -> str:
    """Opt-in topic of the synthetic camera's ground truth."""
    return f"vision.truth.{name(camera, 'camera')}"


def system_alert(node: str) -> str:
    """Topic of a node's alerts."""
    return f"system.alert.{name(node, 'node name')}"


def system_config(node: str) -> str:
    """Topic of a node's effective configuration."""
    return f"system.config.{name(node, 'node name')}"


def system_heartbeat(node: str) -> str:
    """Topic of a node's heartbeats."""
    return f"system.heartbeat.{name(node, 'node name')}"


def system_welcome(token: str) -> str:
    """Topic a publisher answers on when a subscriber subscribes to it (XPUB welcome)."""
    return f"system.welcome.{name(token, 'welcome token')}"


WELCOME_PREFIX: Final = "system.welcome."
HEARTBEAT_PREFIX: Final = "system.heartbeat."
ALERT_PREFIX: Final = "system.alert."

SPECS: tuple[TopicSpec, ...] = (
    TopicSpec(
        "vision.frame.*.*",
        Delivery.LATEST,
        ("vision.frame",),
        "JPEG bytes of one rendition (last frame) plus capture metadata; encoded only while"
        " someone subscribes",
        blobs=True,
    ),
    TopicSpec(
        "vision.detections.*",
        Delivery.STREAM,
        ("vision.detections",),
        "per frame: balls (pixels and table metres), cue, timings",
    ),
    TopicSpec(
        "vision.calibration.*",
        Delivery.RELIABLE_LATEST,
        ("vision.calibration",),
        "table corners, homographies, intrinsics, distortion",
    ),
    TopicSpec(
        "vision.truth.*",
        Delivery.STREAM,
        ("vision.truth",),
        "synthetic camera ground truth (opt-in)",
    ),
    TopicSpec(CORE_STATE, Delivery.LATEST, ("core.state",), "balls with stable ids, cue, table"),
    TopicSpec(
        CORE_TRAJECTORY,
        Delivery.LATEST,
        ("core.trajectory",),
        "predicted shot while the cue aims, or an explicit cleared message",
    ),
    TopicSpec(CORE_EVENT, Delivery.RELIABLE, ("event.*",), "game events, journalled"),
    TopicSpec("system.alert.*", Delivery.RELIABLE, ("system.alert",), "alerts of a node"),
    TopicSpec(
        "system.config.*",
        Delivery.RELIABLE_LATEST,
        ("system.config",),
        "a node's configuration after every change",
    ),
    TopicSpec(
        "system.heartbeat.*",
        Delivery.LATEST,
        ("system.heartbeat",),
        "liveness, uptime, rates, load, lag",
    ),
    TopicSpec(
        "system.welcome.*",
        Delivery.STREAM,
        ("system.welcome",),
        "answer to a subscriber's welcome subscription: the connection is live",
    ),
)


def spec_for(topic: str) -> TopicSpec | None:
    """The :class:`TopicSpec` whose pattern matches ``topic``, or None for an unknown family."""
    for spec in SPECS:
        if fnmatch.fnmatchcase(topic, spec.pattern) and topic.count(".") == spec.pattern.count("."):
            return spec
    return None


def delivery_of(topic: str) -> Delivery:
    """Delivery class of ``topic``; unknown topics are best-effort streams."""
    spec = spec_for(topic)
    return spec.delivery if spec is not None else Delivery.STREAM


def is_reliable(topic: str) -> bool:
    """Whether ``topic`` is journalled and gap-filled."""
    return Delivery.RELIABLE in delivery_of(topic)


def is_latest(topic: str) -> bool:
    """Whether ``topic`` keeps a last value for late joiners."""
    return Delivery.LATEST in delivery_of(topic)
