"""The ingest worker on a real NATS server: its messages, its image-check hook, a hard crash."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from safecity.bus import NatsBus, NatsServer
from safecity.contracts.ingest import CameraHealth, SegmentClosed
from safecity.ingest.frames import Frame
from safecity.ingest.health import FrameProblem
from safecity.ingest.recorder import PARTIAL_SUFFIX
from safecity.ingest.worker import STREAM_URL_ENV, IngestWorker, IngestWorkerConfig
from safecity.sim.rtsp import RtspMount, free_port
from tests.analytics.support import Inbox
from tests.ingest.clips import decoded_frames
from tests.ingest.conftest import RtspServerFactory

pytestmark = pytest.mark.nats

PASSWORD = "W0rker-Secret-Pw"


@pytest.fixture
def worker_process(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Worker processes started by a test; any still running at the end are killed."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


async def test_worker_process_publishes_and_a_kill_keeps_every_closed_segment(
    rtsp_server: RtspServerFactory,
    short_gop_clip: Path,
    nats_server: NatsServer,
    bus: NatsBus,
    inbox: Inbox,
    tmp_path: Path,
    worker_process: list[subprocess.Popen[bytes]],
) -> None:
    server = rtsp_server([RtspMount("cam-w", short_gop_clip, user="admin", password=PASSWORD)])
    media = tmp_path / "media"
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "safecity.ingest",
                "--camera-id=cam-w",
                f"--media-root={media}",
                f"--bus-url={nats_server.url}",
                "--segment-seconds=2",
                "--health-interval=0.5",
                "--log-level=DEBUG",
            ],
            env={**os.environ, STREAM_URL_ENV: server.url("cam-w")},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    worker_process.append(process)

    await inbox.wait_until(lambda: len(inbox.of(SegmentClosed)) >= 2, timeout=20)
    streaming = [h for h in inbox.of(CameraHealth) if h.state == "streaming" and h.recording]
    assert streaming, inbox.of(CameraHealth)
    latest = streaming[-1]
    assert 7 <= latest.fps <= 14
    assert latest.bitrate_bps > 100_000
    assert (latest.codec, latest.width, latest.height) == ("h264", 640, 360)
    assert latest.problems == ()

    # Kill it 1.5 s into a 2 s segment: its first 1 s fragment is on disk.
    last_end = inbox.of(SegmentClosed)[-1].ended_at.timestamp()
    await asyncio.sleep(max(0.0, last_end + 1.5 - time.time()))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)

    announced = {message.path: message for message in inbox.of(SegmentClosed)}
    on_disk = sorted(media.rglob("*.mp4"))
    assert {path.relative_to(media).as_posix() for path in on_disk} == set(announced)
    for path in on_disk:
        segment = announced[path.relative_to(media).as_posix()]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == segment.sha256
        assert decoded_frames(path) == segment.frames
    partial = list(media.rglob(f"*{PARTIAL_SUFFIX}"))
    assert len(partial) == 1, "only the open segment is unfinished"
    # Fragmented MP4: even the open segment plays up to its last complete fragment.
    assert decoded_frames(partial[0]) >= 10

    # Started again, the worker first announces what it salvaged from the open segment.
    config = IngestWorkerConfig(
        camera_id="cam-w", stream_url=SecretStr(server.url("cam-w")), media_root=media
    )
    stop = asyncio.Event()
    stop.set()  # salvage, then stop at once
    await IngestWorker(config, bus).run(stop)
    salvaged = media / partial[0].name.removesuffix(PARTIAL_SUFFIX)
    await inbox.wait_until(
        lambda: any(m.path.endswith(salvaged.name) for m in inbox.of(SegmentClosed)), timeout=10
    )
    assert decoded_frames(partial[0].parent / salvaged.name) >= 10
    assert not list(media.rglob(f"*{PARTIAL_SUFFIX}"))

    for message in inbox.messages:
        assert PASSWORD not in message.model_dump_json()
    assert PASSWORD not in log.read_text(errors="replace")


async def test_image_checks_and_stream_state_reach_the_health_report(
    clip: Path, bus: NatsBus, inbox: Inbox, tmp_path: Path
) -> None:
    checked: list[Frame] = []

    def dark(frame: Frame) -> list[FrameProblem]:
        checked.append(frame)
        return [FrameProblem("black", "mean luminance 3 of 255")]

    config = IngestWorkerConfig(
        camera_id="cam-file",
        stream_url=SecretStr(str(clip)),
        media_root=tmp_path / "media",
        segment_seconds=2,
        health_interval_seconds=0.3,
    )
    worker = IngestWorker(config, bus, frame_checks={"dark": dark})
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))

    def black_reported() -> bool:
        return any(
            problem.code == "black" for h in inbox.of(CameraHealth) for problem in h.problems
        )

    await inbox.wait_until(black_reported, timeout=10)
    await inbox.wait_until(lambda: len(inbox.of(SegmentClosed)) >= 1, timeout=10)
    stop.set()
    await asyncio.wait_for(running, timeout=15)
    await inbox.wait_until(lambda: inbox.of(CameraHealth)[-1].state == "stopped", timeout=10)

    assert checked
    assert all(frame.key_frame for frame in checked)  # health checks decode key frames only
    first = next(h for h in inbox.of(CameraHealth) if h.problems)
    assert first.state == "streaming"
    assert first.problems[0].detail == "mean luminance 3 of 255"
    # Stopping closes the open segment and announces it (on its own consumer,
    # so it may arrive after the last health report).
    await inbox.wait_until(lambda: len(inbox.of(SegmentClosed)) >= 2, timeout=10)
    assert all(message.camera_id == "cam-file" for message in inbox.of(SegmentClosed))


async def test_an_unreachable_camera_is_reported_offline_without_its_password(
    bus: NatsBus, inbox: Inbox, tmp_path: Path
) -> None:
    url = f"rtsp://admin:{PASSWORD}@127.0.0.1:{free_port()}/stream1"
    config = IngestWorkerConfig(
        camera_id="cam-down",
        stream_url=SecretStr(url),
        media_root=tmp_path / "media",
        health_interval_seconds=0.2,
        backoff_cap_seconds=0.2,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(IngestWorker(config, bus).run(stop))

    def offline() -> bool:
        return any(p.code == "offline" for h in inbox.of(CameraHealth) for p in h.problems)

    await inbox.wait_until(offline, timeout=10)
    stop.set()
    await asyncio.wait_for(running, timeout=15)
    report = next(h for h in inbox.of(CameraHealth) if h.problems)
    assert report.state == "reconnecting"
    assert report.recording is False
    assert "refused" in report.problems[0].detail.lower()
    for message in inbox.messages:
        assert PASSWORD not in message.model_dump_json()
