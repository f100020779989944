"""Balls that overlap on the table are pushed apart until they touch."""

from __future__ import annotations

import numpy as np

from nodes.vision import contact

R = 0.028575


def test_two_overlapping_balls_are_moved_apart_to_touching_along_their_line():
    table = np.array([[0.10, 0.20], [0.10 + 1.9 * R * 0.6, 0.20 + 1.9 * R * 0.8]])
    out = contact.separate(table, np.ones(2), R)
    assert np.isclose(np.hypot(*(out[1] - out[0])), 2 * R, rtol=0, atol=1e-12)
    # equally sure: each moves half, along the line between them
    assert np.allclose(out.mean(axis=0), table.mean(axis=0), atol=1e-12)
    move = out[1] - table[1]
    assert np.isclose(move[0] * 0.8 - move[1] * 0.6, 0.0, atol=1e-12)


def test_the_less_certain_ball_moves_more():
    table = np.array([[0.0, 0.0], [1.9 * R, 0.0]])
    out = contact.separate(table, np.array([0.01, 0.03]), R)  # variances 1 : 9
    gap = 0.1 * R
    assert np.isclose(table[0, 0] - out[0, 0], gap / 10, rtol=1e-9)
    assert np.isclose(out[1, 0] - table[1, 0], 9 * gap / 10, rtol=1e-9)
    assert np.allclose(out[:, 1], 0.0)


def test_balls_apart_or_overlapping_far_more_than_an_error_stay_put():
    apart = np.array([[0.0, 0.0], [2.05 * R, 0.0]])
    assert np.array_equal(contact.separate(apart, np.ones(2), R), apart)
    # two circles on one ball, or one on a pocket's mouth beside a ball: not two touching balls
    deep = np.array([[0.0, 0.0], [(2.0 - contact.LIMIT - 0.01) * R, 0.0]])
    assert np.array_equal(contact.separate(deep, np.ones(2), R), deep)
    one = np.array([[0.3, 0.1]])
    assert np.array_equal(contact.separate(one, np.ones(1), R), one)


def test_a_row_of_overlapping_balls_nearly_touches_after_the_sweeps():
    row = np.array([[0.0, 0.0], [1.95 * R, 0.0], [3.9 * R, 0.0]])
    out = contact.separate(row, np.ones(3), R)
    gaps = np.diff(out[:, 0])
    assert (gaps > 1.99 * R).all() and (gaps < 2.0001 * R).all()  # within 0.3 mm of touching
