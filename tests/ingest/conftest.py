"""Fixtures of the ingest suite: test clips, simulated RTSP cameras, a throwaway NATS server.

The RTSP server is GStreamer's, under Debian's python3. Where it is missing
the RTSP tests are skipped with the reason, except in CI (``CI=true``), where
a missing server fails them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path

import pytest

from safecity.bus import NatsBus, NatsServer
from safecity.contracts.ingest import CameraHealth, SegmentClosed
from safecity.sim.rtsp import RtspMount, RtspServer, gstreamer_unavailable_reason
from tests.analytics.support import Inbox
from tests.ingest.clips import write_clip

IN_CI = os.environ.get("CI", "").lower() == "true"

RtspServerFactory = Callable[[Sequence[RtspMount]], RtspServer]


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """640x360, 10 fps, 10 s, a key frame every 2 s."""
    return write_clip(tmp_path_factory.mktemp("clips") / "clip.mp4")


@pytest.fixture(scope="session")
def short_gop_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """As ``clip`` with a key frame every second: two fragments in a 2 s segment."""
    return write_clip(tmp_path_factory.mktemp("clips") / "short-gop.mp4", key_every_seconds=1)


@pytest.fixture(scope="session")
def gstreamer_rtsp() -> None:
    reason = gstreamer_unavailable_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"GStreamer's RTSP server is required in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture
def rtsp_server(gstreamer_rtsp: None, tmp_path: Path) -> Iterator[RtspServerFactory]:
    """Start simulated cameras; every server started here is stopped after the test."""
    started: list[RtspServer] = []

    def start(mounts: Sequence[RtspMount]) -> RtspServer:
        server = RtspServer(mounts, log_path=tmp_path / f"rtsp-{len(started)}.log")
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


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


@pytest.fixture
async def inbox(bus: NatsBus) -> Inbox:
    received = Inbox()
    await bus.subscribe(SegmentClosed, durable="test-segments", handler=received)
    await bus.subscribe(CameraHealth, durable="test-health", handler=received)
    return received
