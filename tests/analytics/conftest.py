"""Fixtures of the analytics suites: the real app for the control-plane tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from safecity.bus import NatsBus, NatsServer
from safecity.sim.truth import GroundTruth
from safecity.web.app import create_app
from safecity.web.platform import Platform
from tests.analytics.support import render_sim


@pytest.fixture
def api(platform: Platform) -> Iterator[TestClient]:
    with TestClient(
        create_app(platform), base_url="http://127.0.0.1", follow_redirects=False
    ) as client:
        yield client


@pytest.fixture(scope="session")
def sim_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GroundTruth]:
    """12 s of one simulated 640x360 camera at 10 fps, with its ground truth."""
    return render_sim(tmp_path_factory.mktemp("sim"))


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[NatsBus]:
    connected = await NatsBus.connect(nats_server.url, fetch_wait_seconds=0.25)
    yield connected
    await connected.close()
