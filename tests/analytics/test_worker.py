"""The analytics worker on a real NATS server: events, plate reads, stats, configuration over
the bus, the drop counter, and the supervisor restarting a killed worker process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from safecity.analytics.main import STREAM_URL_ENV
from safecity.analytics.supervisor import WorkerLaunch, WorkerSupervisor
from safecity.analytics.worker import AnalyticsWorker, WorkerOptions
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


def changed(version: int, config: dict[str, Any]) -> AnalyticsConfigChanged:
    return AnalyticsConfigChanged(
        camera_id=CAMERA, version=version, config=CameraAnalyticsConfig.model_validate(config)
    )


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[NatsBus]:
    connected = await NatsBus.connect(nats_server.url, fetch_wait_seconds=0.25)
    yield connected
    await connected.close()


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


async def test_worker_publishes_events_plates_and_stats_and_follows_new_configurations(
    sim_clip: tuple[Path, GroundTruth], bus: NatsBus, inbox: Inbox, tmp_path: Path
) -> None:
    clip, truth = sim_clip
    worker = AnalyticsWorker(
        changed(1, QUIET),
        tmp_path,
        bus,
        WorkerOptions(stream_url=str(clip), stats_interval_seconds=0.5, loop_files=False),
        plate_reader=OracleReader(truth),
        fuse=fuse_by_vote,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await inbox.wait_until(lambda: inbox.of(AnalyticsWorkerStats), timeout=10)
        # An older version never replaces a newer one; the new rule starts counting.
        await bus.publish(changed(2, COUNTING))
        await bus.publish(changed(1, QUIET))
        await inbox.wait_until(
            lambda: bool(inbox.of(RuleEvent)) and bool(inbox.of(PlateRead)), timeout=15
        )
    finally:
        stop.set()
        await running
    events = inbox.of(RuleEvent)
    assert {e.kind for e in events} == {"line_crossing"}
    assert all(e.snapshot and (tmp_path / e.snapshot).is_file() for e in events)
    plates = {v.plate for v in truth.vehicles}
    assert all(read.text in plates for read in inbox.of(PlateRead))
    last = inbox.of(AnalyticsWorkerStats)[-1]
    assert last.camera_id == CAMERA
    assert last.config_version == 2
    assert last.frames_analysed > 10
    assert last.events == len(events)
    assert {"decode", "motion", "track", "rules", "plates"} <= set(last.stage_ms)
    assert last.detector is None


class _SlowDetector:
    """A detector that takes 150 ms a frame, slower than frames arrive."""

    name = "slow"
    classes = ("car",)

    def detect(self, image_bgr: Any) -> Detections:
        time.sleep(0.15)
        return Detections.empty()


async def test_a_slow_camera_drops_its_oldest_frames_and_counts_them(
    sim_clip: tuple[Path, GroundTruth], bus: NatsBus, inbox: Inbox, tmp_path: Path
) -> None:
    clip, _ = sim_clip
    config = {**COUNTING, "plates": False, "detector": "slow"}
    worker = AnalyticsWorker(
        changed(1, config),
        tmp_path,
        bus,
        # Unpaced: the file is read as fast as it decodes, much faster than analysis.
        WorkerOptions(
            stream_url=str(clip), stats_interval_seconds=0.5, pace_files=False, loop_files=False
        ),
        detector_loader=lambda name: (_SlowDetector(), None),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await inbox.wait_until(
            lambda: any(s.frames_dropped > 0 for s in inbox.of(AnalyticsWorkerStats)), timeout=15
        )
    finally:
        stop.set()
        await running
    final = worker.stats()
    delivered = worker.reader.stats().frames_delivered
    assert final.frames_dropped > 0
    assert final.detector == "slow"
    # Every frame handed on was either analysed, dropped, or still queued at the stop.
    assert delivered - final.frames_dropped - final.frames_analysed <= 2 + 1


async def test_an_unavailable_detector_is_reported_and_the_camera_runs_on_motion(
    sim_clip: tuple[Path, GroundTruth], bus: NatsBus, inbox: Inbox, tmp_path: Path
) -> None:
    clip, _ = sim_clip
    (tmp_path / "models").mkdir()
    (tmp_path / "models/yolo.yaml").write_text("backend: onnx_yolo\n")
    worker = AnalyticsWorker(
        changed(1, {**COUNTING, "detector": "yolo"}),
        tmp_path,
        bus,
        WorkerOptions(stream_url=str(clip), models_dir=tmp_path / "models", loop_files=False),
    )
    assert worker.pipeline.detector is None
    stats = worker.stats()
    assert stats.detector_error is not None
    assert "yolo.yaml" in stats.detector_error


async def test_the_supervisor_restarts_a_killed_worker_and_backs_off_a_broken_one(
    sim_clip: tuple[Path, GroundTruth], nats_server: NatsServer, inbox: Inbox, tmp_path: Path
) -> None:
    clip, _ = sim_clip
    good = tmp_path / "good.json"
    good.write_text(changed(1, COUNTING).model_dump_json())
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")

    def launch(name: str, config: Path) -> WorkerLaunch:
        return WorkerLaunch(
            name=name,
            argv=[
                sys.executable,
                "-m",
                "safecity.analytics",
                f"--media-root={tmp_path / 'media'}",
                f"--config-file={config}",
                f"--bus-url={nats_server.url}",
                "--stats-interval=0.5",
            ],
            env={**os.environ, STREAM_URL_ENV: str(clip)},
            log_path=tmp_path / f"{name}.log",
        )

    supervisor = WorkerSupervisor(
        [launch("good", good), launch("broken", broken)], first_backoff=0.2, max_backoff=1.0
    )
    supervisor.start()
    try:
        await inbox.wait_until(lambda: inbox.of(AnalyticsWorkerStats), timeout=20)
        first = supervisor.pid("good")
        assert first is not None
        os.kill(first, signal.SIGKILL)
        seen = len(inbox.of(AnalyticsWorkerStats))
        await inbox.wait_until(
            lambda: (
                supervisor.restarts("good") == 1 and len(inbox.of(AnalyticsWorkerStats)) > seen + 1
            ),
            timeout=20,
        )
        assert supervisor.pid("good") not in (None, first)
        # Meanwhile the broken worker keeps exiting and is retried, never more than
        # once per back-off delay; it never takes the good one down.
        assert supervisor.restarts("broken") >= 2
    finally:
        await asyncio.to_thread(supervisor.stop)
    assert "invalid configuration file" in (tmp_path / "broken.log").read_text()
    assert supervisor.pid("good") is None


def test_supervisor_refuses_to_start_twice() -> None:
    supervisor = WorkerSupervisor([])
    supervisor.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            supervisor.start()
    finally:
        supervisor.stop()
