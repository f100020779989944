"""Realistic detection streams from the physics engine, for core tests and benches.

A shot is simulated with :func:`nodes.physics.simulate`; every frame samples ``state_at(t)``
and turns it into the pair the synthetic camera publishes: ``GroundTruth`` and ``Detections``,
with detector noise (Gaussian position error, missed detections, occlusion, optional class
mistakes). Any iterable of ``(GroundTruth, Detections)`` pairs can drive the tracker the same
way, so the bench can later swap this feed for rendered frames through the real detector.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from scipy.optimize import linear_sum_assignment

from nodes.core.game import Game
from nodes.physics import Ball, Physics, Simulation, Table, simulate, strike
from protocol.messages import (
    DetectedBall,
    DetectedCue,
    Detections,
    Event,
    GroundTruth,
    State,
    Trajectory,
    TruthBall,
)
from protocol.messages.vision import BallKind

E = TypeVar("E", bound=Event)

PX_PER_M = 500.0
R = Physics().R

#: (t, x, y) -> True when the point is hidden from the camera at time t.
Occluder = Callable[[float, float, float], bool]


def kind_of(number: int) -> BallKind:
    """Colour class of a ball number."""
    if number == 0:
        return "cue"
    if number == 8:
        return "eight"
    return "solid" if number < 8 else "stripe"


@dataclass
class Flicker:
    """A detector whose class and number of some balls flicker while they roll: in every
    ``period``-th frame (or with probability ``rate`` when ``period`` is 0) balls ``balls``
    are read as ``kind`` and ``number`` (a rolling stripe whose white turns into view reads as
    the cue ball), and every detection of them gets a confidence drawn from ``confidence``
    (motion blur). With ``moving_only`` false they flicker at rest too."""

    balls: tuple[int, ...]
    kind: BallKind = "cue"
    number: int | None = 0
    period: int = 2
    rate: float = 0.0
    confidence: tuple[float, float] = (0.2, 0.4)
    moving_only: bool = True


@dataclass
class Blind:
    """Ball ``number`` is not detected between ``t0`` and ``t1`` seconds (shot time)."""

    number: int
    t0: float
    t1: float


def after_contact(sim: Simulation, number: int, frames_hidden: int, fps: float = 60.0) -> Blind:
    """Hide ball ``number`` for ``frames_hidden`` frames from its first ball-ball contact (a
    detector that loses a ball in the cluster of a collision)."""
    contact = next(e for e in sim.events if e.type == "ball_ball" and number in e.balls)
    return Blind(number, contact.t, contact.t + frames_hidden / fps)


@dataclass
class Ghosts:
    """A detector that, in a cluster, fits a circle in the wrong place: from ``start`` seconds
    on, with probability ``rate`` per frame a ball whose neighbour is within ``cluster`` metres
    is reported ``offset`` metres (drawn from the range, in a random direction) from its
    centre, at a low ``confidence``, and with another ball's number (the true detection is lost
    that frame)."""

    rate: float
    start: float = -math.inf
    offset: tuple[float, float] = (0.01, 0.02)
    confidence: tuple[float, float] = (0.15, 0.25)
    cluster: float = 2 * R + 0.005


@dataclass
class Phantom:
    """A detector that finds balls where there are none: a hand resting on the rail, the
    fingers of a hand putting a ball down. Between ``t0`` and ``t1`` seconds each of ``points``
    is reported with probability ``rate`` per frame, ``jitter`` metres about it (Gaussian), as
    ``kind`` with a number drawn from ``numbers`` and a confidence drawn from ``confidence``
    (skin reads as a yellow or orange solid, less surely than a ball)."""

    points: tuple[tuple[float, float], ...]
    t0: float = -math.inf
    t1: float = math.inf
    rate: float = 1.0
    kind: BallKind = "solid"
    numbers: tuple[int | None, ...] = (None,)
    confidence: tuple[float, float] = (0.35, 0.6)
    jitter: float = 0.001


@dataclass
class Noise:
    """Detector imperfections. ``sigma`` in metres; probabilities per ball per frame;
    ``confidence`` of every ordinary detection. ``split_s``: a ball faster than 2 m/s is
    smeared over its motion during this exposure (seconds) and found as two circles at the
    ends of the smear (a blurred break ball). ``phantoms``: detections of no ball."""

    sigma: float = 0.0
    miss: float = 0.0
    wrong_kind: float = 0.0
    numbers: bool = True
    seed: int = 0
    occluders: list[Occluder] = field(default_factory=list)
    flicker: Flicker | None = None
    blind: list[Blind] = field(default_factory=list)
    confidence: float = 0.9
    ghosts: Ghosts | None = None
    split_s: float = 0.0
    phantoms: list[Phantom] = field(default_factory=list)


@dataclass
class Aim:
    """A cue aiming at ball ``ball`` along ``direction_deg`` until ``until`` seconds."""

    ball: int
    direction_deg: float
    until: float = 0.0
    side: float = 0.0


def disc(x: float, y: float, radius: float, t0: float, t1: float) -> Occluder:
    """A round occluder (a hand) over (x, y) between t0 and t1."""
    return lambda t, px, py: t0 <= t < t1 and math.hypot(px - x, py - y) < radius


def stick(
    x0: float, y0: float, direction_deg: float, t0: float, t1: float, speed: float = 0.0
) -> Occluder:
    """A cue stick lying on the line from (x0, y0) backwards along ``direction_deg`` (its butt
    end away from the tip), sliding along its length at ``speed`` m/s between t0 and t1."""
    ux, uy = math.cos(math.radians(direction_deg)), math.sin(math.radians(direction_deg))

    def occluder(t: float, x: float, y: float) -> bool:
        if not t0 <= t < t1:
            return False
        tx, ty = x0 + ux * speed * (t - t0), y0 + uy * speed * (t - t0)
        along = -((x - tx) * ux + (y - ty) * uy)
        across = abs((x - tx) * uy - (y - ty) * ux)
        return 0.0 <= along <= 1.4 and across < 0.6 * R + 0.008

    return occluder


def shot(
    positions: dict[int, tuple[float, float]],
    cue: int,
    direction_deg: float,
    speed: float,
    *,
    side: float = 0.0,
    height: float = 0.0,
    table: Table | None = None,
) -> Simulation:
    """Simulate balls (id = number) with ``cue`` struck as given."""
    balls = []
    for number, (x, y) in positions.items():
        ball = Ball(number, x, y)
        if number == cue:
            ball = strike(ball, direction_deg, speed, side, height)
        balls.append(ball)
    return simulate(balls, table or Table.nine_foot())


def frames(
    sim: Simulation,
    noise: Noise | None = None,
    *,
    fps: float = 60.0,
    t_pre: float = 0.3,
    t_post: float = 0.8,
    camera: str = "cam0",
    t0_ns: int = 1_000_000_000_000,
    aim: Aim | None = None,
) -> Iterator[tuple[GroundTruth, Detections]]:
    """Frames from ``-t_pre`` (balls at rest before the strike) to ``duration + t_post``."""
    noise = noise or Noise()
    rng = np.random.default_rng(noise.seed)
    start = {b.id: (b.x, b.y) for b in sim.balls}
    n = math.ceil((t_pre + sim.duration + t_post) * fps)
    for k in range(n + 1):
        t = -t_pre + k / fps
        t_ns = t0_ns + round((t + t_pre) * 1e9)
        truth = _truth(sim, start, t)
        balls = [d for b in truth for d in _detect_all(b, truth, t, k, noise, rng)]
        balls += [d for p in noise.phantoms for d in _phantoms(p, t, rng)]
        cue = _cue(aim, truth, t)
        gt = GroundTruth(camera=camera, frame=k, t_capture_ns=t_ns, balls=truth)
        det = Detections(
            camera=camera, frame=k, t_capture_ns=t_ns, width=1280, height=720, balls=balls, cue=cue
        )
        yield gt, det


def _truth(sim: Simulation, start: dict[int, tuple[float, float]], t: float) -> list[TruthBall]:
    if t < 0.0:
        return [TruthBall(number=i, kind=kind_of(i), x=x, y=y) for i, (x, y) in start.items()]
    out = []
    for i, b in sim.state_at(t).items():
        out.append(
            TruthBall(
                number=i, kind=kind_of(i), x=b.x, y=b.y, vx=b.vx, vy=b.vy, pocketed=b.pocketed
            )
        )
    return out


def _detect_all(
    b: TruthBall,
    truth: list[TruthBall],
    t: float,
    k: int,
    noise: Noise,
    rng: np.random.Generator,
) -> list[DetectedBall]:
    """The detections of one ball: none, one, a ghost in its place, or the two ends of a
    smear."""
    found = _detect(b, t, k, noise, rng)
    if found is None:
        return []
    ghosts = noise.ghosts
    haunted = ghosts is not None and t >= ghosts.start and _clustered(b, truth, ghosts)
    if ghosts is not None and haunted and rng.random() < ghosts.rate:
        angle = rng.uniform(0.0, 2.0 * math.pi)
        d = rng.uniform(*ghosts.offset)
        other = int(rng.integers(1, 16))
        return [
            _moved(found, d * math.cos(angle), d * math.sin(angle), kind_of(other), other,
                   float(rng.uniform(*ghosts.confidence)))
        ]  # fmt: skip
    speed = math.hypot(b.vx, b.vy)
    if noise.split_s and speed > 2.0:
        hx, hy = b.vx * noise.split_s / 2, b.vy * noise.split_s / 2
        low = 0.5 * found.confidence
        return [
            _moved(found, hx, hy, "unknown", None, low),
            _moved(found, -hx, -hy, "unknown", None, low),
        ]
    return [found]


def _phantoms(p: Phantom, t: float, rng: np.random.Generator) -> list[DetectedBall]:
    if not p.t0 <= t < p.t1:
        return []
    out = []
    for x, y in p.points:
        if rng.random() >= p.rate:
            continue
        x, y = x + rng.normal(0.0, p.jitter), y + rng.normal(0.0, p.jitter)
        number = p.numbers[int(rng.integers(len(p.numbers)))]
        kind: BallKind = p.kind if number is None else kind_of(number)
        confidence = float(rng.uniform(*p.confidence))
        out.append(_moved(_at(x, y), 0.0, 0.0, kind, number, confidence))
    return out


def _at(x: float, y: float) -> DetectedBall:
    return DetectedBall(
        x_px=(x + 1.27) * PX_PER_M, y_px=(0.635 - y) * PX_PER_M, r_px=R * PX_PER_M, x=x, y=y
    )


def _clustered(b: TruthBall, truth: list[TruthBall], ghosts: Ghosts) -> bool:
    return any(
        o is not b and not o.pocketed and math.hypot(o.x - b.x, o.y - b.y) < ghosts.cluster
        for o in truth
    )


def _moved(
    d: DetectedBall, dx: float, dy: float, kind: BallKind, number: int | None, confidence: float
) -> DetectedBall:
    x, y = d.x + dx, d.y + dy
    return DetectedBall(
        x_px=(x + 1.27) * PX_PER_M,
        y_px=(0.635 - y) * PX_PER_M,
        r_px=d.r_px,
        x=x,
        y=y,
        kind=kind,
        number=number,
        confidence=confidence,
    )


def _detect(
    b: TruthBall, t: float, k: int, noise: Noise, rng: np.random.Generator
) -> DetectedBall | None:
    if b.pocketed or rng.random() < noise.miss:
        return None
    if any(occ(t, b.x, b.y) for occ in noise.occluders):
        return None
    if any(w.number == b.number and w.t0 <= t < w.t1 for w in noise.blind):
        return None
    x = b.x + rng.normal(0.0, noise.sigma) if noise.sigma else b.x
    y = b.y + rng.normal(0.0, noise.sigma) if noise.sigma else b.y
    kind: BallKind = b.kind
    if noise.wrong_kind and rng.random() < noise.wrong_kind:
        kind = "stripe" if kind == "solid" else "solid"
    number = b.number if noise.numbers and kind == b.kind else None
    confidence = noise.confidence
    flicker = noise.flicker
    rolling = math.hypot(b.vx, b.vy) > 0.01 or not (flicker and flicker.moving_only)
    if flicker is not None and b.number in flicker.balls and rolling:
        confidence = float(rng.uniform(*flicker.confidence))
        misread = k % flicker.period == 0 if flicker.period else rng.random() < flicker.rate
        if misread:
            kind, number = flicker.kind, flicker.number
    return DetectedBall(
        x_px=(x + 1.27) * PX_PER_M,
        y_px=(0.635 - y) * PX_PER_M,
        r_px=R * PX_PER_M,
        x=x,
        y=y,
        kind=kind,
        number=number,
        confidence=confidence,
    )


def _cue(aim: Aim | None, truth: list[TruthBall], t: float) -> DetectedCue | None:
    if aim is None or t >= aim.until:
        return None
    ball = next(b for b in truth if b.number == aim.ball)
    ux, uy = math.cos(math.radians(aim.direction_deg)), math.sin(math.radians(aim.direction_deg))
    offset = aim.side * R
    tip_x = ball.x - ux * (R + 0.02) + uy * offset
    tip_y = ball.y - uy * (R + 0.02) - ux * offset
    return DetectedCue(
        tip_x_px=(tip_x + 1.27) * PX_PER_M,
        tip_y_px=(0.635 - tip_y) * PX_PER_M,
        tip_x=tip_x,
        tip_y=tip_y,
        direction_deg=aim.direction_deg,
        visible_fraction=0.8,
        confidence=0.9,
    )


@dataclass
class Run:
    """What a game produced from a feed, and how it compares with the ground truth.

    ``switches`` counts frames where a truth ball's matched track id changed; ``errors`` holds
    the position error (m) of every moving, matched truth ball in every frame; ``ids`` maps each
    truth number to every track id it was matched to.
    """

    states: list[State] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    trajectories: list[Trajectory] = field(default_factory=list)
    ids: dict[int, set[int]] = field(default_factory=dict)
    switches: int = 0
    errors: list[float] = field(default_factory=list)
    unmatched_moving: int = 0
    frames: int = 0

    def of(self, cls: type[E]) -> list[E]:
        """The events of one type."""
        return [e for e in self.events if isinstance(e, cls)]

    def types(self) -> list[str]:
        """Event types in order."""
        return [e.TYPE.removeprefix("event.") for e in self.events]

    def id_of(self, number: int) -> int:
        """The one track id a truth ball had (fails if it had several)."""
        ids = self.ids[number]
        assert len(ids) == 1, f"ball {number} had ids {ids}"
        return next(iter(ids))


def drive(game: Game, feed: Iterable[tuple[GroundTruth, Detections]], *, flush: bool = True) -> Run:
    """Feed every frame to ``game``, collect its outputs and score identities and positions."""
    run = Run()
    current: dict[int, int] = {}
    for truth, det in feed:
        state, events, trajectory = game.update(det)
        run.frames += 1
        if state is not None:
            run.states.append(state)
        run.events.extend(events)
        if trajectory is not None:
            run.trajectories.append(trajectory)
        _score(run, truth, game, current)
    if flush:
        run.events.extend(game.flush_events())
    return run


def _score(run: Run, truth: GroundTruth, game: Game, current: dict[int, int]) -> None:
    balls = [b for b in truth.balls if not b.pocketed]
    tracks = game.tracker.on_table()
    if not balls or not tracks:
        return
    cost = np.array([[math.hypot(b.x - t.kf.x, b.y - t.kf.y) for t in tracks] for b in balls])
    rows, cols = linear_sum_assignment(cost)
    matched = {int(r): int(c) for r, c in zip(rows, cols, strict=True) if cost[r, c] < 2 * R}
    for i, b in enumerate(balls):
        moving = math.hypot(b.vx, b.vy) > 0.01
        if i not in matched:
            run.unmatched_moving += moving
            continue
        tr = tracks[matched[i]]
        run.ids.setdefault(b.number, set()).add(tr.id)
        if current.get(b.number, tr.id) != tr.id:
            run.switches += 1
        current[b.number] = tr.id
        if moving:
            run.errors.append(float(cost[i, matched[i]]))
