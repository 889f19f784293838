"""``safecity up``'s ingest (``video_workers.start_ingest``) follows the registry after its
start, with the registry's own change messages relayed to a real NATS server: a camera
created later is recorded, a camera given a new stream records it, and a decommissioned
camera leaves its group with its last segment closed."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from pathlib import Path

import pytest

from safecity.bus import NatsBus, NatsServer
from safecity.contracts.ingest import SegmentClosed
from safecity.core.settings import Settings
from safecity.identity.system import system_principal
from safecity.registry.schemas import CameraCreate, CameraUpdate
from safecity.sim.rtsp import RtspMount
from safecity.video_workers import start_ingest
from safecity.web.platform import Platform
from safecity.web.relay import relay_once
from tests.analytics.support import Inbox
from tests.factories import World
from tests.ingest.conftest import RtspServerFactory
from tests.ingest.test_groups import assert_playable, segments_of

pytestmark = pytest.mark.nats


async def test_ingest_follows_cameras_created_restreamed_and_decommissioned_after_start(
    platform: Platform,
    world: World,
    settings: Settings,
    nats_server: NatsServer,
    rtsp_server: RtspServerFactory,
    short_gop_clip: Path,
) -> None:
    server = rtsp_server([RtspMount(c, short_gop_clip) for c in ("PSH-TC2", "PSH-NEW")])
    admin = system_principal("tests")
    bus = await NatsBus.connect(nats_server.url, fetch_wait_seconds=0.25)
    inbox = Inbox()
    await bus.subscribe(SegmentClosed, durable="test-segments", handler=inbox)
    with ExitStack() as stack:
        # The world's cameras have streams nobody answers: they are placed, and offline.
        groups = await asyncio.to_thread(start_ingest, stack, settings, platform, nats_server.url)
        assert groups.groups() == {"ingest-1": ["BNU-TC1", "PSH-TC1", "PSH-TC2"]}

        with platform.transaction() as session:
            platform.registry.update_camera(
                session,
                admin,
                world.cameras["PSH-TC2"],
                CameraUpdate(main_stream_url=server.url("PSH-TC2")),
                expected_version=None,
            )
            platform.registry.create_camera(
                session,
                admin,
                CameraCreate(
                    code="PSH-NEW",
                    site="PSH-T1",
                    name="Installed after the start",
                    status="installed",
                    main_stream_url=server.url("PSH-NEW"),
                    purpose="Traffic",
                    legal_basis="Safe Cities programme",
                ),
            )
        await relay_once(platform, bus)
        await inbox.wait_until(
            lambda: all(segments_of(inbox, c) for c in ("PSH-TC2", "PSH-NEW")), 40
        )
        assert sorted(c for cs in groups.groups().values() for c in cs) == [
            "BNU-TC1",
            "PSH-NEW",
            "PSH-TC1",
            "PSH-TC2",
        ]

        with platform.transaction() as session:
            platform.registry.update_camera(
                session,
                admin,
                world.cameras["PSH-TC2"],
                CameraUpdate(status="decommissioned"),
                expected_version=None,
            )
        before = len(segments_of(inbox, "PSH-TC2"))
        await relay_once(platform, bus)
        # Its open segment is closed and announced as it leaves.
        await inbox.wait_until(lambda: len(segments_of(inbox, "PSH-TC2")) > before, 20)
        assert groups.group_of("PSH-TC2") is None
        assert groups.group_of("PSH-NEW") is not None
        await asyncio.to_thread(stack.close)
    await asyncio.sleep(1)  # the last SegmentClosed messages arrive
    await bus.close()
    assert_playable(settings.media_dir, inbox)
