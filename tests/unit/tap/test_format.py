"""Pretty text, JSON-safe values, hex dumps, units and tables."""

from __future__ import annotations

from nodes.tap import format as fmt
from protocol import Header, encode_header, messages


def test_pretty_nests_maps_and_cuts_long_lists():
    lines = fmt.pretty(
        {"frame": 3, "balls": [{"id": 1, "x": 0.123456789}], "xs": list(range(40))}, max_items=5
    )
    assert lines[0] == "frame: 3"
    assert lines[1:4] == ["balls:", "  - id: 1", "    x: 0.123457"]
    assert lines[4] == "xs: [0, 1, 2, 3, 4, ... (40 items)]"


def test_pretty_scalars():
    assert fmt.scalar(None) == "null" and fmt.scalar(True) == "true"
    assert fmt.scalar("a: b") == '"a: b"' and fmt.scalar("plain") == "plain"
    assert fmt.scalar(b"\x00" * 3) == "<3 bytes>"
    assert fmt.pretty([]) == ["[]"] and fmt.pretty({}) == ["{}"]


def test_plain_decodes_messages_carried_in_replies():
    header = Header(type="system.alert", src="n", epoch="e", seq=4, t_origin_ns=1, t_pub_ns=2)
    body = messages.encode(messages.Alert(node="n", level="info", code="c", message="m"))
    stored = {"topic": "system.alert.n", "header": encode_header(header), "body": body}
    out = fmt.plain({"messages": [stored], "blob": b"xyz"})
    assert out["blob"] == "<3 bytes>"
    assert out["messages"][0]["header"]["seq"] == 4
    assert out["messages"][0]["data"]["code"] == "c"
    broken = fmt.plain({"topic": "t", "header": b"\xc1", "body": b"zz"})
    assert "error" in broken and broken["body"] == "<2 bytes>"


def test_hexdump_shows_offsets_hex_and_ascii_and_cuts():
    lines = fmt.hexdump(b"core.state" + bytes(range(30)), limit=32)
    assert lines[0].startswith("00000000  63 6f 72 65 2e 73 74 61 74 65")
    assert lines[0].endswith("core.state......")
    assert lines[-1] == "... 8 more bytes"


def test_units():
    assert fmt.size(512) == "512 B" and fmt.size(70_000) == "68.4 KiB"
    assert fmt.size(4.2 * 2**20) == "4.20 MiB"
    assert fmt.seconds(0.0005) == "500 us" and fmt.seconds(0.0123) == "12.3 ms"
    assert fmt.seconds(185) == "3m05s" and fmt.seconds(None) == "-"
    assert fmt.rate(0) == "-" and fmt.rate(59.94) == "59.9" and fmt.rate(1.0) == "1.00"


def test_table_aligns_numbers_right():
    lines = fmt.table(("TOPIC", "HZ"), [["core.state", "60.0"], ["core.event", "2.00"]])
    assert lines == ["TOPIC         HZ", "core.state  60.0", "core.event  2.00"]
