"""Which known ball a new track is: continuity of motion first, then identity.

A ball the tracker lost while it moved (the detector missed it for a few frames, or its class
flickered so that no detection fitted the track) comes back as a new, fast track. On a pool
table new balls do not appear moving: a fast new track whose path, traced back, meets the path
of a ball that went unseen (that ball's own straight extrapolation, its coasted prediction off
the cushions, or the spot where it rested when something struck it) *is* that ball, whatever
the detector calls it. It takes the old id at once, after two detections. Balls that come back
at rest (spotted from a pocket, put down by hand) are recognised by number, unique class (cue,
eight) or the spot where a lost ball was (:func:`returning`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nodes.core.identity import UNIQUE_KINDS
from nodes.core.track import Status, Track


@dataclass(frozen=True, slots=True)
class RejoinConfig:
    """How closely a new track's path must meet a vanished ball's (metres, m/s)."""

    min_speed: float = 0.3
    gap: float = 0.03
    spread: float = 0.15
    max_gap: float = 0.1


@dataclass(frozen=True, slots=True)
class Meeting:
    """Where the old ball's path and the new track's path come closest."""

    gap: float
    t: float
    tolerance: float


def meeting(old: Track, new: Track, config: RejoinConfig) -> Meeting:
    """The closest approach, between the old ball's last sighting and the new track's first,
    of the old ball's path (straight from its last sighting, or its resting spot) and the new
    track's path traced back; or, now, of the new track and the old one's coasted prediction
    (which bounces off cushions). The tolerance grows with the time the paths are
    extrapolated over."""
    a, b = old.last_seen, new.born
    if old.moving:
        (ox, oy), (ovx, ovy), t_o = old.p_seen, old.v_seen, old.last_seen
    else:
        ox, oy, ovx, ovy, t_o = old.kf.x, old.kf.y, 0.0, 0.0, a
    kf = new.kf
    # r(s) = new path - old path = r0 + dv * s
    r0x = kf.x - kf.vx * new.t - (ox - ovx * t_o)
    r0y = kf.y - kf.vy * new.t - (oy - ovy * t_o)
    dvx, dvy = kf.vx - ovx, kf.vy - ovy
    dv2 = dvx * dvx + dvy * dvy
    s = -(r0x * dvx + r0y * dvy) / dv2 if dv2 > 0.0 else b
    s = min(max(s, a), b)
    gap = math.hypot(r0x + dvx * s, r0y + dvy * s)
    reach = kf.speed * (new.t - s) + math.hypot(ovx, ovy) * (s - a)
    tolerance = min(config.gap + config.spread * reach, config.max_gap)
    coasted = math.hypot(kf.x - old.kf.x, kf.y - old.kf.y) if old.moving else math.inf
    if coasted < gap:
        reach = old.kf.speed * (new.t - a)
        return Meeting(coasted, b, min(config.gap + config.spread * reach, config.max_gap))
    return Meeting(gap, s, tolerance)


def conflict(old: Track, new: Track) -> bool:
    """Decided identities that cannot be the same ball."""
    a, b = old.identity, new.identity
    if a.number is not None and b.number is not None:
        return a.number != b.number
    known = a.kind != "unknown" and b.kind != "unknown"
    return known and a.kind != b.kind and (a.kind in UNIQUE_KINDS or b.kind in UNIQUE_KINDS)


def may_be(old: Track, new: Track) -> bool | None:
    """Whether a new track at rest is the gone ball ``old``, as far as the labels known of
    ``old`` go: True when its decided number (or, for a ball whose number is not known, its
    class) is ``old``'s, False when a decided label of its own differs (a ball at rest is read
    far better than a rolling one, so solid and stripe count here), None while it may still
    turn out to be."""
    a, b = old.identity, new.identity
    if b.number is not None and a.number is not None:
        return a.number == b.number
    if b.kind != "unknown" and a.kind != "unknown" and a.kind != b.kind:
        return False
    if a.number is not None or b.kind == "unknown":
        return None
    return True


def rejoin(
    new: Track, candidates: Iterable[Track], config: RejoinConfig
) -> tuple[Track, Meeting] | None:
    """The vanished ball a fast new track continues, if its path meets exactly that ball's."""
    if new.hits < 2 or new.kf.speed < config.min_speed:
        return None
    best: tuple[Track, Meeting] | None = None
    for old in candidates:
        if old.last_seen >= new.born or conflict(old, new):
            continue
        m = meeting(old, new, config)
        if m.gap <= m.tolerance and (best is None or m.gap < best[1].gap):
            best = (old, m)
    return best


def merge(old: Track, new: Track, at: float) -> bool:
    """Hand the new track's filter, sightings and votes to the old ball (its motion changed
    abruptly at ``at``); True if the old ball was at rest."""
    was_resting = not old.moving
    old.kf, old.t, old.last_seen = new.kf, new.t, new.last_seen
    old.hits += new.hits
    old.identity.absorb(new.identity)
    old.seen_now, old.z = new.seen_now, new.z
    old.p_seen, old.v_seen = new.p_seen, new.v_seen
    old.cameras |= new.cameras
    old.pending = None
    last = old.history[-1].t if old.history else -math.inf
    old.history.extend(s for s in new.history if s.t > last)
    old.jumps.append(at)
    if was_resting:
        old.moving, old.moving_since = True, new.born
    return was_resting


def returning(new: Track, gone: Sequence[Track], respot_radius: float) -> Track | None:
    """The gone ball a new track is: same number or unique class, or a lost ball's spot."""
    ident = new.identity
    if ident.number is not None:
        same = [g for g in gone if g.identity.number == ident.number]
    elif ident.kind in UNIQUE_KINDS:
        same = [g for g in gone if g.identity.kind == ident.kind]
    else:
        same = []
    if len(same) == 1:
        return same[0]
    near = [
        g
        for g in gone
        if g.status is Status.LOST
        and g.identity.kind in ("unknown", ident.kind)
        and math.hypot(g.kf.x - new.kf.x, g.kf.y - new.kf.y) < respot_radius
    ]
    return near[0] if len(near) == 1 else None
