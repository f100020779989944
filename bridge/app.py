"""The Tornado application: one routes list, handlers get the shared context by ``initialize``.

To add a route, add a line to :func:`routes`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tornado.web

from bridge.context import Context
from bridge.control import NodeHandler, NodesHandler
from bridge.metrics import MetricsHandler, registry_for
from bridge.mjpeg import JpegHandler, MjpegHandler
from bridge.rest import AlertsHandler, ConnectionHandler, ConnectionsHandler, HealthHandler
from bridge.snapshot import StateHandler, TopicHandler, TopicsHandler
from bridge.viewer import ViewerHandler
from bridge.ws import WebSocket

STATIC = Path(__file__).parent / "static"


def routes(ctx: Context) -> list[Any]:
    """Every route of the bridge."""
    deps = {"ctx": ctx}
    return [
        (r"/ws", WebSocket, deps),
        (r"/video\.mjpeg", MjpegHandler, deps),
        (r"/video\.jpg", JpegHandler, deps),
        (r"/api/v1/health", HealthHandler, deps),
        (r"/api/v1/connections", ConnectionsHandler, deps),
        (r"/api/v1/connections/([0-9a-f]+)", ConnectionHandler, deps),
        (r"/api/v1/alerts", AlertsHandler, deps),
        (r"/api/v1/topics", TopicsHandler, deps),
        (r"/api/v1/topics/([a-z0-9_.-]+)", TopicHandler, deps),
        (r"/api/v1/state", StateHandler, deps),
        (r"/api/v1/nodes", NodesHandler, deps),
        (r"/api/v1/nodes/([a-z0-9_-]+)", NodeHandler, deps),
        (r"/api/v1/nodes/([a-z0-9_-]+)/([a-z0-9_.]+)", NodeHandler, deps),
        (r"/metrics", MetricsHandler, {**deps, "registry": registry_for(ctx)}),
        (r"/()", ViewerHandler, {"path": STATIC, "default_filename": "index.html"}),
        (r"/static/(.*)", ViewerHandler, {"path": STATIC}),
    ]


def make_app(ctx: Context) -> tornado.web.Application:
    """The application of one bridge process."""
    config = ctx.config
    return tornado.web.Application(
        routes(ctx),
        websocket_ping_interval=config.ping_interval or None,
        websocket_ping_timeout=min(
            config.ping_timeout, config.ping_interval or config.ping_timeout
        ),
        # hard cap; anything above max_message_bytes (but below this) gets error too_large
        websocket_max_message_size=max(4 * config.max_message_bytes, 65536),
        compress_response=False,
    )
