"""How the cue moves for one shot: in, practice strokes, backswing, strike, follow-through,
hold, out. The cue slides along its own axis through a fixed bridge; ``s`` is the distance of
the tip behind the contact point on the cue ball (negative after the strike).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nodes.vision.synthetic.ball import RADIUS
from nodes.vision.synthetic.cue import CuePose, Player, Stance
from nodes.vision.synthetic.plan import Positions, ShotPlan
from nodes.vision.synthetic.table import TableLayout

F64 = NDArray[np.float64]
CUE_CLEARANCE = 0.014  # the cue's axis passes this far above balls and rails
SLIDE_STEP = 0.001  # m: the cue slides in steps this fine (the renderer caches each position)


@dataclass(frozen=True, slots=True, kw_only=True)
class Stroke:
    """Times (scene seconds) and geometry of the cue's motion for one shot."""

    appear: float  # the cue and bridge hand come in
    address: float  # tip at the address position
    aimed: float  # practice strokes done
    back: float  # top of the backswing
    go: float  # forward swing starts
    strike: float  # tip meets the ball
    follow: float  # end of the follow-through
    hold: float  # the player starts pulling the cue out
    gone: float  # the cue is out of the scene
    s_far: float
    s_address: float
    practice: float  # amplitude of practice strokes
    practice_count: int
    s_back: float
    s_follow: float
    cue_speed: float
    contact: tuple[float, float, float]
    direction_deg: float
    elevation_deg: float
    stance: Stance

    def s_at(self, t: float) -> tuple[float, float]:
        """(s, ds/dt) at time t within [appear, gone)."""
        if t < self.address:
            return _ease(t, self.appear, self.address, self.s_far, self.s_address)
        if t < self.aimed:
            period = (self.aimed - self.address) / self.practice_count
            phase = math.pi * ((t - self.address) / period)
            return (
                self.s_address + self.practice * math.sin(phase) ** 2,
                self.practice * math.pi / period * math.sin(2 * phase),
            )
        if t < self.back:
            return _ease(t, self.aimed, self.back, self.s_address, self.s_back)
        if t < self.go:
            return self.s_back, 0.0
        if t < self.strike:
            acc = self.cue_speed / (self.strike - self.go)
            tau = t - self.go
            return self.s_back - 0.5 * acc * tau * tau, -acc * tau
        if t < self.follow:
            dec = self.cue_speed / (self.follow - self.strike)
            tau = t - self.strike
            return -(self.cue_speed * tau - 0.5 * dec * tau * tau), -(self.cue_speed - dec * tau)
        if t < self.hold:
            return -self.s_follow, 0.0
        return _ease(t, self.hold, self.gone, -self.s_follow, 0.9)

    def cue_at(self, t: float) -> tuple[CuePose | None, float, str]:
        """The cue pose, the tip's speed towards the tip, and the phase name."""
        if t < self.appear or t >= self.gone:
            return None, 0.0, "walk"
        s, ds = self.s_at(t)
        s = round(s / SLIDE_STEP) * SLIDE_STEP  # repeated strokes revisit the same positions
        pose = CuePose(
            tip_x=self.contact[0],
            tip_y=self.contact[1],
            tip_z=self.contact[2],
            direction_deg=self.direction_deg,
            elevation_deg=self.elevation_deg,
        )
        tip = pose.point(s)
        pose = CuePose(
            tip_x=float(tip[0]),
            tip_y=float(tip[1]),
            tip_z=float(tip[2]),
            direction_deg=self.direction_deg,
            elevation_deg=self.elevation_deg,
        )
        return pose, -ds, _phase(self, t)


def _phase(stroke: Stroke, t: float) -> str:
    for name, end in (
        ("approach", stroke.address),
        ("aim", stroke.aimed),
        ("backswing", stroke.go),
        ("stroke", stroke.strike),
        ("follow", stroke.follow),
    ):
        if t < end:
            return name
    return "rolling"


def _ease(t: float, t0: float, t1: float, a: float, b: float) -> tuple[float, float]:
    """Smooth (cosine) move from a at t0 to b at t1: value and rate."""
    u = (t - t0) / (t1 - t0)
    w = 0.5 - 0.5 * math.cos(math.pi * u)
    rate = 0.5 * math.pi * math.sin(math.pi * u) / (t1 - t0)
    return a + (b - a) * w, (b - a) * rate


def plan_stroke(
    plan: ShotPlan,
    positions: Positions,
    layout: TableLayout,
    player: Player,
    appear: float,
    rng: np.random.Generator,
) -> Stroke:
    """Timing, contact point, elevation and bridge for a shot starting at ``appear``."""
    speed = min(plan.speed, 12.0)
    cue_speed = max(0.6, 0.8 * speed)
    s_back = float(rng.uniform(0.12, 0.2)) * (1.4 if plan.is_break else 1.0)
    s_follow = float(rng.uniform(0.08, 0.14)) * (1.5 if plan.is_break else 1.0)
    count = int(rng.integers(2, 5))
    address = appear + float(rng.uniform(0.6, 1.0))
    aimed = address + count * float(rng.uniform(0.7, 1.0))
    back = aimed + float(rng.uniform(0.35, 0.55))
    go = back + float(rng.uniform(0.08, 0.25))
    strike = go + 2 * s_back / cue_speed
    follow = strike + 2 * s_follow / cue_speed
    hold = follow + float(rng.uniform(0.25, 0.5))
    contact = _contact(plan, positions[0])
    elevation = _elevation(plan, positions, layout, contact, float(rng.uniform(3.0, 8.0)))
    stance = _stance(plan, contact, layout, player, float(rng.uniform(0.15, 0.24)))
    return Stroke(
        appear=appear,
        address=address,
        aimed=aimed,
        back=back,
        go=go,
        strike=strike,
        follow=follow,
        hold=hold,
        gone=hold + float(rng.uniform(0.4, 0.7)),
        s_far=0.45,
        s_address=float(rng.uniform(0.015, 0.04)),
        practice=float(rng.uniform(0.06, 0.11)),
        practice_count=count,
        s_back=s_back,
        s_follow=s_follow,
        cue_speed=cue_speed,
        contact=contact,
        direction_deg=plan.direction_deg,
        elevation_deg=elevation,
        stance=stance,
    )


def _contact(plan: ShotPlan, cue_ball: tuple[float, float]) -> tuple[float, float, float]:
    """Where the tip meets the cue ball for the plan's tip offset."""
    d = math.radians(plan.direction_deg)
    forward = np.array([math.cos(d), math.sin(d), 0.0])
    right = np.array([math.sin(d), -math.cos(d), 0.0])
    side, height = plan.tip_side, plan.tip_height
    back = math.sqrt(max(1.0 - side * side - height * height, 0.0))
    centre = np.array([cue_ball[0], cue_ball[1], RADIUS])
    p = centre + RADIUS * (-back * forward + side * right + height * np.array([0.0, 0.0, 1.0]))
    return float(p[0]), float(p[1]), float(p[2])


def _elevation(
    plan: ShotPlan,
    positions: Positions,
    layout: TableLayout,
    contact: tuple[float, float, float],
    base: float,
) -> float:
    """Raise the butt enough to clear the balls behind the cue ball and the rail."""
    d = math.radians(plan.direction_deg)
    back = np.array([-math.cos(d), -math.sin(d)])
    tip = np.array(contact[:2])
    need = base
    for n, (x, y) in positions.items():
        if n == 0:
            continue
        rel = np.array([x, y]) - tip
        along = float(rel @ back)
        if 0.0 < along < 1.5 and abs(float(rel[0] * back[1] - rel[1] * back[0])) < RADIUS + 0.015:
            need = max(
                need, math.degrees(math.atan2(2 * RADIUS + CUE_CLEARANCE - contact[2], along))
            )
    hx, hy = layout.half
    with np.errstate(divide="ignore"):
        to_x = (hx * np.sign(back[0]) - tip[0]) / back[0] if back[0] else math.inf
        to_y = (hy * np.sign(back[1]) - tip[1]) / back[1] if back[1] else math.inf
    rail = max(min(to_x, to_y), 0.01)
    need = max(
        need, math.degrees(math.atan2(layout.rail_height + CUE_CLEARANCE - contact[2], rail))
    )
    return float(min(need, 35.0))


def _stance(
    plan: ShotPlan,
    contact: tuple[float, float, float],
    layout: TableLayout,
    player: Player,
    bridge: float,
) -> Stance:
    """The bridge hand ``bridge`` metres behind the contact point, on the cloth or the rail."""
    d = math.radians(plan.direction_deg)
    bx = contact[0] - bridge * math.cos(d)
    by = contact[1] - bridge * math.sin(d)
    hx, hy = layout.half
    ox, oy = layout.outer
    if abs(bx) < hx - 0.03 and abs(by) < hy - 0.03:
        rest: float | None = 0.0
    elif abs(bx) < ox - 0.02 and abs(by) < oy - 0.02:
        rest = layout.rail_height
    else:
        rest = None
    return Stance(bridge_x=bx, bridge_y=by, rest_z=rest, player=player)
