"""The message reference section of ``docs/protocol.md``, generated from the registry.

``python -m protocol.reference`` prints it, ``python -m protocol.reference --write`` rewrites the
section in ``docs/protocol.md``; a test checks the document holds exactly this text, so the
specification cannot drift from the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec
import msgspec.inspect as mi

from protocol import messages, topics

BEGIN = "<!-- BEGIN GENERATED MESSAGE REFERENCE (python -m protocol.reference) -->"
END = "<!-- END GENERATED MESSAGE REFERENCE -->"


def type_name(t: mi.Type) -> str:
    """A short readable name of a msgspec type."""
    if isinstance(t, mi.Metadata):
        return type_name(t.type)
    match t:
        case mi.UnionType():
            return " \\| ".join(type_name(x) for x in t.types)
        case mi.ListType():
            return f"list[{type_name(t.item_type)}]"
        case mi.TupleType():
            return "[" + ", ".join(type_name(x) for x in t.item_types) + "]"
        case mi.DictType():
            return f"map[{type_name(t.key_type)}, {type_name(t.value_type)}]"
        case mi.StructType():
            return t.cls.__name__
        case mi.LiteralType():
            return " \\| ".join(f'"{v}"' for v in t.values)
        case mi.NoneType():
            return "nil"
        case mi.AnyType():
            return "any"
    return type(t).__name__.removesuffix("Type").lower()


def _table(cls: type[msgspec.Struct]) -> list[str]:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    rows = ["| field | type | required |", "|---|---|---|"]
    for field in info.fields:
        rows.append(
            f"| `{field.name}` | {type_name(field.type)} | {'yes' if field.required else ''} |"
        )
    return rows


def _nested(cls: type[msgspec.Struct], seen: set[type]) -> list[type[msgspec.Struct]]:
    found: list[type[msgspec.Struct]] = []

    def walk(t: mi.Type) -> None:
        if isinstance(t, mi.Metadata):
            walk(t.type)
        elif isinstance(t, mi.StructType) and t.cls not in seen:
            seen.add(t.cls)
            found.append(t.cls)
            for f in t.fields:
                walk(f.type)
        elif isinstance(t, mi.UnionType):
            for x in t.types:
                walk(x)
        elif isinstance(t, mi.ListType):
            walk(t.item_type)
        elif isinstance(t, mi.DictType):
            walk(t.value_type)

    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    for f in info.fields:
        walk(f.type)
    return found


def _topics_of(type_: str) -> str:
    names = [
        s.pattern
        for s in topics.SPECS
        if type_ in messages.types_for_topic(s.pattern.replace("*", "x"))
    ]
    return ", ".join(f"`{n}`" for n in names) or "control"


def render() -> str:
    """The whole generated section, markers included."""
    lines = [BEGIN, ""]
    seen: set[type] = set()
    for type_, cls in messages.MESSAGES.items():
        lines += [f"#### `{type_}` ({cls.__name__})", "", f"Topics: {_topics_of(type_)}.", ""]
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        lines += [doc, "", *_table(cls), ""]
        for nested in _nested(cls, seen):
            lines += [f"`{nested.__name__}`: {(nested.__doc__ or '').strip().splitlines()[0]}", ""]
            lines += [*_table(nested), ""]
    lines.append(END)
    return "\n".join(lines)


def write(path: Path) -> None:
    """Replace the generated section of the document at ``path``."""
    text = path.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    path.write_text(text[:start] + render() + text[end:])


if __name__ == "__main__":
    if "--write" in sys.argv:
        write(Path(__file__).resolve().parents[1] / "docs" / "protocol.md")
    else:
        sys.stdout.write(render() + "\n")
