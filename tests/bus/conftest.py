"""Fixtures for the bus suite: a throwaway nats-server per test and a harness per bus kind.

Every NATS test gets its own server in tmp_path on a free port; the machine's
own NATS on 4222 is never touched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.bus.bus_helpers import Harness, MemoryHarness, NatsHarness

from safecity.bus import NatsServer


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def nats_harness(nats_server: NatsServer) -> AsyncIterator[NatsHarness]:
    harness = NatsHarness(nats_server)
    try:
        yield harness
    finally:
        await harness.aclose()


@pytest.fixture(params=["memory", pytest.param("nats", marks=pytest.mark.nats)])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    if request.param == "memory":
        chosen: Harness = MemoryHarness()
        try:
            yield chosen
        finally:
            await chosen.aclose()
        return
    server = NatsServer(tmp_path / "nats")
    server.start()
    chosen = NatsHarness(server)
    try:
        yield chosen
    finally:
        await chosen.aclose()
        server.stop()
