"""Fixtures shared by the command tests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from safecity.web.platform import Platform
from tests.command.dispatch_support import Desk, build_desk, one_hash_per_password
from tests.factories import World


@pytest.fixture
def desk(
    platform: Platform, world: World, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> Desk:
    """The people of a dispatch desk (:func:`build_desk`), calling through ``client``."""
    one_hash_per_password(monkeypatch)
    return build_desk(platform, client)
