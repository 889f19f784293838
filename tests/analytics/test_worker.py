"""An analytics group (several cameras in one process) on a real NATS server: events, plate
reads through the shared reader, stats per camera, newer configurations, the drop counter,
and cameras whose stream or frames are bad next to a good one."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from safecity.analytics.worker import AnalyticsGroup, GroupOptions, StreamOptions
from safecity.bus import NatsBus, NatsServer
from safecity.contracts.analytics import PlateRead, RuleEvent
from safecity.contracts.analytics_config import (
    AnalyticsConfigChanged,
    AnalyticsWorkerStats,
    CameraAnalyticsConfig,
)
from safecity.sim.truth import GroundTruth
from safecity.vision.detections import Detections
from tests.analytics.support import CAMERA, Inbox, OracleReader, fuse_by_vote

pytestmark = pytest.mark.nats

LINES = [{"name": "stop", "start": [0, 0.6], "end": [1, 0.6]}]
QUIET = {"enabled": True, "analysed_fps": 5, "plates": True, "lines": LINES}
COUNTING = {**QUIET, "rules": [{"kind": "line_crossing", "name": "count", "line": "stop"}]}


def changed(version: int, config: dict[str, Any], camera: str = CAMERA) -> AnalyticsConfigChanged:
    return AnalyticsConfigChanged(
        camera_id=camera, version=version, config=CameraAnalyticsConfig.model_validate(config)
    )


@pytest.fixture
async def inbox(bus: NatsBus) -> Inbox:
    received = Inbox()
    for kind, durable in (
        (RuleEvent, "test-events"),
        (PlateRead, "test-plates"),
        (AnalyticsWorkerStats, "test-stats"),
    ):
        await bus.subscribe(kind, durable=durable, handler=received)
    return received


def latest(inbox: Inbox, camera: str) -> AnalyticsWorkerStats | None:
    reports = [s for s in inbox.of(AnalyticsWorkerStats) if s.camera_id == camera]
    return reports[-1] if reports else None


async def test_group_publishes_events_plates_and_stats_and_follows_new_configurations(
    sim_clip: tuple[Path, GroundTruth], bus: NatsBus, inbox: Inbox, tmp_path: Path
) -> None:
    clip, truth = sim_clip
    reader = OracleReader(truth)
    group = AnalyticsGroup(
        tmp_path,
        bus,
        GroupOptions(stats_interval_seconds=0.5),
        plate_reader=lambda: (reader, fuse_by_vote),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(group.run(stop))
    try:
        stream = StreamOptions(str(clip), loop_files=False)
        await asyncio.to_thread(group.add, changed(1, QUIET), stream)
        await inbox.wait_until(lambda: inbox.of(AnalyticsWorkerStats), timeout=10)
        # An older version never replaces a newer one; the new rule starts counting.
        await asyncio.to_thread(group.add, changed(2, COUNTING), stream)
        await asyncio.to_thread(group.add, changed(1, QUIET), stream)
        await inbox.wait_until(
            lambda: bool(inbox.of(RuleEvent)) and bool(inbox.of(PlateRead)), timeout=15
        )
    finally:
        stop.set()
        await running
    # Every read went through the group's one shared reader (stopped and joined by now).
    assert group.plate_reader is not None
    assert group.plate_reader.done(CAMERA) == reader.calls > 0
    events = inbox.of(RuleEvent)
    assert {e.kind for e in events} == {"line_crossing"}
    assert all(e.snapshot and (tmp_path / e.snapshot).is_file() for e in events)
    plates = {v.plate for v in truth.vehicles}
    assert all(read.text in plates for read in inbox.of(PlateRead))
    await inbox.wait_until(lambda: (s := latest(inbox, CAMERA)) and s.events, timeout=5)
    last = latest(inbox, CAMERA)
    assert last is not None
    assert last.config_version == 2
    assert last.frames_analysed > 10
    assert last.events == len(events)
    assert {"decode", "motion", "track", "rules", "plates"} <= set(last.stage_ms)
    assert last.detector is None
    assert group.camera_ids() == []


class _SlowDetector:
    """A detector that takes 150 ms a frame, slower than frames arrive."""

    name = "slow"
    classes = ("car",)

    def detect(self, image_bgr: Any) -> Detections:
        time.sleep(0.15)
        return Detections.empty()


class _GarbageDetector:
    """A model whose output is not detections at all: every frame of its camera fails."""

    name = "garbage"
    classes = ("car",)

    def detect(self, image_bgr: Any) -> Any:
        return "not detections"


def _detectors(name: str | None) -> tuple[Any, str | None]:
    return {"slow": _SlowDetector(), "garbage": _GarbageDetector()}.get(name or ""), None


async def test_a_slow_camera_drops_its_oldest_frames_and_counts_them(
    sim_clip: tuple[Path, GroundTruth], bus: NatsBus, inbox: Inbox, tmp_path: Path
) -> None:
    clip, _ = sim_clip
    group = AnalyticsGroup(
        tmp_path, bus, GroupOptions(stats_interval_seconds=0.5), detector_loader=_detectors
    )
    stop = asyncio.Event()
    running = asyncio.create_task(group.run(stop))
    try:
        # Unpaced: the file is read as fast as it decodes, much faster than analysis.
        await asyncio.to_thread(
            group.add,
            changed(1, {**COUNTING, "plates": False, "detector": "slow"}),
            StreamOptions(str(clip), pace_files=False, loop_files=False),
        )
        await inbox.wait_until(
            lambda: any(s.frames_dropped > 0 for s in inbox.of(AnalyticsWorkerStats)), timeout=15
        )
        camera = group.camera(CAMERA)
    finally:
        stop.set()
        await running
    final = camera.stats()
    delivered = camera.reader.stats().frames_delivered
    assert final.frames_dropped > 0
    assert final.detector == "slow"
    # Detector runs and frames the tracks were followed through are counted, by reason.
    runs = sum(final.detector_runs.values())
    assert runs > 0
    assert set(final.detector_runs) <= {"start", "new_motion", "lost_lock", "refresh"}
    assert runs + final.detector_frames_skipped <= final.frames_analysed
    # Every frame handed on was either analysed, dropped, or still queued at the stop.
    assert delivered - final.frames_dropped - final.frames_analysed <= 2 + 1


async def test_cameras_with_a_broken_stream_or_bad_frames_do_not_hurt_their_group(
    sim_clip: tuple[Path, GroundTruth], bus: NatsBus, inbox: Inbox, tmp_path: Path
) -> None:
    clip, _ = sim_clip
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    group = AnalyticsGroup(
        tmp_path, bus, GroupOptions(stats_interval_seconds=0.5), detector_loader=_detectors
    )
    plain = {**COUNTING, "plates": False}
    stop = asyncio.Event()
    running = asyncio.create_task(group.run(stop))
    try:
        for camera, config, url in (
            ("cam-good", plain, str(clip)),
            ("cam-garbage", {**plain, "detector": "garbage"}, str(clip)),
            ("cam-corrupt", plain, str(corrupt)),
            ("cam-missing", plain, str(tmp_path / "no-such-file.mp4")),
        ):
            await asyncio.to_thread(group.add, changed(1, config, camera), StreamOptions(url))
        started = time.monotonic()
        await inbox.wait_until(
            lambda: (s := latest(inbox, "cam-good")) is not None and s.frames_analysed >= 25,
            timeout=20,
        )
        elapsed = time.monotonic() - started
        garbage = group.camera("cam-garbage").pipeline.counters
        stats = {c: group.camera(c).stats() for c in group.camera_ids()}
    finally:
        stop.set()
        await running
    # The good camera kept its pace (5 fps, nothing dropped) beside the broken ones.
    assert stats["cam-good"].frames_analysed / elapsed >= 3.5
    assert stats["cam-good"].frames_dropped == 0
    assert garbage.rejected_frames > 10
    assert stats["cam-garbage"].frames_analysed > 0
    # Its failed frames are reported with the last reason, and the others have none.
    assert stats["cam-garbage"].frames_rejected > 10
    assert (stats["cam-garbage"].last_error or "").startswith("frame failed: ")
    assert stats["cam-good"].frames_rejected == 0
    assert stats["cam-good"].last_error is None
    reported_garbage = latest(inbox, "cam-garbage")
    assert reported_garbage is not None
    assert reported_garbage.frames_rejected > 0
    assert stats["cam-corrupt"].frames_analysed == 0
    assert stats["cam-missing"].frames_analysed == 0
    reported = {s.camera_id for s in inbox.of(AnalyticsWorkerStats)}
    assert reported == {"cam-good", "cam-garbage", "cam-corrupt", "cam-missing"}


async def test_an_unavailable_detector_is_reported_and_the_camera_runs_on_motion(
    sim_clip: tuple[Path, GroundTruth], bus: NatsBus, tmp_path: Path
) -> None:
    clip, _ = sim_clip
    (tmp_path / "models").mkdir()
    (tmp_path / "models/yolo.yaml").write_text("backend: onnx_yolo\n")
    group = AnalyticsGroup(tmp_path, bus, GroupOptions(models_dir=tmp_path / "models"))
    stop = asyncio.Event()
    running = asyncio.create_task(group.run(stop))
    try:
        await asyncio.to_thread(
            group.add,
            changed(1, {**COUNTING, "detector": "yolo"}),
            StreamOptions(str(clip), loop_files=False),
        )
        camera = group.camera(CAMERA)
        assert camera.pipeline.detector is None
        stats = camera.stats()
    finally:
        stop.set()
        await running
    assert stats.detector_error is not None
    assert "yolo.yaml" in stats.detector_error


async def test_a_last_error_is_reported_without_the_stream_url(
    sim_clip: tuple[Path, GroundTruth], bus: NatsBus, tmp_path: Path
) -> None:
    clip, _ = sim_clip
    group = AnalyticsGroup(tmp_path, bus, GroupOptions())
    stop = asyncio.Event()
    running = asyncio.create_task(group.run(stop))
    try:
        await asyncio.to_thread(
            group.add, changed(1, {**QUIET, "plates": False}), StreamOptions(str(clip))
        )
        camera = group.camera(CAMERA)
        # What an error may quote: the camera's own source, and a URL with credentials.
        camera.pipeline.counters.last_error = (
            f"cannot open {clip} nor rtsp://admin:hunter2@10.0.0.1:554/ch1 " + "x" * 300
        )
        stats = camera.stats()
    finally:
        stop.set()
        await running
    assert stats.last_error is not None
    assert stats.last_error.startswith("cannot open <stream> nor <url> xxx")
    assert str(clip) not in stats.last_error
    assert "hunter2" not in stats.last_error
    assert "10.0.0.1" not in stats.last_error
    assert len(stats.last_error) == 200


async def test_garbage_plate_reads_are_counted_in_the_stats(
    sim_clip: tuple[Path, GroundTruth], bus: NatsBus, inbox: Inbox, tmp_path: Path
) -> None:
    clip, truth = sim_clip
    reader = OracleReader(truth, garbage=True)
    group = AnalyticsGroup(
        tmp_path,
        bus,
        GroupOptions(stats_interval_seconds=0.5),
        plate_reader=lambda: (reader, fuse_by_vote),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(group.run(stop))
    try:
        await asyncio.to_thread(
            group.add, changed(1, QUIET), StreamOptions(str(clip), loop_files=False)
        )
        # Polled up to a deadline, not a fixed wait: under load the first plate reads come
        # late. Once a read found a plate (and was delivered: the reader has begun a later
        # one that found one too), the camera's leaving fuses its track, and rejects it.
        async with asyncio.timeout(60):
            while reader.hits < 2:
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await running  # the camera leaves: its tracks are fused and its last stats sent
    assert reader.calls > 0
    await inbox.wait_until(
        lambda: (s := latest(inbox, CAMERA)) is not None and s.plate_reads_rejected > 0,
        timeout=10,
    )
    assert not inbox.of(PlateRead)


async def test_messages_lost_to_a_full_outbox_are_counted(
    sim_clip: tuple[Path, GroundTruth], nats_server: NatsServer, bus: NatsBus, tmp_path: Path
) -> None:
    """With the broker away, publishing waits; the outbox (two places) fills with the
    camera's reports and further ones are lost, counted in the camera's stats."""
    clip, _ = sim_clip
    group = AnalyticsGroup(tmp_path, bus, GroupOptions(stats_interval_seconds=0.1, outbox_size=2))
    stop = asyncio.Event()
    running = asyncio.create_task(group.run(stop))
    try:
        await asyncio.to_thread(
            group.add, changed(1, {**QUIET, "plates": False}), StreamOptions(str(clip))
        )
        camera = group.camera(CAMERA)
        assert camera.stats().messages_lost == 0
        await asyncio.to_thread(nats_server.stop)
        async with asyncio.timeout(15):
            while camera.stats().messages_lost < 3:
                await asyncio.sleep(0.1)
        await asyncio.to_thread(nats_server.start)  # the queue drains, the group stops
    finally:
        stop.set()
        await running
    stats = camera.stats()
    assert stats.messages_lost >= 3
    assert group.lost_messages >= stats.messages_lost
    assert group.messages_lost("no-such-camera") == 0


def test_an_outbox_needs_a_place() -> None:
    with pytest.raises(ValueError, match="outbox_size"):
        GroupOptions(outbox_size=0)
