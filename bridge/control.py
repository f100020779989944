"""Control requests to nodes from clients: ``/api/v1/nodes/...`` and the WebSocket ``call`` op.

- ``GET /api/v1/nodes``: every node the bridge knows, with its liveness.
- ``GET /api/v1/nodes/<node>``: the node's ``describe`` (secrets redacted).
- ``GET /api/v1/nodes/<node>/<request>``: a read-only request (one of ``call_allow``); arguments
  from the query string (``?topic=core.state``; values that parse as JSON are JSON, and
  ``?args={...}`` gives them all at once).
- ``POST /api/v1/nodes/<node>/<request>``: any request, arguments as a JSON object in the body
  (``config.set``, ``reset_game`` ...). Requests outside ``call_allow`` need a trusted client
  (:mod:`bridge.auth`).

Replies are the node's result as JSON; a node's refusal is ``{"error": {"code", "message"}}``
with 400 (bad arguments), 404 (no such node or request), 503/504 (down, no answer) or 502.
When the bridge has a token, these routes need it: they reach every node's internals.
"""

from __future__ import annotations

import json
import time
from typing import Any, Final

import tornado.web

from bridge import auth
from bridge.context import Context
from bridge.rest import ApiHandler
from protocol import topics
from protocol.errors import ControlError, TopicError

#: HTTP status for each control error code.
HTTP_STATUS: Final = {
    "bad_request": 400,
    "unknown_request": 404,
    "not_found": 404,
    "unavailable": 503,
    "timeout": 504,
}
#: WebSocket error code for each control error code (docs/websocket.md).
WS_CODE: Final = {
    "bad_request": "failed",
    "unknown_request": "not_found",
    "not_found": "not_found",
    "unavailable": "unavailable",
    "timeout": "unavailable",
}


async def call(ctx: Context, node: str, request: str, args: dict[str, Any]) -> Any:
    """Run a control request on ``node``; the result has its secrets redacted.

    Raises ControlError (``not_found`` for an unknown node).
    """
    try:
        topics.name(node, "node name")
    except TopicError as exc:
        raise ControlError("bad_request", str(exc)) from None
    result = await ctx.hub.call(node, request, args)
    return auth.redact(result)


def query_args(arguments: dict[str, list[bytes]]) -> dict[str, Any]:
    """Request arguments from a query string: JSON values where they parse, else strings."""
    out: dict[str, Any] = {}
    for name, values in arguments.items():
        if name == "token":
            continue
        text = values[-1].decode(errors="replace")
        if name == "args":
            parsed = _json(text)
            if not isinstance(parsed, dict):
                raise tornado.web.HTTPError(400, reason="args must be a JSON object")
            out.update(parsed)
            continue
        parsed = _json(text)
        out[name] = text if parsed is _NOT_JSON else parsed
    return out


_NOT_JSON: Final = object()


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


class NodesHandler(ApiHandler):
    """``GET /api/v1/nodes``: the nodes of the system and their liveness."""

    def get(self) -> None:
        self.require_token()
        report = self.ctx.hub.liveness.report(time.monotonic())
        welcomed = self.ctx.hub.subscriber.welcomed
        nodes = []
        for name in sorted(set(report["nodes"]) | set(welcomed)):
            health = report["nodes"].get(name, {"status": "unknown", "alive": None})
            known = welcomed.get(name)
            topics_of = sorted(known.topics) if known is not None else []
            nodes.append({"node": name, **health, "topics": topics_of})
        self.reply({"count": len(nodes), "nodes": nodes})


class NodeHandler(ApiHandler):
    """``/api/v1/nodes/<node>`` and ``/api/v1/nodes/<node>/<request>``."""

    async def get(self, node: str, request: str | None = None) -> None:
        self.require_token()
        request = request or "describe"
        if not self.ctx.policy.open_to_all(node, request):
            raise tornado.web.HTTPError(
                405, reason=f"{request} is not read-only: POST it (with the token if one is set)"
            )
        await self._run(node, request, query_args(self.request.query_arguments))

    async def post(self, node: str, request: str | None = None) -> None:
        self.require_token()
        if request is None:
            raise tornado.web.HTTPError(405, reason="POST /api/v1/nodes/<node>/<request>")
        trusted = self.ctx.policy.trusted(bool(self.ctx.config.token), self.request.remote_ip)
        refusal = self.ctx.policy.refusal(node, request, trusted=trusted)
        if refusal is not None:
            raise tornado.web.HTTPError(403, reason=refusal)
        await self._run(node, request, self.body())

    async def _run(self, node: str, request: str, args: dict[str, Any]) -> None:
        if not auth.valid_request(request):
            raise tornado.web.HTTPError(400, reason=f"{request!r} is not a request name")
        try:
            result = await call(self.ctx, node, request, args)
        except ControlError as exc:
            self.set_status(HTTP_STATUS.get(exc.code, 502))
            self.finish(json.dumps({"error": {"code": exc.code, "message": exc.message}}))
            return
        self.reply(result)
