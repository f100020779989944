"""A track's life after association: birth, confirmation, re-identification, motion state,
occlusion, pocketing and loss. The rules are in ``docs/core.md`` section 3 and 4."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nodes.core import reacquire
from nodes.core.boundary import Boundary
from nodes.core.hygiene import Measurement
from nodes.core.identity import UNIQUE_KINDS, Identity
from nodes.core.kalman import Kalman
from nodes.core.pocket import pocket_entry
from nodes.core.track import Status, Track
from protocol.messages import PocketGeometry, TableGeometry

if TYPE_CHECKING:
    from nodes.core.tracker import TrackerConfig

FIRST_ID = 100
#: m^2: the least position variance a restarted track starts from (a detection's, 1 mm)
RESTART_VAR = 1.0e-6


@dataclass(slots=True)
class Report:
    """Lifecycle transitions of one update, for the event detector."""

    confirmed: list[Track] = field(default_factory=list)
    started: list[Track] = field(default_factory=list)
    stopped: list[Track] = field(default_factory=list)
    pocketed: list[Track] = field(default_factory=list)
    spotted: list[Track] = field(default_factory=list)
    lost: list[Track] = field(default_factory=list)


class Lifecycle:
    """Creates, confirms, re-identifies and retires the tracks of one tracker (``tracks`` is
    the tracker's own list)."""

    def __init__(
        self, tracks: list[Track], table: TableGeometry, boundary: Boundary, config: TrackerConfig
    ) -> None:
        self.tracks = tracks
        self.table = table
        self.boundary = boundary
        self.config = config
        self.next_id = FIRST_ID

    # -- birth ------------------------------------------------------------------------------------

    def birth(
        self, ms: Iterable[Measurement], t: float, unmatched: list[tuple[Track, float]]
    ) -> None:
        """New tentative tracks, except on a live track (a split detection) or within the gate
        of a confirmed ball that went unmatched (that ball, refused for its label)."""
        c = self.config
        for m in ms:
            near = any(
                math.hypot(m.x - tr.kf.x, m.y - tr.kf.y) < c.birth_clearance
                for tr in self.tracks
                if tr.live
            ) or any(math.hypot(m.x - tr.kf.x, m.y - tr.kf.y) < gate for tr, gate in unmatched)
            if near:
                continue
            kf = Kalman(m.x, m.y, m.r, c.birth_speed_std**2)
            tr = Track(self.next_id, kf, t)
            self.next_id += 1
            tr.cameras.add(m.camera)
            tr.confidence = m.confidence
            tr.identity.vote(m.kind, m.number, m.confidence)
            tr.seen_now = True
            self.tracks.append(tr)

    # -- confirmation and re-identification -----------------------------------------------------

    def step(self, tr: Track, t: float, report: Report) -> None:
        """The transitions of one track after this frame's association."""
        c = self.config
        if tr.status is Status.TENTATIVE:
            if tr.missing(t) > c.tentative_timeout_s:
                self.tracks.remove(tr)
            elif self._rejoin(tr, report):
                return
            elif tr.hits >= c.confirm_hits:
                verdict = self._plausible(tr, t)
                if verdict is False:
                    self._restart(tr, t)
                elif verdict and not self._awaiting_identity(tr, t):
                    self._confirm(tr, t, report)
            elif t - tr.born > c.confirm_window_s:
                self.tracks.remove(tr)
        elif tr.status is Status.CONFIRMED:
            if tr.seen_now:
                self._motion(tr, t, report)
            else:
                self._unseen(tr, t, report)

    def _plausible(self, tr: Track, t: float) -> bool | None:
        """Whether a tentative track seen often enough can be a ball: it overlaps no other
        track (two balls' centres are at least two radii apart: circles much closer than that
        are the fingers of a hand, or a ghost beside a ball), the detector is nearly as sure of
        it as of the balls it tracks (a hand on the rail reads as a doubtful solid), and, once
        the table's full set of balls is known (on the table or gone), it is one of the gone
        ones (balls do not appear from nowhere: a seventeenth is not a ball). None: not yet
        (its labels do not show which gone ball it is)."""
        c = self.config
        apart = 2.0 * self.table.ball_radius - c.overlap
        x, y = tr.kf.x, tr.kf.y
        others = (o for o in self.tracks if o.live and o is not tr)
        if any(math.hypot(o.kf.x - x, o.kf.y - y) < apart for o in others):
            return False
        usual = statistics.median(
            o.confidence for o in self.tracks if o.live and o.hits >= c.confirm_hits
        )
        if tr.confidence < c.confirm_confidence * usual:
            return False
        known = sum(1 for o in self.tracks if o.status is not Status.TENTATIVE)
        if known < c.max_balls:
            return True
        fits = {reacquire.may_be(g, tr) for g in self._gone(t)}
        return True if True in fits else None if None in fits else False

    def _restart(self, tr: Track, t: float) -> None:
        """Start a tentative track's evidence over from its newest detection: what it was seen
        as so far was not a ball (a hand lifting off the ball it put down leaves the ball)."""
        x, y = tr.z
        tr.kf = Kalman(x, y, max(tr.kf.pp, RESTART_VAR), self.config.birth_speed_std**2)
        tr.born = t
        tr.hits = 1 if tr.seen_now else 0
        tr.identity = Identity()
        tr.history.clear()

    def _rejoin(self, tr: Track, report: Report) -> bool:
        """A fast new track continuing the path of a ball that went unseen is that ball (a ball
        at rest only if something could have struck it since)."""
        vanished = (
            g
            for g in self.tracks
            if g.on_table and g.last_seen < tr.born and (g.moving or g.woken >= g.last_seen)
        )
        found = reacquire.rejoin(tr, vanished, self.config.rejoin)
        if found is None:
            return False
        old, meeting = found
        if reacquire.merge(old, tr, meeting.t):
            report.started.append(old)
        self.tracks.remove(tr)
        return True

    def _confirm(self, tr: Track, t: float, report: Report) -> None:
        old = reacquire.returning(tr, self._gone(t), self.config.respot_radius)
        if old is None:
            tr.status = Status.CONFIRMED
            report.confirmed.append(tr)
            if self._rolling(tr):
                tr.moving, tr.moving_since = True, tr.born  # a ball first seen rolling
                report.started.append(tr)
            else:
                tr.kf.stop(0.0)
                tr.anchor = (tr.kf.x, tr.kf.y)
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

    def _rolling(self, tr: Track) -> bool:
        """A new track that moved on steadily since its first detection."""
        first = tr.history[0] if tr.history else None
        if first is None or tr.kf.speed < self.config.rejoin.min_speed:
            return False
        return math.hypot(tr.z[0] - first.zx, tr.z[1] - first.zy) > self.config.confirm_travel

    def _awaiting_identity(self, tr: Track, t: float) -> bool:
        """Hold a new track back (up to ``reid_wait_s``) while its votes may still show it is a
        pocketed or lost ball coming back: it then keeps that ball's id from its first state.
        (A rolling one whose path continues a vanished ball's has already rejoined it.)"""
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
        c = self.config
        return [
            g
            for g in self.tracks
            if g.status in (Status.POCKETED, Status.LOST)
            or (g.on_table and g.missing(t) > (c.lost_moving_s if g.moving else c.hand_s))
        ]

    # -- motion, occlusion, pocketing -----------------------------------------------------------

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
        tr.kf.x, tr.kf.y = self.boundary.clamp(tr.kf.x, tr.kf.y)
        tr.anchor = (tr.kf.x, tr.kf.y)
        report.stopped.append(tr)

    def _unseen(self, tr: Track, t: float, report: Report) -> None:
        """A hidden ball: coasting, pocketed, stopped where it coasted to, held, or lost (held
        too long, or beyond the cushions away from the pockets: never parked off the table)."""
        c = self.config
        missing = tr.missing(t)
        if self.boundary.off_table(tr.kf.x, tr.kf.y):
            tr.moving = False
            tr.status = Status.LOST
            report.lost.append(tr)
        elif tr.moving:
            pocket = None
            if missing >= c.pocket_confirm_s:
                horizon = min(missing, c.coast_s)
                pocket = pocket_entry(self.table, tr.p_seen, tr.v_seen, horizon, c.pocket_min_speed)
            if pocket is None and missing > c.coast_s and self._in_mouth(tr):
                pocket = self._nearest_pocket(tr, missing)  # it coasted into a pocket's mouth
            if pocket is not None:
                self._pocketed(tr, pocket, report)
            elif missing > c.coast_s:
                self._stop(tr, report)
        elif missing > c.hold_s:
            tr.status = Status.LOST
            report.lost.append(tr)

    def _in_mouth(self, tr: Track) -> bool:
        x, y = tr.kf.x, tr.kf.y
        return self.boundary.outside(x, y) > 0.0 and self.boundary.in_pocket_zone(x, y)

    def _nearest_pocket(self, tr: Track, missing: float) -> tuple[PocketGeometry, float]:
        x, y = tr.kf.x, tr.kf.y
        pocket = min(self.table.pockets, key=lambda p: math.hypot(p.x - x, p.y - y))
        return pocket, min(missing, self.config.coast_s)

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
