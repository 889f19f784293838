"""Fixtures shared by the API contract suites."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from safecity.identity import passwords
from safecity.web.app import create_app
from safecity.web.platform import Platform

_hash_once = functools.cache(passwords.hash_password)


@pytest.fixture(autouse=True)
def one_hash_per_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 costs 50 ms per hash (several times that on a busy CI runner) and these
    suites create dozens of users with the same few passwords: hash each password once
    per session. Hashes stay real argon2, and sign-in still verifies them for real."""
    monkeypatch.setattr(passwords, "hash_password", _hash_once)


@pytest.fixture
def api(platform: Platform) -> Iterator[TestClient]:
    """The real application; redirects are returned as they are, since where a refused page
    sends the browser (sign-in or back to a form) is part of what these suites check."""
    with TestClient(
        create_app(platform), base_url="http://127.0.0.1", follow_redirects=False
    ) as client:
        yield client
