"""The sensor after the optics: Gaussian read noise plus signal-dependent shot noise, optional
JPEG artefacts, and the tint that applies brightness and white-balance drift to a cached layer.

Noise comes from a bank of pre-drawn Gaussian values larger than the image; each frame reads it
at a random offset (seeded by the frame number), so frames differ, runs repeat, and no normal
variates are drawn per frame.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]

BANK_MARGIN = 96
FIXED = 16  # noise bank values are N(0, 1) * FIXED


GAIN_STEP = 1.0 / 400  # drift is applied in steps this small (well under one 8-bit level)


def tint(image: U8, gain: F64) -> U8:
    """An 8-bit BGR image with each channel scaled by ``gain`` (B, G, R), saturating."""
    return np.asarray(cv2.transform(image, np.diag(gain).astype(np.float32)), np.uint8)


def quantized(gain: F64) -> F64:
    """The gain rounded to GAIN_STEP, so cached tinted layers can be reused frame to frame."""
    return np.asarray(np.round(gain / GAIN_STEP) * GAIN_STEP, np.float64)


class Sensor:
    """Applies the per-frame sensor effects to an 8-bit BGR image, in place."""

    def __init__(
        self,
        width: int,
        height: int,
        *,
        read_noise: float,
        shot_noise: float,
        jpeg_quality: int | None,
        seed: int,
    ) -> None:
        self.width, self.height = width, height
        self.read_noise = read_noise
        self.shot_noise = shot_noise
        self.jpeg_quality = jpeg_quality
        self.seed = seed
        self.bank: NDArray[np.int16] | None = None
        self.sigma: NDArray[np.int16] | None = None
        if read_noise > 0 or shot_noise > 0:
            rng = np.random.default_rng([seed, 0x5E45])
            shape = (height + BANK_MARGIN, width + BANK_MARGIN, 3)
            bank = rng.standard_normal(shape, dtype=np.float32) * FIXED
            self.bank = np.clip(np.rint(bank), -127, 127).astype(np.int16)

    def calibrate(self, image: U8) -> None:
        """Noise levels follow this image's brightness: sigma^2 = read^2 + shot * level."""
        if self.bank is None:
            return
        levels = np.arange(256, dtype=np.float64)
        sigma = np.sqrt(self.read_noise**2 + self.shot_noise * levels)
        lut = np.clip(np.rint(sigma * FIXED), 0, 32767).astype(np.int16)
        self.sigma = lut[image]

    def expose(self, image: U8, frame: int) -> U8:
        """Noise and compression for one frame."""
        if self.bank is not None and self.sigma is not None:
            rng = np.random.default_rng([self.seed, frame])
            dy, dx = (int(v) for v in rng.integers(0, BANK_MARGIN, 2))
            noise = self.bank[dy : dy + self.height, dx : dx + self.width]
            scaled = cv2.multiply(noise, self.sigma, scale=1.0 / (FIXED * FIXED), dtype=cv2.CV_16S)
            image = np.asarray(cv2.add(image, scaled, dtype=cv2.CV_8U))
        if self.jpeg_quality is not None:
            ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
            if ok:
                image = np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR))
        return image
