"""Fixtures of the analytics suites: the real app for the control-plane tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from safecity.web.app import create_app
from safecity.web.platform import Platform


@pytest.fixture
def api(platform: Platform) -> Iterator[TestClient]:
    with TestClient(
        create_app(platform), base_url="http://127.0.0.1", follow_redirects=False
    ) as client:
        yield client
