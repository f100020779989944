"""Table geometry, pockets and jaws."""

from __future__ import annotations

import math

import pytest

from nodes.physics import Ball, Table, simulate, strike

from .conftest import first

INCH = 0.0254
NAMES = ("top_left", "top_middle", "top_right", "bottom_left", "bottom_middle", "bottom_right")


def test_nine_foot_table_has_a_100_by_50_inch_playing_surface(table):
    assert (table.length, table.width) == pytest.approx((2.54, 1.27))
    assert Table.eight_foot().length == pytest.approx(92 * INCH)
    assert Table.seven_foot().width == pytest.approx(39 * INCH)


def test_pockets_are_named_top_for_plus_y_and_left_for_minus_x(table):
    assert tuple(p.name for p in table.pockets) == NAMES
    where = {
        p.name: (math.copysign(1, p.x) if p.x else 0.0, math.copysign(1, p.y))
        for p in table.pockets
    }
    assert where == {
        "top_left": (-1, 1),
        "top_middle": (0, 1),
        "top_right": (1, 1),
        "bottom_left": (-1, -1),
        "bottom_middle": (0, -1),
        "bottom_right": (1, -1),
    }


def test_pocket_mouths_follow_wpa(table):
    corner, side = table.pocket("top_left").mouth, table.pocket("top_middle").mouth
    assert 4.5 * INCH <= corner <= 4.625 * INCH
    assert side - corner == pytest.approx(0.5 * INCH, abs=0.125 * INCH)


def test_cushion_nose_height_is_63_5_percent_of_a_ball(table, phys):
    assert table.cushion_height == pytest.approx(0.635 * 2 * phys.R)


def aimed_at(table, name: str, distance: float, speed: float) -> Ball:
    """A ball `distance` before the pocket's mouth, heading straight down the pocket's axis."""
    p = table.pocket(name)
    x, y = p.mouth_x - distance * p.axis_x, p.mouth_y - distance * p.axis_y
    return strike(Ball(0, x, y), math.degrees(math.atan2(p.axis_y, p.axis_x)), speed)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("speed", [0.6, 1.5, 6.0])
def test_ball_driven_straight_into_the_middle_of_a_pocket_drops(table, name, speed):
    sim = simulate([aimed_at(table, name, 0.4, speed)], table)
    assert [(e.type, e.pocket) for e in sim.events if e.type in ("pocket", "cushion")] == [
        ("pocket", name)
    ]
    final = sim.final()[0]
    assert (final.pocketed, final.pocket) == (True, name)
    assert (final.x, final.y) == (table.pocket(name).x, table.pocket(name).y)


def test_straight_shot_into_corner_pocket_is_pocketed(table):
    p = table.pocket("top_right")
    ox, oy = p.mouth_x - 0.5 * p.axis_x, p.mouth_y - 0.5 * p.axis_y
    cue = strike(Ball(0, ox - 0.4 * p.axis_x, oy - 0.4 * p.axis_y), 45.0, 2.0)
    sim = simulate([cue, Ball(1, ox, oy)], table)
    assert first(sim, "ball_ball").balls == (0, 1)
    assert first(sim, "pocket").balls == (1,)
    final = sim.final()
    assert (final[1].pocketed, final[1].pocket) == (True, "top_right")
    assert not final[0].pocketed


def test_straight_shot_into_side_pocket_is_pocketed(table):
    cue = strike(Ball(0, 0.0, -0.3), 90.0, 1.5)
    sim = simulate([cue, Ball(1, 0.0, 0.2)], table)
    assert sim.final()[1].pocket == "top_middle"


def side_pocket_approach(table, offset: float, speed: float) -> Ball:
    """A ball heading for the top side pocket at 45 deg, aimed `offset` right of its middle."""
    d = 0.5
    return strike(Ball(0, offset - d / math.sqrt(2), table.width / 2 - d / math.sqrt(2)), 45, speed)


def test_hard_ball_hitting_the_side_pocket_jaw_rattles_out(table):
    sim = simulate([side_pocket_approach(table, 0.04, 1.5)], table)
    hits = [e.cushion for e in sim.events if e.type == "cushion"]
    assert hits[:2] == ["top_middle_right_tip", "top_middle_left_jaw"]
    assert not sim.final()[0].pocketed


def test_same_line_played_softly_hits_the_jaw_and_drops(table):
    sim = simulate([side_pocket_approach(table, 0.04, 0.5)], table)
    assert first(sim, "cushion").cushion == "top_middle_right_tip"
    assert sim.final()[0].pocket == "top_middle"


def test_ball_missing_the_pocket_banks_off_the_rail(table):
    sim = simulate([side_pocket_approach(table, -0.12, 1.5)], table)
    assert first(sim, "cushion").cushion == "rail_top_left"
    assert not sim.final()[0].pocketed


def test_ball_rolling_along_the_rail_passes_the_side_pocket(table, phys):
    y = table.width / 2 - phys.R
    ball = strike(Ball(0, -0.5, y), 0.0, 0.45, tip_height=0.4)  # stops about 1 m later
    sim = simulate([ball], table, phys)
    assert not sim.final()[0].pocketed
    assert sim.final()[0].x > 0.2


def test_ball_starting_inside_a_pocket_circle_drops_at_time_zero(table):
    p = table.pocket("bottom_left")
    sim = simulate([Ball(0, p.x, p.y), Ball(1, 0.0, 0.0)], table)
    assert sim.events[0].t == 0.0
    assert (sim.events[0].type, sim.events[0].pocket) == ("pocket", "bottom_left")


def test_rails_jaws_and_tips_have_stable_names(table):
    names = {c.name for c in table.cushions}
    assert {"rail_left", "rail_right", "rail_top_left", "rail_bottom_right"} <= names
    assert sum(n.endswith("_jaw") for n in names) == 12
    assert len(table.tips) == 12
    assert all(t.name.endswith("_tip") for t in table.tips)
