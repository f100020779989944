"""MJPEG pacing: a viewer's fps is kept on average, jitter never holds a frame back."""

from __future__ import annotations

import itertools
import random

from bridge.mjpeg import HEADROOM, Pacer


def _sent(pacer: Pacer, arrivals: list[float]) -> list[tuple[float, float]]:
    """(arrival, sent) of each frame, the newest going after any wait (trailing edge)."""
    out: list[tuple[float, float]] = []
    busy_until = float("-inf")
    for at in arrivals:
        if at < busy_until:
            continue  # replaced by a newer frame while waiting: conflated
        wait = pacer.wait(at)
        pacer.sent(at + wait)
        busy_until = at + wait
        out.append((at, at + wait))
    return out


def test_a_viewer_at_the_source_rate_is_never_delayed_by_jitter():
    rng = random.Random(1)
    period = 1 / 30
    arrivals = [i * period + rng.uniform(-0.2, 0.2) * period for i in range(3000)]
    arrivals.sort()
    sent = _sent(Pacer(period), arrivals)
    assert len(sent) == len(arrivals)
    assert max(s - a for a, s in sent) < 1e-9


def test_late_frames_do_not_shift_the_schedule():
    period = 1 / 30
    pacer = Pacer(period)
    arrivals = [0.0, period + 0.02] + [i * period for i in range(2, 100)]
    delays = [s - a for a, s in _sent(pacer, arrivals)]
    assert max(delays) < 0.2 * period  # one frame waits a little after the late one ...
    assert max(delays[10:]) < 1e-9  # ... and the wait does not last


def test_a_slower_viewer_gets_its_rate_on_average():
    source, wanted = 1 / 60, 1 / 30
    arrivals = [i * source for i in range(6000)]
    sent = _sent(Pacer(wanted), arrivals)
    span = sent[-1][1] - sent[0][1]
    assert 29.5 < (len(sent) - 1) / span < 30 * HEADROOM + 0.5
    gaps = [b[1] - a[1] for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= wanted * 0.5 - 1e-9
