"""One reader per camera: open the stream with PyAV, demux, decode what analytics needs, reconnect.

The reader runs in its own thread (PyAV releases the GIL while it waits on the
network and while it decodes). Each video packet goes to the packet sinks (the
recorder) after it was decoded, so a sink may change the packet's timestamps
for muxing as long as it restores them. Decoded frames are thinned to the
target rate and put, by reference, into a bounded drop-oldest queue.

Credentials never leave the reader: every error text is passed through
``source.scrub`` before it is logged or stored in the stats.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import cast

import av
import av.error
from av.video.stream import VideoStream

from safecity.contracts.ingest import StreamState
from safecity.core.clock import utcnow
from safecity.ingest.backoff import Backoff
from safecity.ingest.connection import StallGuard, StreamStalled, open_source
from safecity.ingest.frames import DropOldestQueue, Frame
from safecity.ingest.meter import RateMeter
from safecity.ingest.reader_types import (
    DecodeMode,
    PacketSink,
    ReaderOptions,
    ReaderStats,
)
from safecity.ingest.sampler import FrameSampler
from safecity.ingest.source import (
    SourceKind,
    display_url,
    scrub,
    source_kind,
)

__all__ = [
    "END_OF_STREAM",
    "CameraReader",
    "DecodeMode",
    "PacketSink",
    "ReaderOptions",
    "ReaderStats",
]

logger = logging.getLogger(__name__)

END_OF_STREAM = "end of stream"
# Packets over which the camera clock's offset is estimated (a few seconds of video).
_CLOCK_SAMPLES = 100
# Consecutive packets of another video stream, and none of ours, that make the reader
# follow that stream: a camera that changed codec, not a second stream in passing.
_SWITCH_AFTER_PACKETS = 5


class CameraReader:
    """Reads one camera's stream until :meth:`stop`, reconnecting with capped backoff."""

    def __init__(
        self,
        camera_id: str,
        url: str,
        options: ReaderOptions | None = None,
        *,
        sinks: Sequence[PacketSink] = (),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._camera_id = camera_id
        self._url = url
        self._kind = source_kind(url)
        self._options = options or ReaderOptions()
        self._sinks = tuple(sinks)
        self._clock = clock
        self._frames: DropOldestQueue[Frame] = DropOldestQueue(self._options.queue_size)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = Backoff(
            self._options.backoff_first_seconds,
            self._options.backoff_cap_seconds,
            jitter=self._options.backoff_jitter,
        )
        self._decode_mode = self._options.decode
        # Asked for from another thread (a changed recording mode), taken up between packets.
        self._wanted_decode = self._options.decode
        self._sampler = FrameSampler(self._options.target_fps)
        self._target_fps = self._wanted_fps = self._options.target_fps
        self._meter = RateMeter()
        self._decode_seconds = 0.0
        self._clock_samples: deque[float] = deque(maxlen=_CLOCK_SAMPLES)
        self._guard = StallGuard(self._options.read_timeout_seconds)
        self._lock = threading.Lock()
        self._stats = ReaderStats(
            camera_id=camera_id,
            source=display_url(url),
            state="connecting",
            state_since=clock(),
            fps=0.0,
            bitrate_bps=0.0,
            last_frame_at=None,
            last_frame_pts_seconds=None,
            reconnects=0,
            packets=0,
            frames_decoded=0,
            frames_delivered=0,
            frames_dropped=0,
            decode_errors=0,
            codec=None,
            width=None,
            height=None,
            last_error=None,
        )

    @property
    def camera_id(self) -> str:
        return self._camera_id

    @property
    def frames(self) -> DropOldestQueue[Frame]:
        """Decoded frames, oldest first; the oldest is dropped when the consumer falls behind."""
        return self._frames

    def stats(self) -> ReaderStats:
        with self._lock:
            fps, bitrate = self._meter.rates(time.monotonic())
            return replace(
                self._stats, fps=fps, bitrate_bps=bitrate, frames_dropped=self._frames.dropped
            )

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the reader was already started")
        self._thread = threading.Thread(
            target=self.run, name=f"reader-{self._camera_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the reader to stop and wait for it (a blocked read ends within its timeout)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def set_decode(self, mode: DecodeMode) -> None:
        """Decode ``mode`` from the next packet on (thread-safe)."""
        with self._lock:
            self._wanted_decode = mode

    @property
    def target_fps(self) -> float | None:
        """The frame rate asked for last (taken up from the next packet on)."""
        with self._lock:
            return self._wanted_fps

    def set_target_fps(self, fps: float | None) -> None:
        """Thin decoded frames to ``fps`` from the next packet on (thread-safe)."""
        if fps is not None and fps <= 0:
            raise ValueError("fps must be positive (or None for every frame)")
        with self._lock:
            self._wanted_fps = fps

    @property
    def decode_seconds(self) -> float:
        """Seconds this reader's thread has spent decoding, since it started (every frame
        decoded, handed on or thinned out): analytics reports it per analysed frame."""
        with self._lock:
            return self._decode_seconds

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        """The read loop; :meth:`start` runs it in a thread, a test may call it directly."""
        try:
            while not self._stopping.is_set():
                ended = self._read_once()
                if ended and not self._reconnect_at_end():
                    break
                if self._stopping.is_set():
                    break
                if ended and self._kind is SourceKind.FILE:
                    continue  # a file played in a loop starts again at once: no outage
                self._set_state("reconnecting")
                delay = self._backoff.next_delay()
                logger.info(
                    "camera %s: reconnecting to %s in %.1f s",
                    self._camera_id,
                    self._stats.source,
                    delay,
                )
                self._stopping.wait(delay)
        finally:
            self._set_state("stopped")
            self._frames.close()

    def _reconnect_at_end(self) -> bool:
        if self._options.reconnect_at_end is not None:
            return self._options.reconnect_at_end
        return self._kind is not SourceKind.FILE

    def _read_once(self) -> bool:
        """One connection, from open to loss. True when the stream simply ended."""
        try:
            connection = open_source(
                self._url,
                self._kind,
                open_timeout_seconds=self._options.open_timeout_seconds,
                read_timeout_seconds=self._options.read_timeout_seconds,
                guard=self._guard,
            )
        except (av.error.FFmpegError, OSError, StreamStalled) as exc:
            self._fail(f"cannot open: {exc}")
            return False
        container = connection.container
        reason = END_OF_STREAM
        opened = False
        try:
            if not container.streams.video:
                self._fail("the source has no video stream")
                return False
            stream = container.streams.video[0]
            self._configure_decoder(stream)
            self._note_stream(stream)
            for sink in self._sinks:
                self._call_sink(sink.stream_opened, stream)
            opened = True
            self._guard.fed()
            self._pump(container, stream)
            if not self._stopping.is_set():
                logger.info("camera %s: %s", self._camera_id, END_OF_STREAM)
        except StreamStalled as exc:
            # A live source that keeps the connection open but sends nothing of our
            # stream (it stopped, or switched to a stream PyAV does not know).
            reason = f"stalled: {exc}; reopening"
            self._fail(reason)
            with self._lock:
                self._stats = replace(self._stats, stalls=self._stats.stalls + 1)
        except (av.error.FFmpegError, OSError) as exc:
            reason = scrub(f"stream lost: {exc}", self._url)
            self._fail(reason)
        except IndexError:
            # PyAV knows only the streams found when the source was opened; one that
            # appears later (an MPEG-TS camera switching codec) makes its demuxer fail
            # here. Reopening finds the new stream.
            reason = "the source added a stream while streaming (a codec change?); reopening"
            self._fail(reason)
        finally:
            connection.close()
            if opened:
                for sink in self._sinks:
                    self._call_sink(sink.stream_closed, reason)
        return reason == END_OF_STREAM

    def _pump(self, container: av.container.InputContainer, stream: VideoStream) -> None:
        paced_from: tuple[float, float] | None = None
        # Packets of another video stream since ours last sent one (see _switch_to).
        foreign: list[av.Packet[VideoStream]] = []
        for packet in self._switching(container, foreign):
            if self._stopping.is_set():
                return
            if packet.stream is not stream:
                self._guard.check()
                if packet.size == 0 or packet.stream.type != "video":
                    continue
                foreign.append(packet)
                if len(foreign) < _SWITCH_AFTER_PACKETS:
                    continue
                stream = self._switch_to(packet.stream)
                continue  # the held packets are fed again by _switching
            foreign.clear()
            self._guard.fed()
            with self._lock:
                wanted, wanted_fps = self._wanted_decode, self._wanted_fps
            if wanted_fps != self._target_fps:
                self._target_fps = wanted_fps
                self._sampler = FrameSampler(wanted_fps)
            if wanted is not self._decode_mode:
                self._decode_mode = wanted
                self._configure_decoder(stream)
            if packet.size == 0:
                self._decode(stream, packet, None)  # flush: frames still inside the decoder
                continue
            if self._options.pace_files and self._kind is SourceKind.FILE:
                paced_from = self._pace(packet, paced_from)
            received_at = self._clock()
            self._note_packet(packet, received_at)
            self._note_camera_clock(container, packet, received_at)
            self._decode(stream, packet, received_at)
            for sink in self._sinks:
                self._call_sink(sink.packet, packet, received_at)

    def _switching(
        self, container: av.container.InputContainer, foreign: list[av.Packet[VideoStream]]
    ) -> Iterator[av.Packet[VideoStream]]:
        """Every video packet; after a switch, first the held packets of the new stream."""
        # Only video streams are demuxed, so every packet is a video packet.
        packets = cast(
            "Iterator[av.Packet[VideoStream]]", container.demux(*container.streams.video)
        )
        for packet in packets:
            yield packet
            if len(foreign) >= _SWITCH_AFTER_PACKETS:
                held = [p for p in foreign if p.stream is packet.stream]
                foreign.clear()
                yield from held

    def _switch_to(self, stream: VideoStream) -> VideoStream:
        """The camera stopped sending our stream and sends another: follow it, as a new one.

        An MPEG-TS source that changes codec announces a new stream mid-way; its
        packets are what the camera sends now. The sinks see the old stream closed and
        the new one opened, so the recorder closes its segment (an MP4 track has one
        codec) and starts the next with the new stream's parameters.
        """
        context = stream.codec_context
        size = f" {context.width}x{context.height}" if context.width else ""
        reason = f"the camera switched to another video stream ({context.name}{size})"
        logger.warning("camera %s: %s", self._camera_id, reason)
        for sink in self._sinks:
            self._call_sink(sink.stream_closed, reason)
        with self._lock:
            self._stats = replace(
                self._stats, format_changes=self._stats.format_changes + 1, last_error=reason
            )
        self._configure_decoder(stream)
        self._note_stream(stream)
        for sink in self._sinks:
            self._call_sink(sink.stream_opened, stream)
        return stream

    def _pace(
        self, packet: av.Packet[VideoStream], paced_from: tuple[float, float] | None
    ) -> tuple[float, float] | None:
        if packet.pts is None:
            return paced_from
        seconds = float(packet.pts * packet.time_base)
        if paced_from is None:
            return time.monotonic(), seconds
        wait = paced_from[0] + (seconds - paced_from[1]) - time.monotonic()
        if wait > 0:
            self._stopping.wait(wait)
        return paced_from

    def _configure_decoder(self, stream: VideoStream) -> None:
        context = stream.codec_context
        if context.is_open:
            # Changed while streaming: only what an open decoder still accepts.
            context.skip_frame = (
                "NONKEY" if self._decode_mode is DecodeMode.KEY_FRAMES else "DEFAULT"
            )
            return
        if self._decode_mode is DecodeMode.KEY_FRAMES:
            # One thread: frame threading only adds latency when most frames are skipped.
            context.skip_frame = "NONKEY"
            context.thread_count = 1
        elif self._decode_mode is DecodeMode.ALL:
            context.thread_count = self._options.decoder_threads
            if self._options.decoder_threads > 1:
                context.thread_type = "AUTO"
            if self._options.skip_deblocking:
                # Only an AVOption of the decoder: PyAV has no attribute for it.
                context.options = {**context.options, "skip_loop_filter": "all"}

    def _decode(
        self, stream: VideoStream, packet: av.Packet[VideoStream], received_at: datetime | None
    ) -> None:
        if self._decode_mode is DecodeMode.NONE:
            return
        if (
            self._decode_mode is DecodeMode.KEY_FRAMES
            and packet.is_keyframe
            and packet.pts is not None
            and not self._sampler.wants(float(packet.pts * packet.time_base))
        ):
            # A key frame costs tens of milliseconds to decode (a whole picture): one the
            # sampler would drop is not decoded at all. Key frames need no predecessor.
            return
        started = time.perf_counter()
        try:
            decoded = stream.codec_context.decode(packet)
        except av.error.InvalidDataError:
            # A corrupt packet spoils a few frames, not the connection.
            with self._lock:
                self._stats = replace(self._stats, decode_errors=self._stats.decode_errors + 1)
            return
        finally:
            spent = time.perf_counter() - started
            with self._lock:
                self._decode_seconds += spent
        for image in decoded:
            self._deliver(image, received_at)

    def _deliver(self, image: av.VideoFrame, received_at: datetime | None) -> None:
        pts_seconds = image.time
        clock_seconds = pts_seconds if pts_seconds is not None else time.monotonic()
        keep = self._sampler.keep(clock_seconds)
        with self._lock:
            stats = self._stats
            if stats.width is None or stats.height is None:
                # A stream announced mid-way is only sized by its first picture.
                stats = replace(stats, width=image.width, height=image.height)
            elif (image.width, image.height) != (stats.width, stats.height):
                # A camera reconfigured while streaming: same stream, new picture size.
                logger.warning(
                    "camera %s: the picture changed from %sx%s to %dx%d",
                    self._camera_id,
                    stats.width,
                    stats.height,
                    image.width,
                    image.height,
                )
                stats = replace(
                    stats,
                    width=image.width,
                    height=image.height,
                    format_changes=stats.format_changes + 1,
                )
            self._stats = replace(
                stats,
                frames_decoded=stats.frames_decoded + 1,
                frames_delivered=stats.frames_delivered + (1 if keep else 0),
            )
        if not keep:
            return
        self._frames.put(
            Frame(
                camera_id=self._camera_id,
                image=image,
                sequence=stats.frames_delivered,
                pts_seconds=pts_seconds,
                received_at=received_at or self._clock(),
                key_frame=image.key_frame,
            )
        )

    def _note_stream(self, stream: VideoStream) -> None:
        context = stream.codec_context
        with self._lock:
            self._stats = replace(
                self._stats,
                codec=context.name,
                width=context.width or None,
                height=context.height or None,
                clock_offset_seconds=None,
            )
        self._sampler.reset()
        self._clock_samples.clear()
        logger.info(
            "camera %s: opened %s (%s %dx%d)",
            self._camera_id,
            self._stats.source,
            context.name,
            context.width,
            context.height,
        )

    def _note_camera_clock(
        self,
        container: av.container.InputContainer,
        packet: av.Packet[VideoStream],
        received_at: datetime,
    ) -> None:
        # FFmpeg's RTSP client learns the camera's wall clock from the first RTCP sender
        # report: pts 0 was captured at start_time_realtime (microseconds, camera clock).
        realtime = container.start_time_realtime
        if not realtime or realtime <= 0 or packet.pts is None:
            return
        captured = realtime / 1e6 + float(packet.pts * packet.time_base)
        # A frame arrives after it was captured: each sample is the offset minus that
        # delay, so the largest recent one is the best estimate.
        self._clock_samples.append(captured - received_at.timestamp())
        offset = max(self._clock_samples)
        with self._lock:
            self._stats = replace(self._stats, clock_offset_seconds=round(offset, 3))

    def _note_packet(self, packet: av.Packet[VideoStream], received_at: datetime) -> None:
        pts = None if packet.pts is None else float(packet.pts * packet.time_base)
        with self._lock:
            self._meter.add(time.monotonic(), packet.size)
            stats = self._stats
            started = stats.state != "streaming"
            if started:
                stats = replace(stats, state="streaming", state_since=received_at)
                self._backoff.reset()
            self._stats = replace(
                stats,
                packets=stats.packets + 1,
                last_frame_at=received_at,
                last_frame_pts_seconds=pts,
            )
        if started:
            logger.info("camera %s: streaming", self._camera_id)

    def _fail(self, message: str) -> None:
        text = scrub(message, self._url)
        with self._lock:
            self._stats = replace(self._stats, last_error=text)
            self._meter.reset()
        logger.warning("camera %s: %s", self._camera_id, text)

    def _set_state(self, state: StreamState) -> None:
        with self._lock:
            stats = self._stats
            if stats.state == state:
                return
            reconnects = stats.reconnects + (1 if state == "reconnecting" else 0)
            self._stats = replace(
                stats, state=state, state_since=self._clock(), reconnects=reconnects
            )
            if state != "streaming":
                self._meter.reset()

    def _call_sink(self, method: Callable[..., None], *args: object) -> None:
        try:
            method(*args)
        except Exception as exc:
            # A sink has its own error handling; this is the backstop that keeps
            # one faulty sink from stopping the camera's reading (and its other
            # sinks). The traceback is scrubbed: an exception may quote the URL.
            details = "".join(traceback.format_exception(exc))
            logger.error(
                "camera %s: packet sink %s failed:\n%s",
                self._camera_id,
                getattr(method, "__qualname__", "?"),
                scrub(details, self._url),
            )
