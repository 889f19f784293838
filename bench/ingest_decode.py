"""PyAV decode throughput on this machine: the physical reference for ingest and analytics.

H.264 720p and 1080p (testsrc2, 25 fps, a key frame every 2 s), decoded from
a file in the page cache: every frame, and key frames only (the decoder told
to skip the rest with ``skip_frame="NONKEY"``), with 1 and 2 decoder threads.
Figures are medians of ``--repeats`` runs.

    .venv/bin/python bench/ingest_decode.py [--seconds 12] [--repeats 3]

"Stream s/s" is seconds of video processed per second of wall time: how many
real-time streams of that size one process could keep up with in that mode.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import av

from ingest_clips import bitrate_kbps, write_clip

FPS = 25
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
# Key-frame-only runs are short; repeat them until they last this long.
MIN_RUN_SECONDS = 1.0


@dataclass(frozen=True)
class Run:
    frames: int
    video_seconds: float
    wall_seconds: float


def decode(path: Path, *, threads: int, key_frames_only: bool, to_bgr: bool) -> Run:
    frames = 0
    video_seconds = 0.0
    started = time.perf_counter()
    while True:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            context = stream.codec_context
            context.thread_count = threads
            if threads > 1:
                context.thread_type = "AUTO"
            if key_frames_only:
                context.skip_frame = "NONKEY"
            for frame in container.decode(stream):
                frames += 1
                if to_bgr:
                    frame.to_ndarray(format="bgr24")
            video_seconds += float((stream.duration or 0) * (stream.time_base or 0))
        wall = time.perf_counter() - started
        if wall >= MIN_RUN_SECONDS:
            return Run(frames, video_seconds, wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="length of each clip")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.gettempdir()) / "safecity-bench-clips"
    folder.mkdir(exist_ok=True)
    modes = [
        ("all frames", 1, False, False),
        ("all frames", 2, False, False),
        ("all frames + bgr24", 1, False, True),
        ("key frames only", 1, True, False),
        ("key frames only", 2, True, False),
    ]
    print(
        f"PyAV {av.__version__} (FFmpeg {av.ffmpeg_version_info}), median of "
        f"{args.repeats}, {FPS} fps clips of {args.seconds:.0f} s, key frame every 2 s\n"
    )
    print("| clip | mode | threads | frames/s | stream s/s |")
    print("|---|---|---:|---:|---:|")
    for label, (width, height) in SIZES.items():
        clip = write_clip(
            folder / f"testsrc2-{label}-{FPS}fps-{args.seconds:.0f}s.mp4",
            width=width,
            height=height,
            fps=FPS,
            seconds=args.seconds,
        )
        name = f"{label} ({bitrate_kbps(clip) / 1000:.1f} Mbit/s)"
        for mode, threads, key_only, to_bgr in modes:
            runs = [
                decode(clip, threads=threads, key_frames_only=key_only, to_bgr=to_bgr)
                for _ in range(args.repeats)
            ]
            fps = statistics.median(run.frames / run.wall_seconds for run in runs)
            realtime = statistics.median(run.video_seconds / run.wall_seconds for run in runs)
            print(f"| {name} | {mode} | {threads} | {fps:,.0f} | {realtime:,.0f} |")


if __name__ == "__main__":
    main()
