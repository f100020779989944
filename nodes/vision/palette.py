"""A ball's kind (cue, eight, solid, stripe) and colour from the pixels inside its rim.

Inside 0.92 radii, pixels are white (low saturation, bright for the local lighting), dark
(the black of the eight) or coloured; the brightest few percent (the lamp's highlight) are
ignored. A pool ball's pattern sets the shares: the cue ball is nearly all white; the eight
mostly dark (no other ball is: a few of its dark pixels, whose noise lifts their saturation,
may pass for coloured); a solid shows at most its number circle in white (under 20 % seen
straight on), a stripe at least 35 % (its two white caps). The colour is the nearest
reference hue (and brightness, which tells red from maroon); with the kind it suggests the
number.

A cue ball can read as partly coloured in two ways, and both leave a tell: a fast ball's
exposure blur mixes its edge with the cloth (pixels of the felt's hue, paler and brighter than
the cloth), and a strong lamp cast lifts the saturation of its unclipped (dimmer) whites above
the frame's estimate, which comes mostly from clipped highlights (pixels of the ball's own
whites' hue, a little more saturated than the white limit). Such pixels make the cue ball only
where they look like it (see :func:`_off_white`): blurred ones beyond the outermost ring of
samples with the centre still white, cast ones over a quarter of the disc with the ball's
whites tinted nearly to the limit.

A table has one cue ball and one ball of each number, so the balls of a frame are read
together: of several that look like the cue ball the whitest is (:func:`_one_cue`), and
several nearest to one colour share the numbers as a whole (:func:`_one_each`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numba
import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from nodes.vision import edge, rim
from protocol.messages.vision import BallKind

F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]
Mask = NDArray[np.bool_]

# name -> (OpenCV hue 0-180, value relative to the felt's brightness), for the 1-7 balls
COLOURS: dict[str, tuple[int, float]] = {
    "yellow": (21, 2.0),
    "blue": (112, 1.2),
    "red": (0, 1.6),
    "purple": (133, 0.95),
    "orange": (11, 2.0),
    "green": (71, 1.0),
    "maroon": (178, 0.9),
}
NUMBERS = {"yellow": 1, "blue": 2, "red": 3, "purple": 4, "orange": 5, "green": 6, "maroon": 7}


@dataclass(frozen=True, slots=True)
class Look:
    """What a ball's pixels say: kind, colour name, suggested number and confidence."""

    kind: BallKind
    color: str | None
    number: int | None
    confidence: float
    white: float
    dark: float


RINGS = np.sqrt((np.arange(7) + 0.5) / 7) * 0.92
SPOKES = np.linspace(0, 2 * np.pi, 24, endpoint=False)
EIGHT_DARK, EIGHT_COLOURED = 0.25, 0.75  # the eight: more dark than this, less coloured
STRIPE_WHITE = 0.3  # a stripe shows at least this share of white (its caps), a solid less
KIND_COST = 6.0  # colour distance per unit of white share from STRIPE_WHITE, to read the other kind
DISPLACED = 0.3  # the most a ball given another number than it reads as is sure of it
TINTED = 0.75  # a cast: this share of the coloured samples are tinted whites (or a quarter of all)
PATTERN = np.stack(
    [np.outer(RINGS, np.cos(SPOKES)).ravel(), np.outer(RINGS, np.sin(SPOKES)).ravel()], axis=1
)  # (P, 2) points spread evenly over the unit disc (inside 0.92)


def disc_samples(image: U8, centres: F64, radii: F64, shapes: F64 | None = None) -> U8:
    """BGR samples (B, P, 3) spread evenly over each ball's disc (inside 0.92 radii), or over
    its silhouette's ellipse, ``radii`` times ``shapes`` (B, 2, 2; ``Geometry.shape_at``):
    a round disc of the mean radius reaches past an elliptic silhouette's short axis onto the
    cloth, which reads as paint (a cue ball near the frame's edge, half its edge the cloth's
    colour, read as a stripe)."""
    round_ = shapes is None
    shapes = np.ascontiguousarray(np.eye(2)[None] if shapes is None else shapes, np.float64)
    xs, ys = _disc_points(
        np.ascontiguousarray(centres, np.float64), np.asarray(radii, np.float64), shapes, round_
    )
    return edge.sample_u8(image, xs, ys)


@numba.njit(cache=True, nogil=True)
def _disc_points(centres: F64, radii: F64, shapes: F64, round_: bool) -> tuple[F64, F64]:
    """:func:`disc_samples`'s image points (B, P), x and y: the centre plus the radius times
    the ``PATTERN``'s offset, mapped through the ball's shape unless ``round_`` (compiled: a
    dozen numpy calls on a few balls cost more than the work; the same arithmetic, in the same
    order)."""
    count, size = len(centres), len(PATTERN)
    xs, ys = np.empty((count, size)), np.empty((count, size))
    for b in range(count):
        cx, cy, r = centres[b, 0], centres[b, 1], radii[b]
        for p in range(size):
            u, v = r * PATTERN[p, 0], r * PATTERN[p, 1]
            if round_:
                xs[b, p], ys[b, p] = cx + u, cy + v
            else:
                xs[b, p] = cx + shapes[b, 0, 0] * u + shapes[b, 0, 1] * v
                ys[b, p] = cy + shapes[b, 1, 0] * u + shapes[b, 1, 1] * v
    return xs, ys


def classify_all(samples: U8, felt_bgr: F64) -> list[Look]:
    """Kind and colour of each ball from its disc samples (B, P, 3); ``felt_bgr`` (B, 3) is the
    felt's colour near each ball, so whites and darks are judged against the lighting there.

    Per ball, the samples' HSV values (the brightest 4 % dropped: the lamp's highlight) are
    white: well above the felt's grey level (a saturated cloth has a high HSV value) and less
    saturated than a limit that the lamp's cast raises (the least saturated bright pixels of all
    the balls in the frame: cue ball, stripes' caps, number circles, show how much); dark; or
    coloured (see :func:`_shares`, a compiled loop over the samples)."""
    if len(samples) == 0:
        return []
    hsv = np.asarray(cv2.cvtColor(samples, cv2.COLOR_BGR2HSV), np.uint8)
    felt = np.asarray(felt_bgr, dtype=np.float64).reshape(-1, 3)
    cloth = np.asarray(
        cv2.cvtColor(np.clip(felt, 0, 255).astype(np.uint8)[None], cv2.COLOR_BGR2HSV)[0], np.float64
    )
    shares, hues, values = _shares(hsv, felt, cloth, TINTED)
    mean_hues = _mean_hues(hues)
    best, margins, costs = _colours(mean_hues, values)
    looks = []
    rows = zip(shares.tolist(), best.tolist(), margins.tolist(), strict=True)
    for (w, d, c, e), name, margin in rows:
        colour, sure = (_NAMES[name], margin) if c > 0.04 else (None, 0.0)
        looks.append(_decide(w, d, c, e, colour, sure))
    return _one_each(_one_cue(looks, shares, best), costs)


def _one_cue(looks: list[Look], shares: F64, best: NDArray[np.intp]) -> list[Look]:
    """The looks with one cue ball at most: of several discs that read as the cue ball, the
    whitest is (its off-white pixels counted as white); the others are stripes seen on a cap,
    their band at the edge (92 % to 98 % white where the cue ball, in the same frame, is 99 %
    to 100 %). Such a stripe is as sure as it is less white than the cue ball, with the colour
    of its few coloured pixels when there are enough of them. (Coloured pixels of the cloth's
    hue once counted as white too, for a cue ball whose disc reached the cloth: that was a
    round disc on an elliptic silhouette, and the samples now stay inside the ellipse, while
    the rule made a stripe of the cloth's colour on its cap whiter than the cue ball.)"""
    cues = [i for i, look in enumerate(looks) if look.kind == "cue"]
    if len(cues) < 2:
        return looks
    whiteness = shares[:, 0] + shares[:, 3]
    keep = max(cues, key=lambda i: (whiteness[i], -shares[i, 2]))
    for i in cues:
        if i == keep:
            continue
        w, d, c, _ = shares[i]
        colour = _NAMES[int(best[i])] if c > 0.04 else None
        number = None if colour is None else NUMBERS[colour] + 8
        sure = float(min(1.0, (whiteness[keep] - whiteness[i]) * 10.0))
        looks[i] = Look("stripe", colour, number, sure, float(w), float(d))
    return looks


def _one_each(looks: list[Look], costs: F64) -> list[Look]:
    """The looks with one ball of each number at most. Where several solids or stripes of a
    frame are nearest to one colour, the 14 numbers go to them as a whole, by the cheapest
    assignment (:func:`scipy.optimize.linear_sum_assignment`): a ball's cost for a number is
    its distance to the colour (``costs``, (B, 7)) plus, for the other kind than it reads as,
    ``KIND_COST`` per unit its white share is from the 30 % between solids and stripes. Most
    wrong numbers were such pairs: red and maroon, orange and yellow (told apart by
    brightness), or a stripe showing little of its caps taken for the solid of its colour. A
    ball given another number than it reads as is less sure (``DISPLACED``)."""
    balls = [i for i, look in enumerate(looks) if look.kind in ("solid", "stripe") and look.color]
    claims = [(looks[i].kind, looks[i].color) for i in balls]
    if len(set(claims)) == len(claims):
        return looks
    white = np.array([looks[i].white for i in balls])
    # columns: the 7 solids, then the 7 stripes, in COLOURS order
    apart = KIND_COST * np.abs(white - STRIPE_WHITE)[:, None]
    stripe = np.array([looks[i].kind == "stripe" for i in balls])[:, None]
    cost = np.hstack(
        [costs[balls] + np.where(stripe, apart, 0.0), costs[balls] + np.where(stripe, 0.0, apart)]
    )
    rows, columns = linear_sum_assignment(cost)
    for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
        look = looks[balls[row]]
        kind: BallKind = "stripe" if column >= len(_NAMES) else "solid"
        name = _NAMES[column % len(_NAMES)]
        if (kind, name) != (look.kind, look.color):
            number = NUMBERS[name] + (8 if kind == "stripe" else 0)
            sure = min(look.confidence, DISPLACED)
            looks[balls[row]] = replace(look, kind=kind, color=name, number=number, confidence=sure)
    return looks


def _mean_hues(hues: F64) -> F64:
    """OpenCV hues (0-180) of the mean direction of each ball's coloured samples' hues (their
    doubled sines and cosines, from :func:`_shares`)."""
    return np.asarray((np.arctan2(hues[:, 0], hues[:, 1]) % (2 * np.pi)) * 180 / (2 * np.pi))


def _hue_gaps(a: F64, b: F64) -> F64:
    """Distances between OpenCV hues (0-180, a circle), elementwise."""
    gap = np.abs(a - b) % 180
    return np.asarray(np.minimum(gap, 180 - gap), np.float64)


_NAMES = list(COLOURS)
_REF_HUE = np.array([h for h, _ in COLOURS.values()], np.float64)
_REF_VALUE = np.array([v for _, v in COLOURS.values()], np.float64)
# sin and cos of each OpenCV hue (0-180) as numpy gives them, at the two scales used: the
# circular means of hues (doubled: 180 is a full turn) and of whites' hues
_HUES = np.arange(256, dtype=np.float64)
_SIN2, _COS2 = np.sin(_HUES * (2 * np.pi / 180)), np.cos(_HUES * (2 * np.pi / 180))
_SIN, _COS = np.sin(_HUES * (np.pi / 90)), np.cos(_HUES * (np.pi / 90))


@numba.njit(cache=True, nogil=True)
def pairwise_sum(values: F64, lo: int, n: int) -> float:
    """``values[lo:lo + n].sum()`` as numpy adds a contiguous float64 vector, bit for bit:
    blocks of up to 128 with eight accumulators (:func:`_block`), longer runs split in two
    (at a multiple of 8) and the halves' sums added. The recursion is a loop over a stack
    (numba's cache cannot load recursive functions)."""
    if n <= 128:
        return _block(values, lo, n)
    los = np.empty(64, np.int64)
    lengths = np.empty(64, np.int64)
    stages = np.empty(64, np.int64)
    sums = np.empty(64)
    top, done = 0, 0
    los[0], lengths[0], stages[0] = lo, n, 0
    while top >= 0:
        start, length = los[top], lengths[top]
        if length <= 128:
            sums[done] = _block(values, start, length)
            done += 1
            top -= 1
            continue
        half = length // 2
        half -= half % 8
        if stages[top] < 2:  # the left half, then the right one
            stages[top] += 1
            first = stages[top] == 1
            top += 1
            los[top] = start if first else start + half
            lengths[top] = half if first else length - half
            stages[top] = 0
        else:
            done -= 1
            sums[done - 1] = sums[done - 1] + sums[done]
            top -= 1
    return float(sums[0])


@numba.njit(cache=True, nogil=True)
def _block(values: F64, lo: int, n: int) -> float:
    """numpy's sum of up to 128 contiguous float64 values (see :func:`_sum`)."""
    if n < 8:
        total = 0.0
        for i in range(n):
            total += values[lo + i]
        return total
    r = values[lo : lo + 8].copy()
    i = 8
    while i < n - n % 8:
        for j in range(8):
            r[j] += values[lo + i + j]
        i += 8
    total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        total += values[lo + i]
        i += 1
    return float(total)


@numba.njit(cache=True, nogil=True)
def _quantile(histogram: NDArray[np.int64], n: int, q: float) -> float:
    """``np.quantile(x, q)`` (linear, bit for bit) of the ``n`` values 0-255 counted in
    ``histogram``: one element or two instead of sorting."""
    at = (n - 1) * q
    lo = int(np.floor(at))
    gamma = at - lo
    a, b = rim.rank(histogram, lo), rim.rank(histogram, min(lo + 1, n - 1))
    diff = b - a
    return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma


@numba.njit(cache=True, nogil=True)
def _hue_gap1(a: float, b: float) -> float:
    """Distance between two OpenCV hues (0-180, a circle)."""
    gap = abs(a - b) % 180
    return min(gap, 180 - gap)


@numba.njit(cache=True, nogil=True)
def _shares(hsv: U8, felt: F64, cloth: F64, tinted: float) -> tuple[F64, F64, F64]:
    """Per ball (rows of ``hsv``, (B, P, 3)): the shares of white, dark and coloured samples
    and of off-white ones (:func:`_off_white`); the mean sine and cosine of the coloured
    samples' hues (doubled: OpenCV's 180 is a full turn) and their median value relative to
    the felt's, for :func:`_colours`. ``felt``: the felt's BGR near each ball, ``cloth`` its
    HSV; ``tinted``: ``TINTED``. The numbers of the numpy code this replaced, bit for bit: its
    sums are numpy's pairwise ones, its sines numpy's (from a table) and its quantiles are
    read from histograms of the 8-bit values."""
    balls, count = hsv.shape[0], hsv.shape[1]
    val = np.empty((balls, count))
    sat = np.empty((balls, count))
    use = np.zeros((balls, count), np.bool_)
    bright = np.zeros((balls, count), np.bool_)
    ref = np.empty(balls)
    lit = np.zeros(256, np.int64)  # the saturations of the bright samples
    found = 0
    for i in range(balls):
        levels = np.zeros(256, np.int64)
        for k in range(count):
            val[i, k], sat[i, k] = hsv[i, k, 2], hsv[i, k, 1]
            levels[hsv[i, k, 2]] += 1
        top = _quantile(levels, count, 0.96)  # drop the lamp's highlight
        ref[i] = max(max(max(felt[i, 0], felt[i, 1]), felt[i, 2]), 20.0)  # the felt's value
        level = max((felt[i, 0] + felt[i, 1] + felt[i, 2]) / 3, 15.0)  # and grey level
        for k in range(count):
            use[i, k] = val[i, k] <= top
            bright[i, k] = use[i, k] and val[i, k] > 1.6 * level and val[i, k] > 0.9 * ref[i]
            if bright[i, k]:
                lit[hsv[i, k, 1]] += 1
                found += 1
    cast = _quantile(lit, found, 0.15) if found >= 20 else 0.0
    limit = max(70.0, cast + 40.0)
    shares = np.zeros((balls, 4))
    hues = np.zeros((balls, 2))
    values = np.ones(balls)
    white = np.zeros(count, np.bool_)
    coloured = np.zeros(count, np.bool_)
    terms = np.empty(count)
    terms2 = np.empty(count)
    for i in range(balls):
        used = whites = darks = colours = 0
        for k in range(count):
            v, s = val[i, k], sat[i, k]
            white[k] = bright[i, k] and s < limit
            dark = use[i, k] and ((v < 0.45 * ref[i] and s < 150) or v < 0.25 * ref[i])
            coloured[k] = use[i, k] and not white[k] and not dark and s >= 70
            used += use[i, k]
            whites += white[k]
            darks += dark
            colours += coloured[k]
        n = max(used, 1)
        w, c = whites / n, colours / n
        shares[i, 0], shares[i, 1], shares[i, 2] = w, darks / n, c
        if w >= 0.3 and c * n > 24 and w + c > 0.8:
            shares[i, 3] = _off_white(hsv[i], val[i], sat[i], white, bright[i], coloured,
                                      cloth[i], limit, tinted, n, terms, terms2)  # fmt: skip
        # the colour: the coloured samples' mean hue (on the circle) and median value
        chosen = max(colours, 1)
        levels = np.zeros(256, np.int64)
        for k in range(count):
            hue = hsv[i, k, 0]
            terms[k] = _SIN2[hue] * coloured[k]
            terms2[k] = _COS2[hue] * coloured[k]
            levels[hsv[i, k, 2]] += coloured[k]
        hues[i, 0], hues[i, 1] = (
            pairwise_sum(terms, 0, count) / chosen,
            pairwise_sum(terms2, 0, count) / chosen,
        )
        if colours:  # the median (the middle one or two) of value / the felt's value
            low, high = rim.rank(levels, (chosen - 1) // 2), rim.rank(levels, chosen // 2)
            values[i] = (low / ref[i] + high / ref[i]) / 2
    return shares, hues, values


@numba.njit(cache=True, nogil=True)
def _off_white(
    hsv: U8, val: F64, sat: F64, white: Mask, bright: Mask, coloured: Mask, cloth: F64,
    limit: float, share: float, n: int, terms: F64, terms2: F64,
) -> float:  # fmt: skip
    """One ball's share of its ``n`` samples that read as coloured but are white seen through
    blur or under the lamp's cast, where they tell a cue ball, else 0.

    Blur: of the felt's hue (``cloth``: its HSV), at most 0.6 of its saturation and brighter
    than it (white mixed with the cloth along a fast ball's path; the ball's own colour mixed
    with the cloth stays as saturated as the paint). Cast: bright, of the hue of the ball's
    white samples and less than 45 above the white ``limit`` (the cast on an unclipped white;
    paint is far more saturated).

    Blurred ones must be more than the outermost ring of samples holds (a stripe seen along
    its axis shows its band only there, in the cloth's hue if it is the cloth's colour) and
    leave the centre (inside 0.43 radii, the two inner rings) white: blur mixes a disc with
    the cloth from its edge, while a moving stripe's band, blurred into its caps, crosses the
    middle. Cast ones must be a quarter of the disc or ``share`` of its coloured samples,
    with the ball's white samples themselves within 20 of the white limit on average: a cast
    tints all of a ball's white, while a pale band blurred into a stripe's caps is a second
    population beside clean whites."""
    count = len(val)
    spokes = len(SPOKES)
    for k in range(count):
        terms[k] = _SIN[hsv[k, 0]] * white[k]
        terms2[k] = _COS[hsv[k, 0]] * white[k]
    # (the C library's arctan2 may differ from numpy's in the last bit: this hue is only
    # compared with others 12 apart)
    whites_hue = np.arctan2(pairwise_sum(terms, 0, count), pairwise_sum(terms2, 0, count)) * (
        90 / np.pi
    )
    blurred = tinted = either = colours = inner = whites = 0
    for k in range(count):
        hue = float(hsv[k, 0])
        blur = coloured[k] and (_hue_gap1(hue, cloth[0]) < 12 and sat[k] < 0.6 * cloth[1]
                                and val[k] > cloth[2])  # fmt: skip
        tint = coloured[k] and (bright[k] and _hue_gap1(hue, whites_hue) < 12
                                and sat[k] < limit + 45)  # fmt: skip
        blurred += blur
        tinted += tint
        either += blur or tint
        colours += coloured[k]
        inner += coloured[k] and k < 2 * spokes
        whites += white[k]
        terms[k] = sat[k] * white[k]
    centre = inner <= 0.1 * 2 * spokes
    saturation = pairwise_sum(terms, 0, count) / max(whites, 1)
    cast = tinted >= 0.25 * n or tinted >= share * colours
    if (blurred > spokes and centre) or (cast and saturation >= limit - 20):
        return either / n
    return 0.0


def _colours(hues: F64, values: F64) -> tuple[NDArray[np.intp], F64, F64]:
    """Per ball, the nearest reference colour (an index into ``COLOURS``) to the mean hue
    (``hues``, :func:`_mean_hues`) and median relative value of its coloured samples, the
    margin to the second nearest (numpy's arctan2 and log, as before :func:`_shares`), and
    the distances to all (B, 7)."""
    dh = _hue_gaps(hues[:, None], _REF_HUE[None, :])
    cost = dh / 10.0 + np.abs(np.log(np.maximum(values, 1e-3)[:, None] / _REF_VALUE[None, :])) * 1.5
    two = np.sort(cost, axis=1)
    margin = np.minimum(np.maximum((two[:, 1] - two[:, 0]) / 1.5, 0.0), 1.0)
    return np.argmin(cost, axis=1), np.asarray(margin, np.float64), cost


def _decide(w: float, d: float, c: float, e: float, colour: str | None, conf: float) -> Look:
    """The kind from the shares of white ``w``, dark ``d`` and coloured ``c`` pixels, of which
    ``e`` (0 unless there is enough of it) are white blurred with the cloth or under a cast
    (see :func:`_off_white`)."""
    if w > 0.8 and c < 0.08:
        return Look("cue", "white", 0, float(min(1.0, (w - 0.6) * 3)), w, d)
    if e > 0 and w >= 0.3 and w + e > 0.8 and c - e < 0.08:
        return Look("cue", "white", 0, float(min(1.0, (w + e - 0.6) * 3) / 2), w, d)
    if d > EIGHT_DARK and c < EIGHT_COLOURED:
        # no other ball is more than 15 % dark: sure from about half dark on
        return Look("eight", "black", 8, float(min(1.0, (d - 0.15) * 3)), w, d)
    if colour is None:
        return Look("unknown", None, None, 0.2, w, d)
    base = NUMBERS[colour]
    if w >= STRIPE_WHITE:
        kind_conf = min(1.0, (w - 0.22) * 6)
        return Look("stripe", colour, base + 8, kind_conf * max(conf, 0.3), w, d)
    kind_conf = min(1.0, (STRIPE_WHITE - w) * 6)
    return Look("solid", colour, base, kind_conf * max(conf, 0.3), w, d)
