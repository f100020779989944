"""Properties over random shots (hypothesis): energy never increases, balls stay on the table
and out of each other and of the cushions; and the two root solvers agree."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodes.physics import Ball, Physics, Simulation, Table, simulate, strike
from nodes.physics.polynomial import contact_time, first_contact

TABLE = Table.nine_foot()
PHYS = Physics()


def apart(places: list[tuple[float, float]]) -> bool:
    return all(
        math.dist(p, q) > 2 * PHYS.R + 1e-3 for k, p in enumerate(places) for q in places[k + 1 :]
    )


@st.composite
def shots(draw: st.DrawFn, masse: bool = True) -> list[Ball]:
    """1-7 balls apart from each other (overlaps are placement's business, tested elsewhere),
    the first struck in any direction, at any speed up to 9 m/s, with any tip offset, and
    sometimes any extra spin (masse)."""
    n = draw(st.integers(1, 7))
    spots = st.tuples(st.floats(-1.2, 1.2), st.floats(-0.6, 0.6))
    places = draw(st.lists(spots, min_size=n, max_size=n).filter(apart))
    balls = [Ball(k, x, y) for k, (x, y) in enumerate(places)]
    offset = draw(st.floats(0.0, 0.55))
    around = draw(st.floats(0.0, 2 * math.pi))
    cue = strike(
        balls[0],
        direction_deg=draw(st.floats(0.0, 360.0)),
        speed=draw(st.floats(0.0, 9.0)),
        tip_side=offset * math.cos(around),
        tip_height=offset * math.sin(around),
    )
    if masse and draw(st.booleans()):  # any spin about the horizontal axes as well
        spin = st.floats(-400.0, 400.0)
        cue = Ball(cue.id, cue.x, cue.y, cue.vx, cue.vy, draw(spin), draw(spin), cue.wz)
    balls[0] = cue
    return balls


def sample_times(sim: Simulation) -> list[float]:
    times = {*np.linspace(0.0, sim.duration, 40).tolist()}
    for e in sim.events:
        times |= {max(e.t - 1e-9, 0.0), e.t}
    return sorted(times)


def energy(sim: Simulation, t: float) -> float:
    total = 0.0
    for b in sim.state_at(t).values():
        if not b.pocketed:
            total += 0.5 * PHYS.mass * (b.vx**2 + b.vy**2)
            total += 0.5 * PHYS.inertia * (b.wx**2 + b.wy**2 + b.wz**2)
    return total


SINK = 1e-8  # m; how far a ball may be inside a cushion (contacts resolve to ~1e-9 m)
PUSH_OVERLAP = 1e-4  # m; 0 in 1500 random shots, 3e-5 in the worst collinear push found
# Derandomized: the same examples on every run, so CI never flakes on a newly found case
# (explore with `--hypothesis-seed=random` and more examples when changing the engine).
CHECKS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@CHECKS
@given(shots())
def test_energy_never_increases(balls):
    sim = simulate(balls, TABLE, PHYS)
    levels = [energy(sim, t) for t in sample_times(sim)]
    slack = 1e-9 * (levels[0] + 1e-9)
    assert all(b <= a + slack for a, b in itertools.pairwise(levels))
    if sim.settled:  # a hard-spun ball may still spin in place at t_max
        assert levels[-1] == 0.0


def clear_of_cushions(x: float, y: float) -> bool:
    for c in TABLE.cushions:
        dx, dy = c.x1 - c.x0, c.y1 - c.y0
        length = math.hypot(dx, dy)
        along = ((x - c.x0) * dx + (y - c.y0) * dy) / length
        depth = (x - c.x0) * c.nx + (y - c.y0) * c.ny
        if 0.0 <= along <= length and -PHYS.R < depth < PHYS.R - SINK:
            return False
    return all(math.hypot(x - t.x, y - t.y) > PHYS.R + t.radius - SINK for t in TABLE.tips)


def near_a_pocket(x: float, y: float) -> bool:
    return min(math.hypot(x - p.mouth_x, y - p.mouth_y) for p in TABLE.pockets) < 0.12


@CHECKS
@given(shots())
def test_balls_stay_on_the_table_and_out_of_the_cushions(balls):
    sim = simulate(balls, TABLE, PHYS)
    inner_x, inner_y = TABLE.length / 2 - PHYS.R, TABLE.width / 2 - PHYS.R
    for t in sample_times(sim):
        for b in sim.state_at(t).values():
            if not b.pocketed:
                inside = abs(b.x) <= inner_x + SINK and abs(b.y) <= inner_y + SINK
                assert inside or near_a_pocket(b.x, b.y), (t, b)
                assert clear_of_cushions(b.x, b.y), (t, b)


@CHECKS
@given(shots(masse=False))
def test_balls_struck_with_a_level_cue_stay_out_of_each_other(balls):
    # Pushing contact (a ball driven by its spin into a slower one touching it) is not
    # modelled: it is resolved as ever smaller bounces, and below V_APPROACH the pair may sink
    # into each other while the push lasts (docs/physics.md, "Limits"). Level-cue spins do not
    # produce it; masse spins can (see the next test).
    sim = simulate(balls, TABLE, PHYS)
    for t in sample_times(sim):
        live = [b for b in sim.state_at(t).values() if not b.pocketed]
        for k, a in enumerate(live):
            for b in live[k + 1 :]:
                assert math.hypot(a.x - b.x, a.y - b.y) > 2 * PHYS.R - PUSH_OVERLAP, (t, a, b)


def test_scalar_and_batched_root_solvers_agree():
    rng = np.random.default_rng(7)
    k = 4000
    c0 = rng.normal(size=(k, 2)) * 0.3
    c1 = rng.normal(size=(k, 2))
    c2 = rng.normal(size=(k, 2)) * 0.5
    rho = np.full(k, 2 * PHYS.R)
    horizon = rng.uniform(0.01, 3.0, k)
    batched = first_contact(c0, c1, c2, rho, horizon)
    scalar = np.array([contact_time(*c0[i], *c1[i], *c2[i], rho[i], horizon[i]) for i in range(k)])
    assert np.isfinite(batched).sum() > 100
    assert np.array_equal(np.isinf(batched), np.isinf(scalar))
    finite = np.isfinite(batched)
    assert np.allclose(batched[finite], scalar[finite], rtol=0, atol=1e-9)
    # ... and each is a real contact: the distance is rho then (t = 0: already overlapping).
    later = np.isfinite(scalar) & (scalar > 0)
    t = scalar[later][:, None]
    d = c0[later] + c1[later] * t + c2[later] * t * t
    assert np.allclose(np.hypot(d[:, 0], d[:, 1]), 2 * PHYS.R, atol=1e-9)
    now = scalar == 0
    assert np.all(np.hypot(c0[now, 0], c0[now, 1]) <= 2 * PHYS.R)


def worst_overlap(sim: Simulation, a: int, b: int) -> float:
    worst = 0.0
    for t in np.linspace(0.0, sim.duration, 2000).tolist():
        s = sim.state_at(t)
        if not (s[a].pocketed or s[b].pocketed):
            worst = max(worst, 2 * PHYS.R - math.hypot(s[a].x - s[b].x, s[a].y - s[b].y))
    return worst


def test_collinear_push_chatters_to_a_stop_with_a_small_overlap():
    # Found by hypothesis: three balls on one spot are separated along x and the first one is
    # driven through the others; one ball later chases another with spin that keeps pushing.
    sim = simulate([Ball(0, 0.0, 0.0, vx=4.0), Ball(1, 0.0, 0.0), Ball(2, 0.0, 0.0)], TABLE, PHYS)
    assert sim.settled
    assert worst_overlap(sim, 1, 2) < PUSH_OVERLAP


def test_masse_push_into_a_ball_is_a_known_limit():
    # A ball spinning at 88 rad/s about x from rest drives itself into a ball 5 mm ahead and
    # keeps pushing it for 11 ms after the bounces die out: the pair sinks 0.13 mm into each
    # other (documented), then a real collision separates them again.
    sim = simulate([Ball(0, 0.0, 0.28125, wx=-88.0), Ball(1, 0.0, 0.34375)], TABLE, PHYS)
    assert sim.settled
    assert worst_overlap(sim, 0, 1) < 2e-4
