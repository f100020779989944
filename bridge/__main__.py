"""``python -m bridge`` / ``cuecast bridge``: the WebSocket and HTTP bridge of one cuecast system.

    python -m bridge --run-dir ./run --port 8080

It joins the system of its run dir as a node (heartbeats, alerts, control endpoint) and serves
``/ws``, ``/video.mjpeg``, ``/video.jpg``, ``/api/v1/...`` and the viewer at ``/``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Sequence

import tornado.httpserver
import tornado.netutil

from bridge import checkup, metrics, wire
from bridge.app import make_app
from bridge.config import BridgeConfig
from bridge.context import Context
from bridge.ws import tick_forever
from nodes.runtime import NodeRuntime, load, run_forever, setup_logging

log = logging.getLogger(__name__)

DESCRIPTION = """\
The cuecast bridge: topic subscriptions as WebSocket streams (latest, queue and reliable
modes with acks and resume), video as binary WebSocket frames and MJPEG, REST health and
connection introspection, and a web viewer. Protocol: docs/websocket.md.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run a bridge until SIGINT/SIGTERM; returns the exit status."""
    config = load(BridgeConfig, "bridge", argv, description=DESCRIPTION)
    setup_logging(config.log_level, config.name)
    return run_forever(lambda: serve(config))


def listen(config: BridgeConfig) -> tuple[list[socket.socket], int]:
    """Bind the HTTP sockets; returns them and the port (useful with ``--port 0``)."""
    sockets = tornado.netutil.bind_sockets(config.port, config.host)
    return sockets, sockets[0].getsockname()[1]


async def serve(config: BridgeConfig) -> int:
    """The bridge's life: node runtime, hub, HTTP server; clean stop on a signal."""
    async with NodeRuntime(config, "bridge") as node:
        ctx = Context.create(config, node)
        node.task(ctx.hub.run(), "hub")
        node.task(tick_forever(ctx), "ticker")
        node.stats.append(ctx.stats)
        node.status = ctx.checkup.status
        node.task(checkup.watch(ctx.checkup, lambda now: metrics.observe(ctx, now)), "checkup")
        sockets, port = listen(config)
        server = tornado.httpserver.HTTPServer(
            make_app(ctx), xheaders=False, max_body_size=max(2**20, 4 * config.max_message_bytes)
        )
        server.add_sockets(sockets)
        ctx.url = f"http://{config.host}:{port}/"
        node.describe_extra["http"] = ctx.url
        log.info("bridge serving %s (WebSocket %sws)", ctx.url, ctx.url.replace("http", "ws", 1))
        code = await node.wait()
        server.stop()
        for connection in list(ctx.connections.values()):
            connection.close(wire.CLOSE_GOING_AWAY, "bridge stopping; resume elsewhere")
        try:
            await asyncio.wait_for(server.close_all_connections(), 2.0)
        except TimeoutError:
            log.warning("some HTTP connections did not close in time")
        ctx.hub.close()
        return code


if __name__ == "__main__":
    raise SystemExit(main())
