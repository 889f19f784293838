"""A full recording disk, for real: a small tmpfs that fills up while a camera records.

Mounting needs root (CAP_SYS_ADMIN); where the sandbox refuses, the test is
skipped with the reason rather than faking ENOSPC in Python, which would not
exercise FFmpeg's own write path.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from safecity.bus import NatsBus
from safecity.contracts.ingest import CameraHealth, SegmentClosed
from safecity.ingest.recorder import PARTIAL_SUFFIX
from safecity.ingest.worker import IngestWorker, IngestWorkerConfig
from tests.analytics.support import Inbox
from tests.ingest.clips import decoded_frames

pytestmark = pytest.mark.nats

# About three seconds of the test clip (72 KB/s): full within a few segments.
_DISK_BYTES = 256 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={_DISK_BYTES}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip() or result}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def config(camera_id: str, clip: Path, media_root: Path) -> IngestWorkerConfig:
    return IngestWorkerConfig(
        camera_id=camera_id,
        stream_url=SecretStr(str(clip)),
        media_root=media_root,
        segment_seconds=1,
        health_interval_seconds=0.3,
    )


async def test_a_full_disk_is_reported_loses_no_closed_segment_and_recording_resumes(
    short_gop_clip: Path, small_disk: Path, bus: NatsBus, tmp_path: Path
) -> None:
    inbox = Inbox()
    await bus.subscribe(SegmentClosed, durable="test-segments", handler=inbox)
    await bus.subscribe(CameraHealth, durable="test-health", handler=inbox)
    full = IngestWorker(config("cam-full", short_gop_clip, small_disk), bus)
    other = IngestWorker(config("cam-other", short_gop_clip, tmp_path / "media"), bus)
    stop = asyncio.Event()
    running = [asyncio.create_task(w.run(stop)) for w in (full, other)]

    def problems(camera: str) -> list[str]:
        reports = [h for h in inbox.of(CameraHealth) if h.camera_id == camera]
        return [p.code for p in reports[-1].problems] if reports else []

    def segments(camera: str) -> list[SegmentClosed]:
        return [s for s in inbox.of(SegmentClosed) if s.camera_id == camera]

    try:
        await inbox.wait_until(lambda: "storage_full" in problems("cam-full"), timeout=30)
        report = [h for h in inbox.of(CameraHealth) if h.camera_id == "cam-full"][-1]
        detail = next(p.detail for p in report.problems if p.code == "storage_full")
        assert detail.startswith("no space left for recordings")
        assert report.state == "streaming"  # the camera is fine; its disk is not
        before = len(segments("cam-other"))

        # Health can overtake the segment messages: wait until every sealed file is announced.
        def sealed_unannounced() -> set[str]:
            on_disk = {str(p.relative_to(small_disk)) for p in small_disk.rglob("*.mp4")}
            return on_disk - {str(s.path) for s in segments("cam-full")}

        await inbox.wait_until(lambda: not sealed_unannounced(), timeout=10)
        full_segments = segments("cam-full")
        assert full_segments, "the disk held a few segments before it filled up"
        # The other camera records on while this one cannot.
        await inbox.wait_until(lambda: len(segments("cam-other")) >= before + 2, timeout=20)
        assert not any(task.done() for task in running)

        # Every closed segment on the full disk is intact: its hash and its frames.
        for segment in full_segments:
            path = small_disk / segment.path
            assert path.stat().st_size == segment.size_bytes
            assert decoded_frames(path) == segment.frames
        # A failed attempt leaves no header-only partial behind to fill the disk further.
        partials = list(small_disk.rglob(f"*{PARTIAL_SUFFIX}"))
        assert len(partials) <= 2, partials

        # Space comes back (retention deleted the oldest): recording resumes by itself.
        for segment in full_segments:
            (small_disk / segment.path).unlink()
        count = len(full_segments)
        await inbox.wait_until(lambda: len(segments("cam-full")) > count, timeout=20)
        await inbox.wait_until(lambda: "storage_full" not in problems("cam-full"), timeout=10)
        resumed = segments("cam-full")[count]
        assert decoded_frames(small_disk / resumed.path) == resumed.frames
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*running), timeout=20)
