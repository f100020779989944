"""The bridge's own health level (bridge.checkup)."""

from __future__ import annotations

from bridge.checkup import ALONE, LAG_LIMIT, MEMORY, WARM_UP, Checkup


def test_a_fresh_bridge_with_nodes_is_ok():
    checkup = Checkup(started=0.0)
    checkup.bus(1.0, 0, nodes=2)
    assert checkup.status() == ("ok", None)


def test_event_loop_lag_degrades_after_the_warm_up_and_is_forgotten_after_a_minute():
    checkup = Checkup(started=0.0)
    checkup.bus(1.0, 0, nodes=2)
    checkup.lag(1.0, LAG_LIMIT * 3)
    assert checkup.status()[0] == "ok"  # start-up stalls do not count
    checkup.lag(WARM_UP + 1, LAG_LIMIT * 2)
    level, reason = checkup.status()
    assert level == "degraded" and "event loop lagged" in (reason or "")
    checkup.lag(WARM_UP + 2 + MEMORY, 0.001)
    assert checkup.status()[0] == "ok"


def test_bus_gaps_degrade_with_how_many():
    checkup = Checkup(started=0.0)
    checkup.bus(1.0, 0, nodes=1)
    checkup.bus(2.0, 3, nodes=1)
    assert checkup.status() == ("degraded", "3 bus gap(s) in the last minute")
    checkup.bus(3.0 + MEMORY, 3, nodes=1)
    assert checkup.status()[0] == "ok"


def test_being_alone_for_a_while_says_check_the_run_dir():
    checkup = Checkup(started=0.0)
    checkup.bus(1.0, 0, nodes=0)
    assert checkup.status()[0] == "ok"
    checkup.bus(1.0 + ALONE, 0, nodes=0)
    level, reason = checkup.status()
    assert level == "degraded" and "run dir" in (reason or "")
    checkup.bus(2.0 + ALONE, 0, nodes=1)
    assert checkup.status()[0] == "ok"
