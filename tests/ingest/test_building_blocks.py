"""The small parts of ingest: the drop-oldest queue, backoff, frame sampling, rate metering."""

from __future__ import annotations

import random
import threading
import time

import pytest

from safecity.ingest.backoff import Backoff
from safecity.ingest.frames import DropOldestQueue
from safecity.ingest.meter import RateMeter
from safecity.ingest.sampler import FrameSampler


def test_full_queue_drops_the_oldest_and_counts_it() -> None:
    queue: DropOldestQueue[int] = DropOldestQueue(3)
    evicted = [queue.put(item) for item in range(7)]
    assert evicted == [None, None, None, 0, 1, 2, 3]
    assert queue.dropped == 4
    assert queue.accepted == 7
    assert [queue.get(0) for _ in range(3)] == [4, 5, 6]
    assert queue.get(0) is None


def test_get_waits_for_an_item_and_close_wakes_waiters() -> None:
    queue: DropOldestQueue[str] = DropOldestQueue(1)
    threading.Timer(0.05, queue.put, args=("late",)).start()
    assert queue.get(timeout=2) == "late"
    threading.Timer(0.05, queue.close).start()
    started = time.monotonic()
    assert queue.get(timeout=5) is None
    assert time.monotonic() - started < 2


def test_queue_refuses_zero_capacity() -> None:
    with pytest.raises(ValueError, match="capacity"):
        DropOldestQueue[int](0)


def test_backoff_doubles_up_to_the_cap_and_jitter_only_shortens() -> None:
    backoff = Backoff(0.5, 3.0, jitter=0.3, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [0.5, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling * 0.7 <= delay <= ceiling
    backoff.reset()
    assert backoff.next_delay() <= 0.5


def test_backoff_without_jitter_is_exact() -> None:
    backoff = Backoff(0.25, 1.0, jitter=0.0)
    assert [backoff.next_delay() for _ in range(4)] == [0.25, 0.5, 1.0, 1.0]


@pytest.mark.parametrize(
    ("source_fps", "target_fps", "expected"),
    [
        (10, None, 100),  # no target: every frame
        (10, 5, 50),
        (10, 2.5, 25),
        (25, 10, 100),  # the schedule keeps the average, no drift to 8.3 fps
        (10, 15, 100),  # a target above the source keeps every frame
        (10, 1, 10),
    ],
)
def test_sampler_thins_by_timestamp(
    source_fps: float, target_fps: float | None, expected: int
) -> None:
    sampler = FrameSampler(target_fps)
    count = round(10 * source_fps)
    # A few milliseconds of jitter, as on a live stream.
    jitter = random.Random(3)
    times = [i / source_fps + jitter.uniform(-0.003, 0.003) for i in range(count)]
    assert sum(sampler.keep(t) for t in times) == expected


@pytest.mark.parametrize(("source_fps", "target_fps"), [(10, 5), (25, 10), (15, 0.25), (10, 15)])
def test_sampler_wants_exactly_what_it_would_keep(source_fps: float, target_fps: float) -> None:
    sampler = FrameSampler(target_fps)
    jitter = random.Random(5)
    for i in range(round(20 * source_fps)):
        seconds = i / source_fps + jitter.uniform(-0.003, 0.003)
        asked = sampler.wants(seconds)
        assert sampler.wants(seconds) == asked, "asking changes nothing"
        assert sampler.keep(seconds) == asked


def test_sampler_restarts_after_a_timestamp_jump() -> None:
    sampler = FrameSampler(1)
    assert sampler.keep(100.0)
    assert not sampler.keep(100.5)
    assert sampler.keep(3.0)  # the stream restarted: back in time
    assert not sampler.keep(3.4)
    assert sampler.keep(4.0)


def test_meter_measures_rates_and_forgets_old_events() -> None:
    meter = RateMeter(window_seconds=2.0)
    for i in range(41):  # 10 packets of 1,000 bytes per second for 4 s
        meter.add(i / 10, 1000)
    fps, bps = meter.rates(4.0)
    assert fps == pytest.approx(10, rel=0.06)
    assert bps == pytest.approx(80_000, rel=0.06)
    assert meter.rates(10.0) == (0.0, 0.0)


def test_meter_on_a_fresh_stream_does_not_read_slow() -> None:
    meter = RateMeter(window_seconds=5.0)
    for i in range(11):
        meter.add(i / 10, 500)
    fps, _ = meter.rates(1.0)
    assert fps == pytest.approx(10, rel=0.01)
