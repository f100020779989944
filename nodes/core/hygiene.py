"""Input hygiene: turn a ``Detections`` message into clean measurements, counting every rejection.

Nothing here raises on bad data: a NaN, a ball far off the table, a duplicate of a ball already
in the frame, an absurd radius or confidence is dropped and counted under a reason, so the node's
status can say what its cameras send. Reasons (keys of :attr:`Hygiene.rejected`):

``non_finite`` a coordinate, radius or confidence is NaN or infinite;
``off_table`` the centre is outside the playing surface by more than the margin;
``bad_radius`` the pixel radius is not positive or larger than a quarter of the image;
``bad_confidence`` the confidence is outside [0, 1]; ``low_confidence`` below the minimum;
``duplicate`` another detection of the same frame lies within the duplicate radius (the more
confident one is kept); ``too_many`` more balls than a table can hold (the least confident go);
``bad_number`` a number outside 0-15 or contradicting the colour class (the number is dropped,
the ball kept); ``cue_invalid`` a cue with non-finite or out-of-range values (the cue is dropped).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from protocol.messages import DetectedBall, DetectedCue, Detections, TableGeometry
from protocol.messages.vision import BallKind

MAX_BALLS = 24


def kind_of_number(number: int) -> BallKind:
    """The colour class a ball number implies (0 cue, 8 eight, 1-7 solid, 9-15 stripe)."""
    if number == 0:
        return "cue"
    if number == 8:
        return "eight"
    return "solid" if number < 8 else "stripe"


@dataclass(slots=True)
class Measurement:
    """One clean ball detection in table metres with its noise variance ``r`` (m^2).
    ``twin`` is the less confident detection dropped as its duplicate, if any (the tracker
    may know it is the other end of a fast ball's blur)."""

    x: float
    y: float
    r: float
    kind: BallKind
    number: int | None
    confidence: float
    camera: str
    twin: Measurement | None = None


@dataclass(slots=True)
class CueSighting:
    """One clean cue detection."""

    tip_x: float
    tip_y: float
    direction_deg: float
    visible_fraction: float
    confidence: float
    camera: str


@dataclass(frozen=True, slots=True)
class HygieneConfig:
    """Limits for accepting detections. Distances in metres."""

    off_table_margin: float = 0.06
    duplicate_radius: float = 0.028
    min_confidence: float = 0.05
    noise_std: float = 0.001
    cue_margin: float = 0.5


class Hygiene:
    """Screens detections against one table; counts rejections per reason."""

    def __init__(self, table: TableGeometry, config: HygieneConfig | None = None) -> None:
        self.table = table
        self.config = config or HygieneConfig()
        self.rejected: Counter[str] = Counter()
        self.noise_std: dict[str, float] = {}

    def balls(self, det: Detections) -> list[Measurement]:
        """Clean ball measurements of one frame, duplicates merged."""
        found = [m for b in det.balls if (m := self._ball(b, det)) is not None]
        found.sort(key=lambda m: -m.confidence)
        kept: list[Measurement] = []
        dup2 = self.config.duplicate_radius**2
        for m in found:
            near = next((k for k in kept if (m.x - k.x) ** 2 + (m.y - k.y) ** 2 < dup2), None)
            if near is not None:
                self.rejected["duplicate"] += 1
                near.twin = near.twin or m
            elif len(kept) >= MAX_BALLS:
                self.rejected["too_many"] += 1
            else:
                kept.append(m)
        return kept

    def cue(self, det: Detections) -> CueSighting | None:
        """The frame's cue if it is sane, else None (counted as ``cue_invalid``)."""
        cue = det.cue
        if cue is None:
            return None
        if not self._cue_ok(cue):
            self.rejected["cue_invalid"] += 1
            return None
        return CueSighting(
            cue.tip_x,
            cue.tip_y,
            cue.direction_deg % 360.0,
            cue.visible_fraction,
            cue.confidence,
            det.camera,
        )

    def _cue_ok(self, cue: DetectedCue) -> bool:
        values = (cue.tip_x, cue.tip_y, cue.direction_deg, cue.visible_fraction, cue.confidence)
        if not all(math.isfinite(v) for v in values):
            return False
        if not (0.0 <= cue.visible_fraction <= 1.0 and 0.0 <= cue.confidence <= 1.0):
            return False
        m = self.config.cue_margin
        return abs(cue.tip_x) <= self.table.length / 2 + m and (
            abs(cue.tip_y) <= self.table.width / 2 + m
        )

    def _ball(self, b: DetectedBall, det: Detections) -> Measurement | None:
        reason = self._reject_reason(b, det)
        if reason is not None:
            self.rejected[reason] += 1
            return None
        kind, number = b.kind, b.number
        if number is not None and (
            not 0 <= number <= 15 or kind not in ("unknown", kind_of_number(number))
        ):
            self.rejected["bad_number"] += 1
            number = None
        if number is not None:
            kind = kind_of_number(number)
        sigma = self.noise_std.get(det.camera, self.config.noise_std)
        r = sigma * sigma / max(b.confidence, 0.25)
        return Measurement(b.x, b.y, r, kind, number, b.confidence, det.camera)

    def _reject_reason(self, b: DetectedBall, det: Detections) -> str | None:
        # a sum is finite only if every term is (the values are far from overflowing)
        if not math.isfinite(b.x + b.y + b.x_px + b.y_px + b.r_px + b.confidence):
            return "non_finite"
        m = self.config.off_table_margin
        if abs(b.x) > self.table.length / 2 + m or abs(b.y) > self.table.width / 2 + m:
            return "off_table"
        if b.r_px <= 0.0 or b.r_px > max(det.width, det.height, 4) / 4:
            return "bad_radius"
        if not 0.0 <= b.confidence <= 1.0:
            return "bad_confidence"
        if b.confidence < self.config.min_confidence:
            return "low_confidence"
        return None
