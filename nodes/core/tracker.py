"""Multi-ball tracking in table metres: predict, assign, correct, and manage track lifecycles.

One :class:`Tracker` serves every camera: each frame's measurements update the tracks at the
frame's capture time (a frame a few milliseconds older than the newest one, from another camera,
is fused as an out-of-sequence measurement; the shell drops older ones). The rules, in the order
:meth:`Tracker.update` applies them, are in ``docs/core.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from nodes.core import assignment
from nodes.core.hygiene import Measurement
from nodes.core.identity import UNIQUE_KINDS, reconcile
from nodes.core.kalman import Kalman
from nodes.core.pocket import pocket_entry
from nodes.core.track import Status, Track
from protocol.messages import PocketGeometry, TableGeometry

FIRST_ID = 100


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Tracking parameters. Distances in metres, times in seconds, speeds in m/s."""

    q_still: float = 1.0e-4
    q_moving: float = 0.5
    birth_speed_std: float = 0.5
    confirm_hits: int = 3
    confirm_window_s: float = 0.3
    tentative_timeout_s: float = 0.1
    gate_still: float = 0.09
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
    penalties: assignment.Penalties = field(default_factory=assignment.Penalties)


@dataclass(slots=True)
class Report:
    """Lifecycle transitions of one update, for the event detector."""

    confirmed: list[Track] = field(default_factory=list)
    started: list[Track] = field(default_factory=list)
    stopped: list[Track] = field(default_factory=list)
    pocketed: list[Track] = field(default_factory=list)
    spotted: list[Track] = field(default_factory=list)
    lost: list[Track] = field(default_factory=list)


class Tracker:
    """Every ball's track, updated one frame (one camera) at a time."""

    def __init__(self, table: TableGeometry, config: TrackerConfig | None = None) -> None:
        self.table = table
        self.config = config or TrackerConfig()
        self.tracks: list[Track] = []
        self.t = -math.inf
        self._next_id = FIRST_ID
        self._unmatched: list[Track] = []

    # -- public -------------------------------------------------------------------------------

    def update(self, t: float, ms: Sequence[Measurement]) -> Report:
        """Fuse one frame's measurements taken at ``t`` seconds; return the transitions."""
        report = Report()
        live = [tr for tr in self.tracks if tr.live]
        self.t = max(self.t, t)
        for tr in live:
            self._advance(tr, t)
        free = self._associate(live, ms, t)
        self._birth([ms[j] for j in free], t)
        for tr in list(self.tracks):
            self._lifecycle(tr, t, report)
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

    def any_moving(self) -> bool:
        """Whether any ball on the table is moving."""
        return any(t.moving for t in self.tracks if t.on_table)

    def reconcile(self) -> None:
        """Enforce one cue ball, one eight and one track per number (call at rest)."""
        reconcile(t.identity for t in self.tracks if t.status is not Status.TENTATIVE)

    def forget_off_table(self) -> None:
        """Drop pocketed and lost tracks (a new game): balls that come back get new ids."""
        self.tracks = [t for t in self.tracks if t.live]

    # -- prediction and correction ------------------------------------------------------------

    def _advance(self, tr: Track, t: float) -> None:
        tr.seen_now = False
        tr.jump = None
        if t > tr.t:
            if tr.moving:
                tr.kf.predict(t - tr.t, self.config.q_moving)
            elif tr.status is Status.CONFIRMED:
                tr.kf.stop(0.0)  # a ball at rest cannot move unless touched: position only
                tr.kf.predict(t - tr.t, self.config.q_still)
            else:
                tr.kf.predict(t - tr.t, self.config.q_still)
            tr.t = t

    def _gate(self, tr: Track, t: float) -> float:
        c = self.config
        if tr.status is Status.TENTATIVE:
            return c.gate_still
        base = c.gate_moving if tr.moving else c.gate_still
        spread = 3.0 * math.sqrt(tr.kf.pp)
        reach = c.gate_speed * tr.kf.speed * max(t - tr.last_seen, 1.0 / 60.0)
        return min(base + spread + reach, c.gate_max)

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
            dist = assignment.distances(confirmed, ms, t)
            penalty = assignment.identity_costs(confirmed, ms, c.penalties)
            # a ball at rest does not move unless struck: a far measurement costs it double
            still = np.array([not tr.moving for tr in confirmed])[:, None]
            resting = np.where(still, np.maximum(dist - c.still_free, 0.0), 0.0)
            gates = [self._gate(tr, t) for tr in confirmed]
            pairs, free_t, free_m = assignment.assign(dist, penalty + resting, gates)
            if free_t and free_m:
                pairs += self._strike_pass(ms, free_t, free_m, dist, penalty)
                taken = {j for _, j in pairs}
                free_m = [j for j in free_m if j not in taken]
            for i, j in pairs:
                self._correct(confirmed[i], ms[j], t)
            matched = {i for i, _ in pairs}
            self._unmatched = [tr for i, tr in enumerate(confirmed) if i not in matched]
        if tentative and free_m:
            rest = [ms[j] for j in free_m]
            dist = assignment.distances(tentative, rest, t)
            penalty = assignment.identity_costs(tentative, rest, c.penalties)
            pairs, _, left = assignment.assign(dist, penalty, [c.gate_still] * len(tentative))
            for i, j in pairs:
                self._correct(tentative[i], rest[j], t)
            free_m = [free_m[j] for j in left]
        return free_m

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
            since = max(t - tr.last_seen, 1.0e-3)
            tr.kf.impulse(since, (4.0 * inn.distance / since) ** 2)
            tr.jump = inn
            tr.jumps.append(t)
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

    # -- birth and re-identification ------------------------------------------------------------

    def _birth(self, ms: Iterable[Measurement], t: float) -> None:
        """New tentative tracks, except on a live track (a split detection) or within the gate
        of a confirmed ball that went unmatched (that ball, refused for a misread class)."""
        c = self.config
        for m in ms:
            near = any(
                math.hypot(m.x - tr.kf.x, m.y - tr.kf.y) < c.birth_clearance
                for tr in self.tracks
                if tr.live
            ) or any(
                math.hypot(m.x - tr.kf.x, m.y - tr.kf.y) < c.gate_still for tr in self._unmatched
            )
            if near:
                continue
            kf = Kalman(m.x, m.y, m.r, c.birth_speed_std**2)
            tr = Track(self._next_id, kf, t)
            self._next_id += 1
            tr.cameras.add(m.camera)
            tr.confidence = m.confidence
            tr.identity.vote(m.kind, m.number, m.confidence)
            tr.seen_now = True
            self.tracks.append(tr)

    def _confirm(self, tr: Track, t: float, report: Report) -> None:
        old = self._match_returning(tr, t)
        if old is None:
            tr.status = Status.CONFIRMED
            tr.kf.stop(0.0)
            tr.anchor = (tr.kf.x, tr.kf.y)
            report.confirmed.append(tr)
            return
        was_pocketed = old.status is Status.POCKETED
        old.kf, old.t, old.last_seen, old.hits = tr.kf, tr.t, tr.last_seen, tr.hits
        old.identity.absorb(tr.identity)
        old.status, old.pocket, old.moving = Status.CONFIRMED, None, False
        old.kf.stop(0.0)
        old.anchor = old.p_seen = (old.kf.x, old.kf.y)
        old.seen_now, old.confidence = tr.seen_now, tr.confidence
        old.history.clear()
        self.tracks.remove(tr)
        (report.spotted if was_pocketed else report.confirmed).append(old)

    def _awaiting_identity(self, tr: Track, t: float) -> bool:
        """Hold a new track back (up to ``reid_wait_s``) while its votes may still show it is a
        pocketed or lost ball coming back: it then keeps that ball's id from its first state."""
        ident = tr.identity
        if t - tr.born >= self.config.reid_wait_s or ident.number is not None:
            return False
        if ident.kind in UNIQUE_KINDS or not self._gone(t):
            return False
        return ident.kind == "unknown" or bool(ident.number_votes)

    def _gone(self, t: float) -> list[Track]:
        """Balls a new track may turn out to be: pocketed, lost, at rest and unseen for
        ``hand_s`` (picked up by hand, to be put down elsewhere), or moving and unseen (its
        prediction went astray, e.g. it stopped dead in a collision while the filter coasted)."""
        return [
            g
            for g in self.tracks
            if g.status in (Status.POCKETED, Status.LOST)
            or (
                g.on_table
                and g.missing(t) > (self.config.lost_moving_s if g.moving else self.config.hand_s)
            )
        ]

    def _match_returning(self, tr: Track, t: float) -> Track | None:
        """The gone ball a new track is: same number or unique class, or a lost ball's spot."""
        gone = self._gone(t)
        ident = tr.identity
        if ident.number is not None:
            same = [t for t in gone if t.identity.number == ident.number]
        elif ident.kind in UNIQUE_KINDS:
            same = [t for t in gone if t.identity.kind == ident.kind]
        else:
            same = []
        if len(same) == 1:
            return same[0]
        near = [
            t
            for t in gone
            if t.status is Status.LOST
            and t.identity.kind in ("unknown", ident.kind)
            and math.hypot(t.kf.x - tr.kf.x, t.kf.y - tr.kf.y) < self.config.respot_radius
        ]
        return near[0] if len(near) == 1 else None

    # -- lifecycle ------------------------------------------------------------------------------

    def _lifecycle(self, tr: Track, t: float, report: Report) -> None:
        c = self.config
        if tr.status is Status.TENTATIVE:
            if tr.missing(t) > c.tentative_timeout_s:
                self.tracks.remove(tr)
            elif tr.hits >= c.confirm_hits:
                if not self._awaiting_identity(tr, t):
                    self._confirm(tr, t, report)
            elif t - tr.born > c.confirm_window_s:
                self.tracks.remove(tr)
        elif tr.status is Status.CONFIRMED:
            if tr.seen_now:
                self._motion(tr, t, report)
            else:
                self._unseen(tr, t, report)

    def _motion(self, tr: Track, t: float, report: Report) -> None:
        c = self.config
        kf = tr.kf
        if not tr.moving:
            moved = math.hypot(kf.x - tr.anchor[0], kf.y - tr.anchor[1]) > c.move_distance
            if tr.jump is not None or moved:
                tr.moving, tr.moving_since = True, t
                report.started.append(tr)
            return
        if t - tr.moving_since < c.stop_s or tr.jump is not None or tr.kf.speed > 5.0 * c.v_stop:
            return
        if tr.settled(t - c.stop_s, t, c.v_stop, c.stop_distance):
            self._stop(tr, report)

    def _stop(self, tr: Track, report: Report) -> None:
        tr.moving = False
        tr.kf.stop(0.0)
        tr.anchor = (tr.kf.x, tr.kf.y)
        report.stopped.append(tr)

    def _unseen(self, tr: Track, t: float, report: Report) -> None:
        c = self.config
        missing = tr.missing(t)
        if tr.moving:
            pocket = None
            if missing >= self.config.pocket_confirm_s:
                horizon = min(missing, self.config.coast_s)
                min_speed = self.config.pocket_min_speed
                pocket = pocket_entry(self.table, tr.p_seen, tr.v_seen, horizon, min_speed)
            if pocket is not None:
                self._pocketed(tr, pocket, report)
            elif missing > c.coast_s:
                self._stop(tr, report)
        elif missing > c.hold_s:
            tr.status = Status.LOST
            report.lost.append(tr)

    def _pocketed(self, tr: Track, pocket: tuple[PocketGeometry, float], report: Report) -> None:
        where, s = pocket
        tr.status = Status.POCKETED
        tr.pocket = where.name
        tr.t_gone = tr.last_seen + s
        tr.p_gone = (tr.p_seen[0] + tr.v_seen[0] * s, tr.p_seen[1] + tr.v_seen[1] * s)
        tr.moving = False
        tr.kf.x, tr.kf.y = where.x, where.y
        tr.kf.stop(0.0)
        report.pocketed.append(tr)
