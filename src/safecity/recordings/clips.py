"""Joining recorded segments into one clip without re-encoding (stream copy).

The clip covers whole segments: it starts at the first key frame of the segment
holding the requested start and ends with the segment holding the requested end,
so nothing is cut between key frames and every packet is the camera's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from safecity.core.errors import NotFound


def join_segments(parts: Sequence[tuple[Path, float]], out: Path) -> int:
    """Remux ``parts`` — (file, seconds from the clip's start) — into ``out``; returns the
    number of video packets written."""
    import av

    if not parts:
        raise NotFound("no recordings in that range")
    written = 0
    with av.open(str(out), "w", format="mp4") as output:
        target = None
        for path, offset_seconds in parts:
            with av.open(str(path)) as source:
                video = source.streams.video[0]
                if target is None:
                    target = output.add_stream_from_template(video)
                base: int | None = None
                time_base = video.time_base
                if time_base is None:
                    raise ValueError(f"{path.name}: video stream without a time base")
                shift = round(offset_seconds / time_base)
                for packet in source.demux(video):
                    if packet.dts is None or packet.pts is None:
                        continue  # the demuxer's end-of-stream marker
                    if base is None:
                        base = packet.dts
                    packet.dts = packet.dts - base + shift
                    packet.pts = packet.pts - base + shift
                    packet.stream = target
                    output.mux(packet)
                    written += 1
    return written
