"""The camera reader on files and HTTP: decode modes, target fps, the bounded queue, secrecy."""

from __future__ import annotations

import base64
import functools
import http.server
import itertools
import logging
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from pydantic import SecretStr, ValidationError

from safecity.ingest.frames import Frame
from safecity.ingest.reader import CameraReader, DecodeMode, ReaderOptions
from safecity.ingest.worker import IngestWorkerConfig
from safecity.sim.rtsp import free_port
from tests.ingest.clips import write_clip

PASSWORD = "Zq7-unguessable-Pw"


def read_all(url: str, options: ReaderOptions) -> tuple[CameraReader, list[Frame]]:
    """Run a reader to the end of a file and take every frame it handed on."""
    reader = CameraReader("cam-file", url, options)
    reader.run()
    frames: list[Frame] = []
    while (frame := reader.frames.get(0)) is not None:
        frames.append(frame)
    return reader, frames


def test_every_frame_without_a_target(clip: Path) -> None:
    reader, frames = read_all(str(clip), ReaderOptions(queue_size=1000))
    stats = reader.stats()
    assert len(frames) == 100
    assert stats.state == "stopped"
    assert (stats.packets, stats.frames_decoded, stats.frames_delivered) == (100, 100, 100)
    assert (stats.codec, stats.width, stats.height) == ("h264", 640, 360)
    assert [frame.sequence for frame in frames] == list(range(100))


@pytest.mark.parametrize(("target", "expected"), [(5.0, 50), (2.0, 20), (1.0, 10)])
def test_target_fps_drops_decoded_frames_by_timestamp(
    clip: Path, target: float, expected: int
) -> None:
    reader, frames = read_all(str(clip), ReaderOptions(target_fps=target, queue_size=1000))
    assert len(frames) == expected
    assert reader.stats().frames_decoded == 100  # P-frames need every predecessor decoded
    steps = {
        round(b.pts_seconds - a.pts_seconds, 3)
        for a, b in itertools.pairwise(frames)
        if a.pts_seconds is not None and b.pts_seconds is not None
    }
    assert steps == {round(1 / target, 3)}
    # Frames travel by reference, as decoded; the consumer converts what it needs.
    assert frames[0].image.to_ndarray(format="gray").shape == (360, 640)


def test_skipping_deblocking_decodes_the_same_frames_without_the_filter(clip: Path) -> None:
    """The option reaches the decoder: every frame still arrives, key frames are exact
    (nothing to predict from), predicted frames differ by the filter's smoothing only."""
    _, filtered = read_all(str(clip), ReaderOptions(queue_size=1000))
    _, unfiltered = read_all(str(clip), ReaderOptions(queue_size=1000, skip_deblocking=True))
    assert len(unfiltered) == len(filtered) == 100
    differences = []
    for a, b in zip(filtered, unfiltered, strict=True):
        grey_a = a.image.to_ndarray(format="gray").astype(np.int16)
        grey_b = b.image.to_ndarray(format="gray").astype(np.int16)
        differences.append(float(np.abs(grey_a - grey_b).mean()))
    assert differences[0] > 0, "the deblocking filter applies inside key frames too"
    assert any(d > 0 for d in differences[1:]), "the option did not reach the decoder"
    assert max(differences) < 4, "beyond faint block edges, the pictures are the same"


def test_key_frame_only_decodes_nothing_else(clip: Path) -> None:
    reader, frames = read_all(
        str(clip), ReaderOptions(decode=DecodeMode.KEY_FRAMES, queue_size=1000)
    )
    assert [frame.pts_seconds for frame in frames] == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert all(frame.key_frame for frame in frames)
    assert reader.stats().frames_decoded == 5
    assert reader.stats().packets == 100


def test_key_frames_the_sampler_would_drop_are_not_decoded(clip: Path) -> None:
    reader, frames = read_all(
        str(clip),
        ReaderOptions(decode=DecodeMode.KEY_FRAMES, target_fps=0.25, queue_size=1000),
    )
    assert [frame.pts_seconds for frame in frames] == [0.0, 4.0, 8.0]
    stats = reader.stats()
    assert stats.frames_decoded == 3, "the key frames at 2 s and 6 s were never decoded"
    assert stats.packets == 100


class _SlowDownAt:
    """A packet sink that asks its reader for another frame rate at the ``at``-th packet."""

    def __init__(self, at: int, fps: float) -> None:
        self.reader: CameraReader | None = None
        self._at, self._fps, self._seen = at, fps, 0

    def stream_opened(self, stream: object) -> None:
        pass

    def packet(self, packet: object, received_at: object) -> None:
        self._seen += 1
        if self._seen == self._at and self.reader is not None:
            self.reader.set_target_fps(self._fps)

    def stream_closed(self, reason: str) -> None:
        pass


def test_the_frame_rate_changes_while_reading(clip: Path) -> None:
    sink = _SlowDownAt(50, 1.0)  # after 5 s of the 10 fps clip
    reader = CameraReader(
        "cam-file", str(clip), ReaderOptions(target_fps=5.0, queue_size=1000), sinks=[sink]
    )
    sink.reader = reader
    reader.run()
    times = []
    while (frame := reader.frames.get(0)) is not None:
        times.append(frame.pts_seconds)
    assert times == [i / 5 for i in range(25)] + [5.0, 6.0, 7.0, 8.0, 9.0]
    with pytest.raises(ValueError, match="positive"):
        reader.set_target_fps(0)


def test_demux_only_decodes_nothing(clip: Path) -> None:
    reader, frames = read_all(str(clip), ReaderOptions(decode=DecodeMode.NONE))
    assert frames == []
    assert reader.stats().packets == 100


def test_a_slow_consumer_loses_the_oldest_frames_and_they_are_counted(clip: Path) -> None:
    reader, frames = read_all(str(clip), ReaderOptions(queue_size=3))
    assert [frame.sequence for frame in frames] == [97, 98, 99]
    assert reader.stats().frames_dropped == 97
    assert reader.frames.dropped == 97


def test_paced_file_plays_at_its_frame_rate(clip: Path) -> None:
    reader = CameraReader(
        "cam-file", str(clip), ReaderOptions(decode=DecodeMode.NONE, pace_files=True)
    )
    reader.start()
    time.sleep(1.05)
    packets = reader.stats().packets
    reader.stop(timeout=5)
    assert 9 <= packets <= 13  # 10 fps: about 11 packets in the first second


@pytest.fixture
def http_clip(tmp_path: Path) -> Iterator[str]:
    """An MPEG-TS clip over HTTP, as many encoders and recorders offer it."""
    write_clip(tmp_path / "clip.ts", seconds=4, container="mpegts")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/clip.ts"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_http_stream(http_clip: str) -> None:
    reader, frames = read_all(
        http_clip, ReaderOptions(target_fps=5, queue_size=100, reconnect_at_end=False)
    )
    assert reader.stats().packets == 40
    assert len(frames) == 20


def test_credentials_never_reach_logs_stats_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    # Nobody listens on this port: every attempt fails and is logged.
    url = f"rtsp://admin:{PASSWORD}@127.0.0.1:{free_port()}/Streaming/Channels/101"
    reader = CameraReader(
        "cam-secret",
        url,
        ReaderOptions(backoff_first_seconds=0.05, backoff_cap_seconds=0.1, open_timeout_seconds=1),
    )
    with caplog.at_level(logging.DEBUG):
        reader.start()
        deadline = time.monotonic() + 5
        while reader.stats().reconnects < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        reader.stop(timeout=5)
    stats = reader.stats()
    assert stats.reconnects >= 1
    assert stats.last_error is not None
    assert "refused" in stats.last_error.lower()
    assert "rtsp://***@127.0.0.1" in caplog.text
    assert "cannot open" in caplog.text
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(stats)
    with pytest.raises(ValidationError) as caught:
        IngestWorkerConfig(
            camera_id="cam-secret",
            stream_url=SecretStr(url.replace("rtsp", "ftp")),
            media_root=Path("/nonexistent"),
        )
    assert PASSWORD not in str(caught.value)
    config = IngestWorkerConfig(
        camera_id="cam-secret", stream_url=SecretStr(url), media_root=Path("/nonexistent")
    )
    assert PASSWORD not in repr(config)
    assert PASSWORD not in config.model_dump_json()


def _jpeg_pictures(count: int) -> list[bytes]:
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 320, 180, "yuvj420p"
    encoder.time_base = Fraction(1, 10)
    pictures: list[bytes] = []
    with av.open("testsrc2=size=320x180:rate=10", format="lavfi") as source:
        for index, frame in enumerate(itertools.islice(source.decode(video=0), count)):
            picture = frame.reformat(format="yuvj420p")
            picture.pts = index
            pictures += [bytes(packet) for packet in encoder.encode(picture)]
    return pictures


def test_an_mjpeg_camera_over_http_with_basic_auth_streams(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # HTTP is read through FFmpeg's raw connection and a file object (for the stall
    # guard): FFmpeg's client must still log in, and the multipart stream must still be
    # recognised without the Content-Type FFmpeg's HTTP demuxing would have seen.
    pictures = _jpeg_pictures(10)
    expected = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    stopping = threading.Event()

    class Camera(_QuietHandler):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="camera"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace;boundary=frame")
            self.end_headers()
            try:
                for picture in itertools.cycle(pictures):
                    if stopping.wait(0.1):
                        return
                    head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(picture)}"
                    self.wfile.write(head.encode() + b"\r\n\r\n" + picture + b"\r\n")
            except OSError:
                pass  # the reader hung up

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Camera)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://admin:{PASSWORD}@127.0.0.1:{server.server_address[1]}/video.mjpg"
    reader = CameraReader("cam-mjpeg", url, ReaderOptions(decode=DecodeMode.KEY_FRAMES))
    try:
        with caplog.at_level(logging.DEBUG):
            reader.start()
            deadline = time.monotonic() + 10
            while reader.stats().frames_decoded < 10 and time.monotonic() < deadline:
                time.sleep(0.05)
            reader.stop(5)
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()
    stats = reader.stats()
    assert stats.codec == "mjpeg"
    assert (stats.width, stats.height) == (320, 180)
    assert stats.frames_decoded >= 10
    assert stats.reconnects == 0
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(stats)
