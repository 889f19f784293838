"""What a camera reader is told and what it tells: decode modes, options, stats, sinks.

Kept apart from the read loop in ``reader``: the health monitor, the workers and the
recorder (a packet sink) depend on these, not on how a stream is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import av
from av.video.stream import VideoStream

from safecity.contracts.ingest import StreamState


class DecodeMode(StrEnum):
    NONE = "none"
    """Demux only: enough for recording and for measuring the stream."""
    ALL = "all"
    """Decode every frame (P-frames need their predecessors), hand on those the sampler keeps."""
    KEY_FRAMES = "key_frames"
    """Let the decoder skip everything but key frames: a few frames a second, a fraction of
    the cost of full decoding (health checks, slow analytics)."""


@dataclass(frozen=True)
class ReaderOptions:
    decode: DecodeMode = DecodeMode.ALL
    target_fps: float | None = None
    """Frames handed on per second of stream time; None hands on every decoded frame."""
    queue_size: int = 4
    open_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 5.0
    """No packet of the stream being read for this long counts as a lost stream, also
    while other data keeps arriving (a network source is then reopened)."""
    backoff_first_seconds: float = 0.5
    backoff_cap_seconds: float = 3.0
    """Upper bound of the wait between attempts, hence of the delay before a returning
    camera is noticed (the goal is a first frame within 5 s of its return)."""
    backoff_jitter: float = 0.3
    decoder_threads: int = 1
    skip_deblocking: bool = False
    """Decode (``DecodeMode.ALL``) without H.264/HEVC's in-loop deblocking filter: about a
    fifth less decoding CPU for faint block edges at low bit rates. For pictures that are
    analysed, never for what is recorded (recording copies the packets untouched)."""
    reconnect_at_end: bool | None = None
    """Reopen after the end of the stream; None means yes for network sources, no for files
    (a file reopened at its end plays in a loop, as a simulated camera)."""
    pace_files: bool = False
    """Deliver a file at its own frame rate, as a live camera would."""


@dataclass(frozen=True)
class ReaderStats:
    """A snapshot of one reader. Never holds a credential: ``last_error`` is scrubbed."""

    camera_id: str
    source: str
    """Display form of the URL (no user info, no query)."""
    state: StreamState
    state_since: datetime
    fps: float
    """Video packets (frames) received per second, over the last few seconds."""
    bitrate_bps: float
    last_frame_at: datetime | None
    last_frame_pts_seconds: float | None
    reconnects: int
    """Times the stream was lost or could not be opened (one per outage)."""
    packets: int
    frames_decoded: int
    frames_delivered: int
    frames_dropped: int
    decode_errors: int
    codec: str | None
    width: int | None
    height: int | None
    last_error: str | None
    clock_offset_seconds: float | None = None
    """The camera's clock minus ours, where the stream carries wall-clock time (RTSP with
    RTCP sender reports); None otherwise."""
    format_changes: int = 0
    """Times the picture size or the video stream (codec) changed while connected."""
    stalls: int = 0
    """Connections given up because the stream went silent while they stayed open."""


class PacketSink(Protocol):
    """Receives every video packet of the reader's stream, in the reader's thread."""

    def stream_opened(self, stream: VideoStream) -> None:
        """A (new) connection: the stream's codec parameters may differ from the last one."""

    def packet(self, packet: av.Packet[VideoStream], received_at: datetime) -> None:
        """One video packet (never an empty flush packet); restore anything you change."""

    def stream_closed(self, reason: str) -> None:
        """The connection ended (``reason`` is scrubbed); no packet follows until reopened."""
