"""Windowed rate, bandwidth, intervals and delays (the clock is passed in)."""

from __future__ import annotations

import pytest

from nodes.tap.stats import Arrival, Spread, Window


def feed(window, hz, count, size=100, start=0.0):
    for i in range(count):
        t = start + i / hz
        window.add(
            Arrival(
                t,
                size,
                origin_ns=int(t * 1e9),
                pub_ns=int(t * 1e9) + 1_000_000,
                recv_ns=int(t * 1e9) + 5_000_000,
            )
        )
    return start + (count - 1) / hz


def test_rate_and_bandwidth_of_a_steady_stream():
    window = Window(size=100, horizon=10)
    now = feed(window, 60.0, 200, size=1000)
    assert window.rate(now) == pytest.approx(60.0)
    assert window.bandwidth(now) == pytest.approx(60_000.0)
    assert len(window.arrivals) == 100 and window.count == 200
    assert window.intervals().mean == pytest.approx(1 / 60)
    assert window.intervals().std == pytest.approx(0.0, abs=1e-9)


def test_a_stopped_topic_drops_to_zero_after_the_horizon():
    window = Window(size=100, horizon=2.0)
    last = feed(window, 10.0, 20)
    assert window.rate(last + 1.0) > 0
    assert window.age(last + 1.0) == pytest.approx(1.0)
    assert window.rate(last + 3.0) == 0.0


def test_delays_are_capture_to_receive_and_transport_is_publish_to_receive():
    window = Window()
    feed(window, 30.0, 10)
    assert window.delays().mean == pytest.approx(0.005)
    assert window.transport().mean == pytest.approx(0.004)


def test_messages_without_origin_have_no_delay():
    window = Window()
    window.add(Arrival(0.0, 10))
    assert window.delays() is None and window.rate(0.0) == 0.0


def test_spread_quantiles():
    spread = Spread.of([float(v) for v in range(1, 101)])
    assert (spread.min, spread.p50, spread.p99, spread.max) == (1, 50, 99, 100)
    assert Spread.of([]) is None


def test_a_window_needs_two_messages():
    with pytest.raises(ValueError):
        Window(size=1)
