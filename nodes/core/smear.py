"""A fast ball found twice: the two ends of its motion blur are one ball, at their middle.

During the exposure a fast ball sweeps a capsule; a detector may fit a circle at each end of
it (seen through the real pipeline above 6 m/s: two circles 4-5 cm apart, the ball's centre
halfway between). Two measurements near a fast track's prediction, lined up with its velocity
and closer together than it travels in a frame, are fused into one at their mean, unless one of
them is nearer another track (then it is that ball). A detection that input hygiene dropped
as the duplicate of another (``Measurement.twin``, closer than a ball radius) counts too: a
slower ball's smear ends are that close.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from nodes.core.hygiene import Measurement
from nodes.core.track import Track

#: sine of the largest angle between the two ends' separation and the velocity
ALIGN = 0.35


def fuse_smears(
    fast: Sequence[Track], others: Sequence[Track], ms: list[Measurement], frame_s: float
) -> list[Measurement]:
    """``ms`` with each fast track's pair of smear ends replaced by their mean."""
    out = list(ms)
    for tr in fast:
        pool = out + [m.twin for m in out if m.twin is not None]
        pair = _ends(tr, others, pool, frame_s)
        if pair is None:
            continue
        a, b = pool[pair[0]], pool[pair[1]]
        main = a if a.confidence >= b.confidence else b
        fused = replace(
            main,
            x=(a.x + b.x) / 2,
            y=(a.y + b.y) / 2,
            r=max(a.r, b.r),
            kind="unknown",
            number=None,
            twin=None,
        )
        out = [m for m in out if m is not a and m is not b] + [fused]
    return out


def _ends(
    tr: Track, others: Sequence[Track], ms: list[Measurement], frame_s: float
) -> tuple[int, int] | None:
    kf = tr.kf
    speed = kf.speed
    span = speed * frame_s
    ux, uy = kf.vx / speed, kf.vy / speed
    near = [
        k
        for k, m in enumerate(ms)
        if math.hypot(m.x - kf.x, m.y - kf.y) < span and _nearest(m, others) is tr
    ]
    best: tuple[float, tuple[int, int]] | None = None
    for i in near:
        for j in near:
            if j <= i:
                continue
            dx, dy = ms[j].x - ms[i].x, ms[j].y - ms[i].y
            sep = math.hypot(dx, dy)
            if sep == 0.0 or sep > span or abs(dx * uy - dy * ux) > ALIGN * sep:
                continue
            mid = math.hypot((ms[i].x + ms[j].x) / 2 - kf.x, (ms[i].y + ms[j].y) / 2 - kf.y)
            if mid < 0.25 * span + 0.01 and (best is None or mid < best[0]):
                best = (mid, (i, j))
    return None if best is None else best[1]


def _nearest(m: Measurement, tracks: Sequence[Track]) -> Track | None:
    return min(tracks, key=lambda t: math.hypot(m.x - t.kf.x, m.y - t.kf.y), default=None)
