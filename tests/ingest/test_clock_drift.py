"""Clock drift where the stream carries wall-clock time: RTCP sender reports over RTSP."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from safecity.ingest.health import CLOCK_DRIFT, HealthMonitor
from safecity.ingest.reader import CameraReader, DecodeMode, ReaderOptions
from safecity.sim.rtsp import RtspMount
from tests.ingest.conftest import RtspServerFactory


def _offset_seen(reader: CameraReader, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = reader.stats()
        if stats.clock_offset_seconds is not None and stats.packets > 30:
            return stats.clock_offset_seconds
        time.sleep(0.2)
    raise AssertionError(f"no clock offset after {timeout} s: {reader.stats()}")


@pytest.mark.parametrize(("skew", "drifting"), [(30.0, True), (-12.0, True), (0.0, False)])
def test_a_skewed_camera_clock_is_measured_and_reported(
    rtsp_server: RtspServerFactory, clip: Path, skew: float, drifting: bool
) -> None:
    server = rtsp_server([RtspMount("cam-clock", clip, clock_offset_seconds=skew)])
    reader = CameraReader(
        "cam-clock", server.url("cam-clock"), ReaderOptions(decode=DecodeMode.NONE)
    )
    reader.start()
    try:
        offset = _offset_seen(reader, timeout=15)
        report = HealthMonitor("cam-clock").report(reader.stats(), None)
    finally:
        reader.stop(10)
    # Our estimate is the skew minus the delivery delay (loopback: well under a second).
    assert skew - 1.0 < offset <= skew + 0.05
    assert report.clock_offset_seconds == offset
    codes = [problem.code for problem in report.problems]
    assert (CLOCK_DRIFT in codes) is drifting
    if drifting:
        detail = next(p.detail for p in report.problems if p.code == CLOCK_DRIFT)
        assert f"{offset:+.1f} s" in detail


def test_a_file_carries_no_wall_clock(clip: Path) -> None:
    reader = CameraReader("cam-file", str(clip), ReaderOptions(decode=DecodeMode.NONE))
    reader.run()
    assert reader.stats().clock_offset_seconds is None
