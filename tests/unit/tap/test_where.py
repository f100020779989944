"""--where parsing and evaluation, --fields projection and dotted paths."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodes.tap import fields, path, where

STATE = {
    "frame": 12,
    "moving": True,
    "balls": [
        {"id": 1, "number": 0, "kind": "cue", "x": 0.5},
        {"id": 2, "number": 8, "kind": "eight", "x": -0.25},
    ],
    "cue": None,
}


@pytest.mark.parametrize(
    ("text", "op", "value"),
    [
        ("frame gt 10", "gt", 10),
        ("frame>10", "gt", 10),
        ("frame >= 10", "ge", 10),
        ("kind eq stripe", "eq", "stripe"),
        ('kind == "two words"', "eq", "two words"),
        ("moving eq true", "eq", True),
        ("balls.*.number in [1, 8]", "in", [1, 8]),
        ("cue eq null", "eq", None),
        ("name ne a b", "ne", "a b"),
    ],
)
def test_conditions_parse_words_symbols_json_and_bare_strings(text, op, value):
    condition = where.parse(text)
    assert (condition.op, condition.value) == (op, value)


@pytest.mark.parametrize("text", ["frame", "frame gt", "frame like 3", "a..b eq 1", "x in 3", ""])
def test_malformed_conditions_are_value_errors_with_an_example(text):
    with pytest.raises(ValueError, match="bad"):
        where.parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("frame gt 10", True),
        ("frame lt 10", False),
        ("frame eq 12.0", True),
        ("moving eq true", True),
        ("moving eq 1", False),  # booleans are not numbers
        ("balls.*.number eq 8", True),  # any element
        ("balls.*.number eq 9", False),
        ("balls.1.kind eq eight", True),
        ("balls.-1.x lt 0", True),
        ("balls.*.number in [3, 8]", True),
        ("kind eq cue", False),  # missing path: false
        ("kind ne cue", False),  # missing path: false for every op
        ("frame gt abc", False),  # number vs string: false, not an error
        ("cue eq null", True),
    ],
)
def test_conditions_evaluate_with_wildcards_missing_paths_and_types(text, expected):
    assert where.evaluate(where.parse(text), STATE) is expected


def test_every_condition_must_hold():
    conditions = [where.parse("frame gt 10"), where.parse("balls.*.kind eq stripe")]
    assert not where.evaluate_all(conditions, STATE)
    assert where.evaluate_all([], STATE)


@given(st.text(max_size=40))
def test_parse_raises_only_value_errors_on_any_text(text):
    with contextlib.suppress(ValueError):
        where.parse(text)


def test_fields_project_to_a_flat_map_with_lists_for_wildcards():
    selected = fields.parse(["frame,balls.*.x", "cue.tip_x", "balls.0.id"])
    assert fields.project(STATE, selected) == {
        "frame": 12,
        "balls.*.x": [0.5, -0.25],
        "cue.tip_x": None,
        "balls.0.id": 1,
    }


def test_paths_reject_empty_segments():
    with pytest.raises(ValueError):
        path.parse("balls..x")
    assert path.get({"a": {"b": 1}}, ("a", "c")) is path.MISSING
    assert path.get({"m": {"k1": 1, "k2": 2}}, ("m", "*")) == [1, 2]
