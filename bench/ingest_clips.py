"""Benchmark clips: FFmpeg's testsrc2 pattern encoded with libx264 through PyAV.

Shared by the ingest benchmarks (a helper module, not a benchmark itself).
"""

from __future__ import annotations

from pathlib import Path

import av
from av.video.frame import PictureType


def write_clip(
    path: Path, *, width: int, height: int, fps: int, seconds: float, key_every_seconds: float = 2.0
) -> Path:
    """An H.264 clip like a camera's: no B-frames, a key frame every ``key_every_seconds``."""
    if path.exists():
        return path
    frames = round(fps * seconds)
    source = av.open(f"testsrc2=size={width}x{height}:rate={fps}", format="lavfi")
    with source, av.open(str(path), "w") as output:
        stream = output.add_stream(
            "libx264", rate=fps, options={"preset": "veryfast", "tune": "zerolatency"}
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = round(fps * key_every_seconds)
        for index, frame in enumerate(source.decode(video=0)):
            if index >= frames:
                break
            frame.pict_type = PictureType.NONE  # lavfi frames are marked I; x264 would obey
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path


def bitrate_kbps(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        total = sum(packet.size for packet in container.demux(stream) if packet.size)
        seconds = float((stream.duration or 0) * (stream.time_base or 0)) or 1.0
    return total * 8 / seconds / 1000
