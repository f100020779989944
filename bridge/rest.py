"""The REST routes of ``/api/v1``: health, connections, alerts.

Each handler is a thin class over :class:`~bridge.context.Context`; JSON in and out, errors as
``{"error": {"code", "message"}}`` with a matching HTTP status. Mutating routes need the token
when one is configured (``Authorization: Bearer <token>`` or ``?token=``).
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import msgspec
import tornado.web

from bridge import wire
from bridge.context import Context
from bridge.effect import PublishAlert
from protocol import PROTOCOL_VERSION_STRING


class ApiHandler(tornado.web.RequestHandler):
    """JSON responses, JSON errors and the token check of mutating routes."""

    def initialize(self, ctx: Context) -> None:
        self.ctx = ctx

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-cache")

    def reply(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(msgspec.json.encode(value))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        reason = self._reason
        self.finish(json.dumps({"error": {"code": status_code, "message": reason}}))

    def require_token(self) -> None:
        token = self.ctx.config.token
        if not token:
            return
        header = self.request.headers.get("Authorization", "")
        given = header[len("Bearer ") :] if header.startswith("Bearer ") else None
        given = given or self.get_query_argument("token", None)
        if given is None or not secrets.compare_digest(given.encode(), token.encode()):
            raise tornado.web.HTTPError(401, reason="this route needs the bridge's token")

    def body(self) -> dict[str, Any]:
        limit = self.ctx.config.max_message_bytes
        if len(self.request.body) > limit:
            raise tornado.web.HTTPError(413, reason=f"body larger than {limit} bytes")
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise tornado.web.HTTPError(400, reason=f"body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400, reason="body must be a JSON object")
        return data


class HealthHandler(ApiHandler):
    """``GET /api/v1/health``: the bridge and every node's liveness from heartbeats."""

    def get(self) -> None:
        now = time.monotonic()
        report = self.ctx.hub.liveness.report(now)
        level, reason = self.ctx.checkup.status()
        if level != "ok":
            report["status"] = "degraded"
        report["reasons"] = [
            f"{name} is {node['status']}: {node['reason']}"
            for name, node in report["nodes"].items()
            if node["status"] != "ok" and name != self.ctx.name
        ] + ([f"bridge is {level}: {reason}"] if reason else [])
        report["bridge"] = {
            "status": level,
            "reason": reason,
            "name": self.ctx.name,
            "protocol": PROTOCOL_VERSION_STRING,
            "uptime_s": round(now - self.ctx.started, 3),
            "connections": len(self.ctx.connections),
            "url": self.ctx.url,
            **self.ctx.hub.stats(),
        }
        self.reply(report)


class ConnectionsHandler(ApiHandler):
    """``GET /api/v1/connections``: per connection and subscription: queued, dropped, lag."""

    def get(self) -> None:
        connections = [c.describe() for c in self.ctx.connections.values()]
        self.reply({"count": len(connections), "connections": connections})


class ConnectionHandler(ApiHandler):
    """``GET`` one connection; ``DELETE`` closes it (close code 4009)."""

    def get(self, ident: str) -> None:
        self.reply(self._find(ident).describe())

    def delete(self, ident: str) -> None:
        self.require_token()
        connection = self._find(ident)
        connection.close(wire.CLOSE_KICKED, "closed by an operator")
        self.reply({"closed": ident})

    def _find(self, ident: str) -> Any:
        connection = self.ctx.connections.get(ident)
        if connection is None:
            raise tornado.web.HTTPError(404, reason=f"no connection {ident}")
        return connection


class AlertsHandler(ApiHandler):
    """``POST /api/v1/alerts``: publish ``{level, code, message, details}`` reliably."""

    def post(self) -> None:
        self.require_token()
        try:
            alert = PublishAlert.from_map(None, self.body())
        except wire.WireError as exc:
            raise tornado.web.HTTPError(400, reason=exc.message) from None
        header = self.ctx.alert(alert.level, alert.code, alert.message, alert.details)
        topic = f"system.alert.{self.ctx.name}"
        self.reply({"topic": topic, "epoch": header.epoch, "seq": header.seq}, status=201)
