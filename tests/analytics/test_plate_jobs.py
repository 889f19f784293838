"""The shared plate reader: one thread, a bounded queue of jobs, the oldest dropped first and
counted per camera, a failing read answered empty; and a pipeline whose camera shares it
keeps analysing every frame while the reader is slow."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from safecity.analytics.plate_jobs import PlateJob, SharedPlateReader
from safecity.analytics.plates import PlateStage
from safecity.vision.detections import Detections
from tests.analytics.support import OracleRead, fuse_by_vote

IMAGE = np.zeros((360, 640, 3), np.uint8)
T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


class _GatedReader:
    """Answers ``region`` as the plate text once the gate opens; raises for region width 13."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.seen: list[tuple[int, int, int, int] | None] = []

    def read(
        self, image_bgr: npt.NDArray[np.uint8], region: tuple[int, int, int, int] | None = None
    ) -> list[OracleRead]:
        self.started.set()
        self.gate.wait(10)
        self.seen.append(region)
        if region is not None and region[2] == 13:
            raise ValueError("a crop the reader cannot take")
        x, y = (region[0], region[1]) if region else (0, 0)
        # The plate moves with its vehicle (a still one would be rejected as display text)
        # and sits low on it, where plates are mounted (text higher up is dropped).
        return [OracleRead(f"LEA{x}", 0.9, (x + 10, y + 60, 20, 8))]


class _Answers:
    def __init__(self) -> None:
        self.got: dict[tuple[str, int], Sequence[Any] | None] = {}
        self.done = threading.Event()

    def job(self, camera: str, x: int, width: int = 40, tries: int = 0) -> PlateJob:
        def deliver(readings: Sequence[Any] | None) -> None:
            self.got[(camera, x)] = readings

        return PlateJob(camera, IMAGE, (x, 0, width, 40), deliver, tries=tries)

    def wait_for(self, count: int) -> None:
        """Until ``count`` jobs are answered, or 5 s (the assertions after it then fail)."""
        for _ in range(100):
            if len(self.got) >= count:
                return
            threading.Event().wait(0.05)


@contextmanager
def _running(
    reader: Any, capacity: int = 4, **options: Any
) -> Iterator[tuple[SharedPlateReader, _Answers]]:
    """A started shared reader around ``reader`` and a fresh answer book; stopped on exit."""
    shared = SharedPlateReader(reader, capacity=capacity, **options)
    shared.start()
    try:
        yield shared, _Answers()
    finally:
        shared.stop()


def test_a_full_queue_drops_its_oldest_job_tells_its_camera_and_counts_it() -> None:
    reader = _GatedReader()
    with _running(reader, capacity=2) as (shared, answers):
        shared.submit(answers.job("cam-a", 1))  # taken by the reader thread, which waits
        assert reader.started.wait(5)
        for camera, x in (("cam-a", 2), ("cam-b", 3), ("cam-b", 4), ("cam-a", 5)):
            shared.submit(answers.job(camera, x))
        # Capacity 2: jobs 2 and 3 (the oldest waiting) made room for 4 and 5.
        assert answers.got == {("cam-a", 2): None, ("cam-b", 3): None}
        assert (shared.dropped("cam-a"), shared.dropped("cam-b")) == (1, 1)
        reader.gate.set()
        answers.wait_for(5)
    assert [r.text for r in answers.got[("cam-a", 1)] or []] == ["LEA1"]
    assert [r.text for r in answers.got[("cam-b", 4)] or []] == ["LEA4"]
    assert [r.text for r in answers.got[("cam-a", 5)] or []] == ["LEA5"]
    assert [region[0] for region in reader.seen if region] == [1, 4, 5]
    assert shared.done("cam-a") == 2
    assert shared.done("cam-b") == 1


def test_a_vehicle_not_read_yet_goes_before_another_reading_of_one_already_read() -> None:
    reader = _GatedReader()
    with _running(reader, capacity=2) as (shared, answers):
        shared.submit(answers.job("cam-a", 1))
        assert reader.started.wait(5)
        shared.submit(answers.job("cam-a", 2, tries=3))
        shared.submit(answers.job("cam-b", 3, tries=1))
        # Full: the new first try pushes out the track tried three times before.
        shared.submit(answers.job("cam-b", 4))
        assert answers.got == {("cam-a", 2): None}
        # A new job with more tries than any waiting one is the one dropped.
        shared.submit(answers.job("cam-a", 5, tries=2))
        assert answers.got == {("cam-a", 2): None, ("cam-a", 5): None}
        reader.gate.set()
        answers.wait_for(4)
    # The first try (4) is read before the second reading of a track (3).
    assert [region[0] for region in reader.seen if region] == [1, 4, 3]
    assert (shared.dropped("cam-a"), shared.dropped("cam-b")) == (2, 0)


def test_among_first_tries_the_best_frame_is_read_first_and_a_waiting_job_can_be_upgraded() -> None:
    reader = _GatedReader()
    with _running(reader, capacity=4) as (shared, answers):
        shared.submit(answers.job("cam-a", 1))
        assert reader.started.wait(5)  # in the reader's hands: no longer replaceable
        assert not shared.replace(_tracked(answers, "cam-a", 9, track=1, quality=5.0))
        shared.submit(_tracked(answers, "cam-a", 2, track=2, quality=10.0))
        shared.submit(_tracked(answers, "cam-b", 3, track=2, quality=30.0))
        shared.submit(_tracked(answers, "cam-a", 4, track=3, quality=20.0))
        # A better frame of cam-a's track 2 takes its waiting job's place; another
        # camera's track 2 is another vehicle.
        assert shared.replace(_tracked(answers, "cam-a", 5, track=2, quality=40.0))
        assert shared.waiting() == 3
        reader.gate.set()
        answers.wait_for(4)
    assert [region[0] for region in reader.seen if region] == [1, 5, 3, 4]
    assert ("cam-a", 2) not in answers.got  # replaced: never read, never reported dropped
    assert shared.dropped("cam-a") == 0


def _tracked(answers: _Answers, camera: str, x: int, *, track: int, quality: float) -> PlateJob:
    job = answers.job(camera, x)
    return PlateJob(job.camera_id, job.image, job.region, job.deliver, quality=quality, track=track)


def test_a_full_queue_drops_a_job_queued_behind_another_of_its_camera_without_error() -> None:
    # Not started: every job waits. Finding the job to drop among others of the same
    # camera once compared their frames (numpy arrays) and raised in the analysis thread.
    shared = SharedPlateReader(_GatedReader(), capacity=2)
    answered: list[Sequence[Any] | None] = []
    frames = [np.full((36, 64, 3), value, np.uint8) for value in (0, 1, 2)]
    shared.submit(PlateJob("cam-a", frames[0], (0, 0, 40, 30), answered.append, tries=0))
    shared.submit(PlateJob("cam-a", frames[1], (0, 0, 40, 30), answered.append, tries=1))
    shared.submit(PlateJob("cam-a", frames[2], (0, 0, 40, 30), answered.append, tries=0))
    assert answered == [None]  # the job with a try behind it made room
    assert shared.waiting() == 2
    assert shared.dropped("cam-a") == 1


def test_a_read_that_raises_is_answered_empty_and_the_reader_goes_on() -> None:
    reader = _GatedReader()
    reader.gate.set()
    with _running(reader) as (shared, answers):
        shared.submit(answers.job("cam-a", 1, width=13))
        shared.submit(answers.job("cam-a", 2))
        answers.wait_for(2)
    assert answers.got[("cam-a", 1)] == []
    assert [r.text for r in answers.got[("cam-a", 2)] or []] == ["LEA2"]
    assert shared.failures == 1


def test_the_reader_thread_runs_at_a_lower_priority_than_the_analysis() -> None:
    class _Niceness:
        seen: int | None = None

        def read(self, image_bgr: Any, region: Any = None) -> list[OracleRead]:
            self.seen = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            return []

    reader = _Niceness()
    with _running(reader, niceness=5) as (shared, answers):
        shared.submit(answers.job("cam-a", 1))
        answers.wait_for(1)
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert reader.seen == min(19, mine + 5)


def test_start_twice_is_refused() -> None:
    shared = SharedPlateReader(_GatedReader())
    shared.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            shared.start()
    finally:
        shared.stop()


def _vehicle(step: int) -> Detections:
    y = 80 + 20 * step
    return Detections.create(
        np.array([[260, y, 380, y + 80]], np.float32),
        np.array([0.9], np.float32),
        np.array([-1], np.int32),
        np.array([7], np.int64),
    )


def test_a_track_read_through_the_shared_reader_is_published_once_its_answers_are_back(
    tmp_path: Path,
) -> None:
    reader = _GatedReader()
    shared = SharedPlateReader(reader, capacity=4)
    stage = PlateStage("cam-a", None, fuse_by_vote, tmp_path, jobs=shared)
    shared.start()
    reads = []
    try:
        # The reader is held: frames go on being observed without waiting for it.
        for step in range(4):
            reads += stage.observe(T0 + timedelta(seconds=step / 5), IMAGE, _vehicle(step), ["car"])
        assert reads == []
        assert reader.seen == []
        reader.gate.set()
        # The vehicle is gone; its track ends only after its answer came back.
        at = T0 + timedelta(seconds=1)
        for _ in range(100):
            at += timedelta(seconds=0.2)
            reads += stage.observe(at, IMAGE, Detections.empty(), [])
            if reads:
                break
            threading.Event().wait(0.05)
    finally:
        shared.stop()
    assert [r.text for r in reads] == ["LEA260"]
    # One job outstanding per track at a time: while the reader held the first frame, the
    # later ones were not sent; once it answered, the best of them was (the vehicle had
    # left the picture by then), and nothing more.
    assert reader.seen == [(260, 80, 120, 80), (260, 140, 120, 80)]
    assert stage.jobs_dropped == 0


def test_a_plate_stage_needs_a_reader_or_a_job_sink(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reader or a sink"):
        PlateStage("cam-a", None, fuse_by_vote, tmp_path)
