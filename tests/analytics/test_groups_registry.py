"""Analytics follows the registry as ingest does, with the registry's own change messages
relayed to a real NATS server: a decommissioned camera leaves its group (its process
stops), one in maintenance too, one back in service rejoins, and a new stream URL reaches
the camera's group. Facts still arriving from a decommissioned camera raise no alert."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from safecity.analytics import control
from safecity.analytics.groups import CameraGroups, GroupCommand
from safecity.bus import NatsBus, NatsServer
from safecity.contracts.analytics_config import AnalyticsConfigChanged, CameraAnalyticsConfig
from safecity.core.settings import Settings
from safecity.db.outbox import OutboxMessage
from safecity.identity.system import system_principal
from safecity.registry.schemas import CameraUpdate
from safecity.video_workers import registry_stream_url, start_analytics
from safecity.web.platform import Platform
from safecity.web.relay import relay_once
from tests.api.routes_command import alert_message
from tests.events.helpers import plate_read, rule_event
from tests.factories import World

pytestmark = pytest.mark.nats

PLAIN = {"enabled": True, "analysed_fps": 5, "plates": False}
# Stands in for a group's worker process: keeps every line its supervisor tells it.
RECORDER = (
    "import sys\n"
    "out = open(sys.argv[1], 'ab', buffering=0)\n"
    "for line in sys.stdin.buffer:\n"
    "    out.write(line)\n"
)


def _update(platform: Platform, camera_id: int, **values: Any) -> None:
    with platform.transaction() as session:
        platform.registry.update_camera(
            session,
            system_principal("tests"),
            camera_id,
            CameraUpdate.model_validate(values),
            expected_version=None,
        )


def _enable(platform: Platform, camera_id: int) -> None:
    with platform.transaction() as session:
        platform.analytics_config.update_config(
            session,
            system_principal("tests"),
            camera_id,
            CameraAnalyticsConfig.model_validate(PLAIN),
            expected_version=None,
        )


async def _until(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the groups to follow")
        await asyncio.sleep(0.1)


async def test_a_decommissioned_camera_stops_being_analysed_and_rejoins_when_back(
    platform: Platform, world: World, settings: Settings, nats_server: NatsServer
) -> None:
    camera = world.cameras["PSH-TC1"]
    _enable(platform, camera)
    bus = await NatsBus.connect(nats_server.url, fetch_wait_seconds=0.25)
    try:
        with ExitStack() as stack:
            groups = await asyncio.to_thread(
                start_analytics, stack, settings, platform, nats_server.url
            )
            assert groups.groups() == {"group-1": ["PSH-TC1"]}
            await _until(lambda: groups.pid("group-1") is not None)
            _update(platform, camera, status="decommissioned")
            await relay_once(platform, bus)
            await _until(lambda: groups.group_of("PSH-TC1") is None)
            await _until(lambda: groups.pid("group-1") is None)
            # Back in service: analysed again, as ingest would run it again.
            _update(platform, camera, status="online")
            await relay_once(platform, bus)
            await _until(lambda: groups.group_of("PSH-TC1") is not None)
    finally:
        await bus.close()


async def test_a_new_stream_url_reaches_the_group_and_maintenance_takes_the_camera_out(
    platform: Platform, world: World, nats_server: NatsServer, tmp_path: Path
) -> None:
    camera = world.cameras["PSH-TC1"]
    told = tmp_path / "told.jsonl"
    groups = CameraGroups(
        GroupCommand(argv=[sys.executable, "-c", RECORDER, str(told)], env={}),
        registry_stream_url(platform),
        first_backoff=0.2,
    )
    groups.start()
    bus = await NatsBus.connect(nats_server.url, fetch_wait_seconds=0.25)
    try:
        await asyncio.to_thread(groups.follow, nats_server.url)

        def urls() -> list[str]:
            lines = told.read_bytes().splitlines() if told.exists() else []
            commands = [control.decode(line) for line in lines]
            return [
                c.stream_url.get_secret_value()
                for c in commands
                if isinstance(c, control.AddCamera)
            ]

        groups.apply(
            AnalyticsConfigChanged(
                camera_id="PSH-TC1", version=1, config=CameraAnalyticsConfig.model_validate(PLAIN)
            )
        )
        await _until(lambda: urls() == ["rtsp://admin:s3cret-PSH-TC1@10.0.0.1:554/ch1"])
        new = "rtsp://viewer:n3w-pass@10.0.0.9:554/main"
        _update(platform, camera, main_stream_url=new)
        await relay_once(platform, bus)
        await _until(lambda: urls()[-1:] == [new])
        # Another change that leaves the stream as it was tells the group nothing again.
        _update(platform, camera, name="Renamed")
        _update(platform, camera, status="maintenance")
        await relay_once(platform, bus)
        await _until(lambda: groups.group_of("PSH-TC1") is None)
        assert urls() == ["rtsp://admin:s3cret-PSH-TC1@10.0.0.1:554/ch1", new]
        # A camera never configured for analytics is left alone by registry changes.
        _update(platform, world.cameras["PSH-TC2"], status="online")
        await relay_once(platform, bus)
        await asyncio.sleep(1)
        assert groups.group_of("PSH-TC2") is None
    finally:
        await bus.close()
        groups.stop()


def _outbox_size(platform: Platform) -> int:
    with platform.sessions() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def test_facts_and_sightings_of_a_decommissioned_camera_are_dropped(
    platform: Platform, world: World
) -> None:
    _update(platform, world.cameras["PSH-TC1"], status="decommissioned")
    before = _outbox_size(platform)
    with platform.transaction() as session:
        assert platform.events.store_rule_event(session, rule_event("PSH-TC1", "wrong_way")) is None
        assert platform.events.store_plate_read(session, plate_read("PSH-TC1", "LEB3656")) is None
    assert _outbox_size(platform) == before, "no alert raised"
    sighting = alert_message("PSH-TC1", source="analytics", kind="analytics.wrong_way")
    with platform.transaction() as session:
        assert platform.alerts.ingest(session, sighting) is None
        assert platform.alerts.ingest(session, alert_message("PSH-TC1")) is None
    assert platform.alerts.refused["camera_decommissioned"] == 2
    # A camera in service is heard as before; so is the health of the retired one.
    health = alert_message("PSH-TC1", source="health", kind="health.offline")
    with platform.transaction() as session:
        assert platform.events.store_rule_event(session, rule_event("PSH-TC2", "wrong_way"))
        assert platform.alerts.ingest(session, health) is not None
