"""``--where`` conditions: ``path op value`` with op in eq ne lt le gt ge in (or == != < <= > >=).

``value`` is JSON (``8``, ``true``, ``"cue"``, ``[1, 8]``) or a bare word taken as a string
(``kind eq stripe``). A missing path makes any condition false. A path with ``*`` is true if
any element satisfies it. Order comparisons need two numbers or two strings; anything else is
false rather than an error, so one odd message never stops an echo.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from nodes.tap import path as paths

_SYMBOLS: Final = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
OPS: Final = ("eq", "ne", "lt", "le", "gt", "ge", "in")
_SYMBOLIC: Final = re.compile(r"^\s*([^\s=!<>]+)\s*(==|!=|<=|>=|<|>)\s*(.*?)\s*$")
_ORDER: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


@dataclass(frozen=True, slots=True)
class Condition:
    """One parsed condition."""

    path: paths.Path
    op: str
    value: Any

    def __str__(self) -> str:
        return f"{paths.text(self.path)} {self.op} {json.dumps(self.value)}"


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse(text: str) -> Condition:
    """Parse ``path op value``; raise ValueError with a readable message."""
    found = _SYMBOLIC.match(text)
    if found:
        raw_path, op, raw_value = found.group(1), _SYMBOLS[found.group(2)], found.group(3)
    else:
        parts = text.split(None, 2)
        if len(parts) != 3 or parts[1] not in OPS:
            raise ValueError(
                f"bad condition {text!r}: expected 'path op value' with op one of"
                f" {', '.join(OPS)} (or == != < <= > >=), e.g. 'balls.*.number eq 8'"
            )
        raw_path, op, raw_value = parts
    if raw_value == "":
        raise ValueError(f"bad condition {text!r}: missing value")
    value = _value(raw_value)
    if op == "in" and not isinstance(value, list):
        raise ValueError(f"bad condition {text!r}: 'in' needs a JSON list, e.g. [1, 8]")
    return Condition(paths.parse(raw_path), op, value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def equal(a: Any, b: Any) -> bool:
    """Equality where booleans are not numbers (``true`` never equals ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def holds(op: str, actual: Any, expected: Any) -> bool:
    """Whether ``actual op expected``."""
    if op == "eq":
        return equal(actual, expected)
    if op == "ne":
        return not equal(actual, expected)
    if op == "in":
        return any(equal(actual, item) for item in expected)
    comparable = (_number(actual) and _number(expected)) or (
        isinstance(actual, str) and isinstance(expected, str)
    )
    return comparable and _ORDER[op](actual, expected)


def evaluate(condition: Condition, data: Any) -> bool:
    """Whether ``data`` satisfies ``condition``."""
    found = paths.values(data, condition.path)
    return any(holds(condition.op, value, condition.value) for value in found)


def evaluate_all(conditions: Sequence[Condition], data: Any) -> bool:
    """Whether ``data`` satisfies every condition (an empty list always holds)."""
    return all(evaluate(c, data) for c in conditions)
