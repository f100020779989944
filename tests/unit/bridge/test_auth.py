"""Tokens, origins, control-request permissions and redaction (bridge.auth)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bridge import auth


def test_token_comparison_needs_both_sides_and_an_exact_match():
    assert auth.token_matches("s3cret", "s3cret")
    assert not auth.token_matches("s3cre", "s3cret")
    assert not auth.token_matches("", "s3cret")
    assert not auth.token_matches(None, "s3cret")
    assert not auth.token_matches("anything", "")


def test_bearer_header_is_parsed_case_insensitively_and_nothing_else_is():
    assert auth.bearer("Bearer abc") == "abc"
    assert auth.bearer("bearer   abc ") == "abc"
    assert auth.bearer("Basic abc") is None
    assert auth.bearer("Bearer ") is None
    assert auth.bearer(None) is None


def test_same_origin_and_listed_origins_are_allowed_others_are_not():
    host = "127.0.0.1:8080"
    assert auth.origin_allowed("http://127.0.0.1:8080", host, [])
    assert not auth.origin_allowed("http://127.0.0.1:9090", host, [])
    assert not auth.origin_allowed("http://evil.example", host, [])
    assert not auth.origin_allowed("null", host, [])
    assert not auth.origin_allowed("file://127.0.0.1:8080", host, [])
    assert auth.origin_allowed("https://app.example.com", host, ["https://*.example.com"])
    assert auth.origin_allowed("http://evil.example", host, ["*"])
    assert not auth.origin_allowed("http://127.0.0.1:8080", None, [])


def test_read_only_requests_are_open_and_mutating_ones_need_trust():
    policy = auth.Policy(token="t")
    assert policy.refusal("core", "status", trusted=False) is None
    assert policy.refusal("core", "predict_shot", trusted=False) is None
    refusal = policy.refusal("core", "reset_game", trusted=False)
    assert refusal is not None and "token" in refusal
    assert policy.refusal("core", "reset_game", trusted=True) is None
    assert policy.refusal("core", "config.set", trusted=False) is not None
    assert policy.refusal("vision", "set_source", trusted=False) is not None


def test_unknown_requests_are_treated_as_mutating():
    policy = auth.Policy()
    assert policy.refusal("core", "format_disk", trusted=False) is not None


def test_the_allow_list_takes_requests_or_node_qualified_patterns():
    policy = auth.Policy(call_allow=("status", "core:reset_*"))
    assert policy.refusal("core", "reset_game", trusted=False) is None
    assert policy.refusal("vision", "reset_game", trusted=False) is not None
    assert policy.refusal("vision", "status", trusted=False) is None


def test_without_a_token_only_loopback_clients_are_trusted():
    policy = auth.Policy()
    assert policy.trusted(False, "127.0.0.1")
    assert policy.trusted(False, "::1")
    assert not policy.trusted(False, "192.168.1.20")
    assert not policy.trusted(False, None)
    assert not auth.Policy(trust_loopback=False).trusted(False, "127.0.0.1")
    with_token = auth.Policy(token="t")
    assert not with_token.trusted(False, "127.0.0.1")
    assert with_token.trusted(True, "192.168.1.20")


def test_malformed_request_names_are_refused_even_for_trusted_clients():
    policy = auth.Policy()
    for name in ("", "Status", "a b", "../x", "x" * 65, "status."):
        assert policy.refusal("core", name, trusted=True) is not None


def test_secrets_are_redacted_at_any_depth_but_empty_ones_stay_visible():
    reply = {
        "node": "bridge",
        "config": {"token": "s3cret", "port": 8080, "nested": [{"api_key": "k", "x": 1}]},
        "auth_token": "",
        "tokens_seen": 3,
    }
    out = auth.redact(reply)
    assert out["config"]["token"] == auth.REDACTED
    assert out["config"]["nested"][0] == {"api_key": auth.REDACTED, "x": 1}
    assert out["config"]["port"] == 8080
    assert out["auth_token"] == ""
    assert out["tokens_seen"] == 3


@given(
    st.recursive(
        st.none() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)
    )
)
def test_redaction_never_fails_and_keeps_the_shape(value):
    out = auth.redact(value)
    assert type(out) is type(value)
