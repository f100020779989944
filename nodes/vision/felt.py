"""What the empty felt looks like, and how far each pixel of a frame is from it.

The felt model is a smooth image of the cloth without balls (lamp hot-spots, vignetting and
cloth colour included), kept at half resolution in log space. A pixel's *score* is how unlike
the felt it is, in a way that shadows and lighting changes barely move:

- chroma: the spread of log(frame / felt) across the three channels. A shadow or a dimmer lamp
  scales all channels alike (spread 0); any ball colour, white and black included, does not.
- brightness: the mean log ratio, counted only when much brighter (white, yellow balls on a
  grey cloth) or much darker (the black ball on a grey cloth) than a shadow can make the felt.

Global lighting changes (exposure, colour temperature) are removed per frame by subtracting
each channel's median log ratio over the table.
"""

from __future__ import annotations

import cv2
import numba
import numpy as np
from numpy.typing import NDArray

from nodes.vision import rim

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I16 = NDArray[np.int16]
U8 = NDArray[np.uint8]

LOG_LUT: F32 = np.log(np.arange(256, dtype=np.float32) + 6.0).reshape(1, 256).astype(np.float32)
"""cv2.LUT table: byte -> log(byte + 6) (the offset keeps dark noise from exploding)."""

FIXED = 64.0  # fixed-point scale of log values
LOG_LUT16 = np.round(LOG_LUT * FIXED).astype(np.int16)
LOG_BASE = int(LOG_LUT16.min())  # 115: log(6) in fixed point
LOG_LUT8 = (LOG_LUT16 - LOG_BASE).astype(np.uint8)
"""cv2.LUT table: byte -> fixed-point log less ``LOG_BASE`` (0-241 fits a byte, and a
byte-to-byte table is several times faster than one to 16 bits)."""
BRIGHT = 0.3  # log ratio a pixel may be brighter than the felt before it counts
DARK = 0.8  # ... or darker (plus the threshold: a contact shadow reaches about -0.9)
SCORE_UNIT = 3 * FIXED  # score units per log unit


class FeltModel:
    """Log image of the empty felt at working resolution, refreshed from unoccupied pixels."""

    def __init__(self, log_felt: F32, roi: U8) -> None:
        self.log_felt = log_felt
        self.roi = roi
        ys, xs = np.nonzero(roi[::4, ::4])
        self.sample = (4 * ys * roi.shape[1] + 4 * xs).astype(np.intp)  # flat pixel indices
        self.offset = np.zeros(3, np.float32)
        self._fixed: NDArray[np.int16] | None = None
        self._felt_sampled: NDArray[np.int16] = np.zeros((0, 3), np.int16)

    @staticmethod
    def from_image(small: U8, roi: U8, mask: U8 | None = None) -> FeltModel:
        """A felt model from a working-resolution BGR frame (``mask``: pixels that are felt)."""
        log_img = np.asarray(cv2.LUT(small, LOG_LUT), dtype=np.float32)
        return FeltModel(_smooth(log_img, roi if mask is None else mask), roi)

    def refresh(self, small: U8, felt: U8, weight: float = 0.5) -> None:
        """Blend in the felt seen now (``felt``: 255 where the frame shows bare felt)."""
        log_img = np.asarray(cv2.LUT(small, LOG_LUT), dtype=np.float32)
        fresh = _smooth(log_img, felt)
        blend = cv2.addWeighted(self.log_felt, 1.0 - weight, fresh, weight, 0.0)
        self.log_felt = np.asarray(blend, dtype=np.float32)
        self._fixed = None

    def score(self, small: U8) -> NDArray[np.int16]:
        """How unlike the felt each pixel of a working-resolution BGR frame is, in units of
        1 / ``SCORE_UNIT`` log: the larger of the chroma spread, the brightening past
        ``BRIGHT`` and the darkening past ``DARK``.

        Fixed point: log values times 64, small integers, in one compiled pass (numba): as
        a dozen OpenCV calls, each read and wrote the whole image.
        """
        h, w = small.shape[:2]
        return self.scored(small, np.zeros((h, w), np.uint8), np.inf)[0]

    def scored(
        self, small: U8, roi: U8, threshold: float, spans: NDArray[np.intp] | None = None
    ) -> tuple[NDArray[np.int16], U8]:
        """:meth:`score`, and ``roi`` where the score is above ``threshold`` (log units; 0
        elsewhere: :func:`threshold_score` and'ed with ``roi``), in the same pass. Given
        ``spans`` (per row, the columns [x0, x1) wanted, holding all of ``roi``'s pixels),
        only those pixels are scored, the others set to 0."""
        felt16 = self.log_felt16
        # the frame's exposure and colour offset from the sampled pixels alone...
        flat = small.reshape(-1, 3)
        self.offset = (_median_offset(flat, self.sample, self._felt_sampled) / FIXED).astype(
            np.float32
        )
        shift = np.round(self.offset * FIXED).astype(np.int32)
        # ... then log(frame) - offset - log(felt), as (log(frame) - base) - (log(felt) - base
        # + offset): small integers, exactly
        h, w = small.shape[:2]
        if spans is None:
            spans = np.zeros((h, 2), np.intp)
            spans[:, 1] = w
        out, unlike = np.empty((h, w), np.int16), np.empty((h, w), np.uint8)
        limit = round(threshold * SCORE_UNIT) if np.isfinite(threshold) else np.iinfo(np.int32).max
        small, roi = np.ascontiguousarray(small), np.ascontiguousarray(roi)
        _score(small, felt16, shift - LOG_BASE, spans, roi, limit, out, unlike)
        return out, unlike

    def mask(self, small: U8, threshold: float) -> U8:
        """255 where a working-resolution BGR frame is unlike the felt (score > threshold)."""
        return threshold_score(self.score(small), threshold)

    @property
    def log_felt16(self) -> NDArray[np.int16]:
        """The felt's log image in fixed point (cached until the model changes)."""
        if self._fixed is None:
            self._fixed = np.round(self.log_felt * FIXED).astype(np.int16)
            self._felt_sampled = self._fixed.reshape(-1, 3)[self.sample]
        return self._fixed


_BRIGHT_AT = round(3 * BRIGHT * FIXED)  # 58: brightening (score units) that starts to count
_DARK_AT = round(3 * DARK * FIXED)  # 154: and darkening
_MIDDLE = -(_DARK_AT - _BRIGHT_AT) // 2  # -48: half way between the two
_REACH = (_DARK_AT + _BRIGHT_AT) // 2  # 106: from there to either limit
_LUT8 = LOG_LUT8.ravel()
_LUT16 = LOG_LUT16.ravel().astype(np.int32)
_SPAN = 2 * 256  # fixed-point logs lie in [LOG_BASE, LOG_BASE + 241]: differences within this


@numba.njit(cache=True, nogil=True)
def _score(
    small: U8, felt16: NDArray[np.int16], less: NDArray[np.int32], spans: NDArray[np.intp],
    roi: U8, limit: int, out: I16, unlike: U8,
) -> None:  # fmt: skip
    """Into ``out``, the score of each pixel of ``small`` (BGR) against the felt's fixed-point
    log image ``felt16`` less ``less`` (per channel, the offset less ``LOG_BASE``): the larger
    of three times the chroma spread and the brightness past ``BRIGHT`` or ``DARK``; only in
    each row's span [x0, x1) of ``spans``, 0 elsewhere. Integer arithmetic throughout (the
    values stay far inside int16), one pass instead of a dozen OpenCV calls on whole images.
    Into ``unlike``, ``roi`` where the score is above ``limit``, 0 elsewhere (all 0 outside
    the spans).
    Row by row, the table lookups first into a buffer, then the arithmetic on it (a loop
    without lookups, which the compiler vectorises)."""
    h, w = out.shape
    bytes_, felt = small.reshape(h, 3 * w), felt16.reshape(h, 3 * w)
    logs = np.empty(3 * w, np.int16)  # log less the felt's, per channel value
    for y in range(h):
        x0, x1 = max(spans[y, 0], 0), min(spans[y, 1], w)
        out[y, :x0] = 0
        out[y, x1:] = 0
        unlike[y, :x0] = 0
        unlike[y, x1:] = 0
        # views of the span, indexed from 0: loops the compiler can vectorise (from x0, it
        # did not)
        row, felt_row = bytes_[y, 3 * x0 : 3 * x1], felt[y, 3 * x0 : 3 * x1]
        out_row, unlike_row, inside = out[y, x0:x1], unlike[y, x0:x1], roi[y, x0:x1]
        for i in range(len(row)):
            logs[i] = np.int16(_LUT8[row[i]]) - felt_row[i]
        for x in range(len(out_row)):
            b = np.int32(logs[3 * x]) - less[0]
            g = np.int32(logs[3 * x + 1]) - less[1]
            r = np.int32(logs[3 * x + 2]) - less[2]
            spread = max(max(b, g), r) - min(min(b, g), r)
            # brighter by more than BRIGHT or darker by more than DARK, at once: total - 58
            # and -154 - total (the limits rounded to integers) are |total + 48| - 106 at
            # their larger
            brightness = abs(b + g + r - _MIDDLE) - _REACH
            score = max(3 * spread, brightness)
            out_row[x] = score
            unlike_row[x] = inside[x] if score > limit else 0


@numba.njit(cache=True, nogil=True)
def _median_offset(flat: U8, sample: NDArray[np.intp], felt: NDArray[np.int16]) -> F64:
    """Per channel, the median of the fixed-point log of the ``sample`` pixels of ``flat``
    ((N, 3) BGR) less the felt's there (``felt``, (len(sample), 3)), from a histogram of the
    integer differences."""
    out = np.zeros(3)
    n = len(sample)
    if n == 0:
        return out
    for c in range(3):
        histogram = np.zeros(2 * _SPAN, np.int64)
        for i in range(n):
            at = _LUT16[flat[sample[i], c]] - felt[i, c] + _SPAN
            histogram[min(max(at, 0), 2 * _SPAN - 1)] += 1  # (never clipped: memory safety)
        out[c] = (rim.rank(histogram, (n - 1) // 2) + rim.rank(histogram, n // 2) - 2 * _SPAN) / 2
    return out


def _smooth(log_img: F32, mask: U8) -> F32:
    """Normalised convolution: the masked image blurred, divided by the blurred mask."""
    h, w = mask.shape
    small = (max(8, w // 8), max(8, h // 8))
    weight = cv2.resize((mask > 0).astype(np.float32), small, interpolation=cv2.INTER_AREA)
    masked = np.zeros_like(log_img)  # the image where the mask is set, 0 elsewhere
    cv2.copyTo(log_img, mask, masked)
    values = cv2.resize(masked, small, interpolation=cv2.INTER_AREA)
    sigma = max(small) / 40
    weight = cv2.GaussianBlur(weight, (0, 0), sigma)
    values = cv2.GaussianBlur(values, (0, 0), sigma)
    smooth = values / np.maximum(weight, 1e-3)[:, :, None]
    # where nothing was seen (outside the table), keep the mean so the image stays defined
    mean = values.reshape(-1, 3).sum(0) / max(float(weight.sum()), 1e-3)
    smooth[weight < 1e-3] = mean
    return np.asarray(cv2.resize(smooth, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)


def threshold_score(score: NDArray[np.int16], threshold: float) -> U8:
    """255 where a felt score (:meth:`FeltModel.score`) is above ``threshold`` (log units)."""
    limit = np.array(float(round(threshold * SCORE_UNIT)))
    return np.asarray(cv2.compare(score, limit, cv2.CMP_GT), dtype=np.uint8)
