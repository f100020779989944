"""The bridge's configuration: one frozen Struct, defaults < TOML < environment < flags.

Every field is a ``--flag`` of ``cuecast bridge`` / ``python -m bridge`` and an environment
variable ``CUECAST_BRIDGE_<FIELD>`` (``CUECAST_BRIDGE_TOKEN``, ``CUECAST_BRIDGE_PORT`` ...).
The limits are what a client sees in ``welcome.limits`` and what docs/bridge.md explains.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from bridge.auth import READ_ONLY
from nodes.runtime.config import CommonConfig, describe


class BridgeConfig(CommonConfig, frozen=True, kw_only=True):
    """Settings of one bridge process."""

    port: Annotated[int, describe("HTTP and WebSocket port (0: any free port)")] = 8080
    host: Annotated[str, describe("address to listen on (0.0.0.0 for every interface)")] = (
        "127.0.0.1"
    )
    token: Annotated[
        str,
        describe(
            "token WebSocket clients and mutating routes must present (empty: none)", secret=True
        ),
    ] = ""
    origins: Annotated[
        list[str],
        describe("WebSocket origins allowed besides the bridge's own ('*' allows any)"),
    ] = msgspec.field(default_factory=list)
    call_allow: Annotated[
        list[str],
        describe(
            "control requests any client may call ('request' or 'node:request', wildcards);"
            " others need the token (or, without a token, a loopback client)"
        ),
    ] = msgspec.field(default_factory=lambda: list(READ_ONLY))
    trust_loopback: Annotated[
        bool, describe("without a token, let loopback clients make mutating control requests")
    ] = True
    connect_rate: Annotated[
        float, describe("new WebSocket/MJPEG connections per second per IP (0: no limit)")
    ] = 20.0
    connect_burst: Annotated[
        int, describe("new connections an IP may open at once before connect_rate applies")
    ] = 300
    abuse_limit: Annotated[
        int,
        describe("rate-limited messages within 10 s after which a connection is closed (0: never)"),
    ] = 1000
    max_message_bytes: Annotated[
        int, describe("largest client message accepted; larger ones get error too_large")
    ] = 65536
    client_max_bytes: Annotated[
        int, describe("per connection: bytes waiting to be written before shedding or closing")
    ] = 8 * 2**20
    client_max_messages: Annotated[
        int, describe("per connection: messages waiting to be written before shedding or closing")
    ] = 20000
    max_subscriptions: Annotated[int, describe("subscriptions per connection")] = 64
    queue_max: Annotated[int, describe("largest 'queue' a queue-mode subscription may ask for")] = (
        10000
    )
    reliable_window: Annotated[
        int, describe("reliable mode: messages sent but not yet acked, per subscription")
    ] = 1000
    ack_timeout: Annotated[
        float, describe("reliable mode: seconds before an unacked message is redelivered")
    ] = 10.0
    reliable_backlog: Annotated[
        int,
        describe("reliable mode: messages waiting behind the window before the connection closes"),
    ] = 10000
    history_messages: Annotated[
        int, describe("in-memory history kept per reliable topic for fast resume")
    ] = 10000
    history_bytes: Annotated[int, describe("in-memory history bytes per reliable topic")] = (
        16 * 2**20
    )
    replay_page: Annotated[
        int, describe("messages fetched at a time when a client catches up from history")
    ] = 2000
    inbound_rate: Annotated[
        float, describe("client messages per second per connection (bursts of twice that)")
    ] = 200.0
    status_interval: Annotated[
        float, describe("seconds between unrequested status messages to each client (0: off)")
    ] = 5.0
    ping_interval: Annotated[float, describe("seconds between WebSocket pings (0: off)")] = 5.0
    ping_timeout: Annotated[
        float, describe("seconds to wait for a pong before closing (at most ping_interval)")
    ] = 5.0
    down_after: Annotated[
        float, describe("heartbeat intervals a node may miss before it is reported down")
    ] = 3.0
    camera: Annotated[
        str, describe("default camera of /video.mjpeg, /video.jpg and the viewer")
    ] = "cam0"
    rendition: Annotated[str, describe("default rendition of video endpoints and the viewer")] = (
        "720p"
    )
    mjpeg_fps: Annotated[float, describe("default and maximum frame rate of /video.mjpeg")] = 30.0
    frame_wait: Annotated[
        float, describe("seconds /video.jpg waits for a frame when none is cached")
    ] = 3.0
