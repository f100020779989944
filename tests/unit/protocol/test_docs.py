"""docs/protocol.md is the specification: it must say what the code does."""

from __future__ import annotations

from pathlib import Path

from protocol import PROTOCOL_VERSION_STRING, reference

DOC = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"


def test_generated_message_reference_matches_the_registry():
    text = DOC.read_text()
    start = text.index(reference.BEGIN)
    end = text.index(reference.END) + len(reference.END)
    assert text[start:end] == reference.render(), (
        "docs/protocol.md is stale: regenerate with `python -m protocol.reference`"
    )


def test_doc_states_the_current_version():
    assert f"protocol {PROTOCOL_VERSION_STRING}" in DOC.read_text()
    assert f"**{PROTOCOL_VERSION_STRING}**" in DOC.read_text()
