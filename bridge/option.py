"""A client's ``subscribe``, validated into :class:`Options`, and what it means on the bus (pure).

Every refusal is a :class:`~bridge.wire.WireError` with the code the client gets: ``bad_topic``
for names, ``bad_mode`` for a mode or option that does not fit the topic, ``bad_request`` for
values out of range.

Bus interest: ZeroMQ filters by prefix, and a vision node encodes a rendition only while some
subscriber's prefix covers it. So a client's prefix that would cover every rendition of every
camera (``""``, ``vision``) is subscribed on the bus as the other families it covers, and video
flows only to subscriptions naming a camera (``vision.frame.cam0`` with a ``rendition``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bridge import wire
from bridge.filter import Filter
from bridge.item import is_frame
from protocol import topics
from protocol.errors import TopicError
from protocol.messages import Position

DEFAULT_QUEUE: Final = 256


@dataclass(frozen=True, slots=True)
class Options:
    """A validated subscribe."""

    prefix: str
    mode: str | None
    queue: int
    max_hz: float | None
    since: dict[str, Position]
    bus: tuple[str, ...]
    frame_topic: str
    filter: Filter | None = None


def family_roots() -> tuple[str, ...]:
    """The literal start of every topic family except frames and welcomes (for wide prefixes)."""
    roots = []
    for spec in topics.SPECS:
        root = spec.pattern.split("*")[0]
        if not root.startswith(("vision.frame.", topics.WELCOME_PREFIX)):
            roots.append(root)
    return tuple(roots)


def _covers(bare: str, root: str) -> bool:
    return not bare or root == bare or root.startswith(bare + ".")


def plan(prefix: str, rendition: str | None, default_rendition: str) -> tuple[tuple[str, ...], str]:
    """Bus prefixes to subscribe for a client's topic or prefix, and its frame topic ('' if none).

    Raises TopicError for names that break the rules or cannot be subscribed, ValueError for a
    rendition that does not fit the topic.
    """
    topics.validate_prefix(prefix)
    bare = prefix.rstrip(".")
    parts = bare.split(".") if bare else []
    if parts[:2] == ["system", "welcome"]:
        raise TopicError("system.welcome.* topics are internal to the bus")
    if parts[:2] == ["vision", "frame"]:
        frame = _frame_topic(parts, rendition, default_rendition)
        return (frame,), frame
    if rendition is not None:
        raise ValueError("rendition applies to vision.frame.<camera> subscriptions only")
    if topics.matches(prefix, "vision.frame.camera.rendition"):
        return tuple(root for root in family_roots() if _covers(bare, root.rstrip("."))), ""
    return (prefix,), ""


def _frame_topic(parts: list[str], rendition: str | None, default: str) -> str:
    if len(parts) == 2:
        raise TopicError("name a camera: vision.frame.<camera> (with a rendition option)")
    if len(parts) > 4:
        raise TopicError(f"{'.'.join(parts)} is deeper than vision.frame.<camera>.<rendition>")
    if len(parts) == 4 and rendition is not None and rendition != parts[3]:
        raise ValueError(f"rendition {rendition!r} contradicts the topic {'.'.join(parts)}")
    chosen = parts[3] if len(parts) == 4 else rendition or default
    return topics.vision_frame(parts[2], chosen)


def has_reliable(prefix: str) -> bool:
    """Whether a topic or prefix covers some reliable topic family."""
    return _has(prefix, reliable=True)


def has_latest(prefix: str) -> bool:
    """Whether a topic or prefix covers some latest topic family (late joiners want values)."""
    return _has(prefix, reliable=False)


def _has(prefix: str, reliable: bool) -> bool:
    bare = prefix.rstrip(".")
    spec = topics.spec_for(bare)
    if spec is not None:
        return spec.reliable if reliable else spec.latest
    roots = (
        spec.pattern.split("*")[0].rstrip(".")
        for spec in topics.SPECS
        if (spec.reliable if reliable else spec.latest)
    )
    return any(_covers(bare, root) for root in roots)


def default_mode(topic: str) -> str:
    """The delivery mode a topic gets when the client names none."""
    if is_frame(topic):
        return "latest"
    delivery = topics.delivery_of(topic)
    if topics.Delivery.RELIABLE in delivery:
        return "reliable"
    return "latest" if topics.Delivery.LATEST in delivery else "queue"


def parse(op: wire.Subscribe, *, rendition: str, queue_max: int, max_since: int) -> Options:
    """Validate a subscribe; raise WireError with the client's error code."""
    try:
        bus, frame = plan(op.topic, op.rendition, rendition)
    except TopicError as exc:
        raise wire.WireError("bad_topic", str(exc)) from None
    except ValueError as exc:
        raise wire.WireError("bad_mode", str(exc)) from None
    if frame and (op.mode not in (None, "latest") or op.since or op.fields or op.where):
        raise wire.WireError(
            "bad_mode", "video frames are conflated (mode latest), not filtered or resumed"
        )
    if op.mode == "reliable" and not has_reliable(op.topic):
        raise wire.WireError("bad_mode", f"no reliable topic under {op.topic!r}")
    size = _queue(op, queue_max)
    if op.max_hz is not None and not 0 < op.max_hz <= 1000:
        raise wire.WireError("bad_request", "max_hz must be in (0, 1000]")
    if op.max_hz is not None and op.mode == "reliable":
        raise wire.WireError("bad_mode", "max_hz would hold back reliable messages")
    try:
        where = [(c.path, c.op, c.value) for c in op.where or ()]
        view = Filter(op.fields, where) if op.fields or op.where else None
    except ValueError as exc:
        raise wire.WireError("bad_request", str(exc)) from None
    since = _since(op, max_since)
    return Options(op.topic, op.mode, size, op.max_hz, since, bus, frame, view)


def _queue(op: wire.Subscribe, queue_max: int) -> int:
    if op.queue is not None and op.mode != "queue":
        raise wire.WireError("bad_request", "'queue' goes with mode 'queue'")
    size = DEFAULT_QUEUE if op.queue is None else op.queue
    if not 1 <= size <= queue_max:
        raise wire.WireError("bad_request", f"queue must be 1..{queue_max}")
    return min(size, queue_max)


def _since(op: wire.Subscribe, max_since: int) -> dict[str, Position]:
    if not op.since:
        return {}
    if op.mode not in (None, "reliable"):
        raise wire.WireError("bad_mode", "since resumes reliable subscriptions only")
    if len(op.since) > max_since:
        raise wire.WireError("bad_request", f"since names more than {max_since} topics")
    for topic, position in op.since.items():
        try:
            topics.validate(topic)
        except TopicError as exc:
            raise wire.WireError("bad_topic", f"since: {exc}") from None
        if not topics.matches(op.topic, topic):
            raise wire.WireError("bad_request", f"since names {topic}, not under {op.topic}")
        if not topics.is_reliable(topic):
            raise wire.WireError("bad_request", f"since: {topic} is not a reliable topic")
        if position.seq < 0:
            raise wire.WireError("bad_request", f"since: {topic} needs a seq >= 0")
        if not position.epoch and position.seq != 0:
            raise wire.WireError(
                "bad_request", f"since: {topic} with an empty epoch means from the start: seq 0"
            )
    return dict(op.since)
