"""Fixtures of the bridge's pure tests."""

from __future__ import annotations

import pytest

from tests.helpers.session import Client


@pytest.fixture
def client() -> Client:
    return Client()
