"""Recording by stream copy from a file: segment cuts, exact packets, the closing message."""

from __future__ import annotations

import hashlib
import itertools
import re
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest

from safecity.contracts.ingest import SegmentClosed, segment_message_id
from safecity.ingest.reader import CameraReader, DecodeMode, ReaderOptions
from safecity.ingest.recorder import (
    FRAGMENTED_MP4,
    PARTIAL_SUFFIX,
    SegmentRecorder,
    SegmentTiming,
    segment_comment,
)
from safecity.ingest.salvage import salvage_partial_segments
from safecity.recordings.rescan import probe_segment
from tests.ingest.clips import decoded_frames, packet_payloads

SEGMENT_NAME = re.compile(r"^cam-7/\d{4}-\d{2}-\d{2}/cam-7_\d{8}T\d{6}\.\d{3}Z\.mp4$")


def record_file(clip: Path, media: Path, segment_seconds: float) -> list[SegmentClosed]:
    closed: list[SegmentClosed] = []
    recorder = SegmentRecorder(
        "cam-7",
        media,
        segment_seconds=segment_seconds,
        on_closed=closed.append,
        timing=SegmentTiming.STREAM,
    )
    CameraReader("cam-7", str(clip), ReaderOptions(decode=DecodeMode.NONE), sinks=[recorder]).run()
    return closed


@pytest.mark.parametrize(("segment_seconds", "count"), [(2.0, 5), (4.0, 3), (3.0, 3)])
def test_segments_are_cut_on_key_frames(
    clip: Path, tmp_path: Path, segment_seconds: float, count: int
) -> None:
    closed = record_file(clip, tmp_path, segment_seconds)
    assert len(closed) == count
    # Key frames come every 2 s: a 3 s target cuts at the first key frame after 3 s.
    expected = {2.0: [2.0] * 5, 4.0: [4.0, 4.0, 2.0], 3.0: [4.0, 4.0, 2.0]}[segment_seconds]
    assert [round(segment.duration_seconds, 3) for segment in closed] == expected
    assert sum(segment.frames for segment in closed) == 100
    for segment in closed:
        payloads = packet_payloads(tmp_path / segment.path)
        assert payloads[0][1], "every segment starts with a key frame"
        assert decoded_frames(tmp_path / segment.path) == segment.frames


def test_recording_is_a_stream_copy(clip: Path, tmp_path: Path) -> None:
    closed = record_file(clip, tmp_path, 2.0)
    recorded = [payload for s in closed for payload in packet_payloads(tmp_path / s.path)]
    assert recorded == packet_payloads(clip)  # same bytes, same key frames, same order
    with av.open(str(clip)) as source, av.open(str(tmp_path / closed[0].path)) as segment:
        original, copy = source.streams.video[0], segment.streams.video[0]
        assert copy.codec_context.extradata == original.codec_context.extradata
        assert (copy.codec_context.profile, copy.width, copy.height) == (
            original.codec_context.profile,
            original.width,
            original.height,
        )


def test_segment_closed_describes_the_file(clip: Path, tmp_path: Path) -> None:
    closed = record_file(clip, tmp_path, 2.0)
    assert closed[0].gap_before_seconds is None
    for before, after in itertools.pairwise(closed):
        assert after.started_at == before.ended_at
        assert after.gap_before_seconds == pytest.approx(0, abs=1e-3)
    for segment in closed:
        file = tmp_path / segment.path
        assert SEGMENT_NAME.match(segment.path)
        assert segment.started_at.strftime("%Y%m%dT%H%M%S") in segment.path
        assert segment.size_bytes == file.stat().st_size
        assert segment.sha256 == hashlib.sha256(file.read_bytes()).hexdigest()
        assert segment.message_id == segment_message_id("cam-7", segment.sha256)
        assert (segment.codec, segment.width, segment.height) == ("h264", 640, 360)
        assert (segment.frames, segment.key_frames) == (20, 1)
    assert not list(tmp_path.rglob("*.partial"))


def test_a_second_connection_starts_a_new_segment_after_a_key_frame(
    clip: Path, tmp_path: Path
) -> None:
    closed: list[SegmentClosed] = []
    recorder = SegmentRecorder("cam-7", tmp_path, segment_seconds=60, on_closed=closed.append)
    for _ in range(2):  # the same file twice, as a camera that reconnected
        reader = CameraReader(
            "cam-7", str(clip), ReaderOptions(decode=DecodeMode.NONE), sinks=[recorder]
        )
        reader.run()
    assert len(closed) == 2
    assert [segment.frames for segment in closed] == [100, 100]
    assert closed[1].gap_before_seconds is not None


def test_salvage_keeps_the_complete_fragments_of_an_interrupted_segment(
    clip: Path, tmp_path: Path
) -> None:
    # A 4 s segment holds two 2 s fragments; the "crash" cut the second one short.
    whole = tmp_path / "recorded" / record_file(clip, tmp_path / "recorded", 4.0)[0].path
    data = whole.read_bytes()
    media = tmp_path / "media"
    partial = media / "cam-7" / "2026-11-22" / f"cam-7_20261122T040000.000Z.mp4{PARTIAL_SUFFIX}"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(data[: len(data) * 3 // 4])

    [message] = salvage_partial_segments("cam-7", media)
    salvaged = media / message.path
    assert message.path == "cam-7/2026-11-22/cam-7_20261122T040000.000Z.mp4"
    assert message.started_at == datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
    assert 20 <= message.frames < 40  # the first fragment whole, the second cut
    assert message.key_frames >= 1
    assert decoded_frames(salvaged) == message.frames
    assert message.sha256 == hashlib.sha256(salvaged.read_bytes()).hexdigest()
    assert packet_payloads(salvaged) == packet_payloads(whole)[: message.frames]
    assert not list(media.rglob(f"*{PARTIAL_SUFFIX}*"))


def test_salvage_removes_a_partial_without_video(clip: Path, tmp_path: Path) -> None:
    whole = tmp_path / "recorded" / record_file(clip, tmp_path / "recorded", 2.0)[0].path
    media = tmp_path / "media"
    partial = media / "cam-7" / "2026-11-22" / f"cam-7_20261122T040000.000Z.mp4{PARTIAL_SUFFIX}"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(whole.read_bytes()[:28])  # the file type box only: killed at once
    assert salvage_partial_segments("cam-7", media) == []
    assert [path for path in media.rglob("*") if path.is_file()] == []


def write_fragmented(clip: Path, target: Path, comment: str) -> None:
    """``clip`` remuxed as the recorder writes a segment, with the given comment tag."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        av.open(str(clip)) as source,
        av.open(str(target), "w", format="mp4", options=dict(FRAGMENTED_MP4)) as output,
    ):
        output.metadata["comment"] = comment
        stream = source.streams.video[0]
        copy = output.add_stream_from_template(stream)
        for packet in source.demux(stream):
            if packet.size:
                packet.stream = copy
                output.mux(packet)


@pytest.mark.parametrize(
    ("comment", "kind"),
    [
        (segment_comment("event"), "event"),
        (segment_comment("continuous"), "continuous"),
        ("", "continuous"),  # written before the tag existed
        ("safecity segment kind=bogus", "continuous"),
    ],
)
def test_a_salvaged_segment_keeps_the_kind_its_recorder_gave_it(
    clip: Path, tmp_path: Path, comment: str, kind: str
) -> None:
    whole = tmp_path / "whole.mp4"
    write_fragmented(clip, whole, comment)
    day = tmp_path / "media" / "cam-7" / "2026-11-22"
    partial = day / f"cam-7_20261122T040000.000Z.mp4{PARTIAL_SUFFIX}"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(whole.read_bytes()[: whole.stat().st_size * 3 // 4])

    [message] = salvage_partial_segments("cam-7", tmp_path / "media")
    assert message.kind == kind
    salvaged = tmp_path / "media" / message.path
    with av.open(str(salvaged)) as container:
        # The file says it too, so a rescan that lost this message indexes it the same.
        assert container.metadata.get("comment") == segment_comment(message.kind)
    assert probe_segment(tmp_path / "media", salvaged, "cam-7").kind == kind
