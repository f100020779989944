"""The web viewer's files (``/`` and ``/static/...``): served with a strict content policy.

The viewer is plain HTML, CSS and JavaScript modules from ``bridge/static`` (no build step, no
CDN): the policy allows scripts, styles and connections to this bridge only, images from blobs
(decoded video frames) and nothing else. Files are revalidated on every load (``no-cache``), so
a new bridge version never runs against a cached old script.
"""

from __future__ import annotations

from typing import Final

import tornado.web

CONTENT_POLICY: Final = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self' ws: wss:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
    ]
)


class ViewerHandler(tornado.web.StaticFileHandler):
    """Static files with security headers and revalidation."""

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Content-Security-Policy", CONTENT_POLICY)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-cache")
