"""Which topics a verb wants: prefixes, globs and excludes, and the ZeroMQ prefixes they need.

A pattern is a topic (``core.state``), a prefix at a dot (``core`` or ``core.`` covers
``core.state``), or a glob where ``*`` matches one segment and ``**`` any number
(``vision.frame.*.720p``). ZeroMQ only filters by byte prefix, so a glob subscribes to its
literal head (``vision.frame.``) and every received topic is checked here.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from protocol import topics
from protocol.errors import TopicError

#: Topics that are handshake noise, hidden unless asked for (``--all``).
HIDDEN = (topics.WELCOME_PREFIX,)


def is_glob(pattern: str) -> bool:
    """Whether ``pattern`` has wildcards."""
    return any(c in pattern for c in "*?[")


def validate(pattern: str) -> str:
    """Return ``pattern`` if it is a valid topic, prefix or glob, else raise ``TopicError``."""
    if not is_glob(pattern):
        return topics.validate_prefix(pattern)
    probe = pattern.replace("**", "x").replace("*", "x").replace("?", "x")
    if "[" in probe or not probe or probe.startswith(".") or ".." in probe:
        raise TopicError(f"invalid topic pattern {pattern!r}: use * within a segment, ** across")
    topics.validate(probe.rstrip("."))
    return pattern


def matches(pattern: str, topic: str) -> bool:
    """Whether ``topic`` is selected by one pattern."""
    if is_glob(pattern):
        return topics.glob_matches(pattern, topic)
    return topics.matches(pattern, topic)


def head(pattern: str) -> str:
    """The ZeroMQ subscription prefix of a pattern (its literal segments before a wildcard)."""
    if not is_glob(pattern):
        return pattern
    literal: list[str] = []
    for segment in pattern.split("."):
        if is_glob(segment):
            break
        literal.append(segment)
    return ".".join(literal) + "." if literal else ""


def minimal(prefixes: Iterable[str]) -> list[str]:
    """Prefixes without those another one already covers."""
    unique = sorted(set(prefixes))
    if "" in unique:
        return [""]
    return [p for p in unique if not any(q != p and topics.matches(q, p) for q in unique)]


def _segments_meet(a: str, b: str) -> bool:
    return fnmatch.fnmatchcase(a, b) or fnmatch.fnmatchcase(b, a) or (is_glob(a) and is_glob(b))


def could_match(pattern: str, family: str) -> bool:
    """Whether some topic could match both ``pattern`` and a family glob (``vision.frame.*.*``)."""
    if "**" in pattern:
        return could_match(head(pattern), family)
    mine = pattern.rstrip(".").split(".") if pattern else []
    theirs = family.split(".")
    if len(mine) > len(theirs) or (is_glob(pattern) and len(mine) != len(theirs)):
        return False
    return all(_segments_meet(a, b) for a, b in zip(mine, theirs, strict=False))


def known(pattern: str, live: Iterable[str] = ()) -> bool:
    """Whether a pattern names a known topic family or a topic a live node publishes."""
    if pattern == "" or any(matches(pattern, topic) for topic in live):
        return True
    return any(could_match(pattern, spec.pattern) for spec in topics.SPECS)


def families() -> str:
    """The known topic families, for error messages."""
    return ", ".join(spec.pattern for spec in topics.SPECS if spec.pattern not in HIDDEN)


@dataclass(frozen=True, slots=True)
class Selection:
    """Included patterns (none: everything), excluded patterns, and whether hidden topics show."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    hidden: bool = False

    def __call__(self, topic: str) -> bool:
        if not self.hidden and topic.startswith(HIDDEN):
            return False
        if self.include and not any(matches(p, topic) for p in self.include):
            return False
        return not any(matches(p, topic) for p in self.exclude)

    def prefixes(self) -> list[str]:
        """ZeroMQ prefixes to subscribe to."""
        return minimal(head(p) for p in self.include) if self.include else [""]

    def unknown(self, live: Iterable[str] = ()) -> list[str]:
        """Included patterns that match no known family and no live topic."""
        seen = list(live)
        return [p for p in self.include if not known(p, seen)]


def build(
    include: Iterable[str], exclude: Iterable[str] = (), *, hidden: bool = False
) -> Selection:
    """A validated selection from command-line patterns (a usage error if one is malformed)."""
    from nodes.tap.errors import usage

    try:
        return Selection(
            tuple(validate(p) for p in include),
            tuple(validate(p) for p in exclude),
            hidden=hidden,
        )
    except TopicError as exc:
        raise usage(str(exc)) from None


def check_known(selection: Selection, live: Iterable[str]) -> None:
    """A usage error naming patterns that match no topic family and no live topic."""
    from nodes.tap.errors import usage

    unknown = selection.unknown(live)
    if unknown:
        raise usage(
            f"unknown topic {', '.join(map(repr, unknown))}: it matches no topic family"
            f" ({families()}) and nothing a running node publishes; pass --any to wait for it"
        )
