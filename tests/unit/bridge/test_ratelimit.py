"""Connection rate limits per IP and closing abusive connections (bridge.ratelimit)."""

from __future__ import annotations

from bridge.ratelimit import MAX_KEYS, Abuse, Bucket, PerKey


def test_bucket_allows_a_burst_then_the_rate():
    bucket = Bucket(rate=2.0, burst=3.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait() == 0.5
    assert not bucket.take(0.2)
    assert bucket.take(0.5)


def test_each_address_has_its_own_budget_and_hears_how_long_to_wait():
    limits = PerKey(rate=1.0, burst=2.0)
    assert limits.admit("10.0.0.1", 0.0) is None
    assert limits.admit("10.0.0.1", 0.0) is None
    wait = limits.admit("10.0.0.1", 0.0)
    assert wait is not None and 0.9 < wait <= 1.0
    assert limits.admit("10.0.0.2", 0.0) is None
    assert limits.admit("10.0.0.1", 1.0) is None
    assert limits.refused == 1


def test_a_zero_rate_disables_the_limit():
    limits = PerKey(rate=0.0, burst=0.0)
    assert all(limits.admit("x", 0.0) is None for _ in range(1000))


def test_memory_stays_bounded_whatever_the_addresses():
    limits = PerKey(rate=0.001, burst=5.0)
    for i in range(MAX_KEYS + 500):
        limits.admit(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", 0.0)
    assert len(limits.buckets) <= MAX_KEYS


def test_idle_buckets_are_forgotten_once_refilled():
    limits = PerKey(rate=10.0, burst=5.0)
    limits.admit("a", 0.0)
    limits.admit("b", 10.0)
    assert list(limits.buckets) == ["b"]


def test_abuse_is_many_refusals_in_a_short_window():
    abuse = Abuse(limit=5, window=10.0)
    assert not abuse.abused(3, 0.0)
    assert not abuse.abused(5, 1.0)
    assert abuse.abused(6, 2.0)


def test_refusals_spread_over_time_are_not_abuse():
    abuse = Abuse(limit=5, window=10.0)
    for i in range(1, 50):
        assert not abuse.abused(i, i * 3.0)
    assert not Abuse(limit=0).abused(10**6, 0.0)
