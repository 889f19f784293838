"""A worker that stops cleanly on request is not brought back by the supervisor, and a real
group process stops cleanly (status 0) on SIGINT and SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from safecity.analytics.groups import CameraGroups, GroupCommand
from safecity.bus import NatsBus, NatsServer
from safecity.contracts.analytics_config import (
    AnalyticsConfigChanged,
    AnalyticsWorkerStats,
    CameraAnalyticsConfig,
)
from safecity.ingest.supervisor import WorkerLaunch, WorkerSupervisor
from safecity.sim.truth import GroundTruth
from tests.analytics.support import Inbox


def test_a_worker_that_exits_cleanly_stays_stopped_and_a_failing_one_is_restarted() -> None:
    launches = [
        WorkerLaunch("clean", [sys.executable, "-c", "raise SystemExit(0)"], dict(os.environ)),
        WorkerLaunch("failing", [sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ)),
    ]
    supervisor = WorkerSupervisor(launches, first_backoff=0.05, max_backoff=0.1, poll_seconds=0.02)
    supervisor.start()
    try:
        deadline = time.monotonic() + 20
        while supervisor.restarts("failing") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert supervisor.restarts("failing") >= 2
        assert supervisor.restarts("clean") == 0
        assert supervisor.pid("clean") is None
    finally:
        supervisor.stop(timeout=2)


@pytest.mark.nats
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
async def test_a_group_process_signalled_to_stop_exits_0_and_is_not_restarted(
    stop_signal: signal.Signals,
    sim_clip: tuple[Path, GroundTruth],
    nats_server: NatsServer,
    tmp_path: Path,
) -> None:
    """As on Ctrl-C of the demo: the signal reaches a group that analyses a camera with
    plates while its command thread waits on stdin (which once aborted it with SIGABRT at
    interpreter exit, and the supervisor restarted it)."""
    clip, _ = sim_clip
    bus = await NatsBus.connect(nats_server.url, fetch_wait_seconds=0.25)
    inbox = Inbox()
    await bus.subscribe(AnalyticsWorkerStats, durable="test-stop-stats", handler=inbox)
    groups = CameraGroups(
        GroupCommand(
            argv=[
                sys.executable,
                "-m",
                "safecity.analytics",
                f"--media-root={tmp_path / 'media'}",
                f"--bus-url={nats_server.url}",
                "--stats-interval=0.5",
            ],
            env=dict(os.environ),
            log_dir=tmp_path / "logs",
        ),
        lambda camera: str(clip),
        first_backoff=0.1,
        max_backoff=0.2,
    )
    groups.start()
    try:
        config = CameraAnalyticsConfig.model_validate(
            {"enabled": True, "analysed_fps": 5, "plates": True}
        )
        groups.apply(AnalyticsConfigChanged(camera_id="cam-a", version=1, config=config))
        await inbox.wait_until(
            lambda: any(s.frames_analysed > 0 for s in inbox.of(AnalyticsWorkerStats)), 60
        )
        group = groups.group_of("cam-a")
        assert group is not None
        pid = groups.pid(group)
        assert pid is not None
        os.kill(pid, stop_signal)
        deadline = time.monotonic() + 30
        while not groups.exit_codes(group) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # several polls of the supervisor: time to restart, if it would
        assert groups.exit_codes(group) == [0]
        assert groups.restarts(group) == 0
        assert groups.pid(group) is None
    finally:
        await asyncio.to_thread(groups.stop, 10)
        await bus.close()
    log = (tmp_path / "logs" / f"{group}.log").read_text()
    assert "Fatal Python error" not in log
    assert "left the group" in log  # it stopped its cameras on the way out
