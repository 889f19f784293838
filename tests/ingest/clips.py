"""Test clips made with PyAV (FFmpeg's testsrc2 pattern through libx264), and H.264 helpers.

A uniquely named module rather than conftest, so importing it cannot pick up
another test folder's conftest.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import av
from av.video.frame import PictureType
from av.video.stream import VideoStream

# H.264 NAL unit types carrying picture data (coded slices): what a re-encode changes.
_SLICE_TYPES = frozenset({1, 5})


def write_clip(
    path: Path,
    *,
    width: int = 640,
    height: int = 360,
    fps: int = 10,
    seconds: float = 10.0,
    key_every_seconds: float = 2.0,
    container: str | None = None,
) -> Path:
    """An H.264 clip with a key frame exactly every ``key_every_seconds``, no B-frames."""
    frames = round(fps * seconds)
    source = av.open(f"testsrc2=size={width}x{height}:rate={fps}", format="lavfi")
    with source, av.open(str(path), "w", format=container) as output:
        stream = output.add_stream(
            "libx264", rate=fps, options={"preset": "veryfast", "tune": "zerolatency"}
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = round(fps * key_every_seconds)
        for index, frame in enumerate(source.decode(video=0)):
            if index >= frames:
                break
            # lavfi marks its frames as I-pictures, which x264 would obey.
            frame.pict_type = PictureType.NONE
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path


def avcc_units(data: bytes) -> Iterator[bytes]:
    """NAL units of an MP4 packet (each behind a 4-byte big-endian length)."""
    offset = 0
    while offset + 4 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        yield data[offset + 4 : offset + 4 + size]
        offset += 4 + size


def annexb_units(data: bytes) -> Iterator[bytes]:
    """NAL units of an Annex B byte stream (each behind a 00 00 01 start code)."""
    for chunk in data.split(b"\x00\x00\x01"):
        unit = chunk.rstrip(b"\x00")
        if unit:
            yield unit


def slices(path: Path) -> list[bytes]:
    """Every coded-slice NAL unit of ``path``'s video, in order."""
    found: list[bytes] = []
    with av.open(str(path)) as container:
        for packet in container.demux(video=0):
            if packet.size:
                found += [u for u in avcc_units(bytes(packet)) if u[0] & 0x1F in _SLICE_TYPES]
    return found


def packet_payloads(path: Path) -> list[tuple[bytes, bool]]:
    """(bytes, is key frame) of every video packet of ``path``."""
    with av.open(str(path)) as container:
        return [
            (bytes(packet), packet.is_keyframe)
            for packet in container.demux(video=0)
            if packet.size
        ]


def decoded_frames(path: Path) -> int:
    """Frames decoded from ``path``; raises if it does not decode."""
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def write_motion_clip(
    path: Path,
    *,
    seconds: int,
    moving: tuple[float, float],
    fps: int = 10,
    width: int = 320,
    height: int = 180,
    key_every_seconds: float = 1.0,
) -> Path:
    """A still grey scene with a white square that moves only during ``moving`` (seconds).

    Before the motion the square waits at the left, after it at the right, so
    every frame outside ``moving`` is identical to its neighbours.
    """
    import numpy as np

    start, end = moving
    side = height // 4
    travel = width - 3 * side
    with av.open(str(path), "w") as output:
        stream = output.add_stream(
            "libx264", rate=fps, options={"preset": "veryfast", "tune": "zerolatency"}
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = round(fps * key_every_seconds)
        for index in range(seconds * fps):
            t = index / fps
            progress = min(max((t - start) / (end - start), 0.0), 1.0)
            x = side + round(progress * travel)
            picture = np.full((height, width, 3), 90, dtype=np.uint8)
            picture[side : 2 * side, x : x + side] = 240
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path


def write_changing_clip(
    path: Path,
    parts: list[tuple[str, int, int]],
    *,
    seconds_each: float = 4.0,
    fps: int = 10,
    key_every_seconds: float = 2.0,
) -> Path:
    """An MPEG-TS clip whose one video stream changes ``(codec, width, height)`` between parts.

    Each part has its own encoder, but every packet goes into the same stream
    (one PID, one program table announcing the first codec) with timestamps that
    carry on: what a camera sends when it is reconfigured while streaming.
    """
    from fractions import Fraction

    rate = Fraction(fps)
    with av.open(str(path), "w", format="mpegts") as output:
        stream = output.add_stream(parts[0][0], rate=fps)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = parts[0][1], parts[0][2], "yuv420p"
        index = 0
        for codec, width, height in parts:
            encoder = av.CodecContext.create(codec, "w")
            assert isinstance(encoder, av.VideoCodecContext)
            encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
            encoder.time_base = 1 / rate
            encoder.framerate = rate
            encoder.gop_size = round(fps * key_every_seconds)
            encoder.max_b_frames = 0
            if codec == "libx264":
                encoder.options = {"preset": "veryfast", "tune": "zerolatency"}
            source = av.open(f"testsrc2=size={width}x{height}:rate={fps}", format="lavfi")
            frames = round(fps * seconds_each)
            with source:
                pictures = itertools.islice(source.decode(video=0), frames)
                for picture in [*pictures, None]:
                    if picture is not None:
                        picture.pict_type = PictureType.NONE
                        picture.pts, picture.time_base = index, 1 / rate
                        index += 1
                    for packet in encoder.encode(picture):
                        packet.stream = stream
                        output.mux(packet)
    return path
