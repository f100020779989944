"""Multi-ball tracking in table metres: predict, assign, correct, and manage track lifecycles.

One :class:`Tracker` serves every camera: each frame's measurements update the tracks at the
frame's capture time (a frame a few milliseconds older than the newest one, from another camera,
is fused as an out-of-sequence measurement; the shell drops older ones). The rules, in the order
:meth:`Tracker.update` applies them, are in ``docs/core.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nodes.core import assignment, reacquire
from nodes.core.boundary import Boundary
from nodes.core.hygiene import Measurement
from nodes.core.identity import reconcile
from nodes.core.lifecycle import FIRST_ID, Lifecycle, Report
from nodes.core.smear import fuse_smears, fuse_strike
from nodes.core.track import Status, Track
from nodes.core.wake import Point, Wake, WakeConfig, after_contact, wake
from protocol.messages import TableGeometry

__all__ = ["FIRST_ID", "Report", "Tracker", "TrackerConfig"]


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Tracking parameters. Distances in metres, times in seconds, speeds in m/s."""

    q_still: float = 1.0e-4
    q_moving: float = 0.5
    decel: float = 0.1
    restitution: float = 0.8
    birth_speed_std: float = 0.5
    confirm_hits: int = 3
    confirm_confidence: float = 0.65
    overlap: float = 0.016
    max_balls: int = 16
    confirm_window_s: float = 0.3
    tentative_timeout_s: float = 0.1
    gate_still: float = 0.09
    gate_sleep: float = 0.03
    still_free: float = 0.01
    gate_moving: float = 0.03
    gate_speed: float = 1.5
    gate_strike: float = 0.3
    gate_max: float = 0.4
    jump_nis: float = 25.0
    jump_min: float = 0.002
    move_distance: float = 0.006
    v_stop: float = 0.02
    stop_distance: float = 0.005
    stop_s: float = 0.2
    coast_s: float = 0.3
    hold_s: float = 20.0
    visible_s: float = 0.07
    pocket_confirm_s: float = 0.1
    pocket_min_speed: float = 0.05
    birth_clearance: float = 0.04
    respot_radius: float = 0.1
    reid_wait_s: float = 0.4
    hand_s: float = 0.25
    lost_moving_s: float = 0.04
    confirm_travel: float = 0.015
    pending_s: float = 0.05
    smear_speed: float = 1.5
    penalties: assignment.Penalties = field(default_factory=assignment.Penalties)
    wake: WakeConfig = field(default_factory=WakeConfig)
    rejoin: reacquire.RejoinConfig = field(default_factory=reacquire.RejoinConfig)


class Tracker:
    """Every ball's track, updated one frame (one camera) at a time."""

    def __init__(self, table: TableGeometry, config: TrackerConfig | None = None) -> None:
        self.table = table
        self.config = config or TrackerConfig()
        self.tracks: list[Track] = []
        self.t = -math.inf
        self.boundary = Boundary(table, self.config.restitution)
        self.life = Lifecycle(self.tracks, table, self.boundary, self.config)
        self._unmatched: list[tuple[Track, float]] = []
        self._wake = Wake(set(), set())

    # -- public -------------------------------------------------------------------------------

    def update(self, t: float, ms: Sequence[Measurement], touch: Sequence[Point] = ()) -> Report:
        """Fuse one frame's measurements taken at ``t`` seconds; return the transitions.
        ``touch``: points that can push a ball now (the cue's tip)."""
        report = Report()
        live = [tr for tr in self.tracks if tr.live]
        frame_s = min(max(t - self.t, 1.0 / 240.0), 0.1) if math.isfinite(self.t) else 1 / 60
        self.t = max(self.t, t)
        confirmed = [tr for tr in live if tr.status is Status.CONFIRMED]
        self._wake = wake(confirmed, touch, self.table.ball_radius, self.config.wake)
        for tr in confirmed:
            if tr.id in self._wake.awake:
                tr.woken = t
        for tr in live:
            self._advance(tr, t)
        ms = self._screen(ms, live, frame_s)
        free = self._associate(live, ms, t)
        self.life.birth([ms[j] for j in free], t, self._unmatched)
        for tr in list(self.tracks):
            self.life.step(tr, t, report)
        for tr in self.tracks:
            if tr.live:
                tr.record(tr.seen_now)
        return report

    def on_table(self) -> list[Track]:
        """Confirmed tracks (visible or held), in id order."""
        return sorted((t for t in self.tracks if t.on_table), key=lambda t: t.id)

    def reported(self) -> list[Track]:
        """Tracks that belong in the state: on the table or pocketed, in id order."""
        keep = (Status.CONFIRMED, Status.POCKETED)
        return sorted((t for t in self.tracks if t.status in keep), key=lambda t: t.id)

    def dropping(self, tr: Track) -> bool:
        """A moving ball not seen this frame whose prediction has crossed the cushion line into
        a pocket's mouth: it is falling out of sight (the pocket rule decides 0.1 s later)."""
        x, y = tr.kf.x, tr.kf.y
        return (
            tr.moving
            and not tr.seen_now
            and self.boundary.outside(x, y) > 0.0
            and self.boundary.in_pocket_zone(x, y)
        )

    def any_moving(self) -> bool:
        """Whether any ball on the table is moving."""
        return any(t.moving for t in self.tracks if t.on_table)

    def reconcile(self) -> None:
        """Enforce one cue ball, one eight and one track per number (call at rest)."""
        reconcile(t.identity for t in self.tracks if t.status is not Status.TENTATIVE)

    def forget_off_table(self) -> None:
        """Drop pocketed and lost tracks (a new game): balls that come back get new ids."""
        self.tracks[:] = [t for t in self.tracks if t.live]

    # -- prediction and correction ------------------------------------------------------------

    def _advance(self, tr: Track, t: float) -> None:
        tr.seen_now = False
        tr.jump = None
        if t <= tr.t:
            return
        c, dt = self.config, t - tr.t
        if tr.moving or (tr.status is Status.TENTATIVE and tr.hits >= 2):
            tr.kf.predict(dt, c.q_moving, c.decel)
            bounce = self.boundary.reflect(tr.kf, dt)
            if bounce is not None and tr.moving:
                tr.jumps.append(t - bounce.ago)
        elif tr.status is Status.CONFIRMED and tr.id not in self._wake.awake:
            tr.kf.stop(0.0)  # a ball at rest cannot move unless touched: position only
            tr.kf.predict(dt, c.q_still)
        else:
            tr.kf.predict(dt, c.q_moving if tr.status is Status.CONFIRMED else c.q_still)
        tr.t = t

    def _screen(
        self, ms: Sequence[Measurement], live: list[Track], frame_s: float
    ) -> list[Measurement]:
        """One claimant per unique label; a fast ball's two smear ends fused into one."""
        out = assignment.unique_claims(ms)
        fast = [tr for tr in live if tr.moving and tr.kf.speed > self.config.smear_speed]
        if fast:
            # started from rest at its last detection: its speed is only a lower bound
            fresh = [tr for tr in fast if tr.moving_since == tr.last_seen]
            out = fuse_smears(fast, live, out, frame_s, fresh)
        struck = [
            tr
            for tr in live
            if tr.status is Status.CONFIRMED and not tr.moving and self._may_be_struck(tr)
        ]
        if struck:
            radius = self.table.ball_radius
            out = fuse_strike(struck, live, out, radius, self.config.gate_strike)
        return out

    def _gate(self, tr: Track, t: float) -> float:
        c = self.config
        spread = 3.0 * math.sqrt(tr.kf.pp)
        reach = c.gate_speed * tr.kf.speed * max(t - tr.last_seen, 1.0 / 60.0)
        if tr.status is Status.TENTATIVE:
            moving = c.gate_moving + spread + reach if tr.hits >= 2 else 0.0
            return min(max(c.gate_still, moving), c.gate_max)
        if tr.moving:
            return min(c.gate_moving + spread + reach, c.gate_max)
        if tr.id in self._wake.awake or tr.id in self._wake.isolated:
            return c.gate_still
        if tr.pending is not None and t - tr.pending[0] <= c.pending_s:
            return c.gate_still  # a jump to confirm: the next detection may carry on further
        return c.gate_sleep  # nothing can have moved it: a neighbour's detection is not its own

    def _associate(self, live: list[Track], ms: Sequence[Measurement], t: float) -> list[int]:
        """Pair measurements with tracks in three passes (confirmed tracks within their gates,
        confirmed tracks left over within the strike gate, then tentative tracks); return the
        indices of the measurements left for births."""
        self._unmatched = []
        if not live or not ms:
            return list(range(len(ms)))
        c = self.config
        confirmed = [tr for tr in live if tr.status is Status.CONFIRMED]
        tentative = [tr for tr in live if tr.status is Status.TENTATIVE]
        free_m = list(range(len(ms)))
        if confirmed:
            dist = self._collided(confirmed, ms, t, assignment.distances(confirmed, ms, t))
            penalty = assignment.identity_costs(confirmed, ms, c.penalties)
            # a ball at rest does not move unless struck: a far measurement costs it double
            still = np.array([not tr.moving for tr in confirmed])[:, None]
            resting = np.where(still, np.maximum(dist - c.still_free, 0.0), 0.0)
            gates = [self._gate(tr, t) for tr in confirmed]
            pairs, free_t, free_m = assignment.assign(dist, penalty + resting, gates)
            free_t = [i for i in free_t if self._may_be_struck(confirmed[i])]
            if free_t and free_m:
                pairs += self._strike_pass(ms, free_t, free_m, dist, penalty)
                taken = {j for _, j in pairs}
                free_m = [j for j in free_m if j not in taken]
            for i, j in pairs:
                self._correct(confirmed[i], ms[j], t)
            matched = {i for i, _ in pairs}
            self._unmatched = [(tr, gates[i]) for i, tr in enumerate(confirmed) if i not in matched]
        if tentative and free_m:
            rest = [ms[j] for j in free_m]
            dist = assignment.distances(tentative, rest, t)
            penalty = assignment.identity_costs(tentative, rest, c.penalties)
            gates = [self._gate(tr, t) for tr in tentative]
            pairs, _, left = assignment.assign(dist, penalty, gates)
            for i, j in pairs:
                self._correct(tentative[i], rest[j], t)
            free_m = [free_m[j] for j in left]
        return free_m

    def _collided(
        self, confirmed: list[Track], ms: Sequence[Measurement], t: float, dist: np.ndarray
    ) -> np.ndarray:
        """``dist`` with a moving ball that ran into a resting one this frame, and the ball it
        hit, also looked for where the collision sends them (``wake.after_contact``)."""
        movers = [tr for tr in confirmed if tr.moving]
        resting = [tr for tr in confirmed if not tr.moving]
        if not movers or not resting:
            return dist
        radius, span = self.table.ball_radius, self.config.coast_s
        meas = np.array([(m.x, m.y) for m in ms])
        row = {id(tr): i for i, tr in enumerate(confirmed)}
        for mover, at, struck, to in after_contact(movers, resting, t, radius, span):
            self._wake.awake.add(struck.id)  # a moving ball is at it
            struck.woken = t
            for tr, (x, y) in ((mover, at), (struck, to)):
                i = row[id(tr)]
                dist[i] = np.minimum(dist[i], np.hypot(meas[:, 0] - x, meas[:, 1] - y))
        return dist

    def _may_be_struck(self, tr: Track) -> bool:
        """Moving, or at rest where something could have struck it (or nothing near it could
        fool the detector): a sleeping ball in a cluster is not given a far detection."""
        wake = self._wake
        return tr.moving or tr.id in wake.awake or tr.id in wake.isolated

    def _strike_pass(
        self,
        ms: Sequence[Measurement],
        free_t: list[int],
        free_m: list[int],
        dist: np.ndarray,
        penalty: np.ndarray,
    ) -> list[tuple[int, int]]:
        """Second chance with a wide gate for confirmed tracks (a ball struck hard), for
        measurements that no confirmed track lies on (one on another ball was refused for its
        identity, not left over by a struck ball) nor a tentative one (a ball just placed)."""
        clear = self.config.birth_clearance
        tentative = [tr for tr in self.tracks if tr.status is Status.TENTATIVE]
        free_m = [
            j
            for j in free_m
            if dist[:, j].min() >= clear
            and all(math.hypot(ms[j].x - tr.kf.x, ms[j].y - tr.kf.y) >= clear for tr in tentative)
        ]
        if not free_m:
            return []
        sub_d = dist[np.ix_(free_t, free_m)]
        sub_p = penalty[np.ix_(free_t, free_m)]
        sub_p = np.where(sub_p >= self.config.penalties.unique_kind, assignment.FORBIDDEN, sub_p)
        gates = [self.config.gate_strike] * len(free_t)
        pairs, _, _ = assignment.assign(sub_d, sub_p, gates)
        return [(free_t[i], free_m[j]) for i, j in pairs]

    def _correct(self, tr: Track, m: Measurement, t: float) -> None:
        c = self.config
        tau = t - tr.t
        inn = tr.kf.innovation(m.x, m.y, m.r, tau)
        if tr.status is Status.CONFIRMED and inn.nis > c.jump_nis and inn.distance > c.jump_min:
            pending = tr.pending
            if not tr.moving and not self._may_start(tr, m, t):
                return  # a circle in the wrong place, or an unexplained start not yet confirmed
            since = max(t - tr.last_seen, 1.0e-3)
            tr.kf.impulse(since, (4.0 * inn.distance / since) ** 2)
            if pending is not None and not tr.moving:
                tr.kf.update(pending[1], pending[2], m.r, pending[0] - t)
            tr.jump = inn
            tr.jumps.append(t)
        tr.pending = None
        tr.kf.update(m.x, m.y, m.r, tau)
        tr.last_seen = max(tr.last_seen, t)
        tr.hits += 1
        tr.seen_now = True
        tr.v_seen = (tr.kf.vx, tr.kf.vy)
        tr.p_seen = (tr.kf.x, tr.kf.y)
        tr.z = (m.x, m.y)
        tr.cameras.add(m.camera)
        tr.confidence += 0.2 * (m.confidence - tr.confidence)
        tr.identity.vote(m.kind, m.number, m.confidence)

    def _may_start(self, tr: Track, m: Measurement, t: float) -> bool:
        """Whether a jump of a ball at rest is motion: something could have touched it, nothing
        near it could fool the detector, or the previous detection jumped the same way and
        this one carries on further."""
        if tr.id in self._wake.awake or tr.id in self._wake.isolated:
            return True
        before, tr.pending = tr.pending, (t, m.x, m.y)
        if before is None or t - before[0] > self.config.pending_s:
            return False
        ax, ay = tr.anchor
        d1x, d1y, d2x, d2y = before[1] - ax, before[2] - ay, m.x - ax, m.y - ay
        n1, n2 = math.hypot(d1x, d1y), math.hypot(d2x, d2y)
        # struck between two frames, it is at least half as far again one frame later
        onward = n2 > 1.5 * n1 + self.config.jump_min
        return onward and d1x * d2x + d1y * d2y > 0.87 * n1 * n2
