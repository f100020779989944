"""The detector's compiled loops: warmed up before the first frame, compiled again when their
cache cannot be read."""

from __future__ import annotations

import logging

import pytest

from nodes.vision import compiled


def test_every_compiled_loop_of_the_detector_is_known():
    names = {f"{d.py_func.__module__}.{d.py_func.__name__}" for d in compiled.dispatchers()}
    assert {
        "nodes.vision.ray._coordinates",
        "nodes.vision.ray._reach",
        "nodes.vision.rim._search",
        "nodes.vision.rim._points",
        "nodes.vision.evidence.shine",
        "nodes.vision.evidence.largest_gap",
        "nodes.vision.evidence._measure",
        "nodes.vision.circle._fit",
        "nodes.vision.symmetry._cast",
        "nodes.vision.symmetry._maxima",
        "nodes.vision.felt._score",
        "nodes.vision.felt._median_offset",
        "nodes.vision.detector._disc_share",
        "nodes.vision.detector._greedy",
        "nodes.vision.detector._labelled",
        "nodes.vision.detector._stats",
        "nodes.vision.detector._pooled",
        "nodes.vision.detector._opened_at",
        "nodes.vision.detector._between",
        "nodes.vision.detector._merged",
        "nodes.vision.contact._separate",
        "nodes.vision.cue._run",
        "nodes.vision.cue._edges",
        "nodes.vision.cue._principal",
        "nodes.vision.cue._band_fit",
        "nodes.vision.cue._robust_fit",
        "nodes.vision.cue._sections",
        "nodes.vision.cue._shape",
        "nodes.vision.cue._any_inside",
        "nodes.vision.cue._unlike",
        "nodes.vision.cue._clearing",
        "nodes.vision.cue._along_sides",
        "nodes.vision.palette._shares",
        "nodes.vision.palette._disc_points",
        "nodes.vision.palette._off_white",
        "nodes.vision.geometry._nearest",
        "nodes.vision.geometry._halved",
        "nodes.vision.cue._brightest_byte",
        "nodes.vision.cue._opened_away",
    } <= names
    assert all(d._cache.cache_path for d in compiled.dispatchers())  # cache=True on each


def test_a_cache_that_cannot_be_read_is_emptied_and_compiled_again(monkeypatch, caplog):
    calls, flushed = [], []

    def exercise() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise EOFError("Ran out of input")  # what unpickling a truncated cache file raises

    monkeypatch.setattr(compiled, "exercise", exercise)
    for dispatcher in compiled.dispatchers():
        monkeypatch.setattr(dispatcher._cache, "flush", lambda d=dispatcher: flushed.append(d))
    with caplog.at_level(logging.WARNING, logger="nodes.vision.compiled"):
        compiled.warm_up()
    assert len(calls) == 2
    assert len(flushed) == len(compiled.dispatchers())
    assert "compiling again" in caplog.text


def test_a_failure_that_compiling_again_does_not_cure_is_raised(monkeypatch):
    def exercise() -> None:
        raise RuntimeError("broken")

    monkeypatch.setattr(compiled, "exercise", exercise)
    monkeypatch.setattr(compiled, "dispatchers", list)
    with pytest.raises(RuntimeError):
        compiled.warm_up()


def test_warm_up_runs_the_real_loops():
    assert compiled.warm_up() >= 0.0
    # every entry point has been compiled (or loaded) for the types detection calls it with
    entry_points = (
        "_coordinates", "_reach", "_search", "_points", "_fit", "_cast", "_maxima", "_score",
        "_median_offset", "_disc_share", "_opened_at", "_greedy", "_labelled", "_stats", "_pooled",
        "shine", "_measure", "_run", "_between", "_merged", "_shares", "_disc_points",
        "_opened_away",
    )  # fmt: skip
    for name in entry_points:
        (dispatcher,) = [d for d in compiled.dispatchers() if d.py_func.__name__ == name]
        assert dispatcher.signatures, name
