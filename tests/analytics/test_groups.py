"""Camera groups on a real NATS server: cameras enabled on the bus join a worker process,
disabled ones leave, a killed group is restarted with its cameras, a camera without a known
stream gets no worker, the stream URL travels on no bus subject and in no log, and a
worker process refuses bad commands without echoing them."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from safecity.analytics import control
from safecity.analytics.groups import CameraGroups, GroupCommand
from safecity.analytics.main import _follow_commands
from safecity.analytics.worker import AnalyticsGroup, GroupOptions
from safecity.bus import NatsBus, NatsServer
from safecity.bus.errors import BusError
from safecity.contracts.analytics_config import (
    AnalyticsConfigChanged,
    AnalyticsWorkerStats,
    CameraAnalyticsConfig,
)
from safecity.contracts.base import Message
from safecity.sim.rtsp import RtspMount, RtspServer, gstreamer_unavailable_reason
from safecity.sim.truth import GroundTruth
from tests.analytics.support import Inbox

pytestmark = pytest.mark.nats

PLAIN = {"enabled": True, "analysed_fps": 5, "plates": False}


def changed(camera: str, version: int, **config: Any) -> AnalyticsConfigChanged:
    return AnalyticsConfigChanged(
        camera_id=camera,
        version=version,
        config=CameraAnalyticsConfig.model_validate({**PLAIN, **config}),
    )


def _frames(inbox: Inbox, camera: str) -> int:
    return max(
        (s.frames_analysed for s in inbox.of(AnalyticsWorkerStats) if s.camera_id == camera),
        default=-1,
    )


async def test_groups_follow_configuration_on_the_bus_and_restart_a_killed_group(
    sim_clip: tuple[Path, GroundTruth], nats_server: NatsServer, bus: NatsBus, tmp_path: Path
) -> None:
    clip, _ = sim_clip
    reason = gstreamer_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    # cam-a is a camera behind a password, as on a real network.
    rtsp = RtspServer(
        [RtspMount("cam-a", clip, user="viewer", password="s3cretpw")],
        log_path=tmp_path / "rtsp.log",
    )
    rtsp.start()
    streams = {"cam-a": rtsp.url("cam-a"), "cam-b": str(clip), "cam-c": str(clip)}
    assert "s3cretpw" in streams["cam-a"]
    inbox = Inbox()
    await bus.subscribe(AnalyticsWorkerStats, durable="test-stats", handler=inbox)
    configs: list[Message] = []

    async def keep(message: Message) -> None:
        configs.append(message)

    await bus.subscribe(AnalyticsConfigChanged, durable="test-configs", handler=keep)
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
        streams.get,
        per_process=2,
        first_backoff=0.2,
        max_backoff=1.0,
    )
    groups.start()
    try:
        await asyncio.to_thread(groups.follow, nats_server.url)
        # Enabled through the bus (as the API's outbox publishes it): a worker starts.
        for camera in ("cam-a", "cam-b", "cam-c"):
            await bus.publish(changed(camera, 1))
        # Unknown stream: no worker; disabled from the start: no worker.
        await bus.publish(changed("cam-nourl", 1))
        await bus.publish(changed("cam-off", 1, enabled=False))
        await inbox.wait_until(
            lambda: all(_frames(inbox, c) > 0 for c in ("cam-a", "cam-b", "cam-c")), timeout=40
        )
        placed = groups.groups()
        assert sorted(map(len, placed.values())) == [1, 2]
        assert {c for members in placed.values() for c in members} == {"cam-a", "cam-b", "cam-c"}
        assert groups.group_of("cam-nourl") is None
        assert groups.group_of("cam-off") is None

        # A killed group comes back with its cameras.
        group_a = groups.group_of("cam-a")
        assert group_a is not None
        first = groups.pid(group_a)
        assert first is not None
        os.kill(first, signal.SIGKILL)
        seen = len(inbox.of(AnalyticsWorkerStats))
        await inbox.wait_until(
            lambda: (
                groups.restarts(group_a) == 1
                and any(
                    s.camera_id == "cam-a" and s.frames_analysed > 0
                    for s in inbox.of(AnalyticsWorkerStats)[seen:]
                )
            ),
            timeout=40,
        )
        assert groups.pid(group_a) not in (None, first)

        # Disabled: the camera leaves; a group left empty stops its process.
        group_c = groups.group_of("cam-c")
        assert group_c is not None
        # Placed in order: a and b fill the first group, c has the second to itself.
        assert groups.groups()[group_c] == ["cam-c"]
        pid_c = groups.pid(group_c)
        assert pid_c is not None
        await bus.publish(changed("cam-c", 2, enabled=False))
        # An older message coming late does not bring it back.
        await bus.publish(changed("cam-c", 1))
        for _ in range(100):
            if groups.group_of("cam-c") is None:
                break
            await asyncio.sleep(0.1)
        assert groups.group_of("cam-c") is None
        assert group_c not in groups.groups()
        for _ in range(200):  # the emptied group's process stops (and is reaped)
            if not Path(f"/proc/{pid_c}").exists():
                break
            await asyncio.sleep(0.1)
        assert not Path(f"/proc/{pid_c}").exists()
        assert groups.groups()[group_a] == ["cam-a", "cam-b"]
    finally:
        await asyncio.to_thread(groups.stop)
        rtsp.stop()
    # The stream URL was on no bus message and in no log.
    assert configs
    assert all("s3cretpw" not in message.model_dump_json() for message in configs)
    logs = "".join(path.read_text() for path in (tmp_path / "logs").glob("*.log"))
    assert "joined the group" in logs
    assert "s3cretpw" not in logs


async def test_a_worker_process_refuses_bad_commands_without_echoing_them(
    sim_clip: tuple[Path, GroundTruth], bus: NatsBus, tmp_path: Path, caplog: Any
) -> None:
    clip, _ = sim_clip
    good = control.AddCamera(config=changed("cam-a", 1), stream_url=SecretStr(str(clip)))
    bad_id = control.encode(good).replace(b'"cam-a"', b'"not a camera id!"')
    lines = b"".join(
        [
            b"{not json at all rtsp://viewer:s3cret@10.0.0.7/x\n",
            bad_id.replace(str(clip).encode(), b"rtsp://viewer:s3cret@10.0.0.7/x"),
            b'{"op": "explode"}\n',
            control.encode(good),
        ]
    )
    group = AnalyticsGroup(tmp_path, bus, GroupOptions(stats_interval_seconds=0.5))
    stop = asyncio.Event()
    running = asyncio.create_task(group.run(stop))
    await asyncio.sleep(0)
    with caplog.at_level(logging.INFO):
        # The end of the input stops the group, as a supervisor that closes the pipe does.
        await asyncio.to_thread(
            _follow_commands, io.BytesIO(lines), group, asyncio.get_running_loop(), stop
        )
        await asyncio.wait_for(running, 20)
    joined = [r.getMessage() for r in caplog.records if "joined the group" in r.getMessage()]
    assert joined == ["camera cam-a joined the group"]
    refused = [r.getMessage() for r in caplog.records if "command refused" in r.getMessage()]
    assert len(refused) == 3
    assert all("s3cret" not in message for message in refused)
    assert group.camera_ids() == []


def test_following_an_unusable_bus_fails_clearly_and_stops_cleanly(tmp_path: Path) -> None:
    groups = CameraGroups(GroupCommand(argv=[sys.executable], env={}), lambda camera: None)
    groups.start()
    try:
        with pytest.raises(BusError, match="cannot follow analytics configuration"):
            groups.follow("", timeout=20)
    finally:
        groups.stop(timeout=5)
    assert groups.groups() == {}
