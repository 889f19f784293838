"""Several cameras in one ingest process, under the supervisor, against real RTSP cameras and
a real NATS server: each camera records playable segments, a bad camera disturbs none, a
killed group comes back with its cameras, the registry's changes are followed, and a group
told to stop closes every segment."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from safecity.bus import NatsBus, NatsServer
from safecity.bus.interface import Bus
from safecity.contracts.ingest import CameraHealth, SegmentClosed
from safecity.contracts.registry import CameraChanged
from safecity.ingest import control
from safecity.ingest.group import GroupOptions, IngestGroup
from safecity.ingest.groups import IngestCamera, IngestGroups
from safecity.ingest.health import INGEST_CRASHED
from safecity.ingest.process_groups import GroupCommand
from safecity.ingest.recorder import PARTIAL_SUFFIX
from safecity.ingest.worker import IngestWorker, IngestWorkerConfig
from safecity.sim.rtsp import RtspMount, free_port
from tests.analytics.support import Inbox
from tests.ingest.clips import decoded_frames
from tests.ingest.conftest import RtspServerFactory

pytestmark = pytest.mark.nats

PASSWORD = "Gr0up-Secret-Pw"


class Registry:
    """What the control plane's registry would say of each camera right now."""

    def __init__(self) -> None:
        self.cameras: dict[str, IngestCamera] = {}

    def resolve(self, code: str) -> IngestCamera | None:
        return self.cameras.get(code)


@pytest.fixture
def media(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def groups(
    nats_server: NatsServer, media: Path, registry: Registry, tmp_path: Path
) -> Iterator[IngestGroups]:
    argv = [
        sys.executable,
        "-m",
        "safecity.ingest",
        f"--media-root={media}",
        f"--bus-url={nats_server.url}",
        "--segment-seconds=2",
        "--health-interval=0.5",
    ]
    supervisor = IngestGroups(
        GroupCommand(argv=argv, env=dict(os.environ), log_dir=tmp_path / "logs"),
        registry.resolve,
        per_process=8,
        first_backoff=0.2,
        max_backoff=1.0,
    )
    supervisor.start()
    yield supervisor
    supervisor.stop(timeout=15)


def segments_of(inbox: Inbox, camera: str) -> list[SegmentClosed]:
    return [m for m in inbox.of(SegmentClosed) if m.camera_id == camera]


def assert_playable(media: Path, inbox: Inbox) -> None:
    """Every file on disk is a closed, announced segment that plays to its announced end."""
    announced = {m.path: m for m in inbox.of(SegmentClosed)}
    assert not list(media.rglob(f"*{PARTIAL_SUFFIX}")), "a segment was left open"
    on_disk = {p.relative_to(media).as_posix(): p for p in media.rglob("*.mp4")}
    assert set(on_disk) == set(announced)
    for relative, path in on_disk.items():
        assert decoded_frames(path) == announced[relative].frames > 0, relative


def secrets_in(pid: int) -> bool:
    proc = Path(f"/proc/{pid}")
    return PASSWORD.encode() in (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()


async def test_one_process_records_several_cameras_and_a_bad_one_disturbs_none(
    rtsp_server: RtspServerFactory,
    short_gop_clip: Path,
    groups: IngestGroups,
    inbox: Inbox,
    media: Path,
    tmp_path: Path,
) -> None:
    good = ["cam-a", "cam-b", "cam-c"]
    server = rtsp_server(
        [RtspMount(code, short_gop_clip, user="admin", password=PASSWORD) for code in good]
    )
    dead = f"rtsp://admin:{PASSWORD}@127.0.0.1:{free_port()}/nothing"
    for code in good:
        groups.apply(IngestCamera(code, server.url(code), "continuous"))
    groups.apply(IngestCamera("cam-dead", dead, "continuous"))
    assert groups.groups() == {"ingest-1": ["cam-a", "cam-b", "cam-c", "cam-dead"]}

    await inbox.wait_until(lambda: all(len(segments_of(inbox, c)) >= 3 for c in good), 40)
    offline = [h for h in inbox.of(CameraHealth) if h.camera_id == "cam-dead"]
    assert offline
    assert offline[-1].state in ("connecting", "reconnecting")
    assert not segments_of(inbox, "cam-dead")
    for code in good:
        streaming = [h for h in inbox.of(CameraHealth) if h.camera_id == code and h.recording]
        assert streaming, code
        assert 7 <= streaming[-1].fps <= 14, code

    pid = groups.pid("ingest-1")
    assert pid is not None
    assert not secrets_in(pid)

    # Told to stop (as `safecity up` on Ctrl-C), it closes every camera's open segment.
    await asyncio.to_thread(groups.stop, 15)
    await asyncio.sleep(1)  # the last SegmentClosed messages arrive
    assert_playable(media, inbox)
    for message in inbox.messages:
        assert PASSWORD not in message.model_dump_json()
    assert PASSWORD not in (tmp_path / "logs" / "ingest-1.log").read_text(errors="replace")


async def test_a_killed_group_comes_back_with_its_cameras(
    rtsp_server: RtspServerFactory,
    short_gop_clip: Path,
    groups: IngestGroups,
    inbox: Inbox,
) -> None:
    codes = ["cam-k1", "cam-k2"]
    server = rtsp_server([RtspMount(code, short_gop_clip) for code in codes])
    for code in codes:
        groups.apply(IngestCamera(code, server.url(code), "continuous"))
    await inbox.wait_until(lambda: all(segments_of(inbox, c) for c in codes), 30)
    first = groups.pid("ingest-1")
    assert first is not None
    os.kill(first, signal.SIGKILL)

    deadline = time.monotonic() + 20
    while groups.restarts("ingest-1") < 1 or groups.pid("ingest-1") in (None, first):
        assert time.monotonic() < deadline, "the killed group was not restarted"
        await asyncio.sleep(0.1)
    assert groups.exit_codes("ingest-1") == [-signal.SIGKILL]
    restarted = time.time()
    await inbox.wait_until(
        lambda: all(
            any(m.started_at.timestamp() > restarted for m in segments_of(inbox, c)) for c in codes
        ),
        30,
    )


async def test_cameras_follow_the_registry_on_the_bus(
    rtsp_server: RtspServerFactory,
    short_gop_clip: Path,
    nats_server: NatsServer,
    groups: IngestGroups,
    registry: Registry,
    bus: Bus,
    inbox: Inbox,
) -> None:
    server = rtsp_server([RtspMount(c, short_gop_clip) for c in ("cam-1", "cam-late")])
    registry.cameras["cam-1"] = IngestCamera("cam-1", server.url("cam-1"), "continuous")
    groups.apply(registry.cameras["cam-1"])
    await asyncio.to_thread(groups.follow, nats_server.url)
    await inbox.wait_until(lambda: bool(segments_of(inbox, "cam-1")), 30)

    # Installed after the start: it joins the running group and is recorded.
    registry.cameras["cam-late"] = IngestCamera("cam-late", server.url("cam-late"), "continuous")
    await bus.publish(changed("created", "cam-late", 2))
    await inbox.wait_until(lambda: bool(segments_of(inbox, "cam-late")), 30)
    assert groups.groups() == {"ingest-1": ["cam-1", "cam-late"]}

    # Decommissioned: it leaves, its open segment closed and announced.
    del registry.cameras["cam-1"]
    before = len(segments_of(inbox, "cam-1"))
    await bus.publish(changed("updated", "cam-1", 1))
    await inbox.wait_until(lambda: len(segments_of(inbox, "cam-1")) > before, 15)
    assert groups.group_of("cam-1") is None
    left = len(segments_of(inbox, "cam-1"))
    await asyncio.sleep(5)
    assert len(segments_of(inbox, "cam-1")) == left, "a camera that left is still recorded"
    assert len(segments_of(inbox, "cam-late")) >= 2

    # Its recording mode set to off in the registry: the running camera stops recording.
    registry.cameras["cam-late"] = IngestCamera("cam-late", server.url("cam-late"), "off")
    await bus.publish(changed("updated", "cam-late", 2))
    await inbox.wait_until(
        lambda: any(
            h.camera_id == "cam-late" and h.state == "streaming" and not h.recording
            for h in inbox.of(CameraHealth)[-4:]
        ),
        15,
    )


def changed(
    change: Literal["created", "updated", "deleted"], code: str, camera_id: int
) -> CameraChanged:
    return CameraChanged(
        change=change,
        camera_id=camera_id,
        code=code,
        district="peshawar",
        name=code,
        ownership="public",
        status="online",
        has_main_stream=True,
        has_sub_stream=False,
        privacy_mask_count=0,
    )


class FailsOnce(IngestWorker):
    """A worker whose first run fails (as on an error nobody foresaw), then runs normally."""

    failures = 0

    async def run(self, stop: asyncio.Event) -> None:
        if FailsOnce.failures == 0:
            FailsOnce.failures += 1
            raise RuntimeError("recorder exploded")
        await super().run(stop)


async def test_a_failing_camera_is_restarted_alone_and_its_health_says_so(
    rtsp_server: RtspServerFactory, short_gop_clip: Path, bus: NatsBus, inbox: Inbox, media: Path
) -> None:
    server = rtsp_server([RtspMount(c, short_gop_clip) for c in ("cam-ok", "cam-bad")])

    def build(config: IngestWorkerConfig, bus: Bus) -> IngestWorker:
        kind = FailsOnce if config.camera_id == "cam-bad" else IngestWorker
        return kind(config, bus)

    group = IngestGroup(
        bus,
        GroupOptions(
            media_root=media,
            segment_seconds=2,
            health_interval_seconds=0.5,
            first_backoff_seconds=3,
        ),
        build,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(group.run(stop))
    for code in ("cam-ok", "cam-bad"):
        await group.add(
            control.AddCamera(
                camera_id=code, stream_url=server.url(code), recording_mode="continuous"
            )
        )
    await inbox.wait_until(
        lambda: any(
            h.camera_id == "cam-bad" and any(p.code == INGEST_CRASHED for p in h.problems)
            for h in inbox.of(CameraHealth)
        ),
        10,
    )
    crashed = next(h for h in inbox.of(CameraHealth) if h.camera_id == "cam-bad")
    assert "recorder exploded" in crashed.problems[0].detail
    await inbox.wait_until(lambda: len(segments_of(inbox, "cam-bad")) >= 1, 30)
    assert group.crashes("cam-bad") == 1
    assert group.crashes("cam-ok") == 0
    ok = segments_of(inbox, "cam-ok")
    # The other camera recorded on, without a gap, while this one was down.
    assert ok
    assert ok[0].started_at < segments_of(inbox, "cam-bad")[0].started_at
    stop.set()
    await running
    await asyncio.sleep(1)
    assert_playable(media, inbox)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
async def test_a_group_process_signalled_to_stop_closes_every_segment_and_exits_0(
    stop_signal: signal.Signals,
    rtsp_server: RtspServerFactory,
    short_gop_clip: Path,
    nats_server: NatsServer,
    inbox: Inbox,
    media: Path,
    tmp_path: Path,
) -> None:
    codes = ["cam-s1", "cam-s2"]
    server = rtsp_server([RtspMount(c, short_gop_clip) for c in codes])
    log = (tmp_path / "group.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "safecity.ingest",
        "--group=stop-test",
        f"--media-root={media}",
        f"--bus-url={nats_server.url}",
        "--segment-seconds=2",
        stdin=asyncio.subprocess.PIPE,
        stdout=log,
        stderr=log,
    )
    try:
        assert process.stdin is not None
        for code in codes:
            process.stdin.write(
                control.encode(
                    control.AddCamera(
                        camera_id=code, stream_url=server.url(code), recording_mode="continuous"
                    )
                )
            )
        await process.stdin.drain()
        await inbox.wait_until(lambda: all(segments_of(inbox, c) for c in codes), 30)
        await asyncio.sleep(1)  # into the next segment of each camera
        process.send_signal(stop_signal)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()
    await asyncio.sleep(1)
    text = (tmp_path / "group.log").read_text(errors="replace")
    assert "Fatal Python error" not in text
    assert all(f"camera {c} left the group" in text for c in codes)
    assert_playable(media, inbox)


def test_a_bad_command_is_refused_without_echoing_it_and_the_group_goes_on(
    nats_server: NatsServer, media: Path
) -> None:
    lines = [
        b'{"op": "add", "camera_id": "../etc", "stream_url": "rtsp://u:'
        + PASSWORD.encode()
        + b'@h/s", "recording_mode": "continuous"}',
        b"not json " + PASSWORD.encode(),
        b'{"op": "remove", "camera_id": "cam-none"}',
    ]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "safecity.ingest",
            "--group=bad",
            f"--media-root={media}",
            f"--bus-url={nats_server.url}",
        ],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        timeout=60,
        check=False,
    )
    log = done.stderr.decode(errors="replace")
    assert done.returncode == 0, log  # the end of its input stopped it
    refused = [line for line in log.splitlines() if "command refused" in line]
    assert len(refused) == 2, log
    assert "camera_id" in refused[0]
    assert PASSWORD not in log
