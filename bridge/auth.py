"""Who may do what on the bridge: the token, WebSocket origins, control requests (pure).

- **Token.** When the bridge has a token (``--token`` or ``CUECAST_BRIDGE_TOKEN``), WebSocket
  clients present it (``Authorization: Bearer``, ``?token=`` or ``hello``) before anything but
  ``hello`` and ``ping``, and mutating HTTP routes need it. Tokens compare in constant time.
- **Origins.** A browser's WebSocket is accepted from the bridge's own origin and from the
  configured ``origins`` (``*`` allows any). Clients that send no Origin (programs) are not
  browsers and are not checked.
- **Control requests.** ``call`` (WebSocket) and ``/api/v1/nodes/<node>/<request>`` (HTTP) may
  run the requests of ``call_allow`` for anyone connected: by default the read-only ones. Every
  other request (``config.set``, ``reset_game``, ``calibrate``, ``set_source`` and any request
  not listed) needs a *trusted* client: one that presented the token, or, on a bridge without a
  token, one on the loopback interface (``trust_loopback``).
- **Secrets.** Replies that carry configuration are redacted: a value under a key such as
  ``token`` or ``password`` becomes ``"<redacted>"``, so ``config.get`` and ``describe`` of the
  bridge never show its token.
"""

from __future__ import annotations

import fnmatch
import hmac
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlparse

#: Requests any connected client may call by default: they read, they never change anything.
READ_ONLY: Final = (
    "ping",
    "describe",
    "status",
    "config.get",
    "state",
    "history",
    "calibration",
    "predict_shot",
)
REDACTED: Final = "<redacted>"
_SECRET_KEY: Final = re.compile(r"(^|_)(token|password|passwd|secret|api_key)$", re.IGNORECASE)
_REQUEST: Final = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


def token_matches(given: str | None, token: str) -> bool:
    """Whether ``given`` is the bridge's token (constant time); False when either is empty."""
    if not token or not given:
        return False
    return hmac.compare_digest(given.encode(), token.encode())


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if that is what it is."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def is_loopback(address: str | None) -> bool:
    """Whether a peer address is on the loopback interface (127.0.0.0/8, ::1)."""
    if not address:
        return False
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def origin_allowed(origin: str, host: str | None, allowed: Iterable[str]) -> bool:
    """Whether a browser page from ``origin`` may open a WebSocket to the bridge at ``host``.

    Same origin (the Origin's host:port is the request's Host) or listed in ``allowed``, where
    ``*`` allows any origin and an entry may use shell wildcards (``http://*.example.com``).
    """
    allowed = list(allowed)
    if "*" in allowed:
        return True
    origin = origin.strip().lower()
    if any(fnmatch.fnmatchcase(origin, entry.strip().lower().rstrip("/")) for entry in allowed):
        return True
    parsed = urlparse(origin)
    return (
        bool(host) and parsed.scheme in ("http", "https") and parsed.netloc == (host or "").lower()
    )


def valid_request(name: str) -> bool:
    """Whether ``name`` looks like a control request (``status``, ``config.set``)."""
    return len(name) <= 64 and _REQUEST.match(name) is not None


@dataclass(frozen=True, slots=True)
class Policy:
    """The bridge's permission rules for control requests."""

    token: str = ""
    call_allow: tuple[str, ...] = READ_ONLY
    trust_loopback: bool = True

    def trusted(self, presented_token: bool, remote: str | None) -> bool:
        """Whether a client may make mutating requests."""
        if self.token:
            return presented_token
        return self.trust_loopback and is_loopback(remote)

    def open_to_all(self, node: str, request: str) -> bool:
        """Whether ``request`` on ``node`` is allowed for all (``request``, ``node:request``)."""
        qualified = f"{node}:{request}"
        return any(
            fnmatch.fnmatchcase(request, pattern) or fnmatch.fnmatchcase(qualified, pattern)
            for pattern in self.call_allow
        )

    def refusal(self, node: str, request: str, *, trusted: bool) -> str | None:
        """Why a client may not call ``request`` on ``node`` (None: it may)."""
        if not valid_request(request):
            return f"{request!r} is not a request name"
        if trusted or self.open_to_all(node, request):
            return None
        if self.token:
            return f"{node} {request} changes the system: it needs the bridge's token"
        return (
            f"{node} {request} changes the system: allowed from this machine only"
            " (configure a token to allow it from elsewhere)"
        )


def redact(value: Any) -> Any:
    """``value`` with every secret-looking entry of every map replaced by ``"<redacted>"``."""
    if isinstance(value, dict):
        return {
            key: (REDACTED if _secret(key, item) else redact(item)) for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _secret(key: Any, item: Any) -> bool:
    return isinstance(key, str) and _SECRET_KEY.search(key) is not None and bool(item)
