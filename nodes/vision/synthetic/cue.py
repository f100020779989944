"""The cue stick and the player's hands and arms, as tapered capsules.

A :class:`CuePose` puts the tip somewhere in table metres and points the cue along
``direction_deg`` (0 = +x, counter-clockwise; the direction the tip moves when striking),
its butt raised by ``elevation_deg``. :class:`Player` says how the bridge hand and the grip hand
hold it. Distances along the cue are measured from the tip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nodes.vision.synthetic import colour
from nodes.vision.synthetic.capsule import Capsule

F64 = NDArray[np.float64]

CUE_ID = 100  # fragment owner of the cue stick
HAND_ID = 101  # fragment owner of hands and arms

LENGTH = 1.47  # 58 in
JOINT = 0.74
TIP_RADIUS = 0.0065  # 13 mm tip
JOINT_RADIUS = 0.0105
BUTT_RADIUS = 0.0150

# Parts (what the painter colours) and the cue's bands along its length from the tip.
SKIN, SLEEVE, CUE = 0, 1, 2
BANDS: tuple[tuple[float, str], ...] = (
    (0.012, "#3f6f9f"),  # chalked leather tip
    (0.032, "#efe8d8"),  # ferrule
    (JOINT, "#dcbd86"),  # maple shaft
    (JOINT + 0.022, "#2b2b2b"),  # joint collar
    (1.10, "#4a2716"),  # forearm
    (1.34, "#1d1d1f"),  # linen wrap
    (LENGTH - 0.012, "#3b1c0e"),  # butt sleeve
    (LENGTH + 1.0, "#101010"),  # bumper
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CuePose:
    """Where the cue is: the front of its tip (table metres; the point that touches the ball),
    and the direction the tip points (degrees, 0 = +x, counter-clockwise) with the butt raised
    by ``elevation_deg``."""

    tip_x: float
    tip_y: float
    tip_z: float
    direction_deg: float
    elevation_deg: float = 6.0

    def axis(self) -> F64:
        """Unit vector from the butt towards the tip."""
        d, e = math.radians(self.direction_deg), math.radians(self.elevation_deg)
        return np.array([math.cos(d) * math.cos(e), math.sin(d) * math.cos(e), -math.sin(e)])

    def point(self, distance: float) -> F64:
        """The point of the cue's axis ``distance`` metres behind the tip."""
        return np.array([self.tip_x, self.tip_y, self.tip_z]) - distance * self.axis()

    def height_over(self, x: float, y: float) -> float:
        """z of the cue's axis line above the table point (x, y), for points on its vertical
        plane (the cue slides along its axis, so this does not change while it strokes)."""
        d = math.radians(self.direction_deg)
        behind = (self.tip_x - x) * math.cos(d) + (self.tip_y - y) * math.sin(d)
        return self.tip_z + behind * math.tan(math.radians(self.elevation_deg))


@dataclass(frozen=True, slots=True, kw_only=True)
class Player:
    """Appearance and handedness of whoever holds the cue."""

    skin: str = "#c99a7a"
    sleeve: str = "#2c3e63"
    right_handed: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Stance:
    """How the player holds the cue for one shot: the bridge hand rests at (bridge_x,
    bridge_y) on a surface at ``rest_z`` (cloth or rail; None: no bridge hand in view) and the
    grip hand holds the cue ``grip`` metres behind the tip (it moves with the cue)."""

    bridge_x: float
    bridge_y: float
    rest_z: float | None = 0.0
    grip: float = 1.30
    player: Player = Player()


def cue_capsules(pose: CuePose) -> list[Capsule]:
    """The shaft and the butt."""
    tip, joint, butt = pose.point(TIP_RADIUS), pose.point(JOINT), pose.point(LENGTH)
    return [
        Capsule(_xyz(tip), _xyz(joint), TIP_RADIUS, JOINT_RADIUS, CUE, TIP_RADIUS),
        Capsule(_xyz(joint), _xyz(butt), JOINT_RADIUS, BUTT_RADIUS, CUE, JOINT),
    ]


def _frame(direction_deg: float, player: Player) -> tuple[F64, F64, F64]:
    d = math.radians(direction_deg)
    forward = np.array([math.cos(d), math.sin(d), 0.0])
    left = np.array([-math.sin(d), math.cos(d), 0.0])
    side = left if player.right_handed else -left
    return forward, side, np.array([0.0, 0.0, 1.0])


def _cap(a: F64, b: F64, ra: float, rb: float, part: int) -> Capsule:
    return Capsule(_xyz(a), _xyz(b), ra, rb, part)


def _xyz(v: F64) -> tuple[float, float, float]:
    return float(v[0]), float(v[1]), float(v[2])


def bridge_capsules(pose: CuePose, stance: Stance) -> list[Capsule]:
    """An open bridge: palm and four fingers flat, the thumb up against the cue, the forearm
    and upper arm going back. It does not move while the cue slides through it."""
    if stance.rest_z is None:
        return []
    f, side, up = _frame(pose.direction_deg, stance.player)
    rest = stance.rest_z
    cue_at = np.array(
        [stance.bridge_x, stance.bridge_y, pose.height_over(stance.bridge_x, stance.bridge_y)]
    )
    base = np.array([stance.bridge_x, stance.bridge_y, rest]) + 0.022 * side
    palm = base - 0.045 * f + 0.02 * up
    out = [
        _cap(palm - 0.025 * side, palm + 0.03 * side, 0.021, 0.023, SKIN),
        _cap(palm - 0.03 * f + 0.005 * side, palm + 0.02 * f, 0.022, 0.02, SKIN),
    ]
    for k in range(4):
        spread = math.radians(-10 + 16 * k)
        knuckle = palm + 0.035 * f + (0.010 - 0.015 * k) * side + 0.004 * up
        reach = 0.078 - 0.01 * abs(k - 1.2)
        tip = knuckle + reach * (math.cos(spread) * f + math.sin(spread) * side)
        tip[2] = rest + 0.008
        out.append(_cap(knuckle, tip, 0.0095, 0.0075, SKIN))
    thumb_tip = cue_at - 0.012 * side - 0.012 * up + 0.02 * f
    out.append(_cap(palm + 0.012 * f - 0.012 * side, thumb_tip, 0.011, 0.009, SKIN))
    wrist = palm - 0.06 * f + 0.01 * up
    elbow = wrist - 0.24 * f + 0.10 * side + 0.16 * up
    shoulder = elbow - 0.12 * f + 0.06 * side + 0.30 * up
    out += [
        _cap(palm - 0.02 * f, wrist, 0.024, 0.026, SKIN),
        _cap(wrist, elbow, 0.028, 0.04, SLEEVE),
        _cap(elbow, shoulder, 0.042, 0.055, SLEEVE),
    ]
    return out


def grip_capsules(pose: CuePose, stance: Stance) -> list[Capsule]:
    """A fist around the butt, the forearm hanging from the elbow above it."""
    f, side, up = _frame(pose.direction_deg, stance.player)
    grip = pose.point(stance.grip)
    fist = grip - 0.012 * up
    elbow = grip + 0.30 * up - 0.06 * f + 0.05 * side
    shoulder = elbow + 0.30 * f + 0.10 * up - 0.04 * side
    return [
        _cap(fist - 0.035 * f, fist + 0.035 * f, 0.036, 0.034, SKIN),
        _cap(fist + 0.02 * up, elbow, 0.032, 0.042, SLEEVE),
        _cap(elbow, shoulder, 0.045, 0.055, SLEEVE),
    ]


def placing_capsules(x: float, y: float, ball_z: float, player: Player) -> list[Capsule]:
    """A hand putting a ball down at (x, y): palm over it, fingers around it, arm going up."""
    up = np.array([0.0, 0.0, 1.0])
    back = np.array([-1.0, -0.35, 0.0]) / math.hypot(1.0, 0.35)
    side = np.array([-back[1], back[0], 0.0])
    top = np.array([x, y, ball_z * 2 + 0.018])
    out = [_cap(top - 0.02 * side, top + 0.02 * side, 0.022, 0.022, SKIN)]
    for k in range(4):
        ang = math.radians(-60 + 40 * k)
        root = top + 0.012 * (math.cos(ang) * -back + math.sin(ang) * side)
        tip = np.array([x, y, ball_z]) + 0.034 * (math.cos(ang) * -back + math.sin(ang) * side)
        out.append(_cap(root, tip, 0.009, 0.008, SKIN))
    wrist = top + 0.07 * back + 0.03 * up
    elbow = wrist + 0.22 * back + 0.2 * up
    out += [_cap(top, wrist, 0.024, 0.026, SKIN), _cap(wrist, elbow, 0.028, 0.04, SLEEVE)]
    return out


class CueLook:
    """Albedo and gloss of cue and hand points."""

    def __init__(self, player: Player) -> None:
        self.ends = np.array([end for end, _ in BANDS])
        self.bands = np.array([colour.rgb(hex_) for _, hex_ in BANDS])
        self.skin = colour.rgb(player.skin)
        self.sleeve = colour.rgb(player.sleeve)

    def albedo(self, part: NDArray[np.intp], along: F64) -> F64:
        """(N, 3) linear BGR for parts (N,) at distances along the object (N,)."""
        out = np.empty((len(part), 3))
        cue = part == CUE
        band = np.searchsorted(self.ends, along[cue], side="right").clip(0, len(self.ends) - 1)
        out[cue] = self.bands[band]
        out[part == SKIN] = self.skin
        out[part == SLEEVE] = self.sleeve
        return out
