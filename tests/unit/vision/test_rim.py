"""Where a rim's step is placed along a ray."""

from __future__ import annotations

import numpy as np

from nodes.vision import rim

BALL = np.array([130.0, 50.0, 30.0])  # BGR: a dark blue ball ...
FELT = np.array([40.0, 110.0, 60.0])  # ... on green cloth, differing more in colour than luma


def smeared_step(size: int = 24, at: int = 12) -> np.ndarray:
    """One ray's sRGB bytes (size, 3) across a ball's edge as JPEG leaves it: the luma steps
    between samples ``at - 1`` and ``at``, the colour (less its luma) ramps over six samples
    from two before the step (chroma kept at half resolution and interpolated)."""
    luma = np.asarray(rim.LUMA[0], np.float64)
    y_ball, y_felt = BALL @ luma, FELT @ luma
    s = np.arange(size)
    y = np.where(s < at, y_ball, y_felt)
    share = np.clip((s - (at - 2)) / 6, 0.0, 1.0)[:, None]
    chroma = (1 - share) * (BALL - y_ball) + share * (FELT - y_felt)
    return np.asarray(np.clip(np.rint(y[:, None] + chroma), 0, 255), np.uint8)


def test_a_step_whose_colour_is_smeared_is_placed_where_its_luma_steps():
    # placed by colour, this step lands a whole sample (half a pixel) out, on the smear
    flat = smeared_step()
    pos = rim._half_way(flat[None], 0, 12, False)  # ray 0 of one, the step found at 12
    assert abs(pos - 11.5) < 0.1


def test_a_step_without_a_luma_change_is_placed_by_its_colour():
    luma = np.asarray(rim.LUMA[0], np.float64)
    felt = FELT + (BALL @ luma - FELT @ luma)  # the cloth's colour at the ball's luma
    s = np.arange(24)[:, None]
    flat = np.asarray(np.rint(np.where(s < 12, BALL, felt)), np.uint8)
    pos = rim._half_way(flat[None], 0, 12, False)  # ray 0 of one, the step found at 12
    assert abs(pos - 11.5) < 0.1


def test_where_the_chroma_was_subsampled_a_colour_step_is_placed_between_its_plateaux():
    luma = np.asarray(rim.LUMA[0], np.float64)
    felt = FELT + (BALL @ luma - FELT @ luma)  # the cloth's colour at the ball's luma
    share = np.clip((np.arange(24) - 8.5) / 6, 0.0, 1.0)[:, None]  # smeared over 3 px
    ramp = np.asarray(np.rint((1 - share) * BALL + share * felt), np.uint8)
    # the step found a sample outside the ramp's middle (11.5), as felt beyond pulls it: the
    # levels half a pixel inside and a pixel outside lie on the ramp and follow the step
    assert rim._half_way(ramp[None], 0, 13, False) > 12.5
    assert abs(rim._half_way(ramp[None], 0, 13, True) - 11.5) < 0.1


def test_where_the_chroma_was_subsampled_a_dark_limb_on_shaded_cloth_is_placed_by_colour():
    # a ball as bright as the cloth: its limb darkens towards the edge (11.5) and the cloth
    # beyond lies in its shadow, so the luma dips there and does not step; the colour (less
    # its luma) ramps over six samples. Between the samples the luma is read at, the smear
    # leaves half the colour's change and the dip's rise passes for a luma step, placed well
    # outside; the colour's change beyond the smear shows the step is one of colour.
    luma = np.asarray(rim.LUMA[0], np.float64)
    felt = FELT + (BALL @ luma - FELT @ luma)  # the cloth's colour at the ball's luma
    dip = np.zeros(24)
    dip[9:16] = [2, 6, 12, 12, 8, 4, 1]
    y = BALL @ luma - dip
    share = np.clip((np.arange(24) - 8.5) / 6, 0.0, 1.0)[:, None]
    chroma = (1 - share) * (BALL - BALL @ luma) + share * (felt - BALL @ luma)
    ray = np.asarray(np.clip(np.rint(y[:, None] + chroma), 0, 255), np.uint8)[None]
    assert rim._half_way(ray, 0, 13, True) > 12.5  # the step found a sample and a half out
    assert abs(rim._half_way(ray, 0, 13, True, True) - 11.5) < 0.5
