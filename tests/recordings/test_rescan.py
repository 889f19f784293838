"""Segment files whose SegmentClosed was lost are found, probed and indexed by the sweep."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from safecity.audit.context import SYSTEM
from safecity.contracts.ingest import SegmentClosed
from safecity.core.clock import utcnow
from safecity.ingest.reader import CameraReader, DecodeMode, ReaderOptions
from safecity.ingest.recorder import PARTIAL_SUFFIX, SegmentRecorder, SegmentTiming
from safecity.recordings.models import RecordingSegment
from safecity.web.platform import Platform
from tests.factories import World
from tests.ingest.clips import write_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("rescan") / "clip.mp4", width=320, height=180)


def _record(platform: Platform, code: str, clip: Path, *, events: bool) -> list[SegmentClosed]:
    closed: list[SegmentClosed] = []
    recorder = SegmentRecorder(
        code,
        platform.settings.media_dir,
        segment_seconds=2,
        on_closed=closed.append,
        timing=SegmentTiming.STREAM,
        mode="events" if events else "continuous",
    )
    if events:
        recorder.note_event(utcnow() + timedelta(hours=1))  # the whole clip is event footage
    options = ReaderOptions(decode=DecodeMode.NONE)
    CameraReader(code, str(clip), options, sinks=[recorder]).run()
    return closed


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _indexed(platform: Platform) -> dict[str, RecordingSegment]:
    with platform.sessions() as session:
        return {s.path: s for s in session.scalars(select(RecordingSegment))}


def test_lost_messages_are_made_good_by_the_rescan(
    platform: Platform, world: World, clip: Path
) -> None:
    continuous = _record(platform, "PSH-TC1", clip, events=False)
    events = _record(platform, "PSH-TC2", clip, events=True)
    assert (len(continuous), len(events)) == (5, 5)
    delivered, lost = continuous[::2], continuous[1::2] + events
    with platform.transaction() as session:
        for message in delivered:
            platform.recordings.index_segment(session, message)
    media = platform.settings.media_dir
    day = (media / continuous[0].path).parent
    # An open segment, a file that is no video, and a folder of no known camera.
    shutil.copy(
        media / continuous[0].path, day / f"PSH-TC1_20991231T000000.000Z.mp4{PARTIAL_SUFFIX}"
    )
    corrupt = day / "PSH-TC1_20200101T000000.000Z.mp4"
    corrupt.write_bytes(b"not a video")
    stray = media / "XXX-9" / day.name / "XXX-9_20261122T000000.000Z.mp4"
    stray.parent.mkdir(parents=True)
    shutil.copy(media / continuous[0].path, stray)

    with platform.transaction() as session:
        # Fresh files are left for their messages, which may still be on the way.
        assert platform.recordings.rescan(session, SYSTEM, settle_seconds=3600) == []
    with platform.transaction() as session:
        rescued = platform.recordings.rescan(session, SYSTEM, settle_seconds=0)
    assert sorted(s.path for s in rescued) == sorted(m.path for m in lost)

    indexed = _indexed(platform)
    assert len(indexed) == len(continuous) + len(events)
    for message in lost:
        row = indexed[message.path]
        assert (row.sha256, row.size_bytes, row.frames, row.codec) == (
            message.sha256,
            message.size_bytes,
            message.frames,
            message.codec,
        )
        assert (row.width, row.height, row.kind) == (message.width, message.height, message.kind)
        # The name keeps the start to the millisecond; the length is the packets' own.
        assert abs(_utc(row.started_at) - message.started_at) < timedelta(milliseconds=1)
        assert row.duration_seconds == pytest.approx(message.duration_seconds, abs=1e-3)
    assert {indexed[m.path].kind for m in events} == {"event"}
    assert corrupt.exists(), "a file the rescan cannot read is left for a person to look at"

    with platform.transaction() as session:
        assert platform.recordings.rescan(session, SYSTEM, settle_seconds=0) == []
