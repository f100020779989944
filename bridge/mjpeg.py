"""Video over HTTP: ``/video.mjpeg`` (multipart/x-mixed-replace) and ``/video.jpg``.

The bridge relays the vision node's JPEG bytes and never decodes them. A watcher subscribes the
rendition on the bus only while it watches (so the vision node encodes it only then) and keeps
just the newest frame: while a part is being written to a slow client, newer frames replace
each other, so the client always gets the newest one (skip if busy) and nothing piles up.

Each part is built once per frame for every viewer of that rendition. ``fps`` caps a viewer's
average rate (:class:`Pacer`) with a quarter period of tolerance, so a viewer asking for the
source's own rate is never held back by a frame arriving a little early. Parts go out with
TCP_NODELAY: a part's tail never waits for the previous part's ack.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import tornado.iostream
import tornado.web

from bridge.context import Context
from bridge.item import Item
from protocol import topics
from protocol.errors import TopicError

BOUNDARY: Final = "cuecastframe"
SLACK: Final = 0.25  # share of the period a frame may come early and still go out at once
HEADROOM: Final = 1.05  # the pacer's credit comes back this much faster than the asked rate


def mjpeg_part(
    jpeg: bytes, t_ns: int | None = None, boundary: str = BOUNDARY, t_pub_ns: int | None = None
) -> bytes:
    """One part of a multipart/x-mixed-replace stream: boundary, headers, JPEG, CRLF.

    ``X-Timestamp`` is the capture time and ``X-Published`` the publish time (Unix seconds).
    """
    headers = [f"--{boundary}", "Content-Type: image/jpeg", f"Content-Length: {len(jpeg)}"]
    if t_ns is not None:
        headers.append(f"X-Timestamp: {t_ns / 1e9:.6f}")
    if t_pub_ns:
        headers.append(f"X-Published: {t_pub_ns / 1e9:.6f}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + jpeg + b"\r\n"


_parts: dict[str, tuple[Item, bytes]] = {}


def part_of(item: Item) -> bytes:
    """The MJPEG part of a frame, built once for every viewer of its topic."""
    cached = _parts.get(item.topic)
    if cached is not None and cached[0] is item:
        return cached[1]
    info = item.info()
    t_capture = info.t_capture_ns if info else item.t_origin_ns
    part = mjpeg_part(item.jpeg(), t_capture, t_pub_ns=item.t_pub_ns)
    _parts[item.topic] = (item, part)
    return part


@dataclass(slots=True)
class Pacer:
    """About one frame per ``period``; a frame that comes a little early is not held back.

    A token bucket: sending spends one credit, credit comes back a little faster than one per
    period (``HEADROOM``) up to ``1 + SLACK``, and a frame may go while the credit is at least
    ``1 - SLACK``. A viewer asking for the source's own rate therefore never waits for jittery
    frames, and a wait never becomes a lasting delay; a slower viewer gets its rate (within the
    headroom, and never two frames closer than half a period).
    """

    period: float
    credit: float = 1.0 + SLACK
    stamp: float | None = None

    def _credit(self, now: float) -> float:
        if self.stamp is None or self.period <= 0:
            return 1.0 + SLACK
        refill = (now - self.stamp) * HEADROOM / self.period
        return min(1.0 + SLACK, self.credit + refill)

    def wait(self, now: float) -> float:
        """Seconds to wait before the next frame may go (0: now)."""
        return max(0.0, (1.0 - SLACK - self._credit(now)) * self.period / HEADROOM)

    def sent(self, now: float) -> None:
        """A frame went out at ``now``."""
        self.credit, self.stamp = self._credit(now) - 1.0, now


def too_many(handler: tornado.web.RequestHandler, ctx: Context) -> bool:
    """Answer 429 with Retry-After if the client's address opens connections too fast."""
    wait = ctx.connects.admit(handler.request.remote_ip or "", time.monotonic())
    if wait is None:
        return False
    ctx.meter.refuse("connect_rate")
    handler.set_status(429, "too many new connections from this address")
    handler.set_header("Retry-After", str(max(1, math.ceil(wait))))
    handler.set_header("Content-Type", "application/json")
    message = "too many new connections from this address; retry later"
    handler.finish(json.dumps({"error": {"code": 429, "message": message}}))
    return True


class Watch:
    """A sink that keeps the newest frame of one topic and wakes its reader (or calls it)."""

    def __init__(self, topic: str, on_frame: Callable[[Item], None] | None = None) -> None:
        self.topic = topic
        self.on_frame = on_frame
        self.latest: Item | None = None
        self.event = asyncio.Event()
        self.skipped = 0

    def wants(self, topic: str) -> bool:
        return topic == self.topic

    def offer(self, item: Item) -> None:
        if not item.frame:
            return
        if self.on_frame is not None:
            self.on_frame(item)
            return
        if self.event.is_set():
            self.skipped += 1  # the previous frame was never taken: the reader is busy
        self.latest = item
        self.event.set()

    def check_tip(self, topic: str, epoch: str, seq: int) -> None:
        return None

    async def next(self, timeout: float | None = None) -> Item | None:
        """The newest frame not taken yet (waits for one)."""
        if timeout is None:
            await self.event.wait()
        else:
            try:
                await asyncio.wait_for(self.event.wait(), timeout)
            except TimeoutError:
                return None
        self.event.clear()
        return self.latest


class _VideoHandler(tornado.web.RequestHandler):
    def initialize(self, ctx: Context) -> None:
        self.ctx = ctx

    def topic(self) -> str:
        config = self.ctx.config
        camera = self.get_argument("camera", config.camera)
        rendition = self.get_argument("rendition", config.rendition)
        try:
            return topics.vision_frame(camera, rendition)
        except TopicError as exc:
            raise tornado.web.HTTPError(400, reason=str(exc)) from None

    def watch(self, topic: str, on_frame: Callable[[Item], None] | None = None) -> Watch:
        watch = Watch(topic, on_frame)
        self.ctx.hub.add(watch)
        self.ctx.hub.interest([topic], True)
        return watch

    def unwatch(self, watch: Watch) -> None:
        self.ctx.hub.remove(watch)
        self.ctx.hub.interest([watch.topic], False)


class MjpegHandler(_VideoHandler):
    """``/video.mjpeg?camera=&rendition=&fps=``: plays in VLC, ffmpeg, OpenCV and ``<img>``."""

    def fps(self) -> float:
        top = self.ctx.config.mjpeg_fps
        try:
            fps = float(self.get_argument("fps", str(top)))
        except ValueError:
            raise tornado.web.HTTPError(400, reason="fps must be a number") from None
        if not fps > 0:
            raise tornado.web.HTTPError(400, reason="fps must be > 0")
        return min(fps, top)

    async def get(self) -> None:
        topic, fps = self.topic(), self.fps()
        if too_many(self, self.ctx):
            return
        connection = self.request.connection
        stream = getattr(connection, "stream", None)
        if stream is not None:
            stream.set_nodelay(True)  # a part's tail must not wait for the previous ack (Nagle)
        self.set_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.set_header("Cache-Control", "no-cache, no-store, must-revalidate")
        self.set_header("Pragma", "no-cache")
        self.set_header("Connection", "close")
        self.writer = PartWriter(self, Pacer(1.0 / fps))
        watch = self.watch(topic, self.writer.offer)
        try:
            await self.writer.done.wait()
        finally:
            self.writer.stop()
            self.unwatch(watch)

    def on_connection_close(self) -> None:
        writer = getattr(self, "writer", None)
        if writer is not None:
            writer.done.set()


class PartWriter:
    """Writes the newest frame to one MJPEG viewer where it arrives, one part in flight at a time.

    No task wakes per frame: the hub's delivery writes the part at once if the viewer's socket
    took the previous one and its pace allows, else the frame waits (replaced by newer ones) for
    the previous write to finish or for the pace's timer.
    """

    def __init__(self, handler: MjpegHandler, pacer: Pacer) -> None:
        self.handler = handler
        self.pacer = pacer
        self.done = asyncio.Event()
        self.waiting: Item | None = None
        self.inflight: tuple[Item, int] | None = None
        self.timer: asyncio.TimerHandle | None = None

    def offer(self, item: Item) -> None:
        self.waiting = item
        self.pump()

    def pump(self) -> None:
        if self.inflight is not None or self.done.is_set() or self.waiting is None:
            return
        now = time.monotonic()
        wait = self.pacer.wait(now)
        if wait > 0:
            if self.timer is None:
                self.timer = asyncio.get_running_loop().call_later(wait, self._due)
            return
        item, self.waiting = self.waiting, None
        self.pacer.sent(now)
        part = part_of(item)
        self.handler.write(part)
        self.inflight = (item, len(part))
        try:
            self.handler.flush().add_done_callback(self._written)
        except tornado.iostream.StreamClosedError:
            self.done.set()

    def _due(self) -> None:
        self.timer = None
        self.pump()

    def _written(self, future: asyncio.Future[None]) -> None:
        item, size = self.inflight or (None, 0)
        self.inflight = None
        if future.cancelled() or future.exception() is not None or item is None:
            self.done.set()
            return
        ctx = self.handler.ctx
        ctx.meter.count("mjpeg_frames")
        ctx.meter.latency["mjpeg"].observe(max(0.0, (time.time_ns() - item.t_pub_ns) / 1e9))
        ctx.traffic.out(item.topic, size)
        self.pump()

    def stop(self) -> None:
        self.done.set()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class JpegHandler(_VideoHandler):
    """``/video.jpg?camera=&rendition=``: the newest frame (waits briefly if none is fresh)."""

    LINGER: Final = 5.0  # keep the rendition subscribed a little, for clients that poll

    async def get(self) -> None:
        topic = self.topic()
        hub = self.ctx.hub
        cached = hub.cache.get(topic)
        fresh = cached is not None and time.monotonic() - cached.arrived < 1.0
        item = cached if fresh else None
        if item is None:
            watch = self.watch(topic)
            loop = asyncio.get_running_loop()
            try:
                item = await watch.next(timeout=self.ctx.config.frame_wait)
            finally:
                loop.call_later(self.LINGER, self.unwatch, watch)
        if item is None or not item.frame:
            raise tornado.web.HTTPError(503, reason=f"no frame on {topic} (is vision running?)")
        self.set_header("Content-Type", "image/jpeg")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Seq", str(item.seq))
        self.finish(item.jpeg())
