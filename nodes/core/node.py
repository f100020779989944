"""The core node's shell: detections in from the bus, state, events and trajectories out.

All the logic is in :class:`nodes.core.game.Game` (pure); this module only moves messages between
the bus and it, answers the core's control requests, and keeps heavy work (shot prediction) off
the receiving path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from nodes.core.config import CoreConfig
from nodes.core.game import Game, GameConfig
from nodes.physics import Physics, Table
from nodes.runtime import NodeRuntime, Subscriber
from nodes.runtime.logs import Once
from protocol import Envelope, messages, topics
from protocol.errors import ControlError, ProtocolError
from protocol.messages import Calibration, Detections, Event

log = logging.getLogger(__name__)

TABLES = {"9ft": Table.nine_foot, "8ft": Table.eight_foot, "7ft": Table.seven_foot}


def make_game(config: CoreConfig) -> Game:
    """A Game for the configured table."""
    if config.table not in TABLES:
        raise ControlError("bad_request", f"unknown table {config.table!r}: 9ft, 8ft or 7ft")
    game_config = GameConfig(
        still_hz=config.still_hz,
        history_states=config.history_states,
        history_events=config.history_events,
    )
    return Game(TABLES[config.table](), Physics(), game_config)


class CoreNode:
    """Runs a :class:`Game` on the bus."""

    def __init__(self, config: CoreConfig) -> None:
        self.config = config
        self.game = make_game(config)
        self.once = Once(log)
        self.rejected = 0
        self._last_input = time.monotonic()
        self._idle = True

    async def run(self) -> int:
        """Serve until SIGINT/SIGTERM; returns the exit status."""
        async with NodeRuntime(self.config, "core") as node:
            self.node = node
            self.sub = Subscriber(
                node.bus,
                name=node.name,
                on_message=self.on_message,
                run_dir=node.run_dir,
                peers=self.config.peers,
                hwm=self.config.hwm,
            )
            for prefix in self._prefixes():
                self.sub.subscribe(prefix)
            self._routes(node)
            node.stats.append(self._stats)
            node.describe_extra["table"] = messages.to_builtins(self.game.geometry)
            node.describe_extra["physics"] = messages.to_builtins(self.game.phys)
            node.task(self.sub.run(), "subscriber")
            node.task(self._idle_flush(), "idle-flush")
            self.publish_state(self.game.snapshot())
            return await node.wait()

    def _prefixes(self) -> list[str]:
        if not self.config.cameras:
            return ["vision.detections.", "vision.calibration."]
        return [
            topic(camera)
            for camera in self.config.cameras
            for topic in (topics.vision_detections, topics.vision_calibration)
        ]

    # -- the bus boundary ------------------------------------------------------------------

    def on_message(self, env: Envelope) -> None:
        """One message from the subscriber (the protocol-error boundary of the input)."""
        try:
            message = env.message()
        except ProtocolError as exc:
            self.rejected += 1
            self.once.warning(f"bad:{env.topic}", "dropped a bad message on %s: %s", env.topic, exc)
            return
        if isinstance(message, Detections):
            self._on_detections(message)
        elif isinstance(message, Calibration):
            self._publish_events(self.game.calibration(message))

    def _on_detections(self, detections: Detections) -> None:
        self._last_input = time.monotonic()
        self._idle = False
        state, events, trajectory = self.game.update(detections)
        self._publish_events(events)
        if state is not None:
            self.publish_state(state)
        if trajectory is not None:
            self.node.publisher.publish(
                topics.CORE_TRAJECTORY, trajectory, t_origin_ns=trajectory.t_capture_ns
            )

    def publish_state(self, state: messages.State) -> None:
        """Publish ``core.state`` stamped with the capture time of its newest input."""
        origin = state.t_capture_ns or None
        self.node.publisher.publish(topics.CORE_STATE, state, t_origin_ns=origin)

    def _publish_events(self, events: Sequence[Event]) -> None:
        for event in events:
            self.node.publisher.publish(topics.CORE_EVENT, event, t_origin_ns=event.t_ns or None)

    async def _idle_flush(self) -> None:
        """When detections stop (camera gone), release queued events instead of holding them."""
        while True:
            await asyncio.sleep(self.config.idle_flush_s / 2)
            if not self._idle and time.monotonic() - self._last_input > self.config.idle_flush_s:
                self._idle = True
                self._publish_events(self.game.flush_events())

    # -- control requests ------------------------------------------------------------------

    def _routes(self, node: NodeRuntime[CoreConfig]) -> None:
        route = node.control.route
        route("reset_game", self._reset_game, "start a new game; publishes event.game_reset")
        route(
            "predict_shot",
            self._predict_shot,
            "predict a shot: {direction_deg, speed, cue_ball?, tip?: {side, height}, balls?}",
        )
        route("history", self._history, "states and events since a time: {since_ns, ...}")
        route("state", lambda args: messages.to_builtins(self.game.snapshot()), "the table now")

    def _reset_game(self, args: dict[str, Any]) -> dict[str, Any]:
        by = args.get("by")
        if by is not None and not isinstance(by, str):
            raise ControlError("bad_request", "'by' must be a string")
        events = self.game.reset_game(by=by, reason=str(args.get("reason", "request")))
        self._publish_events(events)
        self.publish_state(self.game.snapshot())
        return {"reset": True, "events": [type(e).TYPE for e in events]}

    async def _predict_shot(self, args: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        # parse against the tracked balls here on the loop; the simulation touches no game
        # state, so it runs in a worker thread and never holds up the input path
        shot = self.game.shot_args(args)
        prediction = await asyncio.to_thread(self.game.simulate_shot, shot)
        log.debug("predict_shot in %.1f ms", (time.perf_counter() - started) * 1e3)
        result: dict[str, Any] = messages.to_builtins(prediction)
        return result

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.game.history(args)

    def _stats(self) -> dict[str, Any]:
        return {**self.game.stats(), "bad_messages": self.rejected, "bus": dict(self.sub.counts)}
