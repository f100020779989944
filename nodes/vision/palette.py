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
where they look like it (see ``_off_white_share``): blurred ones beyond the outermost ring of
samples with the centre still white, cast ones over a quarter of the disc with the ball's
whites tinted nearly to the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from nodes.vision import edge
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
TINTED = 0.75  # a cast: this share of the coloured samples are tinted whites (or a quarter of all)
PATTERN = np.stack(
    [np.outer(RINGS, np.cos(SPOKES)).ravel(), np.outer(RINGS, np.sin(SPOKES)).ravel()], axis=1
)  # (P, 2) points spread evenly over the unit disc (inside 0.92)


def disc_samples(image: U8, centres: F64, radii: F64) -> U8:
    """BGR samples (B, P, 3) spread evenly over each ball's disc (inside 0.92 radii)."""
    xs = centres[:, 0, None] + radii[:, None] * PATTERN[None, :, 0]
    ys = centres[:, 1, None] + radii[:, None] * PATTERN[None, :, 1]
    return edge.sample_u8(image, xs, ys)


def classify_all(samples: U8, felt_bgr: F64) -> list[Look]:
    """Kind and colour of each ball from its disc samples (B, P, 3); ``felt_bgr`` (B, 3) is the
    felt's colour near each ball, so whites and darks are judged against the lighting there."""
    if len(samples) == 0:
        return []
    hsv = np.asarray(cv2.cvtColor(samples, cv2.COLOR_BGR2HSV), dtype=np.float64)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    use = val <= quantile_rows(np.sort(val, axis=1), 0.96)[:, None]  # drop the lamp's highlight
    felt = np.asarray(felt_bgr, dtype=np.float64).reshape(-1, 3)
    ref = np.maximum(felt.max(axis=1), 20.0)[:, None]  # the felt's HSV value
    level = np.maximum(felt.mean(axis=1), 15.0)[:, None]  # and its grey level
    # white: well above the felt's grey level (a saturated cloth has a high HSV value)
    bright = use & (val > 1.6 * level) & (val > 0.9 * ref)
    # warm or cool light tints the whites: the least saturated bright pixels of all the balls
    # in the frame (cue ball, stripes' caps, number circles) show how much
    lit = sat[bright]
    cast = float(quantile_rows(np.sort(lit)[None, :], 0.15)[0]) if lit.size >= 20 else 0.0
    limit = max(70.0, cast + 40.0)
    white = bright & (sat < limit)
    dark = use & (((val < 0.45 * ref) & (sat < 150)) | (val < 0.25 * ref))
    coloured = use & ~white & ~dark & (sat >= 70)
    n = np.maximum(use.sum(axis=1), 1)
    w, d, c = white.sum(axis=1) / n, dark.sum(axis=1) / n, coloured.sum(axis=1) / n
    e = _off_white_share(hsv, white, bright, coloured, n, felt, limit)
    names, margins = _colours(hue, val / ref, coloured)
    return [
        _decide(float(w[i]), float(d[i]), float(c[i]), float(e[i]), *(
            (names[i], float(margins[i])) if c[i] > 0.04 else (None, 0.0)))
        for i in range(len(samples))
    ]  # fmt: skip


def _off_white_share(
    hsv: F64, white: Mask, bright: Mask, coloured: Mask, n: F64, felt: F64, limit: float
) -> F64:
    """Per ball, the share of its ``n`` samples that read as coloured but are white seen through
    blur or a cast (see :func:`_off_white`), where they tell a cue ball (see :func:`_decide`),
    else 0. Blurred ones must be more than the outermost ring of samples holds (a stripe seen
    along its axis shows its band only there, in the cloth's hue if it is the cloth's colour)
    and leave the centre (inside 0.43 radii, the two inner rings) white: blur mixes a disc with
    the cloth from its edge, while a moving stripe's band, blurred into its caps, crosses the
    middle. Cast ones must be a quarter of the disc or ``TINTED`` of its coloured samples, with
    the ball's white pixels themselves within 20 of the white limit on average: a cast tints
    all of a ball's white, while a pale band blurred into a stripe's caps is a second
    population beside clean whites. Looked for only where they could make a cue ball."""
    w, c = white.sum(axis=1) / n, coloured.sum(axis=1) / n
    e = np.zeros(len(n))
    rows = np.flatnonzero((w >= 0.3) & (c * n > len(SPOKES)) & (w + c > 0.8))
    if len(rows):
        blur, tint = _off_white(hsv[rows], white[rows], bright[rows], felt[rows], limit)
        blur, tint = blur & coloured[rows], tint & coloured[rows]
        centre = coloured[rows, : 2 * len(SPOKES)].sum(axis=1) <= 0.1 * 2 * len(SPOKES)
        whites = (hsv[rows, :, 1] * white[rows]).sum(axis=1) / np.maximum(
            white[rows].sum(axis=1), 1
        )
        tinted = tint.sum(axis=1)
        cast = (tinted >= 0.25 * n[rows]) | (tinted >= TINTED * coloured[rows].sum(axis=1))
        enough = ((blur.sum(axis=1) > len(SPOKES)) & centre) | (cast & (whites >= limit - 20))
        e[rows] = np.where(enough, (blur | tint).sum(axis=1) / n[rows], 0.0)
    return e


def _off_white(hsv: F64, white: Mask, bright: Mask, felt: F64, limit: float) -> tuple[Mask, Mask]:
    """Pixels (B, P) that would be white but for blur, and but for the lamp's cast. Blur: of the
    felt's hue, at most 0.6 of its saturation and brighter than it (white mixed with the cloth
    along a fast ball's path; the ball's own colour mixed with the cloth stays as saturated as
    the paint). Cast: bright, of the hue of the ball's white pixels and less than 45 above the
    white limit (the cast on an unclipped white; paint is far more saturated)."""
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    cloth = np.asarray(
        cv2.cvtColor(np.clip(felt, 0, 255).astype(np.uint8)[None], cv2.COLOR_BGR2HSV)[0],
        np.float64,
    )[:, :, None]
    blur = (_hue_gap(hue, cloth[:, 0]) < 12) & (sat < 0.6 * cloth[:, 1]) & (val > cloth[:, 2])
    angle = hue * (np.pi / 90)  # OpenCV hue (0-180) to radians
    whites = np.arctan2((np.sin(angle) * white).sum(axis=1), (np.cos(angle) * white).sum(axis=1))
    cast = bright & (_hue_gap(hue, whites[:, None] * (90 / np.pi)) < 12) & (sat < limit + 45)
    return np.asarray(blur), np.asarray(cast)


def _hue_gap(a: F64, b: F64) -> F64:
    """Distance between OpenCV hues (0-180, a circle), broadcast."""
    gap = np.abs(a - b) % 180
    return np.asarray(np.minimum(gap, 180 - gap))


def quantile_rows(ordered: NDArray[Any], q: float) -> NDArray[Any]:
    """``np.quantile(x, q, axis=1)`` (linear, bit for bit) of rows already sorted: one column
    or two instead of numpy's general machinery."""
    n = ordered.shape[1]
    at = (n - 1) * q
    lo = int(np.floor(at))
    gamma = at - lo
    a, b = ordered[:, lo], ordered[:, min(lo + 1, n - 1)]
    diff = b - a
    return np.asarray(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)


_NAMES = list(COLOURS)
_REF_HUE = np.array([h for h, _ in COLOURS.values()], np.float64)
_REF_VALUE = np.array([v for _, v in COLOURS.values()], np.float64)


def _colours(hue: F64, rel_value: F64, sel: NDArray[np.bool_]) -> tuple[list[str], F64]:
    """Per ball (rows), the nearest reference colour to the selected pixels' mean hue (on the
    circle) and median value, and the margin to the second nearest (rows with nothing
    selected give rubbish, which the caller ignores)."""
    count = np.maximum(sel.sum(axis=1), 1)
    angle = hue * (2 * np.pi / 180)
    sin = (np.sin(angle) * sel).sum(axis=1) / count
    cos = (np.cos(angle) * sel).sum(axis=1) / count
    h = (np.arctan2(sin, cos) % (2 * np.pi)) * 180 / (2 * np.pi)
    # median: the middle one or two of the selected values, the others sorted past them
    ordered = np.sort(np.where(sel, rel_value, np.inf), axis=1)
    rows = np.arange(len(ordered))
    v = (ordered[rows, (count - 1) // 2] + ordered[rows, count // 2]) / 2
    v = np.where(sel.any(axis=1), v, 1.0)
    dh = np.abs(h[:, None] - _REF_HUE[None, :])
    dh = np.minimum(dh, 180 - dh)
    cost = dh / 10.0 + np.abs(np.log(np.maximum(v, 1e-3)[:, None] / _REF_VALUE[None, :])) * 1.5
    best = np.argmin(cost, axis=1)
    two = np.sort(cost, axis=1)
    margin = np.minimum(np.maximum((two[:, 1] - two[:, 0]) / 1.5, 0.0), 1.0)
    return [_NAMES[i] for i in best], np.asarray(margin, np.float64)


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
    if w >= 0.3:
        kind_conf = min(1.0, (w - 0.22) * 6)
        return Look("stripe", colour, base + 8, kind_conf * max(conf, 0.3), w, d)
    kind_conf = min(1.0, (0.3 - w) * 6)
    return Look("solid", colour, base, kind_conf * max(conf, 0.3), w, d)
