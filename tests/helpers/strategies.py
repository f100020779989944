"""Hypothesis strategies that build any registered message from its msgspec type info."""

from __future__ import annotations

import string
from typing import Any

import msgspec
import msgspec.inspect as mi
from hypothesis import strategies as st

_text = st.text(alphabet=string.ascii_lowercase + string.digits + "_-", min_size=1, max_size=12)
_floats = st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e6, max_value=1e6)
_ints = st.integers(min_value=-(2**53), max_value=2**53)
_any_scalar = st.one_of(st.none(), st.booleans(), _ints, _floats, _text)
_json_like = st.recursive(
    _any_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)


def for_type(info: mi.Type) -> st.SearchStrategy[Any]:
    """A strategy producing values valid for a msgspec type description."""
    match info:
        case mi.IntType():
            lo = info.ge if info.ge is not None else -(2**53)
            return st.integers(min_value=lo, max_value=2**53)
        case mi.FloatType():
            return _floats
        case mi.BoolType():
            return st.booleans()
        case mi.StrType():
            return _text
        case mi.NoneType():
            return st.none()
        case mi.LiteralType():
            return st.sampled_from(info.values)
        case mi.UnionType():
            return st.one_of(*(for_type(t) for t in info.types))
        case mi.ListType():
            return st.lists(for_type(info.item_type), max_size=3)
        case mi.TupleType():
            return st.tuples(*(for_type(t) for t in info.item_types))
        case mi.DictType():
            return st.dictionaries(_text, for_type(info.value_type), max_size=3)
        case mi.StructType():
            return struct(info.cls)
        case mi.AnyType():
            return _json_like
    raise NotImplementedError(f"no strategy for {info!r}")


def struct(cls: type[msgspec.Struct]) -> st.SearchStrategy[Any]:
    """A strategy producing instances of a Struct with every field set."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    fields = {f.name: for_type(f.type) for f in info.fields}
    return st.fixed_dictionaries(fields).map(lambda kw: cls(**kw))
