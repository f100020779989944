"""sRGB encoding and decoding between 8-bit pixels and linear light (lookup tables).

Shading and compositing happen in linear light, as in a sensor; images are stored as 8-bit sRGB
in OpenCV's BGR channel order.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]

_ENCODE_STEPS = 4096


def srgb_to_linear(values: ArrayLike) -> NDArray[np.float64]:
    """sRGB in [0, 1] to linear light."""
    v = np.asarray(values, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(values: ArrayLike) -> NDArray[np.float64]:
    """Linear light to sRGB in [0, 1] (clipped)."""
    v = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


DECODE: F32 = srgb_to_linear(np.arange(256) / 255.0).astype(np.float32)
"""DECODE[byte] is the linear value of an 8-bit sRGB level."""

_ENCODE: U8 = np.round(
    linear_to_srgb((np.arange(_ENCODE_STEPS) + 0.5) / _ENCODE_STEPS) * 255.0
).astype(np.uint8)


def encode(linear: ArrayLike) -> U8:
    """Linear light (any shape, clipped to [0, 1]) to 8-bit sRGB."""
    v = np.asarray(linear, dtype=np.float32)
    idx = np.clip(v * _ENCODE_STEPS, 0, _ENCODE_STEPS - 1).astype(np.intp)
    return np.asarray(_ENCODE[idx])


def rgb(hex_or_tuple: str | tuple[int, int, int]) -> NDArray[np.float64]:
    """A colour given as sRGB '#rrggbb' or (r, g, b) bytes, as linear (B, G, R)."""
    if isinstance(hex_or_tuple, str):
        h = hex_or_tuple.lstrip("#")
        r, g, b = int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    else:
        r, g, b = hex_or_tuple
    return srgb_to_linear(np.array([b, g, r]) / 255.0)
