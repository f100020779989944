"""A fast ball found twice: the two ends of its motion blur are one ball, at their middle.

During the exposure a fast ball sweeps a capsule; a detector may fit a circle at each end of
it (seen through the real pipeline above 6 m/s: two circles 4-5 cm apart, the ball's centre
halfway between). Two measurements near a fast track's prediction, lined up with its velocity
and closer together than it travels in a frame, are fused into one at their mean, unless one of
them is nearer another track (then it is that ball). A detection that input hygiene dropped
as the duplicate of another (``Measurement.twin``, closer than a ball radius) counts too: a
slower ball's smear ends are that close.

In the first frame of a hard strike the ball is still at rest to the tracker, with no velocity
to check the ends against: two detections beyond a ball that may have been struck (more than a
radius from where it rests, nearer it than any other ball, within the strike's reach), lined
up with its rest position, and no detection where it rests, are its smear's ends too
(:func:`fuse_strike`). Without this the resting track takes the nearer end, 3 cm behind the
ball at a break's 9 m/s, and its velocity starts too slow to fuse the next frame's ends.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from nodes.core.hygiene import Measurement
from nodes.core.track import Track

#: sine of the largest angle between the two ends' separation and the velocity
ALIGN = 0.35


def fuse_smears(
    fast: Sequence[Track],
    others: Sequence[Track],
    ms: list[Measurement],
    frame_s: float,
    struck: Sequence[Track] = (),
) -> list[Measurement]:
    """``ms`` with each fast track's pair of smear ends replaced by their mean. For the tracks
    in ``struck`` (struck from rest one frame ago) the speed is only a lower bound: the strike
    may have come any time after the ball was last seen at rest, so the ends may lie up to one
    more frame's travel ahead."""
    out = list(ms)
    for tr in fast:
        pool = out + [m.twin for m in out if m.twin is not None]
        slack = tr.kf.speed * frame_s if tr in struck else 0.0
        pair = _ends(tr, others, pool, frame_s, slack)
        if pair is None:
            continue
        a, b = pool[pair[0]], pool[pair[1]]
        out = [m for m in out if m is not a and m is not b] + [_fuse(a, b)]
    return out


def _ends(
    tr: Track, others: Sequence[Track], ms: list[Measurement], frame_s: float, slack: float
) -> tuple[int, int] | None:
    """The pair of ``ms`` that are ``tr``'s smear ends; their middle may lie up to ``slack``
    metres ahead of the prediction along the velocity."""
    kf = tr.kf
    speed = kf.speed
    span = speed * frame_s + slack
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
            mx, my = (ms[i].x + ms[j].x) / 2 - kf.x, (ms[i].y + ms[j].y) / 2 - kf.y
            along = mx * ux + my * uy
            along = along - min(along, slack) if along > 0.0 else along
            mid = math.hypot(along, mx * uy - my * ux)
            if mid < 0.25 * speed * frame_s + 0.01 and (best is None or mid < best[0]):
                best = (mid, (i, j))
    return None if best is None else best[1]


def _nearest(m: Measurement, tracks: Sequence[Track]) -> Track | None:
    return min(tracks, key=lambda t: math.hypot(m.x - t.kf.x, m.y - t.kf.y), default=None)


def fuse_strike(
    struck: Sequence[Track],
    others: Sequence[Track],
    ms: list[Measurement],
    radius: float,
    reach: float,
) -> list[Measurement]:
    """``ms`` with the smear ends of each resting ball of ``struck`` (those that may have been
    struck) that left its spot this frame replaced by their mean."""
    out = list(ms)
    if len(out) < 2 or not others:
        return out
    pts = np.array([(m.x, m.y) for m in out])
    at = np.array([(o.kf.x, o.kf.y) for o in others])
    gap = np.hypot(pts[:, None, 0] - at[None, :, 0], pts[:, None, 1] - at[None, :, 1])
    loose = [m for m, far in zip(out, gap.min(axis=1) > radius, strict=True) if far]
    if len(loose) < 2:
        return out  # every detection is on a ball: nothing left its spot
    for tr in struck:
        x, y = tr.kf.x, tr.kf.y
        if any(math.hypot(m.x - x, m.y - y) < radius for m in out):
            continue  # it is still where it rests
        near = [
            m for m in loose if math.hypot(m.x - x, m.y - y) < reach and _nearest(m, others) is tr
        ]
        best: tuple[float, Measurement, Measurement] | None = None
        for i, a in enumerate(near):
            for b in near[i + 1 :]:
                sx, sy = b.x - a.x, b.y - a.y
                sep = math.hypot(sx, sy)
                ux, uy = (a.x + b.x) / 2 - x, (a.y + b.y) / 2 - y
                mid = math.hypot(ux, uy)
                if sep < radius or mid <= 0.0 or abs(sx * uy - sy * ux) > ALIGN * sep * mid:
                    continue
                if best is None or sep < best[0]:
                    best = (sep, a, b)
        if best is None:
            continue
        _, a, b = best
        out = [m for m in out if m is not a and m is not b] + [_fuse(a, b)]
        loose = [m for m in loose if m is not a and m is not b]
    return out


def _fuse(a: Measurement, b: Measurement) -> Measurement:
    """One measurement at the middle of a smear's two ends, on the surer one's camera and noise;
    its class is unknown (a blur's colours are not the ball's)."""
    main = a if a.confidence >= b.confidence else b
    return replace(
        main, x=(a.x + b.x) / 2, y=(a.y + b.y) / 2, r=max(a.r, b.r), kind="unknown",
        number=None, twin=None,
    )  # fmt: skip
