"""Balls in a frame: seeds from radial symmetry, rims and circles at full resolution.

1. Seeds: peaks of the radial-symmetry accumulator (:mod:`nodes.vision.symmetry`) at the
   working resolution.
2. Strong seeds are fitted first: rims along rays (:mod:`nodes.vision.rim`), a robust circle
   of the expected radius, then rims again from that centre and a free circle where the rim
   was seen nearly all round (:mod:`nodes.vision.circle`). Each fit is judged
   (:mod:`nodes.vision.evidence`).
3. Clusters: what the balls found do not explain (pixels unlike the felt outside their discs)
   hides more balls (the middle of a rack has no felt around it and weak symmetry); the
   weaker seeds there, and the spots where a ball touching two found ones would lie (balls
   in a cluster touch: their neighbours place them better than their weak symmetry does),
   are fitted with the expected radius and judged more strictly. A weak seed also stands
   alone where a third of its disc is unlike the felt: a ball nearly the cloth's colour
   (green on green) votes weakly and shows only in patches. Its votes also miss the centre,
   and the judge counts a circle that moved far from its seed against it: a rejected circle
   that moved is fitted and judged again from where it lies, and kept if it is clear of the
   balls found (the gap between touching balls fits a circle of their rims).
4. The balls of the previous frame that none of these explains are fitted again where they
   were: a ball at rest stays put, and one of the cloth's colour that passed the judge in
   the last frame is kept on a lower bar when its circle has not moved.
5. Circles closer than a ball's radius to a better one are dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numba
import numpy as np
from numpy.typing import NDArray

from nodes.vision import circle, evidence, palette, ray, rim, symmetry
from nodes.vision.felt import FeltModel
from nodes.vision.geometry import Geometry, nearest

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]
Bools = NDArray[np.bool_]

SEED_LOW = 0.12  # accumulator level of a seed worth a look in a cluster
SEED_HIGH = 0.35  # ... and of a seed fitted first
WIDE, NARROW = 0.3, 0.12  # how far (radii) the rim is searched from the expected radius
MIN_CONFIDENCE = 0.5
UNLIKE = 0.35  # share of the disc unlike the felt where a ball between two others is sought
CLEAN_SUPPORT, CLEAN_RMS = 0.9, 0.05  # a ball's whole rim: share of rays, rms in radii
SURE_NECKLESS = 0.99  # a circle in the player's blob but not its neckless part: a ball if this sure
OCCLUDED = evidence.NAMES.index("occluded")
SHIFT = evidence.NAMES.index("shift")
MOVED, MOVED_SUPPORT = 0.1, 0.75  # a rejected circle this far (radii) from its seed, this whole
APART = 1.8  # radii between the centres of two balls at least (they touch at two)
SPOT_APART = 1.6  # radii from every ball found to a spot where a touching ball may lie
RECALLED = 0.1  # a ball of the last frame, fitted again where it was: a ball if this sure
STAY = 0.15  # ... and its circle this close (radii) to where it was
POCKET = 2.5  # radii from a pocket's centre within which no ball is fitted again (its mouth)
OCCLUDER_AREA = 4.0  # a blob of this many balls' area reaching past the rails: the player
ARM_AREA, ARM_ELONGATION = 8.0, 2.5  # ... or this large and this long for its width
REFINE_SHIFT = 0.1  # radii either side of a ball's circle along x where its centre is refitted
REFINE_SPREAD = 0.18  # ... with the rim searched this far (radii) from the expected radius
REFINE_NOISE = 1.0  # ... and steps this many times the felt's noise (not rim.NOISE_STEPS)
REFINE_SMEARED = 0.085  # px: where the chroma was subsampled, the refit circle is this much larger
CONTACT_NEAR = 2.3  # radii: a circle this close is a neighbour this ball may touch...
CONTACT_COS = math.cos(math.radians(10.0))  # ... and rays this close to its direction not refitted
INSIDE = np.stack(
    [np.outer(np.linspace(0, 0.7, 4)[1:], np.cos(ray.ANGLES[::4])).ravel(),
     np.outer(np.linspace(0, 0.7, 4)[1:], np.sin(ray.ANGLES[::4])).ravel()], axis=1
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Circle:
    """A ball's silhouette: centre and radius in image pixels, and how sure we are."""

    x: float
    y: float
    r: float
    support: float  # share of rays with a rim on the circle
    rms: float  # px
    confidence: float


@dataclass(frozen=True, slots=True)
class Masks:
    """Working-resolution views of one frame: pixels unlike the felt, and the hand-arm-cue
    blobs."""

    raw: U8
    player: Bools  # at half the working resolution
    neckless: Bools  # the player without the cue's thin front, at half the working resolution


def masks(raw: U8, geo: Geometry) -> Masks:
    """The player's blobs: large, and reaching in past the rails (the bridge hand through the cue
    that rests on it). Found at half the working resolution, where two of four pixels unlike the
    felt mark the pooled pixel (a thin cue stays connected, noise does not join a ball to the
    player). ``neckless`` is the same with the thin parts opened away first: there the ball the
    cue's tip touches (the cue ball while aiming) is not the player's; nor are the fingers, so only
    a circle with a ball's full evidence is judged on it."""
    # pooled over whole 2 x 2 blocks (an odd last row or column, outside the table, dropped)
    pooled = _pooled(np.ascontiguousarray(raw))
    band = geo.band_at  # flat indices of the pooled pixels near or past the rails
    small_r = geo.radius / geo.factor / 2
    player = _player(pooled, band, small_r)
    neckless: U8 = np.asarray(
        cv2.morphologyEx(pooled, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)), np.uint8
    )
    return Masks(raw, player, _player(neckless, band, small_r))


@numba.njit(cache=True, nogil=True)
def _pooled(raw: U8) -> U8:
    """255 where a whole 2 x 2 block of ``raw`` averages above 100, rounded half up (two of
    four pixels set, in a mask of 0 and 255), else 0: what ``cv2.resize`` with ``INTER_AREA``
    to half size and ``cv2.compare`` give, in one pass (compiled)."""
    h, w = raw.shape[0] // 2, raw.shape[1] // 2
    out = np.empty((h, w), np.uint8)
    for y in range(h):
        top, bottom, row = raw[2 * y], raw[2 * y + 1], out[y]
        for x in range(w):
            total = np.int32(top[2 * x]) + top[2 * x + 1] + bottom[2 * x] + bottom[2 * x + 1]
            row[x] = 255 if (total + 2) >> 2 > 100 else 0
    return out


def _player(pooled: U8, band: NDArray[np.intp], small_r: float) -> Bools:
    """The blobs of ``pooled`` larger than a few balls that reach into the rail ``band``
    (flat pixel indices), or that are long and narrow as no cluster of balls is (a forearm
    and hand lying on the table, the player's shoulder out of view)."""
    count, labels, stats = components(pooled)
    ball = np.pi * small_r * small_r
    big = stats[:, cv2.CC_STAT_AREA] > OCCLUDER_AREA * ball
    reaching = _labelled(labels.ravel(), band, count)  # the background's label 0 is cleared below
    big[0] = False
    player = big & reaching
    long = big & ~reaching & (stats[:, cv2.CC_STAT_AREA] > ARM_AREA * ball)
    # few blobs (most often none): compare the labels with each within its bounding box, not
    # a lookup per pixel
    out = np.zeros(labels.shape, bool)
    for label in np.flatnonzero(player | long).tolist():
        x, y, w, h = (int(v) for v in stats[label, :4])
        blob = labels[y : y + h, x : x + w] == label
        if player[label] or elongation(blob) >= ARM_ELONGATION:
            out[y : y + h, x : x + w] |= blob
    return out


@numba.njit(cache=True, nogil=True)
def _labelled(labels: NDArray[np.integer[Any]], at: NDArray[np.intp], count: int) -> Bools:
    """Which of ``count`` labels occur at the flat indices ``at`` of ``labels`` (compiled: the
    rail band holds thousands of pixels, and numpy's gather and scatter each made an array of
    them)."""
    seen = np.zeros(count, np.bool_)
    for i in at:
        seen[labels[i]] = True
    return seen


def elongation(blob: Bools) -> float:
    """Length over width of a blob: the square root of its second moments' eigenvalue ratio."""
    ys, xs = np.nonzero(blob)
    # np.cov's own steps (mean, centring, X X^T, times 1 / (n - 1)), so the same values,
    # without its argument handling (which cost more than the arithmetic on a blob)
    points = np.stack([xs, ys]).astype(np.float64)
    points -= points.mean(axis=1)[:, None]
    cov = np.dot(points, points.T)
    cov *= np.true_divide(1, len(xs) - 1)
    low, high = np.linalg.eigvalsh(cov)
    return float(np.sqrt(high / max(low, 1e-6)))


def components(mask: U8) -> tuple[int, NDArray[np.integer[Any]], NDArray[np.int32]]:
    """8-connected components of a mask: count, labels, stats (as OpenCV's
    ``connectedComponentsWithStats``). 16-bit labels when they fit: OpenCV 5 then finds the
    same components several times faster. The labels are OpenCV's (``connectedComponents``,
    the same algorithm) and the stats :func:`_stats`'s: OpenCV's own took three times as long
    as the labels (it also sums every pixel's coordinates, for centroids not read here)."""
    h, w = mask.shape
    small = (h * w) // 4 + 2 < 65535
    count, raw = cv2.connectedComponents(
        mask, connectivity=8, ltype=cv2.CV_16U if small else cv2.CV_32S
    )
    labels: NDArray[np.integer[Any]] = np.asarray(raw, np.uint16 if small else np.int32)
    return int(count), labels, _stats(labels, int(count))


@numba.njit(cache=True, nogil=True)
def _stats(labels: NDArray[np.integer[Any]], count: int) -> NDArray[np.int32]:
    """OpenCV's stats (left, top, width, height, area) of each of the ``count`` labels, run by
    run along the rows (compiled: a pass over the labels; a label without pixels, the
    background of a mask set all over, gets OpenCV's (-1, 2**31 - 1, 0, 0, 0))."""
    h, w = labels.shape
    left, top = np.full(count, w, np.int32), np.full(count, h, np.int32)
    right, bottom = np.full(count, -1, np.int32), np.full(count, -1, np.int32)
    area = np.zeros(count, np.int32)
    for y in range(h):
        row = labels[y]
        start = 0
        for x in range(1, w + 1):
            if x < w and row[x] == row[start]:
                continue
            label = row[start]
            area[label] += x - start
            left[label] = min(left[label], start)
            right[label] = max(right[label], x - 1)
            top[label] = min(top[label], y)
            bottom[label] = y
            start = x
    stats = np.zeros((count, 5), np.int32)
    for i in range(count):
        if area[i] == 0:
            stats[i, 0], stats[i, 1] = -1, 2147483647
            continue
        stats[i, 0], stats[i, 1] = left[i], top[i]
        stats[i, 2], stats[i, 3] = right[i] - left[i] + 1, bottom[i] - top[i] + 1
        stats[i, 4] = area[i]
    return stats


def find_balls(
    image: U8, acc: F32, found: Masks, felt: FeltModel, geo: Geometry, last: F64 | None = None,
    smeared: bool = False,
) -> list[Circle]:  # fmt: skip
    """Balls in a full-resolution BGR frame, given the working-resolution views; ``last``
    (full-res centres) are the balls found in the previous frame; ``smeared``: the frame's
    chroma was subsampled (JPEG, YUV video; :func:`rim.find`)."""
    seeds, strength = symmetry.peaks(acc, geo.radius / geo.factor, SEED_LOW)
    balls = _seeded(image, seeds, strength, found, felt, geo, smeared)
    if last is None or len(last) == 0:
        return balls
    return dedupe(balls + _recalled(image, last, balls, found, felt, geo, smeared))


def _seeded(
    image: U8, seeds: F64, strength: F64, found: Masks, felt: FeltModel, geo: Geometry,
    smeared: bool = False,
) -> list[Circle]:  # fmt: skip
    """Balls at the accumulator's ``seeds`` (working px) and where a ball touching two of
    those found would lie."""
    if len(seeds) == 0:
        return []
    strong = strength > SEED_HIGH
    strong_seeds = geo.to_full(seeds[strong])
    first = _judged(image, strong_seeds, found, felt, geo, evidence.STRONG, smeared=smeared)
    first = dedupe(first)
    rest = _leftover(seeds[~strong], first, found, geo)
    # both a weak seed and a spot next to it are fitted: the more confident circle stays
    rest = np.concatenate([rest, _touching(first, found, geo)])
    if len(rest) == 0:
        return first
    moved: list[F64] = []
    weak = geo.to_full(rest)
    more = _judged(image, weak, found, felt, geo, evidence.LEFTOVER, moved, smeared=smeared)
    # a weak seed off the centre of a ball of the cloth's colour: its circle moved far from
    # it, which counts against the circle; fitted again from there, a ball stays put (and
    # lies clear of the balls found: a gap between balls fits a circle of their rims too)
    if len(centres := np.concatenate([np.zeros((0, 2)), *moved])):
        placed = first + more
        again = _judged(image, centres, found, felt, geo, evidence.LEFTOVER, smeared=smeared)
        more += [c for c in again if _clear(c, placed)]
    return dedupe(first + more)


def _recalled(
    image: U8, last: F64, balls: list[Circle], found: Masks, felt: FeltModel, geo: Geometry,
    smeared: bool = False,
) -> list[Circle]:  # fmt: skip
    """The previous frame's balls (``last``, full-res centres) that none of ``balls`` explains,
    fitted again where they were. A ball at rest stays put, and one of the cloth's colour,
    which the felt score barely sees, is judged on its rim: kept if its circle stays within
    ``STAY`` radii and the judge of weak seeds gives it ``RECALLED``. Not where the player
    is now (a knuckle fits a circle in every frame the bridge hand rests), nor at a pocket's
    dark mouth."""
    radii = geo.expected_radius(last)
    small = geo.to_small(last)
    free = _inside(found.player, (small - 0.5) / 2, radii / geo.factor / 2) == 0
    # the pockets' centres are on the whole frame's working grid
    wide = (last + 0.5) / geo.factor - 0.5
    pocket = np.hypot(*(wide[:, None, :] - geo.pockets[None, :, :]).transpose(2, 0, 1))
    free &= pocket.min(axis=1) > POCKET * radii / geo.factor
    if balls:
        done = np.array([[c.x, c.y, c.r] for c in balls])
        gap = np.hypot(*(last[:, None, :] - done[None, :, :2]).transpose(2, 0, 1))
        free &= (gap >= APART * done[None, :, 2]).all(axis=1)
    again = _judged(
        image, last[free], found, felt, geo, evidence.LEFTOVER, least=RECALLED, stay=STAY,
        smeared=smeared,
    )  # fmt: skip
    return [c for c in again if _clear(c, balls)]


def _clear(circle: Circle, others: list[Circle]) -> bool:
    """Whether ``circle`` overlaps none of ``others`` more than touching balls do."""
    return all(math.hypot(circle.x - o.x, circle.y - o.y) >= APART * o.r for o in others)


def _judged(
    image: U8, seeds: F64, found: Masks, felt: FeltModel, geo: Geometry, model: F64,
    moved: list[F64] | None = None, least: float | None = None, stay: float | None = None,
    smeared: bool = False,
) -> list[Circle]:  # fmt: skip
    """Fit circles at full-res ``seeds`` and keep those the evidence ``model`` believes at
    least ``least`` (``MIN_CONFIDENCE`` if None) and, with ``stay``, whose circles moved less
    than that many radii from their seeds; the centres of rejected circles that moved far
    from their seeds go to ``moved``; ``smeared``: as :func:`rim.find`."""
    if len(seeds) == 0:
        return []
    least = MIN_CONFIDENCE if least is None else least
    at = geo.pixels(seeds)
    radii = geo.expected_radius(seeds, at)
    log_felt = felt_log(felt, at=at) * np.float32(40.0)
    fit = fit_circles(image, seeds, radii, log_felt, smeared, geo.shape_at(seeds, at))
    small = geo.to_small(fit.centre)
    play = _at(geo.play, small)  # not in a pocket's mouth or on a rail
    if not play.any():
        return []
    if not play.all():
        seeds, radii, small = seeds[play], radii[play], small[play]
        fit = fit.subset(play)
    inside = _inside(found.raw, small, radii / geo.factor)
    disc = palette.disc_samples(image, fit.centre, radii)
    half, half_r = (small - 0.5) / 2, radii / geo.factor / 2
    measured = evidence.features(fit, seeds, inside, _inside(found.player, half, half_r), disc)
    sure = evidence.confidence(measured, model)
    if (doubted := sure < least).any():  # a ball at the cue's tip
        measured[:, OCCLUDED] = _inside(found.neckless, half, half_r)
        sure = np.where(doubted, evidence.confidence(measured, model), sure)
        sure = np.where(doubted & (sure < SURE_NECKLESS), 0.0, sure)
        # a ball beside the arm is in its blob, but nothing of the player has a ball's whole rim
        clean = doubted & (sure < least) & (fit.support >= CLEAN_SUPPORT)
        clean &= fit.rms <= CLEAN_RMS * radii
        if clean.any():
            measured[:, OCCLUDED] = 0.0
            free = evidence.confidence(measured, model)
            sure = np.where(clean & (free >= SURE_NECKLESS), free, sure)
    keep = sure >= least
    if stay is not None:
        keep &= measured[:, SHIFT] < stay
    if moved is not None:
        far = ~keep & (measured[:, SHIFT] > MOVED) & (fit.support >= MOVED_SUPPORT)
        moved.append(fit.centre[far])
    # the kept rows as Python floats in one conversion, not one per number (the same values)
    rows = np.column_stack([fit.centre, fit.radius, fit.support, fit.rms, sure])[keep]
    return [Circle(*row) for row in rows.tolist()]


def fit_circles(
    image: U8, seeds: F64, radii: F64, log_felt: F32, smeared: bool = False,
    shapes: F64 | None = None,
) -> circle.Fit:  # fmt: skip
    """Circles of the expected radius (the calibration knows it to 0.1 %, and holding it keeps
    a half-hidden ball from shrinking onto its visible part), in two rounds: rims searched
    widely around the seeds, then close to the first circle (``smeared``: as
    :func:`rim.find`). With ``shapes`` (:meth:`Geometry.shape_at` at the seeds), the
    silhouettes are those ellipses rather than circles."""
    rims = rim.find(image, seeds, radii, log_felt, WIDE, smeared=smeared, shapes=shapes)
    first = circle.fit(rims.points, rims.ok, seeds, radii, shapes=shapes)
    rims = rim.find(
        image, first.centre, radii, log_felt, NARROW, rim.CANDIDATES, smeared, shapes=shapes
    )
    return circle.fit(rims.points, rims.ok, first.centre, radii, 3, shapes)


def refine(
    image: U8, centres: F64, felt: FeltModel, geo: Geometry, smeared: bool = False,
    others: F64 | None = None,
) -> tuple[F64, F64]:  # fmt: skip
    """Better centres (N, 2, full-res px) for the balls' circles at ``centres``: the mean of
    two fits of the expected radius from starts ``REFINE_SHIFT`` radii either side along x;
    and how far (N,) their rims lie from those circles (the two fits' rms, in radii: how
    uncertain each centre is, which :func:`nodes.vision.contact.separate` reads).

    A circle's last fit (:func:`fit_circles`) stays near where it started: the rims are sought
    close to the expected radius around that start, and where the ball's own rim is weak (a
    ball of the cloth's colour, its number's disc or stripe near its edge, its shadow, a
    neighbour) the steps found there agree with it. Two fits from either side of it find
    other steps; their mean lay nearer the true silhouette on the bench's scenes (0.327 ->
    0.302 px at rest, most on the cloth-coloured solids). Steps are kept down to
    ``REFINE_NOISE`` times the felt's noise: the judge's features (support, residuals) are
    not computed here, so weaker steps that make a hand or a spot on the cloth look like a
    ball do no harm, and they are the rim of a ball of the cloth's colour. ``smeared``: as
    :func:`rim.find`; where the chroma was subsampled, whether luma or colour places a step is
    judged on the colour beyond the smear (``rim.find``'s ``choose_beyond``): within it, a
    colour edge keeps half its change, and a ball's dark limb on the cloth it shades passed
    for a luma step and was placed outside the silhouette (the rays of solids placed by luma:
    0.03 px out on 16 uncompressed scenes, 0.21 on the same frames as JPEG with 4:2:0, 0.04
    with 4:4:4). The centres at rest went from 0.848 / 2.363 to 0.830 / 2.300 mm on the scenes
    of record. (In the fits that find and judge balls too, it cost three balls found.)

    The rays (one or two) that point within 10 degrees at a neighbouring circle of ``others``
    (full-res centres, the frame's circles; ``centres`` among them or not) closer than
    ``CONTACT_NEAR`` radii are left out: where two balls touch, the step there is their
    contact, which belongs to both silhouettes or (the crevice beside it) to neither, and its
    rims lay 0.15 px inside the silhouette on average. Wider cones left a ball in a rack too
    few rays (20 degrees: worse on the scenes of record). The table positions of touching
    balls are then held apart by :func:`nodes.vision.contact.separate`, which places them
    along that line instead (0.922 -> 0.910 mm at rest on the scenes of record, 0.586 ->
    0.558 on 16 others, measured on the recorded circles).

    Where the chroma was subsampled the circles refitted are ``REFINE_SMEARED`` px larger than
    expected: JPEG's quantisation blurs the luma step, and the rim, read half way between the
    levels half a pixel inside and a pixel outside it, then lies outside the silhouette (the
    refits' inlier rims, about the true centres, lay 0.085 px out in the median on the JPEG
    frames of the scenes of record, 0.05 on the others). All round a ball that moves no centre;
    but where rays are left out or drop out (at a neighbour, a shadow, a number's disc) a circle
    of the expected radius is drawn towards the rims that remain. Centre at rest 0.749 / 2.020
    -> 0.738 / 1.992 mm on the scenes of record, 0.718 / 2.007 -> 0.721 / 1.947 held out
    (6000-6011), 0.720 / 2.136 -> 0.713 / 2.099 on the deep set, 0.545 / 1.245 -> 0.545 / 1.265
    on 2000-2015 (two JPEG scenes); 0.17 px took the scenes of record to 1.977 mm but those of
    2000-2015 to 1.329.
    """
    count = len(centres)
    if count == 0:
        return centres, np.zeros(0)
    at = geo.pixels(centres)
    radii = geo.expected_radius(centres, at)
    shift = np.zeros((count, 2))
    shift[:, 0] = REFINE_SHIFT * radii
    starts = np.concatenate([centres + shift, centres - shift])
    twice = np.concatenate([radii, radii])
    shapes = geo.shape_at(centres, at)
    shapes = np.concatenate([shapes, shapes])
    log_felt = felt_log(felt, at=at) * np.float32(40.0)
    log_felt = np.concatenate([log_felt, log_felt])
    rims = rim.find(
        image, starts, twice, log_felt, REFINE_SPREAD, rim.CANDIDATES, smeared, REFINE_NOISE,
        shapes, choose_beyond=True,
    )  # fmt: skip
    ok = rims.ok
    if others is not None and len(others) > 1:
        contact = _contact_rays(centres, radii, np.asarray(others, np.float64), shapes[:count])
        ok = ok & ~np.concatenate([contact, contact])[:, :, None]
    # on JPEG frames the rims lie outside the silhouette: a circle of the expected radius, where
    # rays are missing (a neighbour, a number's disc), is pulled towards the rest of the rim
    grown = twice + REFINE_SMEARED if smeared else twice
    fit = circle.fit(rims.points, ok, starts, grown, 3, shapes)
    spread = (fit.rms[:count] + fit.rms[count:]) / (2 * radii)
    return np.asarray((fit.centre[:count] + fit.centre[count:]) / 2, np.float64), spread


def _contact_rays(centres: F64, radii: F64, others: F64, shapes: F64) -> Bools:
    """Which rays (N, RAYS) of the balls at ``centres`` (silhouette ``shapes``, the rays'
    directions mapped through them as :mod:`nodes.vision.ray` does) point within
    ``CONTACT_COS`` at the centre of one of ``others`` between half a radius and
    ``CONTACT_NEAR`` radii away (a circle within half a radius is the ball itself)."""
    gap = others[None, :, :] - centres[:, None, :]  # (N, M, 2)
    dist = np.hypot(gap[..., 0], gap[..., 1])
    near = (dist > 0.5 * radii[:, None]) & (dist < CONTACT_NEAR * radii[:, None])
    dirs = shapes @ ray.DIRS.T  # (N, 2, RAYS)
    dirs /= np.hypot(dirs[:, 0], dirs[:, 1])[:, None]
    cos = (gap @ dirs) / np.maximum(dist, 1e-9)[..., None]  # (N, M, RAYS)
    return np.asarray((near[..., None] & (cos > CONTACT_COS)).any(axis=1), np.bool_)


def _leftover(seeds: F64, balls: list[Circle], found: Masks, geo: Geometry) -> F64:
    """Weak seeds (working px) in what the balls found leave unexplained."""
    if len(seeds) == 0:
        return seeds
    rest = erase_discs(found.raw, balls, 1.0, geo)
    # a ball nearly the felt's colour is a patchy blob that opening erases: its disc counts
    radius = geo.radius_map[nearest(seeds, geo.radius_map)].astype(np.float64)
    keep = _opened_at(rest, np.ascontiguousarray(seeds)) | (_inside(rest, seeds, radius) >= UNLIKE)
    if balls:
        done = geo.to_small(np.array([[c.x, c.y] for c in balls]))
        gap = np.hypot(seeds[:, None, 0] - done[None, :, 0], seeds[:, None, 1] - done[None, :, 1])
        keep &= gap.min(axis=1) > 1.5 * radius
    return seeds[keep]


def _touching(balls: list[Circle], found: Masks, geo: Geometry) -> F64:
    """Where a ball touching two of those found would lie (working px), where nothing found
    covers it and the frame there is mostly unlike the felt: in a rack or a cluster, a ball
    without felt along its rim votes weakly for its centre, but its neighbours place it
    (its centre is two radii from each of theirs)."""
    if len(balls) < 2:
        return np.zeros((0, 2))
    done = geo.to_small(np.array([[c.x, c.y] for c in balls]))
    radius = geo.radius_map[nearest(done, geo.radius_map)].astype(np.float64)
    spots = _between(done, radius)
    spots = spots[_at(geo.play, spots)]
    if len(spots) == 0:
        return spots
    spot_r = geo.radius_map[nearest(spots, geo.radius_map)].astype(np.float64)
    apart = np.hypot(spots[:, None, 0] - done[None, :, 0], spots[:, None, 1] - done[None, :, 1])
    keep = (apart.min(axis=1) > SPOT_APART * spot_r) & (_inside(found.raw, spots, spot_r) >= UNLIKE)
    return _merged(spots[keep], 0.5 * geo.radius / geo.factor)


@numba.njit(cache=True, nogil=True)
def _between(done: F64, radius: F64) -> F64:
    """For each pair of ``done`` (working px, ball ``radius``) between one and four radii
    apart, in order, the two points two radii from both: first every pair's on the left of
    the line from the first to the second, then every pair's on the right (compiled: a few
    dozen pairs, where numpy's calls cost more than the work)."""
    count = len(done)
    left = np.empty((count * (count - 1) // 2, 2))
    right = np.empty_like(left)
    found = 0
    for i in range(count):
        for j in range(i + 1, count):
            dx, dy = done[j, 0] - done[i, 0], done[j, 1] - done[i, 1]
            gap = np.hypot(dx, dy)
            reach = radius[i] + radius[j]  # two radii
            if not (gap < 2 * reach and gap > 0.5 * reach):
                continue
            mid_x, mid_y = (done[i, 0] + done[j, 0]) / 2, (done[i, 1] + done[j, 1]) / 2
            side = np.sqrt(max(reach * reach - gap * gap / 4, 0.0))
            normal_x, normal_y = -(dy / gap) * side, (dx / gap) * side
            left[found, 0], left[found, 1] = mid_x + normal_x, mid_y + normal_y
            right[found, 0], right[found, 1] = mid_x - normal_x, mid_y - normal_y
            found += 1
    return np.concatenate((left[:found], right[:found]))


@numba.njit(cache=True, nogil=True)
def _merged(points: F64, within: float) -> F64:
    """Points closer than ``within`` to an earlier one replaced by their mean (compiled: a
    loop over a few points, each step a handful of numpy calls)."""
    count = len(points)
    taken = np.zeros(count, np.bool_)
    out = np.empty((count, 2))
    merged = 0
    for i in range(count):
        if taken[i]:
            continue
        x, y, n = 0.0, 0.0, 0
        for j in range(i, count):
            if taken[j]:
                continue
            if np.hypot(points[j, 0] - points[i, 0], points[j, 1] - points[i, 1]) < within:
                taken[j] = True
                x, y = (
                    (points[j, 0], points[j, 1]) if n == 0 else (x + points[j, 0], y + points[j, 1])
                )
                n += 1
        out[merged, 0], out[merged, 1] = x / n, y / n
        merged += 1
    return out[:merged]


def erase_discs(mask: U8, circles: list[Circle], grow: float, geo: Geometry) -> U8:
    """A copy of a working-resolution mask with the circles' discs (radius + ``grow`` working
    px) erased."""
    rest = mask.copy()
    if not circles:
        return rest
    centres = geo.to_small(np.array([[c.x, c.y] for c in circles])) * 16
    for (x, y), c in zip(centres.tolist(), circles, strict=True):
        radius = round((c.r / geo.factor + grow) * 16)
        cv2.circle(rest, (round(x), round(y)), radius, 0, -1, cv2.LINE_8, 4)
    return rest


@numba.njit(cache=True, nogil=True)
def _opened_at(mask: U8, points: F64) -> Bools:
    """Where the opening of ``mask`` by a 3 x 3 square is set at working-res points (nearest
    pixel, clipped): some 3 x 3 square around the pixel is set all over (the part of it in
    the image, as OpenCV's erosion and dilation take the border). Compiled: a few seeds are
    looked at, where opening the whole mask visited every pixel."""
    h, w = mask.shape
    out = np.zeros(len(points), np.bool_)
    for i in range(len(points)):
        x = min(max(int(np.rint(points[i, 0])), 0), w - 1)
        y = min(max(int(np.rint(points[i, 1])), 0), h - 1)
        for cy in range(max(y - 1, 0), min(y + 2, h)):
            for cx in range(max(x - 1, 0), min(x + 2, w)):
                whole = True
                for ry in range(max(cy - 1, 0), min(cy + 2, h)):
                    for rx in range(max(cx - 1, 0), min(cx + 2, w)):
                        whole &= mask[ry, rx] != 0
                out[i] |= whole
    return out


def _at(image: U8 | Bools, points: F64) -> Bools:
    """Where ``image`` is set at working-res points (nearest pixel, clipped)."""
    values: NDArray[np.float64] = np.asarray(image[nearest(points, image)], np.float64)
    return np.asarray(values > 0, np.bool_)


def _inside(mask: U8 | Bools, centres: F64, radii: F64) -> F64:
    """Share of each disc (inside 0.7 radii) where ``mask`` is set; working px."""
    flat = np.ascontiguousarray(mask).view(np.uint8)
    return _disc_share(flat, np.ascontiguousarray(centres), np.ascontiguousarray(radii), INSIDE)


@numba.njit(cache=True, nogil=True)
def _disc_share(mask: U8, centres: F64, radii: F64, pattern: F64) -> F64:
    """:func:`_inside`'s loop (compiled: it runs ten times a frame on a few discs, where
    numpy's calls cost more than the work): the share of the ``pattern``'s points (offsets in
    radii) around each centre that fall (nearest pixel, clipped) on a set pixel."""
    h, w = mask.shape
    out = np.zeros(len(centres))
    for b in range(len(centres)):
        seen = 0
        for k in range(len(pattern)):
            x = np.rint(centres[b, 0] + radii[b] * pattern[k, 0])
            y = np.rint(centres[b, 1] + radii[b] * pattern[k, 1])
            col = min(max(int(x), 0), w - 1)
            row = min(max(int(y), 0), h - 1)
            seen += mask[row, col] != 0
        out[b] = seen / len(pattern)
    return out


def felt_log(
    felt: FeltModel, points: F64 | None = None,
    at: tuple[NDArray[np.intp], NDArray[np.intp]] | None = None,
) -> F32:  # fmt: skip
    """log(felt BGR + 6) at working-res points (N, 2), the frame's lighting offset included
    (or at the working pixels ``at``, :meth:`Geometry.pixels`: the felt's log image is the
    working view's size)."""
    if at is None:
        assert points is not None
        at = nearest(points, felt.log_felt)
    return np.asarray(felt.log_felt[at] + felt.offset[None, :], np.float32)


def dedupe(circles: list[Circle]) -> list[Circle]:
    """Drop circles whose centre lies within another, more confident circle."""
    ordered = sorted(circles, key=lambda c: -c.confidence)
    if len(ordered) < 2:
        return ordered
    x = np.array([c.x for c in ordered])
    y = np.array([c.y for c in ordered])
    r = np.array([c.r for c in ordered])
    apart = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) > 1.2 * np.minimum(
        r[:, None], r[None, :]
    )
    return [ordered[i] for i in np.flatnonzero(_greedy(apart))]


@numba.njit(cache=True, nogil=True)
def _greedy(apart: Bools) -> Bools:
    """Which of the circles (best first) are kept: each one ``apart`` from every one kept
    before it (compiled: a Python loop over the rows cost as much as the rest of a dedupe)."""
    count = apart.shape[0]
    kept = np.zeros(count, np.bool_)
    for i in range(count):
        kept[i] = True
        for j in range(i):
            if kept[j] and not apart[i, j]:
                kept[i] = False
                break
    return kept
