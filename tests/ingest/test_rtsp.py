"""Reading and recording simulated RTSP cameras: credentials, reconnection, recording gaps."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import av
import pytest

from safecity.contracts.ingest import SegmentClosed
from safecity.core.clock import utcnow
from safecity.ingest.reader import CameraReader, DecodeMode, ReaderOptions, ReaderStats
from safecity.ingest.recorder import SegmentRecorder
from safecity.sim.rtsp import RtspMount
from tests.ingest.clips import annexb_units, decoded_frames, slices
from tests.ingest.conftest import RtspServerFactory

PASSWORD = "Kp-rtsp-S3cret"


def wait_for(
    reader: CameraReader, condition: Callable[[ReaderStats], bool], timeout: float
) -> ReaderStats:
    deadline = time.monotonic() + timeout
    while True:
        stats = reader.stats()
        if condition(stats):
            return stats
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout} s: {stats}")
        time.sleep(0.02)


def parameter_sets(extradata: bytes | None) -> set[bytes]:
    """SPS and PPS NAL units of H.264 extradata, in avcC or Annex B form."""
    data = extradata or b""
    if not data.startswith(b"\x01"):
        return {unit for unit in annexb_units(data) if unit[0] & 0x1F in {7, 8}}
    units: set[bytes] = set()
    offset = 5
    for count_mask in (0x1F, 0xFF):  # SPS count (5 bits), then PPS count
        count = data[offset] & count_mask
        offset += 1
        for _ in range(count):
            size = int.from_bytes(data[offset : offset + 2], "big")
            units.add(data[offset + 2 : offset + 2 + size])
            offset += 2 + size
    return units


def test_reads_a_camera_that_needs_credentials(
    rtsp_server: RtspServerFactory, clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = rtsp_server([RtspMount("cam-1", clip, user="admin", password=PASSWORD)])
    reader = CameraReader("cam-1", server.url("cam-1"), ReaderOptions(target_fps=5))
    with caplog.at_level(logging.DEBUG):
        reader.start()
        try:
            stats = wait_for(reader, lambda s: s.packets >= 25, timeout=10)
        finally:
            reader.stop(timeout=10)
    assert stats.state == "streaming"
    # The camera sends 10 fps; opening reads 0.5 s ahead, which arrives as a burst.
    assert 8 <= stats.fps <= 14
    assert stats.bitrate_bps > 100_000
    assert (stats.codec, stats.width, stats.height) == ("h264", 640, 360)
    assert stats.last_frame_pts_seconds is not None
    assert 8 <= stats.frames_delivered <= 16  # 5 fps of about 2.5 s
    assert stats.source == f"rtsp://***@127.0.0.1:{server.port}/cam-1"
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(reader.stats())


def test_wrong_credentials_keep_the_camera_offline_with_a_clear_error(
    rtsp_server: RtspServerFactory, clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = rtsp_server([RtspMount("cam-1", clip, user="admin", password=PASSWORD)])
    wrong = server.url("cam-1").replace(PASSWORD, "not-the-password")
    reader = CameraReader("cam-1", wrong, ReaderOptions(backoff_cap_seconds=0.2))
    with caplog.at_level(logging.DEBUG):
        reader.start()
        try:
            wait_for(reader, lambda s: "401" in (s.last_error or ""), timeout=10)
            time.sleep(0.5)  # a few more attempts, all refused
        finally:
            reader.stop(timeout=10)
    stats = reader.stats()
    assert stats.packets == 0
    assert stats.reconnects == 1  # one outage, however many attempts
    assert caplog.text.count("401 Unauthorized") >= 2
    assert "not-the-password" not in caplog.text + repr(stats)


def test_reconnects_after_an_outage_and_records_around_it(
    rtsp_server: RtspServerFactory, clip: Path, tmp_path: Path
) -> None:
    server = rtsp_server([RtspMount("cam-1", clip, user="admin", password=PASSWORD)])
    closed: list[SegmentClosed] = []
    media = tmp_path / "media"
    recorder = SegmentRecorder("cam-1", media, segment_seconds=2.0, on_closed=closed.append)
    reader = CameraReader(
        "cam-1",
        server.url("cam-1"),
        ReaderOptions(decode=DecodeMode.KEY_FRAMES, backoff_cap_seconds=1.0),
        sinks=[recorder],
    )
    reader.start()
    try:
        wait_for(reader, lambda s: s.packets >= 35, timeout=10)
        went_down = utcnow()
        server.stop()
        wait_for(reader, lambda s: s.state == "reconnecting", timeout=5)
        time.sleep(1.5)
        server.start()  # same port: the camera is back
        came_back = utcnow()
        stats = wait_for(
            reader,
            lambda s: s.last_frame_at is not None and s.last_frame_at > came_back,
            timeout=10,
        )
        assert isinstance(stats.last_frame_at, datetime)
        first_frame_after = (stats.last_frame_at - came_back).total_seconds()
        wait_for(reader, lambda s: s.packets >= 75, timeout=10)
    finally:
        reader.stop(timeout=10)
        recorder.close()
    outage = (came_back - went_down).total_seconds()
    # Figures for the report (pytest -s shows them).
    print(f"outage {outage:.2f} s, first frame {first_frame_after:.2f} s after the return")
    assert first_frame_after < 5.0
    assert reader.stats().reconnects == 1

    resumed = [i for i, s in enumerate(closed) if s.started_at > went_down]
    assert resumed, "no segment after the outage"
    after = closed[resumed[0]]
    before = closed[resumed[0] - 1]
    assert after.gap_before_seconds is not None
    # Recording resumes with the first frame received: the gap is the outage plus
    # the time to reconnect, and the segment cut by the outage was kept.
    assert outage - 0.5 <= after.gap_before_seconds <= outage + first_frame_after + 0.5
    assert before.ended_at.timestamp() >= went_down.timestamp() - 0.5
    for segment in closed:
        if segment is not after and segment.gap_before_seconds is not None:
            assert abs(segment.gap_before_seconds) < 0.3, segment

    source_slices = set(slices(clip))
    source_parameters = set()
    with av.open(str(clip)) as container:
        source_parameters = parameter_sets(container.streams.video[0].codec_context.extradata)
    for segment in closed:
        file = media / segment.path
        assert decoded_frames(file) == segment.frames
        # Stream copy: every coded slice is byte for byte one of the camera's.
        recorded = slices(file)
        assert recorded
        assert set(recorded) <= source_slices
        with av.open(str(file)) as container:
            extradata = container.streams.video[0].codec_context.extradata
        assert parameter_sets(extradata) == source_parameters
