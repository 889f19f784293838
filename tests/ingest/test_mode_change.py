"""Live changes over a real NATS server: a running worker follows its camera's recording
mode, and rule events reach only the worker of their own camera."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from safecity.bus import NatsBus, NatsServer
from safecity.bus.memory import MemoryBus
from safecity.contracts.analytics import RuleEvent
from safecity.contracts.ingest import RecordingModeChanged, SegmentClosed
from safecity.core.clock import utcnow
from safecity.identity.system import system_principal
from safecity.ingest.worker import IngestWorker, IngestWorkerConfig
from safecity.registry.models import Camera
from safecity.registry.schemas import CameraUpdate
from safecity.web.platform import Platform
from safecity.web.relay import relay_once
from tests.analytics.support import Inbox
from tests.factories import World
from tests.ingest.clips import decoded_frames

pytestmark = pytest.mark.nats


def rule_event(camera_id: str) -> RuleEvent:
    now = utcnow()
    return RuleEvent(
        camera_id=camera_id,
        kind="zone_intrusion",
        rule="gate",
        at=now,
        frame_width=640,
        frame_height=360,
        clip_start=now - timedelta(seconds=5),
        clip_end=now + timedelta(seconds=5),
    )


async def test_a_committed_mode_change_is_relayed_on_its_cameras_own_subject(
    platform: Platform, world: World, bus: NatsBus
) -> None:
    admin = system_principal("tests")
    with platform.transaction() as session:
        for code, mode in (("PSH-TC1", "events"), ("PSH-TC2", "off")):
            platform.registry.update_camera(
                session,
                admin,
                world.cameras[code],
                CameraUpdate(recording_mode=mode),
                expected_version=None,
            )
        # A change that leaves the mode alone announces no mode change.
        platform.registry.update_camera(
            session,
            admin,
            world.cameras["PSH-TC1"],
            CameraUpdate(name="renamed"),
            expected_version=None,
        )
    with platform.sessions() as session:
        camera = session.get(Camera, world.cameras["PSH-TC1"])
        assert camera is not None
        version_after_mode = camera.version - 1
    await relay_once(platform, bus)

    own: list[RecordingModeChanged] = []
    every: list[RecordingModeChanged] = []

    async def keep_own(message: RecordingModeChanged) -> None:
        own.append(message)

    async def keep_every(message: RecordingModeChanged) -> None:
        every.append(message)

    await bus.subscribe(RecordingModeChanged, durable="t-own", handler=keep_own, key="PSH-TC1")
    await bus.subscribe(RecordingModeChanged, durable="t-every", handler=keep_every)
    async with asyncio.timeout(10):
        while len(every) < 2:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # anything else that was coming has come
    assert [(m.camera_id, m.mode, m.version) for m in own] == [
        ("PSH-TC1", "events", version_after_mode)
    ]
    assert sorted((m.camera_id, m.mode) for m in every) == [
        ("PSH-TC1", "events"),
        ("PSH-TC2", "off"),
    ]


async def test_a_running_worker_switches_recording_mode_without_a_restart(
    short_gop_clip: Path, bus: NatsBus, tmp_path: Path
) -> None:
    inbox = Inbox()
    await bus.subscribe(SegmentClosed, durable="t-segments", handler=inbox)
    config = IngestWorkerConfig(
        camera_id="cam-live",
        stream_url=SecretStr(str(short_gop_clip)),
        media_root=tmp_path / "media",
        segment_seconds=1,
        health_interval_seconds=0.5,
    )
    worker = IngestWorker(config, bus)  # no image checks: decodes nothing while continuous
    recorder = worker.recorder
    assert recorder is not None
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))

    def mode() -> str:  # read afresh each time (the worker changes it)
        return recorder.mode

    async def until(condition: object, timeout: float = 15) -> None:
        async with asyncio.timeout(timeout):
            while not callable(condition) or not condition():
                await asyncio.sleep(0.05)

    try:
        await inbox.wait_until(lambda: len(inbox.of(SegmentClosed)) >= 2, timeout=15)
        assert {s.kind for s in inbox.of(SegmentClosed)} == {"continuous"}
        assert worker.reader.target_fps == config.health_check_fps == 0.25

        await bus.publish(RecordingModeChanged(camera_id="cam-live", mode="off", version=2))
        await until(lambda: mode() == "off")
        await asyncio.sleep(0.5)  # the segment closed by the switch is announced
        written = len(inbox.of(SegmentClosed))
        # A redelivered older change does not undo a newer one.
        await bus.publish(RecordingModeChanged(camera_id="cam-live", mode="continuous", version=1))
        await asyncio.sleep(2.5)
        assert mode() == "off"
        assert len(inbox.of(SegmentClosed)) == written, "nothing is recorded while off"
        assert worker.reader.stats().frames_decoded == 0

        await bus.publish(RecordingModeChanged(camera_id="cam-live", mode="events", version=3))
        await until(lambda: mode() == "events")
        assert worker.reader.target_fps == config.check_fps == 1.0  # motion samples faster
        await until(lambda: worker.reader.stats().frames_decoded > 0)  # motion needs frames
        # Another camera's rule event is not even delivered to this worker.
        await bus.publish(rule_event("cam-elsewhere"))
        await asyncio.sleep(2.0)
        events = [s for s in inbox.of(SegmentClosed) if s.kind == "event"]
        motion_only = len(events)
        rule_consumer = next(s for s in worker._subscriptions if s.durable.startswith("ingest-ev"))
        await bus.publish(rule_event("cam-live"))
        # Motion may close an event segment first (the machine's load decides when), so
        # the wait is for the rule event's delivery, then for a segment after it.
        await until(lambda: rule_consumer.stats.handled >= 1, timeout=20)
        await inbox.wait_until(
            lambda: len([s for s in inbox.of(SegmentClosed) if s.kind == "event"]) > motion_only,
            timeout=20,
        )
        # The rule-event consumer of this worker handled its own camera's event only.
        assert rule_consumer.stats.handled == 1
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=20)
    for segment in inbox.of(SegmentClosed):
        assert decoded_frames(tmp_path / "media" / segment.path) == segment.frames


@pytest.mark.parametrize("kind", ["nats", "memory"])
async def test_rule_events_reach_each_cameras_consumer_and_the_control_plane_gets_all(
    kind: str, nats_server: NatsServer
) -> None:
    bus: NatsBus | MemoryBus = (
        await NatsBus.connect(nats_server.url, fetch_wait_seconds=0.25)
        if kind == "nats"
        else MemoryBus()
    )
    received: dict[str, list[str]] = {"a": [], "b": [], "dotted": [], "all": []}

    def keep(name: str):  # type: ignore[no-untyped-def]
        async def handler(event: RuleEvent) -> None:
            received[name].append(event.camera_id)

        return handler

    try:
        await bus.subscribe(RuleEvent, durable="cam-a", handler=keep("a"), key="CAM-A")
        await bus.subscribe(RuleEvent, durable="cam-b", handler=keep("b"), key="CAM-B")
        await bus.subscribe(RuleEvent, durable="dotted", handler=keep("dotted"), key="LHR.7")
        await bus.subscribe(RuleEvent, durable="control", handler=keep("all"))
        for camera in ("CAM-A", "CAM-B", "CAM-A", "LHR.7", "CAM-C"):
            await bus.publish(rule_event(camera))
        async with asyncio.timeout(10):
            while len(received["all"]) < 5:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
    finally:
        await bus.close()
    assert received["a"] == ["CAM-A", "CAM-A"]
    assert received["b"] == ["CAM-B"]
    assert received["dotted"] == ["LHR.7"]  # a dot in a code cannot split the subject
    assert sorted(received["all"]) == ["CAM-A", "CAM-A", "CAM-B", "CAM-C", "LHR.7"]


async def test_a_consumer_of_every_camera_made_before_routing_keeps_its_place(
    nats_server: NatsServer,
) -> None:
    # A durable created on the old single subject widens to every camera's subject.
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig

    bus = await NatsBus.connect(nats_server.url, fetch_wait_seconds=0.25)
    raw = await nats.connect(nats_server.url)
    try:
        await raw.jetstream().add_consumer(
            bus.stream,
            ConsumerConfig(
                name="control-rule-events",
                durable_name="control-rule-events",
                filter_subject=RuleEvent.bus_subject(),
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=30,
            ),
        )
        got: list[str] = []

        async def handler(event: RuleEvent) -> None:
            got.append(event.camera_id)

        await bus.subscribe(RuleEvent, durable="control-rule-events", handler=handler)
        await bus.publish(rule_event("CAM-A"))
        async with asyncio.timeout(10):
            while not got:
                await asyncio.sleep(0.05)
        info = await raw.jetstream().consumer_info(bus.stream, "control-rule-events")
        assert info.config.filter_subject == RuleEvent.subject_filter()
        assert got == ["CAM-A"]
    finally:
        await raw.close()
        await bus.close()
