"""Bad input: a stream that changes resolution, codec or timestamps, corrupt and truncated files.

Each case is generated with PyAV and read through the real reader and recorder;
every closed segment must decode completely with one picture size and codec.
"""

from __future__ import annotations

import http.server
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from safecity.contracts.ingest import SegmentClosed
from safecity.ingest.health import OFFLINE, HealthMonitor
from safecity.ingest.reader import CameraReader, DecodeMode, ReaderOptions
from safecity.ingest.recorder import SegmentRecorder, SegmentTiming
from safecity.sim.rtsp import free_port
from tests.ingest.clips import write_changing_clip, write_clip


def record(
    url: str, media: Path, decode: DecodeMode = DecodeMode.NONE
) -> tuple[CameraReader, SegmentRecorder, list[SegmentClosed]]:
    closed: list[SegmentClosed] = []
    recorder = SegmentRecorder(
        "cam-bad",
        media,
        segment_seconds=2,
        on_closed=closed.append,
        timing=SegmentTiming.STREAM,
    )
    reader = CameraReader(
        "cam-bad", url, ReaderOptions(decode=decode, queue_size=1000), sinks=[recorder]
    )
    reader.run()
    return reader, recorder, closed


def picture(path: Path) -> tuple[str, set[tuple[int, int]], int]:
    """(codec, picture sizes, frames) of a segment, decoding every frame (raises if it cannot)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        sizes: set[tuple[int, int]] = set()
        frames = 0
        for frame in container.decode(stream):
            sizes.add((frame.width, frame.height))
            frames += 1
        return stream.codec_context.name, sizes, frames


def write_mpeg4_ts(path: Path, *, first_pts: int) -> Path:
    """Four seconds of MPEG-4 Part 2 on PID 0x200, timestamps from ``first_pts`` (10 fps)."""
    with av.open(str(path), "w", format="mpegts", options={"mpegts_start_pid": "0x200"}) as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.codec_context.gop_size = 20
        with av.open("testsrc2=size=640x360:rate=10", format="lavfi") as source:
            for index, frame in enumerate(source.decode(video=0)):
                if index == 40:
                    break
                frame.pict_type = av.video.frame.PictureType.NONE
                frame.pts = first_pts + index  # the camera's clock goes on
                out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.mark.parametrize("decode", [DecodeMode.NONE, DecodeMode.KEY_FRAMES])
def test_a_resolution_change_mid_stream_closes_the_segment_and_starts_a_new_one(
    tmp_path: Path, decode: DecodeMode
) -> None:
    clip = write_changing_clip(
        tmp_path / "resize.ts", [("libx264", 640, 360), ("libx264", 320, 240)]
    )
    reader, recorder, closed = record(str(clip), tmp_path / "media", decode)

    assert [(s.width, s.height) for s in closed] == [(640, 360)] * 2 + [(320, 240)] * 2
    for segment in closed:
        codec, sizes, frames = picture(tmp_path / "media" / segment.path)
        assert (codec, sizes, frames) == ("h264", {(segment.width, segment.height)}, 20)
    assert recorder.stats().format_changes == 1
    assert recorder.stats().packets_dropped == 0
    stats = reader.stats()
    assert stats.packets == 80
    if decode is DecodeMode.KEY_FRAMES:
        # Decoding shows the new size in the reader's stats (and so in the health report).
        assert (stats.width, stats.height, stats.format_changes) == (320, 240, 1)


def test_a_codec_change_mid_stream_follows_the_new_stream_into_new_segments(
    tmp_path: Path,
) -> None:
    # A camera reconfigured from H.264 to MPEG-4 Part 2 while streaming over MPEG-TS:
    # the new codec arrives as a new stream (another PID) and the old one falls silent.
    first = write_clip(tmp_path / "h264.ts", seconds=4, container="mpegts")
    second = write_mpeg4_ts(tmp_path / "mpeg4.ts", first_pts=40)
    spliced = tmp_path / "codec-change.ts"
    spliced.write_bytes(first.read_bytes() + second.read_bytes())

    reader, _, closed = record(str(spliced), tmp_path / "media", DecodeMode.KEY_FRAMES)

    codecs = [picture(tmp_path / "media" / segment.path)[0] for segment in closed]
    assert codecs == ["h264", "h264", "mpeg4", "mpeg4"]
    assert [segment.codec for segment in closed] == codecs
    for segment in closed:
        _, sizes, frames = picture(tmp_path / "media" / segment.path)
        assert sizes == {(640, 360)}
        assert frames == segment.frames
    assert sum(s.frames for s in closed if s.codec == "mpeg4") == 40
    # MPEG-TS hands out the old stream's last packets only at the end of the file,
    # after the switch: at most those two are missing from the H.264 part.
    assert sum(s.frames for s in closed if s.codec == "h264") >= 38
    stats = reader.stats()
    assert (stats.codec, stats.format_changes) == ("mpeg4", 1)
    assert stats.last_error is not None
    assert "switched to another video stream (mpeg4" in stats.last_error


def test_timestamps_that_start_again_lose_nothing(tmp_path: Path) -> None:
    # An encoder restart: the same stream, its timestamps back at the start.
    part = write_clip(tmp_path / "part.ts", seconds=4, container="mpegts")
    spliced = tmp_path / "restart.ts"
    spliced.write_bytes(part.read_bytes() * 2)

    _, recorder, closed = record(str(spliced), tmp_path / "media")

    assert sum(segment.frames for segment in closed) == 80
    for segment in closed:
        assert picture(tmp_path / "media" / segment.path)[2] == segment.frames
    stats = recorder.stats()
    assert (stats.discontinuities, stats.packets_dropped) == (1, 0)
    # Each segment is named after its own start: none overwrote another.
    assert len({segment.path for segment in closed}) == len(closed)


def test_corrupt_packets_are_survived_and_the_segments_still_play(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.ts", seconds=10, container="mpegts")
    data = bytearray(clip.read_bytes())
    rng = random.Random(7)
    # Bytes flipped in the middle of the file, away from its first and last seconds.
    flipped = sorted(rng.sample(range(len(data) // 5, 4 * len(data) // 5), 300))
    for offset in flipped:
        data[offset] ^= 0xFF
    corrupt = tmp_path / "corrupt.ts"
    corrupt.write_bytes(bytes(data))

    reader, recorder, closed = record(str(corrupt), tmp_path / "media", DecodeMode.ALL)

    stats = reader.stats()
    assert stats.state == "stopped"
    assert stats.packets >= 90  # the odd packet is lost with its TS header, not the rest
    assert recorder.stats().last_error is None
    assert len(closed) >= 4
    for segment in closed:
        # Every segment opens and decodes to the end (FFmpeg conceals the damage).
        codec, sizes, frames = picture(tmp_path / "media" / segment.path)
        assert (codec, sizes) == ("h264", {(640, 360)})
        assert frames >= 1


def test_a_truncated_mp4_is_refused_with_a_clear_error_and_retried(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", seconds=4)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])  # no index (moov)
    recorder = SegmentRecorder("cam-bad", tmp_path / "media")
    reader = CameraReader(
        "cam-bad",
        str(truncated),
        ReaderOptions(backoff_first_seconds=0.05, backoff_cap_seconds=0.1),
        sinks=[recorder],
    )
    reader.start()
    try:
        deadline = time.monotonic() + 10
        while reader.stats().last_error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # several more attempts
        stats = reader.stats()
        # The file may be replaced by a whole one: the reader keeps trying (one outage,
        # however many attempts), and says why.
        assert stats.state == "reconnecting"
        assert stats.reconnects == 1
        assert reader.is_alive()
    finally:
        reader.stop(5)
    assert stats.packets == 0
    assert stats.last_error is not None
    assert stats.last_error.startswith("cannot open:")
    assert "Invalid data" in stats.last_error
    assert recorder.stats() == SegmentRecorder("cam-bad", tmp_path / "media").stats()


def test_a_truncated_stream_file_records_what_it_holds(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.ts", seconds=10, container="mpegts")
    truncated = tmp_path / "truncated.ts"
    # Cut in the middle of a 188-byte transport packet, as a copy that was interrupted.
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2 + 77])

    reader, _, closed = record(str(truncated), tmp_path / "media", DecodeMode.ALL)

    stats = reader.stats()
    assert stats.state == "stopped"
    assert 40 <= stats.packets <= 60
    assert sum(segment.frames for segment in closed) == stats.packets
    for segment in closed:
        assert picture(tmp_path / "media" / segment.path)[2] == segment.frames


def test_a_codec_change_over_http_is_followed_after_reopening(tmp_path: Path) -> None:
    # Over HTTP the reader probes only the start, so the new stream is found mid-way,
    # which PyAV cannot follow: the reader reopens, and the camera now sends MPEG-4.
    first = write_clip(tmp_path / "h264.ts", seconds=4, container="mpegts")
    second = write_mpeg4_ts(tmp_path / "mpeg4.ts", first_pts=40)
    served = [first.read_bytes() + second.read_bytes(), second.read_bytes()]

    class Camera(_QuietHandler):
        def do_GET(self) -> None:
            body = served[0] if len(served) > 1 else served[-1]
            if len(served) > 1:
                served.pop(0)
            self.send_response(200)
            self.send_header("Content-Type", "video/mp2t")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Camera)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    closed: list[SegmentClosed] = []
    recorder = SegmentRecorder(
        "cam-http",
        tmp_path / "media",
        segment_seconds=2,
        on_closed=closed.append,
        timing=SegmentTiming.STREAM,
    )
    reader = CameraReader(
        "cam-http",
        f"http://127.0.0.1:{server.server_address[1]}/live.ts",
        ReaderOptions(decode=DecodeMode.KEY_FRAMES, backoff_first_seconds=0.1),
        sinks=[recorder],
    )
    reader.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(s.codec == "mpeg4" for s in closed):
            time.sleep(0.1)
    finally:
        reader.stop(10)
        server.shutdown()
        server.server_close()
    codecs = [segment.codec for segment in closed]
    assert codecs[:2] == ["h264", "h264"]
    assert "mpeg4" in codecs
    for segment in closed:
        assert picture(tmp_path / "media" / segment.path)[0] == segment.codec
    stats = reader.stats()
    assert stats.codec == "mpeg4"
    assert stats.reconnects >= 1
    # Before, PyAV's IndexError ended the reader's thread and the camera for good.
    assert "added a stream while streaming" in (stats.last_error or "")
    assert not reader.is_alive()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _EndlessCamera:
    """A live MPEG-TS camera over HTTP whose connections stay open and never end.

    Connection n gets ``plan[n][0]`` once, then ``plan[n][1]`` every half second
    (empty: the socket stays open and silent); later connections follow the last plan.
    """

    def __init__(self, plan: list[tuple[bytes, bytes]]) -> None:
        self.connections = 0
        self._stopping = threading.Event()
        camera = self

        class Handler(_QuietHandler):
            def do_GET(self) -> None:
                once, repeated = plan[min(camera.connections, len(plan) - 1)]
                camera.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                self.end_headers()
                try:
                    self.wfile.write(once)
                    self.wfile.flush()
                    while not camera._stopping.wait(0.5):
                        self.wfile.write(repeated)
                        self.wfile.flush()
                except OSError:
                    pass  # the reader hung up

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/live.ts"

    def __enter__(self) -> _EndlessCamera:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()


def _wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.05)


def test_an_endless_http_stream_that_switches_codec_is_reopened_after_a_stall(
    tmp_path: Path,
) -> None:
    # The connection never ends: PyAV drops the new MPEG-4 stream's packets, so
    # without the stall guard the reader would wait on it forever.
    first = write_clip(tmp_path / "h264.ts", seconds=2, container="mpegts")
    second = write_mpeg4_ts(tmp_path / "mpeg4.ts", first_pts=20)
    closed: list[SegmentClosed] = []
    recorder = SegmentRecorder(
        "cam-live",
        tmp_path / "media",
        segment_seconds=1,
        on_closed=closed.append,
        timing=SegmentTiming.STREAM,
    )
    mpeg4 = second.read_bytes()
    with _EndlessCamera([(first.read_bytes(), mpeg4), (b"", mpeg4)]) as camera:
        reader = CameraReader(
            "cam-live",
            camera.url,
            ReaderOptions(
                decode=DecodeMode.KEY_FRAMES, read_timeout_seconds=1.0, backoff_first_seconds=0.1
            ),
            sinks=[recorder],
        )
        reader.start()
        try:
            _wait_for(lambda: reader.stats().codec == "mpeg4", 10)
            stats = reader.stats()
            _wait_for(lambda: reader.stats().packets > stats.packets, 5)
            streaming = reader.stats()
        finally:
            reader.stop(5)
    assert stats.codec == "mpeg4"
    assert stats.stalls == 1
    assert stats.reconnects == 1
    assert camera.connections == 2
    assert (stats.last_error or "").startswith("stalled: no video packet for")
    assert streaming.state == "streaming"
    assert streaming.packets > stats.packets
    # H.264 segments up to the stall, MPEG-4 ones after it; each plays with its codec.
    codecs = [segment.codec for segment in closed]
    assert codecs[0] == "h264"
    assert codecs == sorted(codecs)  # "h264" < "mpeg4": no H.264 after the switch
    for segment in closed:
        assert picture(tmp_path / "media" / segment.path)[0] == segment.codec
    assert not reader.is_alive()


def test_an_http_stream_that_falls_silent_with_the_socket_open_is_reopened(
    tmp_path: Path,
) -> None:
    # The server stops sending but keeps the socket open; the next connection streams.
    clip = write_clip(tmp_path / "h264.ts", seconds=2, container="mpegts").read_bytes()
    with _EndlessCamera([(clip, b""), (b"", clip)]) as camera:
        reader = CameraReader(
            "cam-silent",
            camera.url,
            ReaderOptions(
                decode=DecodeMode.NONE, read_timeout_seconds=1.0, backoff_first_seconds=0.5
            ),
        )
        reader.start()
        try:
            _wait_for(lambda: reader.stats().stalls == 1, 10)
            health = HealthMonitor("cam-silent").report(reader.stats(), None)
            stalled = reader.stats()
            _wait_for(lambda: reader.stats().packets > stalled.packets + 20, 10)
            streaming = reader.stats()
        finally:
            reader.stop(5)
    assert stalled.stalls == 1
    assert 0 < stalled.packets <= 20  # the clip's frames (a PES may wait for the next)
    assert (stalled.last_error or "").startswith("stalled: no data for 1.0 s")
    # Between the stall and the next connection the camera is offline, and says why.
    assert health.state == "reconnecting"
    assert [(p.code, p.detail) for p in health.problems] == [(OFFLINE, stalled.last_error)]
    assert camera.connections == 2
    assert streaming.state == "streaming"
    assert streaming.reconnects == 1
    assert streaming.packets > stalled.packets + 20
    assert not reader.is_alive()
