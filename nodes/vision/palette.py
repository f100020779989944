"""A ball's kind (cue, eight, solid, stripe) and colour from the pixels inside its rim.

Inside 0.92 radii, pixels are white (low saturation, bright for the local lighting), dark
(the black of the eight) or coloured; the brightest few percent (the lamp's highlight) are
ignored. A pool ball's pattern sets the shares: the cue ball is nearly all white; the eight
mostly dark; a solid shows at most its number circle in white (under 20 % seen straight on),
a stripe at least 35 % (its two white caps). The colour is the nearest reference hue (and
brightness, which tells red from maroon); with the kind it suggests the number.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from protocol.messages.vision import BallKind

F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]

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


def disc_pixels(image: U8, x: float, y: float, r: float) -> U8:
    """BGR pixels within 0.92 r of (x, y) (N, 3)."""
    reach = int(np.ceil(r)) + 1
    xi, yi = round(x), round(y)
    y0, y1 = max(0, yi - reach), min(image.shape[0], yi + reach + 1)
    x0, x1 = max(0, xi - reach), min(image.shape[1], xi + reach + 1)
    patch = image[y0:y1, x0:x1]
    gy, gx = np.mgrid[y0:y1, x0:x1]
    inside = (gx - x) ** 2 + (gy - y) ** 2 <= (0.92 * r) ** 2
    return np.asarray(patch[inside], dtype=np.uint8)


def classify(pixels: U8, felt_value: float) -> Look:
    """Kind and colour of a ball from its disc pixels; ``felt_value`` is the local felt's HSV
    value (0-255) so whites and darks are judged against the lighting there."""
    if len(pixels) < 8:
        return Look("unknown", None, None, 0.0, 0.0, 0.0)
    hsv = (
        cv2.cvtColor(pixels.reshape(-1, 1, 3), cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.float64)
    )
    hue, sat, val = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    cut = np.quantile(val, 0.96)
    use = val <= cut
    hue, sat, val = hue[use], sat[use], val[use]
    ref = max(felt_value, 20.0)
    white = (sat < 70) & (val > 1.35 * ref)
    dark = (val < 0.45 * ref) & (sat < 150) | (val < 0.25 * ref)
    coloured = ~white & ~dark & (sat >= 70)
    n = float(len(val))
    w, d, c = white.sum() / n, dark.sum() / n, coloured.sum() / n
    colour, colour_conf = _colour(hue[coloured], val[coloured] / ref) if c > 0.04 else (None, 0.0)
    return _decide(w, d, c, colour, colour_conf)


def _colour(hue: F64, rel_value: F64) -> tuple[str | None, float]:
    """Nearest reference colour to the coloured pixels' median hue and value."""
    if len(hue) == 0:
        return None, 0.0
    angle = hue * (2 * np.pi / 180)
    mean = np.arctan2(np.sin(angle).mean(), np.cos(angle).mean()) % (2 * np.pi)
    h = float(mean * 180 / (2 * np.pi))
    v = float(np.median(rel_value))
    best, best_cost, second = None, np.inf, np.inf
    for name, (ref_h, ref_v) in COLOURS.items():
        dh = min(abs(h - ref_h), 180 - abs(h - ref_h))
        cost = dh / 10.0 + abs(np.log(max(v, 1e-3) / ref_v)) * 1.5
        if cost < best_cost:
            best, best_cost, second = name, cost, best_cost
        elif cost < second:
            second = cost
    margin = float(np.clip((second - best_cost) / 1.5, 0.0, 1.0))
    return best, margin


def _decide(w: float, d: float, c: float, colour: str | None, conf: float) -> Look:
    if w > 0.8 and c < 0.08:
        return Look("cue", "white", 0, float(min(1.0, (w - 0.6) * 3)), w, d)
    if d > 0.45 and c < 0.25:
        return Look("eight", "black", 8, float(min(1.0, (d - 0.3) * 3)), w, d)
    if colour is None:
        return Look("unknown", None, None, 0.2, w, d)
    base = NUMBERS[colour]
    if w >= 0.3:
        kind_conf = min(1.0, (w - 0.22) * 6)
        return Look("stripe", colour, base + 8, kind_conf * max(conf, 0.3), w, d)
    kind_conf = min(1.0, (0.3 - w) * 6)
    return Look("solid", colour, base, kind_conf * max(conf, 0.3), w, d)
