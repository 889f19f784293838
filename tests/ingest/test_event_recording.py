"""Events mode: footage around motion and rule events only, pre-roll to post-roll, playable."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest
from pydantic import SecretStr

from safecity.bus import NatsBus, NatsServer
from safecity.contracts.analytics import RuleEvent
from safecity.contracts.ingest import SegmentClosed
from safecity.ingest.frames import Frame
from safecity.ingest.motion import MotionDetector
from safecity.ingest.recorder import SegmentRecorder
from safecity.ingest.worker import IngestWorker, IngestWorkerConfig
from tests.ingest.clips import decoded_frames, packet_payloads, write_motion_clip

T0 = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def motion_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s at 10 fps, a key frame every second, the square moving from 5 s to 7 s."""
    return write_motion_clip(
        tmp_path_factory.mktemp("motion") / "motion.mp4", seconds=12, moving=(5.0, 7.0)
    )


def feed(
    recorder: SegmentRecorder,
    clip: Path,
    events: dict[float, float] | None = None,
    start: datetime = T0,
) -> None:
    """Play ``clip`` into the recorder as if it arrived live from T0; at stream second
    ``k`` of ``events`` an event of stream second ``events[k]`` is noted."""
    pending = dict(events or {})
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        recorder.stream_opened(stream)
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            second = float(packet.pts * packet.time_base)
            for noticed in [k for k in pending if k <= second]:
                recorder.note_event(start + timedelta(seconds=pending.pop(noticed)))
            recorder.packet(packet, start + timedelta(seconds=second))
        recorder.stream_closed("end of stream")


def offsets(segment: SegmentClosed) -> tuple[float, float]:
    return (
        round((segment.started_at - T0).total_seconds(), 3),
        round((segment.ended_at - T0).total_seconds(), 3),
    )


def test_an_event_keeps_whole_gops_from_pre_roll_to_post_roll(
    motion_clip: Path, tmp_path: Path
) -> None:
    closed: list[SegmentClosed] = []
    recorder = SegmentRecorder(
        "cam-e",
        tmp_path,
        segment_seconds=4,
        on_closed=closed.append,
        mode="events",
        pre_roll_seconds=2,
        post_roll_seconds=3,
    )
    # The event at 9.0 s is noticed half a second later, as a motion check would.
    feed(recorder, motion_clip, {9.5: 9.0})
    # Pre-roll: from the key frame at 7 s (2 s before the newest packet at 9.0 s);
    # post-roll until 12 s, then on to the next key frame; cut after 4 s.
    assert [offsets(s) for s in closed] == [(7.0, 11.0), (11.0, 12.0)]
    assert {s.kind for s in closed} == {"event"}
    recorded = [p for s in closed for p in packet_payloads(tmp_path / s.path)]
    assert recorded == packet_payloads(motion_clip)[70:]  # stream copy, nothing lost
    for segment in closed:
        assert decoded_frames(tmp_path / segment.path) == segment.frames


def test_stillness_records_nothing_and_separate_events_make_separate_segments(
    motion_clip: Path, tmp_path: Path
) -> None:
    closed: list[SegmentClosed] = []
    recorder = SegmentRecorder(
        "cam-e",
        tmp_path,
        segment_seconds=60,
        on_closed=closed.append,
        mode="events",
        pre_roll_seconds=1,
        post_roll_seconds=1,
    )
    feed(recorder, motion_clip, {2.2: 2.1, 8.6: 8.5})
    # Each from a key frame 1 s before, to the first key frame 0.5 s past the post-roll.
    assert [offsets(s) for s in closed] == [(1.0, 4.0), (7.0, 11.0)]
    assert sorted(p.name for p in tmp_path.rglob("*.mp4")) == sorted(
        Path(s.path).name for s in closed
    )
    feed(recorder, motion_clip, start=T0 + timedelta(hours=1))  # no events: no footage
    assert len(closed) == 2


def test_continuous_mode_ignores_events(motion_clip: Path, tmp_path: Path) -> None:
    closed: list[SegmentClosed] = []
    recorder = SegmentRecorder("cam-c", tmp_path, segment_seconds=6, on_closed=closed.append)
    feed(recorder, motion_clip, {3.0: 3.0})
    assert [offsets(s) for s in closed] == [(0.0, 6.0), (6.0, 12.0)]
    assert {s.kind for s in closed} == {"continuous"}


def test_motion_detector_sees_the_moving_square_only(motion_clip: Path) -> None:
    detector = MotionDetector()
    moved: list[float] = []
    with av.open(str(motion_clip)) as container:
        for image in container.decode(video=0):
            if image.key_frame:
                frame = Frame("cam", image, 0, image.time, T0, key_frame=True)
                if detector.moved(frame):
                    moved.append(round(image.time or 0.0, 1))
    assert moved == [6.0, 7.0]


def test_motion_detector_thumbnails_are_pyavs_own(motion_clip: Path) -> None:
    """The detector keeps one scaling context for the camera; the thumbnails it compares
    are those PyAV's own reformat makes of each frame."""
    detector = MotionDetector(width=32, height=18)
    previous = None
    with av.open(str(motion_clip)) as container:
        for image in container.decode(video=0):
            share = detector.changed_share(Frame("cam", image, 0, image.time, T0, key_frame=False))
            grey = image.reformat(width=32, height=18, format="gray").to_ndarray()
            current = grey.astype(np.int16)
            if previous is None:
                assert share is None
            else:
                assert share == float((np.abs(current - previous) > 20).mean())
            previous = current


@pytest.mark.nats
async def test_worker_in_events_mode_records_around_motion_and_rule_events(
    motion_clip: Path, nats_server: NatsServer, tmp_path: Path
) -> None:
    bus = await NatsBus.connect(nats_server.url, fetch_wait_seconds=0.25)
    closed: list[SegmentClosed] = []

    async def collect(message: SegmentClosed) -> None:
        closed.append(message)

    try:
        await bus.subscribe(SegmentClosed, durable="test-event-segments", handler=collect)
        config = IngestWorkerConfig(
            camera_id="cam-ev",
            stream_url=SecretStr(str(motion_clip)),
            media_root=tmp_path / "media",
            segment_seconds=30,
            recording_mode="events",
            pre_roll_seconds=1,
            post_roll_seconds=1,
        )
        worker = IngestWorker(config, bus)
        stop = asyncio.Event()
        started = time.time()
        running = asyncio.create_task(worker.run(stop))
        # A rule event from analytics at 2 s into the clip also keeps footage.
        await asyncio.sleep(2.5)
        at = datetime.fromtimestamp(started + 2.0, UTC)
        await bus.publish(
            RuleEvent(
                camera_id="cam-ev",
                kind="loitering",
                rule="gate",
                at=at,
                frame_width=320,
                frame_height=180,
                clip_start=at,
                clip_end=at,
            )
        )
        await asyncio.sleep(max(0.0, started + 11.5 - time.time()))
        stop.set()
        await asyncio.wait_for(running, timeout=20)
        async with asyncio.timeout(10):
            while len(closed) < 2:
                await asyncio.sleep(0.1)
    finally:
        await bus.close()

    spans = sorted(
        (s.started_at.timestamp() - started, s.ended_at.timestamp() - started) for s in closed
    )
    assert len(spans) == 2, spans
    (rule_start, rule_end), (motion_start, motion_end) = spans
    # Footage around the rule event (2 s) and the motion (5-7 s, seen on key frames at 6, 7):
    assert rule_start <= 2.0 <= rule_end
    assert motion_start <= 5.6
    assert motion_end >= 7.0
    # ... and none in the stillness after it (from 9 s: post-roll, slack, next key frame).
    assert motion_end <= 9.6
    for segment in closed:
        assert segment.kind == "event"
        assert decoded_frames(tmp_path / "media" / segment.path) == segment.frames
