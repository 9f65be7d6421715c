"""Signing keys for tests: copies of keys made once per process (signing_helpers.make_key),
each with its gpg-agent stopped afterwards."""

from __future__ import annotations

import pytest

from signing_helpers import kill_agent, make_key


@pytest.fixture
def key(tmp_path):
    k = make_key(tmp_path / "k")
    yield k
    kill_agent(k.home)


@pytest.fixture
def other_key(tmp_path):
    k = make_key(tmp_path / "ok", name="someone else", email="else@example.com")
    yield k
    kill_agent(k.home)
