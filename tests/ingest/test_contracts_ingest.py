"""The ingest messages: validation, and a round trip through the wire format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from safecity.contracts.ingest import (
    CameraHealth,
    HealthProblem,
    SegmentClosed,
    segment_message_id,
)

START = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)


def segment(**changes: Any) -> SegmentClosed:
    fields: dict[str, Any] = {
        "camera_id": "PSH-0001",
        "path": "PSH-0001/2026-11-22/PSH-0001_20261122T040000.000Z.mp4",
        "started_at": START,
        "ended_at": START + timedelta(seconds=10),
        "duration_seconds": 10.0,
        "size_bytes": 1_234_567,
        "sha256": "ab" * 32,
        "codec": "h264",
        "width": 1280,
        "height": 720,
        "frames": 150,
        "key_frames": 5,
        "gap_before_seconds": 0.0,
    }
    fields.update(changes)
    return SegmentClosed(**fields)


def test_segment_round_trip() -> None:
    message = segment()
    envelope = message.encode()
    assert envelope.subject == "safecity.ingest.segment.closed"
    assert SegmentClosed.decode(envelope.data, envelope.headers) == message


@pytest.mark.parametrize(
    "path",
    [
        "/srv/media/PSH-0001/a.mp4",
        "PSH-0001/../../etc/passwd",
        "PSH-0001//a.mp4",
        "PSH-0001/./a.mp4",
        "PSH-0001\\a.mp4",
    ],
)
def test_segment_path_stays_below_the_media_root(path: str) -> None:
    with pytest.raises(ValidationError, match="relative path"):
        segment(path=path)


@pytest.mark.parametrize("camera_id", ["..", "a/b", "", "-x", "x" * 65])
def test_camera_id_cannot_escape_its_folder(camera_id: str) -> None:
    with pytest.raises(ValidationError):
        segment(camera_id=camera_id)


def test_segment_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValidationError, match="before started_at"):
        segment(ended_at=START - timedelta(seconds=1))


def test_health_round_trip_with_problems() -> None:
    message = CameraHealth(
        camera_id="PSH-0001",
        state="reconnecting",
        state_since=START,
        fps=0.0,
        bitrate_bps=0.0,
        reconnects=3,
        recording=False,
        segments_closed=12,
        frames_dropped=0,
        problems=(HealthProblem(code="offline", detail="connection refused", since=START),),
    )
    envelope = message.encode()
    assert envelope.subject == "safecity.ingest.camera.health"
    assert CameraHealth.decode(envelope.data, envelope.headers) == message


def test_problem_codes_are_stable_identifiers() -> None:
    with pytest.raises(ValidationError):
        HealthProblem(code="Camera Offline!", since=START)


def test_segment_message_ids_tell_cameras_apart_and_repeat_for_a_resend() -> None:
    # Two cameras can write byte-identical segments (the same test pattern, two black
    # screens): with the file hash alone as the id, JetStream dropped the second one.
    digest = "ab" * 32
    first = segment_message_id("PSH-C0001", digest)
    assert first == segment_message_id("PSH-C0001", digest)
    assert first != segment_message_id("PSH-C0002", digest)
    assert first != segment_message_id("PSH-C0001", "cd" * 32)
    assert len(first) == 64
    assert set(first) <= set("0123456789abcdef")
