"""Continuous recording by stream copy into fixed-length MP4 segments (never re-encoded).

The recorder is a packet sink of the camera's reader: it remuxes the camera's
own packets, so the recording is the video exactly as the camera sent it
(DESIGN.md: originals are never altered). Segments are cut at the first key
frame after ``segment_seconds``, so each one starts decodable.

Crash safety: a segment is written as fragmented MP4 (a fragment per key
frame) under ``<name>.mp4.partial``, then flushed to disk and renamed to
``<name>.mp4`` when closed. A crash or power cut therefore loses at most the
open segment (and even that stays readable up to its last complete fragment),
and every ``.mp4`` in the media root is a closed, playable segment.

Layout: ``<media_root>/<camera_id>/<YYYY-MM-DD>/<camera_id>_<YYYYMMDDTHHMMSS.mmm>Z.mp4``
(UTC start time), a folder per day so a camera's folder stays listable.

Times: a segment's frames are placed on the wall clock by their stream
timestamps plus an offset. A frame cannot arrive before it was captured, so
the offset is the smallest (arrival - timestamp) seen in the segment: that is
right even when a camera sends a burst of buffered frames on connecting, and
it follows a camera clock that drifts. A file read faster than real time has
no wall clock to follow; it keeps the offset of its first packet
(``SegmentTiming.STREAM``).

Event recording (``mode="events"``): between events the recorder writes
nothing and keeps only a pre-roll, the packets since the key frame that starts
at least ``pre_roll_seconds`` before the newest packet (whole GOPs, so the
footage before an event starts decodable). ``note_event(at)`` asks for footage
until ``at + post_roll_seconds``; the next packet then opens a segment with the
pre-roll in it, and the segment goes on until the first key frame after the
post-roll has run out (with half a second of slack for the motion check to
catch up; closing on a key frame leaves that frame to start the next
pre-roll). Long events are still cut every ``segment_seconds``. Segments of an
events-mode recorder say ``kind="event"``.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import av
import av.error
from av.container import OutputContainer
from av.video.stream import VideoStream

from safecity.contracts.ingest import (
    RecordingMode,
    SegmentClosed,
    SegmentKind,
    segment_message_id,
)
from safecity.ingest.parameter_sets import ParameterSets, in_band_parameter_sets
from safecity.ingest.salvage import salvage_partial_segments
from safecity.ingest.segment_files import (
    FRAGMENTED_MP4,
    PARTIAL_SUFFIX,
    check_complete,
    is_out_of_space,
    picture_size,
    seal_segment,
    segment_comment,
)

# The file rules live in segment_files (the salvage takes them from there, below the
# recorder); they stay re-exported here for the code and tests that name them so.
__all__ = [
    "FRAGMENTED_MP4",
    "PARTIAL_SUFFIX",
    "RecorderStats",
    "SegmentListener",
    "SegmentRecorder",
    "SegmentTiming",
    "seal_segment",
    "segment_comment",
]

logger = logging.getLogger(__name__)

# A gap this long between segments is worth a warning in the log.
_REPORTED_GAP_SECONDS = 1.0
# A pre-roll whose camera never sends a key frame must not grow without bound:
# beyond this many packets its oldest GOP goes (a minute of 25 fps video).
_PRE_ROLL_MAX_PACKETS = 1500
# Motion is seen a moment after its frame arrives (decoding, checking): a key
# frame this close after the post-roll's end does not close the segment yet, so
# motion that goes on is not split into two files at every key frame.
_EVENT_SLACK = timedelta(seconds=0.5)
# After a full disk, free space wanted before recording again when no segment closed yet.
_ROOM_WITHOUT_HISTORY_BYTES = 1 << 20

SegmentListener = Callable[[SegmentClosed], None]
if TYPE_CHECKING:
    # PyAV's Packet is generic only in its type stubs.
    VideoPacket: TypeAlias = av.Packet[VideoStream]


class SegmentTiming(StrEnum):
    WALL_CLOCK = "wall_clock"
    """Live sources: stream timestamps mapped to arrival times, per segment."""
    STREAM = "stream"
    """Files read at any speed: stream timestamps from the first packet's arrival on."""


@dataclass(frozen=True)
class RecorderStats:
    recording: bool
    """A segment is open right now."""
    segments_closed: int
    bytes_closed: int
    packets_skipped: int
    """Packets before the first key frame of a connection (undecodable on their own)."""
    packets_dropped: int
    """Packets whose timestamps went backwards (a muxer refuses them)."""
    last_error: str | None
    """The last recording failure; cleared when a segment closes normally."""
    last_segment_end: datetime | None
    format_changes: int = 0
    """Segments cut early because the stream's parameters (resolution, encoder) changed."""
    discontinuities: int = 0
    """Segments cut early because the stream's timestamps started again."""
    storage_full: bool = False
    """The last write failed for want of space (ENOSPC or a quota); cleared by a closed segment."""


@dataclass
class _OpenSegment:
    container: OutputContainer
    stream: VideoStream
    partial: Path
    time_base: Fraction
    offset: float
    """Wall-clock seconds (POSIX) minus stream seconds; see the module's "Times"."""
    base: int
    """Timestamp of the first packet: subtracted so every segment starts at 0."""
    first_pts: int
    last_pts: int
    last_dts: int
    interval: int
    """Ticks between the last two frames, to give the last frame its duration."""
    codec: str
    width: int
    height: int
    kind: SegmentKind = "continuous"
    sequence: bytes | None = None
    """The sequence parameter set in front of the first key frame, when sent in band."""
    frames: int = 0
    key_frames: int = 0


class SegmentRecorder:
    """Writes one camera's packets into segments; call its sink methods from one thread."""

    def __init__(
        self,
        camera_id: str,
        media_root: Path,
        *,
        segment_seconds: float = 10.0,
        on_closed: SegmentListener | None = None,
        timing: SegmentTiming = SegmentTiming.WALL_CLOCK,
        fsync: bool = True,
        mode: RecordingMode = "continuous",
        pre_roll_seconds: float = 5.0,
        post_roll_seconds: float = 10.0,
    ) -> None:
        if segment_seconds <= 0:
            raise ValueError("segment_seconds must be positive")
        if pre_roll_seconds < 0 or post_roll_seconds < 0:
            raise ValueError("pre-roll and post-roll cannot be negative")
        self._mode = mode
        # A mode asked for from another thread, taken up at the next packet.
        self._wanted_mode: RecordingMode = mode
        self._pre_roll_seconds = pre_roll_seconds
        self._post_roll = timedelta(seconds=post_roll_seconds)
        self._pre_roll: deque[tuple[VideoPacket, datetime]] = deque()
        self._event_until: datetime | None = None
        self._camera_id = camera_id
        self._media_root = Path(media_root)
        self._segment_seconds = segment_seconds
        self._on_closed = on_closed
        self._timing = timing
        self._fsync = fsync
        self._template: VideoStream | None = None
        self._stream_offset: float | None = None
        self._held: tuple[VideoPacket, datetime] | None = None
        self._segment: _OpenSegment | None = None
        # The last sequence parameter set a segment started with (None: never seen in band).
        self._sequence: bytes | None = None
        self._size: tuple[int, int] | None = None
        # A segment could not be sealed (its partial file is left): salvage it later.
        self._unsealed = False
        self._lock = threading.Lock()
        self._stats = RecorderStats(
            recording=False,
            segments_closed=0,
            bytes_closed=0,
            packets_skipped=0,
            packets_dropped=0,
            last_error=None,
            last_segment_end=None,
        )

    @property
    def camera_folder(self) -> Path:
        return self._media_root / self._camera_id

    @property
    def mode(self) -> RecordingMode:
        return self._mode

    def set_mode(self, mode: RecordingMode) -> None:
        """Record continuously, around events or not at all from the next packet on.

        Thread-safe (the bus handler calls it). The open segment is closed first, so a
        segment never mixes kinds; switching to events starts with an empty pre-roll.
        """
        with self._lock:
            self._wanted_mode = mode

    @property
    def _segment_kind(self) -> SegmentKind:
        return "event" if self._mode == "events" else "continuous"

    def note_event(self, at: datetime) -> None:
        """Something happened at ``at`` (wall clock): in events mode, keep its footage.

        Thread-safe: motion checks and bus handlers call it from their own threads.
        """
        until = at + self._post_roll
        with self._lock:
            if self._event_until is None or until > self._event_until:
                self._event_until = until

    def stats(self) -> RecorderStats:
        with self._lock:
            return self._stats

    # -- packet sink ------------------------------------------------------------------------

    def stream_opened(self, stream: VideoStream) -> None:
        self._finish_segment()
        self._template = stream
        self._sequence = None  # the new stream's header describes its first segment
        self._size = None
        self._stream_offset = None
        self._held = None
        self._pre_roll.clear()

    def packet(self, packet: VideoPacket, received_at: datetime) -> None:
        with self._lock:
            wanted = self._wanted_mode
        if wanted != self._mode:
            self._switch_mode(wanted)
        if self._template is None or self._mode == "off":
            return
        if packet.pts is None and packet.dts is None:
            # RTSP leaves the first packet untimed until the stream is synchronised;
            # it is a key frame worth keeping, timed from its successor.
            self._held = (packet, received_at)
            return
        if self._held is not None:
            held, held_at = self._held
            self._held = None
            step = held.duration or self._nominal_interval(packet.time_base)
            stamp = packet.dts if packet.dts is not None else packet.pts
            held.pts = held.dts = (stamp or 0) - step
            self._take(held, held_at)
        self._take(packet, received_at)

    def stream_closed(self, reason: str) -> None:
        self._finish_segment()
        self._template = None
        self._held = None
        self._pre_roll.clear()

    def close(self) -> None:
        """Close the open segment (publishing it); the recorder can be fed again afterwards."""
        self._finish_segment()

    def _switch_mode(self, mode: RecordingMode) -> None:
        logger.info("camera %s: recording mode %s -> %s", self._camera_id, self._mode, mode)
        self._finish_segment()
        self._pre_roll.clear()
        self._held = None
        self._mode = mode

    # -- events mode ------------------------------------------------------------------------

    def _take(self, packet: VideoPacket, received_at: datetime) -> None:
        if self._mode == "continuous":
            self._write(packet, received_at)
            return
        with self._lock:
            until = self._event_until
        wanted = until is not None and received_at <= until
        if self._segment is not None:
            over = until is None or received_at > until + _EVENT_SLACK
            if not over or not packet.is_keyframe:
                self._write(packet, received_at)
                return
            self._finish_segment()  # the event is over: this key frame starts the pre-roll
        self._keep_for_pre_roll(packet, received_at)
        if wanted:
            while self._pre_roll:
                self._write(*self._pre_roll.popleft())

    def _keep_for_pre_roll(self, packet: VideoPacket, received_at: datetime) -> None:
        pre_roll = self._pre_roll
        if packet.is_keyframe:
            # Keep whole GOPs: drop those that end before the pre-roll's start.
            horizon = received_at - timedelta(seconds=self._pre_roll_seconds)
            starts = [i for i, (p, at) in enumerate(pre_roll) if p.is_keyframe and at <= horizon]
            for _ in range(starts[-1] if starts else 0):
                pre_roll.popleft()
        elif not pre_roll:
            return  # undecodable without the key frame before it
        pre_roll.append((packet, received_at))
        if len(pre_roll) > _PRE_ROLL_MAX_PACKETS:
            pre_roll.popleft()
            while pre_roll and not pre_roll[0][0].is_keyframe:
                pre_roll.popleft()

    # -- writing ----------------------------------------------------------------------------

    def _write(self, packet: VideoPacket, received_at: datetime) -> None:
        pts = packet.pts if packet.pts is not None else packet.dts
        dts = packet.dts if packet.dts is not None else pts
        if pts is None or dts is None:
            return
        segment = self._segment
        key = packet.is_keyframe
        if segment is None and not key:
            self._count(skipped=1)
            return
        parameters = self._parameter_sets(packet) if key else None
        if key and segment is not None and self._must_cut(segment, parameters, dts):
            self._finish_segment()
            segment = None
        if key and (segment is None or self._due_for_cut(segment, pts)):
            self._finish_segment()
            if not self._room_for_a_segment():
                return
            segment = self._open_segment(pts, dts, packet, received_at, parameters)
        if segment is None:
            return
        if dts <= segment.last_dts:
            self._count(dropped=1)
            return
        saved = (packet.stream, packet.time_base, packet.pts, packet.dts)
        try:
            packet.pts = pts - segment.base
            packet.dts = dts - segment.base
            packet.stream = segment.stream
            segment.container.mux(packet)
        except (av.error.FFmpegError, OSError) as exc:
            self._abandon_segment(f"cannot write {segment.partial.name}: {exc}", exc)
            return
        finally:
            # The reader shares this packet with other sinks; muxing rebased it in place.
            packet.stream, packet.time_base = saved[0], saved[1]
            packet.pts, packet.dts = saved[2], saved[3]
        if pts > segment.last_pts:
            segment.interval = pts - segment.last_pts
            segment.last_pts = pts
        segment.last_dts = dts
        segment.offset = min(segment.offset, self._offset(pts, segment.time_base, received_at))
        segment.frames += 1
        segment.key_frames += 1 if key else 0

    def _parameter_sets(self, packet: VideoPacket) -> ParameterSets | None:
        template = self._template
        if template is None:
            return None
        return in_band_parameter_sets(template.codec_context.name, bytes(packet))

    def _must_cut(self, segment: _OpenSegment, parameters: ParameterSets | None, dts: int) -> bool:
        """A key frame that the open segment cannot hold: new parameters, or time went back."""
        sequence = parameters.sequence if parameters is not None else None
        if sequence is not None and segment.sequence not in (None, sequence):
            logger.warning(
                "camera %s: the stream's parameters changed (resolution or encoder "
                "settings); closing the segment and starting a new one",
                self._camera_id,
            )
            self._count(format_changes=1)
            return True
        if dts <= segment.last_dts:
            # An encoder restart or a spliced stream: the timestamps start again. The key
            # frame starts a new segment rather than everything after it being dropped.
            logger.warning(
                "camera %s: timestamps went back by %.2f s; starting a new segment",
                self._camera_id,
                float((segment.last_dts - dts) * segment.time_base),
            )
            self._stream_offset = None
            self._count(discontinuities=1)
            return True
        return False

    def _room_for_a_segment(self) -> bool:
        """After a full disk, wait for room for a segment like the last ones before trying.

        Each attempt on a full disk would leave a partial file holding a fragment or two
        (whatever the space freed by the last attempt allowed); those pile up.
        """
        with self._lock:
            stats = self._stats
        if not stats.storage_full:
            return True
        typical = stats.bytes_closed // stats.segments_closed if stats.segments_closed else 0
        try:
            free = shutil.disk_usage(self._media_root).free
        except OSError:
            return False
        return free >= (typical or _ROOM_WITHOUT_HISTORY_BYTES)

    def _due_for_cut(self, segment: _OpenSegment, pts: int) -> bool:
        # Half a frame of slack: with a key frame every 2 s, a jittery stream puts
        # it at 1.999 s as often as at 2.001 s, and both should cut a 2 s segment.
        elapsed = (pts - segment.first_pts + Fraction(segment.interval, 2)) * segment.time_base
        return float(elapsed) >= self._segment_seconds

    def _nominal_interval(self, time_base: Fraction) -> int:
        template = self._template
        rate = template.average_rate if template is not None else None
        if not rate:
            return 0
        return max(1, round(1 / (rate * time_base)))

    def _offset(self, pts: int, time_base: Fraction, received_at: datetime) -> float:
        arrival = received_at.timestamp() - float(pts * time_base)
        if self._timing is SegmentTiming.WALL_CLOCK:
            return arrival
        if self._stream_offset is None:
            self._stream_offset = arrival
        return self._stream_offset

    # -- segments ---------------------------------------------------------------------------

    def _open_segment(
        self,
        pts: int,
        dts: int,
        packet: VideoPacket,
        received_at: datetime,
        parameters: ParameterSets | None,
    ) -> _OpenSegment | None:
        template = self._template
        if template is None:
            return None
        time_base = packet.time_base
        size = (template.codec_context.width, template.codec_context.height)
        changed = parameters is not None and parameters.sequence != self._sequence
        if (changed and self._sequence is not None) or not all(size):
            # New parameters in band, or a stream announced mid-way and never probed.
            self._size = self._picture_size(packet) or size
        if self._sequence is not None or not all(size):
            size = self._size or size
        offset = self._offset(pts, time_base, received_at)
        # Named after the start as known now; the final name is given at closing,
        # once the segment's packets have pinned its start down.
        partial = self._free_path(_utc_from(float(pts * time_base) + offset), PARTIAL_SUFFIX)
        try:
            partial.parent.mkdir(parents=True, exist_ok=True)
            container = av.open(str(partial), "w", format="mp4", options=dict(FRAGMENTED_MP4))
            # Says what the file is even when its SegmentClosed is lost (see the rescan).
            container.metadata["comment"] = segment_comment(self._segment_kind)
        except (av.error.FFmpegError, OSError) as exc:
            self._note_error(f"cannot create {partial.name}: {exc}", exc)
            return None
        try:
            stream = container.add_stream_from_template(template)
            if parameters is not None:
                # The parameters in front of this key frame describe the segment, even
                # when they differ from those the stream was opened with.
                stream.codec_context.extradata = parameters.annexb
            stream.codec_context.width, stream.codec_context.height = size
        except (av.error.FFmpegError, ValueError) as exc:
            container.close()
            self._note_error(f"cannot record {template.codec_context.name} into MP4: {exc}")
            return None
        if parameters is not None:
            self._sequence = parameters.sequence
        context = template.codec_context
        segment = _OpenSegment(
            container=container,
            stream=stream,
            partial=partial,
            time_base=time_base,
            offset=offset,
            base=min(pts, dts),
            first_pts=pts,
            last_pts=pts,
            last_dts=dts - 1,
            interval=self._nominal_interval(time_base),
            codec=context.name,
            width=size[0],
            height=size[1],
            kind=self._segment_kind,
            sequence=parameters.sequence if parameters is not None else None,
        )
        self._segment = segment
        with self._lock:
            self._stats = replace(self._stats, recording=True)
        return segment

    def _picture_size(self, packet: VideoPacket) -> tuple[int, int] | None:
        template = self._template
        if template is None:
            return None
        size = picture_size(template.codec_context.name, packet)
        if size is None:
            logger.warning("camera %s: cannot decode the new key frame", self._camera_id)
        else:
            logger.info("camera %s: the picture is now %dx%d", self._camera_id, *size)
        return size

    def _free_path(self, started_at: datetime, suffix: str = "") -> Path:
        day = started_at.strftime("%Y-%m-%d")
        stamp = started_at.strftime("%Y%m%dT%H%M%S") + f".{started_at.microsecond // 1000:03d}Z"
        folder = self._media_root / self._camera_id / day
        name = f"{self._camera_id}_{stamp}"
        candidate = folder / f"{name}.mp4{suffix}"
        number = 1
        # Two segments can start in the same millisecond only around a reconnect.
        while candidate.exists():
            candidate = folder / f"{name}-{number}.mp4{suffix}"
            number += 1
        return candidate

    def _finish_segment(self) -> None:
        segment = self._segment
        if segment is None:
            return
        self._segment = None
        with self._lock:
            self._stats = replace(self._stats, recording=False)
        started_at = _utc_from(float(segment.first_pts * segment.time_base) + segment.offset)
        final = self._free_path(started_at)
        try:
            segment.container.close()
            # FFmpeg does not always report a write that failed while it flushed the
            # last fragment (a disk that just filled up): a segment is only sealed
            # once every frame it was given can be read back from the file.
            check_complete(segment.partial, segment.frames)
            size, digest = seal_segment(segment.partial, final, fsync=self._fsync)
        except (av.error.FFmpegError, OSError) as exc:
            # The partial file keeps its complete fragments: salvaged once a segment
            # closes normally again (space is back), or at the next start.
            self._note_error(f"cannot close {segment.partial.name}: {exc}", exc)
            self._unsealed = True
            return
        ticks = segment.last_pts - segment.first_pts + segment.interval
        ended_at = started_at + timedelta(seconds=float(ticks * segment.time_base))
        self._publish(segment, final, started_at, ended_at, size, digest)

    def _publish(
        self,
        segment: _OpenSegment,
        final: Path,
        started_at: datetime,
        ended_at: datetime,
        size: int,
        digest: str,
    ) -> None:
        relative = final.relative_to(self._media_root).as_posix()
        with self._lock:
            stats = self._stats
            previous_end = stats.last_segment_end
            self._stats = replace(
                stats,
                segments_closed=stats.segments_closed + 1,
                bytes_closed=stats.bytes_closed + size,
                last_segment_end=ended_at,
                last_error=None,
                storage_full=False,
            )
        gap = None if previous_end is None else (started_at - previous_end).total_seconds()
        # Gaps between event segments are the point of events mode, not worth a warning.
        if gap is not None and gap > _REPORTED_GAP_SECONDS and segment.kind == "continuous":
            logger.warning(
                "camera %s: recording gap of %.1f s before %s", self._camera_id, gap, relative
            )
        message = SegmentClosed(
            message_id=segment_message_id(self._camera_id, digest),
            camera_id=self._camera_id,
            path=relative,
            started_at=started_at,
            ended_at=ended_at,
            duration_seconds=(ended_at - started_at).total_seconds(),
            size_bytes=size,
            sha256=digest,
            codec=segment.codec,
            width=segment.width,
            height=segment.height,
            frames=segment.frames,
            key_frames=segment.key_frames,
            gap_before_seconds=gap,
            kind=segment.kind,
        )
        self._announce(message)
        if self._unsealed:
            self._unsealed = False
            self._salvage_unsealed()

    def _announce(self, message: SegmentClosed) -> None:
        if self._on_closed is not None:
            try:
                self._on_closed(message)
            except Exception:
                logger.exception("camera %s: segment listener failed", self._camera_id)

    def _salvage_unsealed(self) -> None:
        # Called between two segments, so no partial file of this recorder is open.
        try:
            salvaged = salvage_partial_segments(self._camera_id, self._media_root)
        except OSError as exc:
            self._note_error(f"cannot salvage an unfinished segment: {exc}", exc)
            self._unsealed = True
            return
        for message in salvaged:
            self._announce(message)

    def _abandon_segment(self, message: str, exc: BaseException) -> None:
        segment = self._segment
        self._segment = None
        self._note_error(message, exc)
        if segment is not None:
            # The disk may be failing: the partial file stays, and the next start
            # salvages its complete fragments. One that holds no frame is only a
            # header and would pile up at every retry on a full disk.
            with contextlib.suppress(av.error.FFmpegError, OSError):
                segment.container.close()
            if segment.frames == 0:
                with contextlib.suppress(OSError):
                    segment.partial.unlink()
        with self._lock:
            self._stats = replace(self._stats, recording=False)

    def _note_error(self, message: str, exc: BaseException | None = None) -> None:
        full = exc is not None and is_out_of_space(exc)
        if full:
            message = f"no space left for recordings: {message}"
        logger.error("camera %s: %s", self._camera_id, message)
        with self._lock:
            self._stats = replace(self._stats, last_error=message, storage_full=full)

    def _count(
        self,
        *,
        skipped: int = 0,
        dropped: int = 0,
        format_changes: int = 0,
        discontinuities: int = 0,
    ) -> None:
        with self._lock:
            stats = self._stats
            self._stats = replace(
                stats,
                packets_skipped=stats.packets_skipped + skipped,
                packets_dropped=stats.packets_dropped + dropped,
                format_changes=stats.format_changes + format_changes,
                discontinuities=stats.discontinuities + discontinuities,
            )


def _utc_from(posix_seconds: float) -> datetime:
    return datetime.fromtimestamp(posix_seconds, UTC)
