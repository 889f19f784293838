"""Reconnect time and recording gaps when a camera drops out and comes back.

One simulated 720p/15 fps camera (GStreamer's RTSP server, behind a password) is
read and recorded by a ``CameraReader`` with the ingest worker's default timeouts
and backoff (open and read 5 s, backoff 0.5 s doubling to a 3 s cap, with jitter)
into 2 s stream-copy segments. For each outage length the server is stopped,
left down for that long, and started again on the same port; measured:

- detect: from the server stopping to the reader reporting ``reconnecting``;
- back: from the server answering again to the first frame read (goal: under 5 s);
- extra gap: the gap the recording shows across the outage minus the outage itself
  (goal: no loss beyond the outage, so this is at most the reconnect time);
- playable: every segment written is decoded with PyAV and must hold the frames
  its ``SegmentClosed`` announced.

    .venv/bin/python bench/ingest_reconnect.py [--outages 1,3,10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import av

from ingest_clips import write_clip
from safecity.contracts.ingest import SegmentClosed
from safecity.core.clock import utcnow
from safecity.ingest.reader import CameraReader, DecodeMode, ReaderOptions, ReaderStats
from safecity.ingest.recorder import SegmentRecorder
from safecity.sim.rtsp import RtspMount, RtspServer, gstreamer_unavailable_reason

PASSWORD = "Bench-rtsp-S3cret"  # noqa: S105 - a simulated camera on loopback


@dataclass(frozen=True)
class Trial:
    outage_seconds: float
    detect_seconds: float
    back_seconds: float
    extra_gap_seconds: float
    segments: int
    playable: int


def _wait(reader: CameraReader, condition: Callable[[ReaderStats], bool], limit: float) -> None:
    deadline = time.monotonic() + limit
    while not condition(reader.stats()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"not reached within {limit} s: {reader.stats()}")
        time.sleep(0.01)


def _frames_in(path: Path) -> int:
    try:
        with av.open(str(path)) as container:
            return sum(1 for _ in container.decode(video=0))
    except av.error.FFmpegError:
        return -1


def trial(clip: Path, work: Path, outage: float) -> Trial:
    server = RtspServer(
        [RtspMount("cam-1", clip, user="admin", password=PASSWORD)], log_path=work / "rtsp.log"
    )
    server.start()
    closed: list[SegmentClosed] = []
    media = work / "media"
    recorder = SegmentRecorder("cam-1", media, segment_seconds=2.0, on_closed=closed.append)
    reader = CameraReader(
        "cam-1",
        server.url("cam-1"),
        ReaderOptions(decode=DecodeMode.KEY_FRAMES),
        sinks=[recorder],
    )
    reader.start()
    try:
        _wait(reader, lambda s: s.packets >= 60, 20)  # 4 s of video recorded first
        went_down = utcnow()
        server.stop()
        _wait(reader, lambda s: s.state == "reconnecting", 15)
        detected = utcnow()
        time.sleep(max(0.0, outage - (detected - went_down).total_seconds()))
        server.start()
        came_back = utcnow()

        def fresh(stats: ReaderStats) -> bool:
            return stats.last_frame_at is not None and stats.last_frame_at > came_back

        _wait(reader, fresh, 30)
        first_frame = reader.stats().last_frame_at
        assert isinstance(first_frame, datetime)
        packets_then = reader.stats().packets
        _wait(reader, lambda s: s.packets >= packets_then + 45, 20)  # 3 s more
    finally:
        reader.stop(timeout=10)
        recorder.close()
        server.stop()
    real_outage = (came_back - went_down).total_seconds()
    # The segment after the outage is the one announcing the largest gap before it.
    gaps = [s.gap_before_seconds for s in closed if s.gap_before_seconds is not None]
    if not gaps:
        raise RuntimeError("no segment announced a gap after the outage")
    playable = sum(1 for s in closed if _frames_in(media / s.path) == s.frames)
    return Trial(
        outage_seconds=real_outage,
        detect_seconds=(detected - went_down).total_seconds(),
        back_seconds=(first_frame - came_back).total_seconds(),
        extra_gap_seconds=max(gaps) - real_outage,
        segments=len(closed),
        playable=playable,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outages", default="1,3,10", help="outage lengths in seconds")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    reason = gstreamer_unavailable_reason()
    if reason is not None:
        sys.exit(f"GStreamer's RTSP server is needed: {reason}")
    print(f"load average at start: {os.getloadavg()}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        clip = write_clip(root / "clip.mp4", width=1280, height=720, fps=15, seconds=20)
        rows: list[str] = []
        for outage in (float(value) for value in args.outages.split(",")):
            trials: list[Trial] = []
            for repeat in range(args.repeats):
                work = root / f"o{outage:g}-{repeat}"
                work.mkdir()
                result = trial(clip, work, outage)
                print(f"  {result}", file=sys.stderr)
                trials.append(result)
            back = [t.back_seconds for t in trials]
            extra = [t.extra_gap_seconds for t in trials]
            detect = [t.detect_seconds for t in trials]
            rows.append(
                f"| {outage:g} | {len(trials)}"
                f" | {statistics.median(detect):.2f} / {max(detect):.2f}"
                f" | {statistics.median(back):.2f} / {max(back):.2f}"
                f" | {statistics.median(extra):.2f} / {max(extra):.2f}"
                f" | {sum(t.playable for t in trials)} of {sum(t.segments for t in trials)} |"
            )
    print(f"load average at end: {os.getloadavg()}", file=sys.stderr)
    print(
        "| outage (s) | runs | detect, median / max (s) | first frame after the return, "
        "median / max (s) | recording gap beyond the outage, median / max (s) "
        "| segments playable |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
