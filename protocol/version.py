"""The protocol version: one place, checked on every received header.

A minor version may add message types and fields with defaults; anything else (renaming,
removing or retyping a field, changing the frame layout) is a major bump. Receivers accept
every minor of their major and reject other majors with :class:`~protocol.errors.VersionMismatch`.
"""

from __future__ import annotations

from typing import Final

from protocol.errors import VersionMismatch

PROTOCOL_VERSION: Final[tuple[int, int]] = (1, 0)
PROTOCOL_VERSION_STRING: Final[str] = f"{PROTOCOL_VERSION[0]}.{PROTOCOL_VERSION[1]}"


def check_version(version: object) -> tuple[int, int]:
    """Return ``(major, minor)`` if ``version`` is a version this build understands.

    Raises
    ------
    VersionMismatch
        If the value is not a ``[major, minor]`` pair of ints or the major differs.
    """
    if (
        not isinstance(version, list | tuple)
        or len(version) != 2
        or not all(isinstance(part, int) and not isinstance(part, bool) for part in version)
    ):
        raise VersionMismatch(f"malformed protocol version {version!r}; expected [major, minor]")
    major, minor = version
    if major != PROTOCOL_VERSION[0]:
        raise VersionMismatch(
            f"protocol {major}.{minor} is not compatible with {PROTOCOL_VERSION_STRING}"
            f" (major versions differ)"
        )
    return major, minor
