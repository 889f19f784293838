"""H.264 MP4 files with PyAV: yuv420p, a key frame every ~2 s, one thread (reproducible)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np
from av.video.stream import VideoStream
from numpy.typing import NDArray

from safecity.core.errors import SafecityError
from safecity.sim.scene import keyframe_interval

# In order of preference; libx264 takes x264 options, the others only a GOP size.
_ENCODERS = ("libx264", "libopenh264", "h264")


class EncoderUnavailable(SafecityError):
    """This FFmpeg build has no H.264 encoder."""

    code = "no_h264_encoder"


def pick_encoder() -> str:
    available = av.codecs_available
    for name in _ENCODERS:
        if name in available:
            return name
    raise EncoderUnavailable("no H.264 encoder in this PyAV/FFmpeg build")


class H264Writer:
    """Writes BGR frames to an MP4; frame ``n`` gets presentation time ``n / fps``."""

    def __init__(self, path: Path, width: int, height: int, fps: int, crf: int = 23) -> None:
        self.path = path
        self.fps = fps
        self.gop = keyframe_interval(fps)
        self._container = av.open(str(path), mode="w", format="mp4")
        encoder = pick_encoder()
        stream = self._container.add_stream(encoder, rate=Fraction(fps, 1))
        if not isinstance(stream, VideoStream):
            raise EncoderUnavailable(f"{encoder} did not open a video stream")
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        context = stream.codec_context
        context.gop_size = self.gop
        context.thread_count = 1
        if encoder == "libx264":
            # Fixed GOP (no scene-cut key frames) and no B-frames: segments cut on
            # every key frame and live restreams add no reordering delay.
            context.options = {
                "preset": "superfast",
                "crf": str(crf),
                "x264-params": f"keyint={self.gop}:min-keyint={self.gop}:scenecut=0:bframes=0",
            }
        self._stream = stream
        self._next_pts = 0

    def write(self, bgr: NDArray[np.uint8]) -> None:
        frame = av.VideoFrame.from_ndarray(bgr, format="bgr24").reformat(format="yuv420p")
        frame.pts = self._next_pts
        frame.time_base = Fraction(1, self.fps)
        self._next_pts += 1
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self._container.close()
