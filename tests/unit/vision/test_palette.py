"""Kinds from a ball's disc samples: the cue ball under blur and a lamp's cast, and the stripes
that look most like it."""

from __future__ import annotations

import cv2
import numpy as np

from nodes.vision import palette

X = palette.PATTERN[:, 0]
RADIUS = np.hypot(palette.PATTERN[:, 0], palette.PATTERN[:, 1])
OUTER = RADIUS > 0.87  # the outermost ring of samples, a seventh of them

BLUE_CLOTH = (226.0, 118.0, 35.0)  # BGR, brightly lit
WHITE = np.array([250, 248, 245], np.uint8)


def disc(colour: np.ndarray, where: np.ndarray, rest: np.ndarray = WHITE) -> np.ndarray:
    """Samples of one ball (1, P, 3): ``colour`` where ``where``, ``rest`` elsewhere."""
    out = np.tile(rest, (len(X), 1))
    out[where] = colour
    return out[None].astype(np.uint8)


def hsv(h: float, s: float, v: float) -> np.ndarray:
    return cv2.cvtColor(np.array([[[h, s, v]]], np.uint8), cv2.COLOR_HSV2BGR)[0, 0]


def kind(samples: np.ndarray, felt: tuple[float, float, float]) -> list[str]:
    felts = np.tile(np.array(felt), (len(samples), 1))
    return [look.kind for look in palette.classify_all(samples, felts)]


def test_a_fast_cue_ball_blurred_with_the_cloth_is_the_cue_ball():
    # the disc's edge at the end of its path, half white and half cloth; its centre stays white
    mix = ((WHITE.astype(float) + np.array(BLUE_CLOTH)) / 2).astype(np.uint8)
    assert kind(disc(mix, (X < -0.2) & (RADIUS > 0.5)), BLUE_CLOTH) == ["cue"]


def test_a_moving_stripe_of_the_cloths_colour_blurred_into_its_caps_stays_a_stripe():
    # as pale as the cue ball's blurred edge, but its band crosses the middle
    mix = ((WHITE.astype(float) + np.array(BLUE_CLOTH)) / 2).astype(np.uint8)
    assert kind(disc(mix, np.abs(palette.PATTERN[:, 1]) < 0.25), BLUE_CLOTH) == ["stripe"]


def test_a_stripe_of_the_cloths_colour_seen_along_its_axis_stays_a_stripe():
    # its band shows only in the outermost ring: as paint, or as pale as blur would make it
    paint = np.array([154, 63, 29], np.uint8)
    pale = ((WHITE.astype(float) + np.array(BLUE_CLOTH)) / 2).astype(np.uint8)
    assert kind(disc(paint, OUTER), BLUE_CLOTH) == ["stripe"]
    assert kind(disc(pale, OUTER), BLUE_CLOTH) == ["stripe"]


def test_a_cue_ball_under_a_warm_cast_stronger_than_the_clipped_whites_show():
    olive = (29.0, 76.0, 73.0)
    # a stripe's caps in the lamp's hot spot: clipped, barely tinted
    caps = disc(hsv(25, 200, 170), RADIUS < 0.3, rest=hsv(20, 50, 250))
    # the cue ball in a dim corner: the full cast, either side of the white limit
    cue = disc(hsv(18, 115, 220), X < 0.0, rest=hsv(18, 85, 220))
    solid = disc(hsv(12, 230, 230), RADIUS < 0.9, rest=hsv(18, 85, 220))
    # a pale orange band blurred into clean white caps: not a cast
    stripe = disc(hsv(14, 110, 220), X < 0.0, rest=hsv(18, 30, 230))
    looks = kind(np.concatenate([caps, cue, solid, stripe]), olive)
    assert looks == ["stripe", "cue", "solid", "stripe"]


def test_a_cue_ball_under_a_cool_cast_with_a_fifth_of_it_just_over_the_white_limit(monkeypatch):
    slate = (110.0, 90.0, 75.0)
    caps = disc(hsv(25, 200, 170), RADIUS < 0.3, rest=hsv(105, 20, 250))  # clipped whites
    # a cue ball in a blue corner of the table (white balance off): all of it tinted, part of
    # it past the white limit; a blue stripe there shows its paint beside caps as tinted
    side = X > 0.45
    assert 0.1 < side.mean() < 0.25  # less than the quarter a cast needed before
    cue = disc(hsv(110, 95, 200), side, rest=hsv(110, 62, 200))
    stripe = disc(hsv(112, 220, 150), np.abs(palette.PATTERN[:, 1]) < 0.3, rest=hsv(110, 62, 200))
    assert kind(np.concatenate([caps, cue, stripe]), slate) == ["stripe", "cue", "stripe"]
    monkeypatch.setattr(palette, "TINTED", 2.0)  # a quarter of the disc, as before
    # ball by ball: two blue stripes in one frame would make one of them the blue solid
    monkeypatch.setattr(palette, "_one_each", lambda looks, costs: looks)
    assert kind(np.concatenate([caps, cue, stripe]), slate) == ["stripe", "stripe", "stripe"]


def test_an_eight_under_a_blue_cast_is_the_eight_and_the_blue_two_is_not(monkeypatch):
    # the eight in a cluster under a blue cast: under 40 % of it dark, the rest dark saturated
    # blue; the 2 beside it is as saturated and much brighter, never more than a tenth dark
    grey = (100.0, 120.0, 85.0)
    eight = disc(hsv(112, 200, 60), RADIUS >= 0.5, rest=hsv(110, 120, 25))
    assert 0.25 < (RADIUS < 0.5).mean() < 0.4
    two = disc(hsv(112, 210, 170), RADIUS < 0.95, rest=hsv(112, 120, 40))
    caps = disc(hsv(25, 200, 170), RADIUS < 0.3, rest=hsv(105, 20, 250))  # the frame's whites
    balls = np.concatenate([caps, eight, two])
    assert kind(balls, grey) == ["stripe", "eight", "solid"]
    assert 0.0 < palette.classify_all(eight, np.array([grey]))[0].confidence < 1.0
    monkeypatch.setattr(palette, "EIGHT_DARK", 0.4)  # the rule before: 40 % dark
    monkeypatch.setattr(palette, "EIGHT_COLOURED", 0.6)
    assert kind(balls, grey) == ["stripe", "solid", "solid"]


def test_the_compiled_sums_and_quantiles_are_numpys_bit_for_bit():
    # the kinds were decided by numpy before they were compiled: the same numbers, the same
    # decisions at every threshold
    rng = np.random.default_rng(3)
    for n in [*range(0, 300), 1000, 4097]:
        values = rng.standard_normal(n + 2) * 10 ** rng.uniform(-3, 3, n + 2)
        assert palette.pairwise_sum(values, 2, n) == values[2:].sum()
        if n:
            levels = rng.integers(0, 256, n)
            histogram = np.bincount(levels, minlength=256).astype(np.int64)
            for q in (0.15, 0.5, 0.96):
                assert palette._quantile(histogram, n, q) == np.quantile(levels.astype(float), q)


def test_of_two_balls_that_read_as_the_cue_ball_the_less_white_is_a_stripe_on_its_cap():
    red = np.array([40, 40, 220], np.uint8)
    band = OUTER & (palette.PATTERN[:, 0] > 0.5)  # a sliver of red band at the edge
    stripe, cue = disc(red, band), disc(red, np.zeros(len(X), bool))
    alone = palette.classify_all(stripe, np.tile(np.array(BLUE_CLOTH), (1, 1)))
    assert [look.kind for look in alone] == ["cue"]  # nothing whiter in the frame
    both = palette.classify_all(np.concatenate([stripe, cue]), np.tile(BLUE_CLOTH, (2, 1)))
    assert [look.kind for look in both] == ["stripe", "cue"]
    assert both[0].number is None or 9 <= both[0].number <= 15  # a stripe's, if any
    assert 0.0 < both[0].confidence <= 1.0


def test_two_balls_nearest_to_one_colour_share_the_colours_as_a_whole():
    # a red 3 and a maroon 7 lit brighter than usual, both nearest to red; the cue ball shows
    # the frame's whites
    felt = (60.0, 110.0, 40.0)  # green cloth
    cue, everywhere = disc(WHITE, np.zeros(len(X), bool)), np.ones(len(X), bool)
    three = disc(np.array([30, 30, 200], np.uint8), everywhere)
    seven = disc(np.array([40, 25, 150], np.uint8), everywhere)
    alone = palette.classify_all(np.concatenate([cue, seven]), np.tile(felt, (2, 1)))
    assert alone[1].number == 3  # without the red 3, these pixels are nearest to red
    both = palette.classify_all(np.concatenate([cue, three, seven]), np.tile(felt, (3, 1)))
    assert [look.number for look in both] == [0, 3, 7]
    assert both[2].confidence <= palette.DISPLACED < both[1].confidence


def test_a_stripe_showing_little_white_beside_the_solid_of_its_colour_is_the_stripe():
    felt = (60.0, 110.0, 40.0)
    cue, yellow = disc(WHITE, np.zeros(len(X), bool)), np.array([20, 200, 230], np.uint8)
    one = disc(yellow, RADIUS < 2.0)
    nine = disc(yellow, np.abs(palette.PATTERN[:, 1]) < 0.6)  # the band, a little of the caps
    alone = palette.classify_all(np.concatenate([cue, nine]), np.tile(felt, (2, 1)))
    assert (alone[1].kind, alone[1].number) == ("solid", 1)  # under 30 % white
    looks = palette.classify_all(np.concatenate([cue, one, nine]), np.tile(felt, (3, 1)))
    assert [(look.kind, look.number) for look in looks] == [("cue", 0), ("solid", 1), ("stripe", 9)]


def test_a_stripe_of_the_cloths_colour_on_its_cap_is_less_white_than_the_cue_ball():
    # a maroon 15 on maroon cloth seen on its cap, a sliver of band at the edge, and the cue
    # ball with one speck of colour: counting the cloth's hue as white made the stripe whiter
    maroon_cloth = (40.0, 30.0, 120.0)
    maroon = np.array([45, 25, 115], np.uint8)
    sliver = OUTER & (palette.PATTERN[:, 0] > 0.85)  # three samples
    speck = np.zeros(len(X), bool)
    speck[-1] = True
    stripe = disc(maroon, sliver)
    cue = disc(np.array([200, 60, 40], np.uint8), speck)
    looks = palette.classify_all(np.concatenate([stripe, cue]), np.tile(maroon_cloth, (2, 1)))
    assert [look.kind for look in looks] == ["stripe", "cue"]
