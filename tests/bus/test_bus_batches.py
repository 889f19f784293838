"""Batch delivery (``subscribe_batch``), on the real NATS bus and its in-memory twin alike:
what has arrived comes in one call, in order; an unreadable payload is rejected alone; the
messages a handler names come back and the others do not; a handler that raises gets the
whole batch again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence

import pytest
from tests.bus.bus_helpers import Harness, camera

from safecity.bus.errors import BusError
from safecity.contracts import CameraChanged, SiteChanged

CAMERA_SUBJECT = "safecity.registry.camera.changed"


class BatchCollector:
    """Records each batch; ``refuse`` names camera ids to hand back (``times`` each),
    ``raise_first`` batches raise."""

    def __init__(
        self, *, refuse: Collection[int] = (), times: int = 1, raise_first: int = 0
    ) -> None:
        self.batches: list[list[CameraChanged]] = []
        self._refuse = set(refuse)
        self._times = times
        self._refused: dict[int, int] = {}
        self._raise_first = raise_first
        self._calls = 0
        self._changed = asyncio.Event()

    async def __call__(self, messages: Sequence[CameraChanged]) -> Collection[str]:
        self._calls += 1
        self.batches.append(list(messages))
        self._changed.set()
        if self._calls <= self._raise_first:
            raise RuntimeError(f"simulated failure of batch {self._calls}")
        again = set()
        for message in messages:
            if message.camera_id in self._refuse:
                seen = self._refused.get(message.camera_id, 0)
                if seen < self._times:
                    self._refused[message.camera_id] = seen + 1
                    again.add(message.message_id)
        return again

    @property
    def ids(self) -> list[int]:
        return [m.camera_id for batch in self.batches for m in batch]

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[int]:
        async with asyncio.timeout(timeout):
            while len(self.ids) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.ids


async def _stays(collector: BatchCollector, count: int, seconds: float = 0.6) -> None:
    await asyncio.sleep(seconds)
    assert len(collector.ids) == count


async def test_what_has_arrived_comes_in_batches_in_order(harness: Harness) -> None:
    bus = await harness.connect()
    for n in range(1, 11):
        await bus.publish(camera(n))
    collector = BatchCollector()
    subscription = await bus.subscribe_batch(
        CameraChanged, durable="batched", handler=collector, max_batch=4
    )
    assert await collector.wait_for(10) == list(range(1, 11))
    sizes = [len(b) for b in collector.batches]
    assert max(sizes) == 4, f"ten waiting messages, at most four at a time: {sizes}"
    assert len(sizes) < 10, "messages already waiting are handed over together"
    assert subscription.stats.handled == 10
    await _stays(collector, 10)


async def test_an_unreadable_payload_in_a_batch_is_rejected_alone(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="safecity.bus")
    bus = await harness.connect()
    await bus.publish(camera(1))
    await harness.publish_raw(CAMERA_SUBJECT, b"{not json", dict(camera().encode().headers))
    await bus.publish(camera(2))
    collector = BatchCollector()
    subscription = await bus.subscribe_batch(
        CameraChanged, durable="poisoned", handler=collector, ack_wait_seconds=0.3
    )
    assert await collector.wait_for(2) == [1, 2]
    # Past ack_wait: neither the rejected payload nor the good ones come back.
    await _stays(collector, 2, seconds=0.8)
    assert (subscription.stats.handled, subscription.stats.rejected) == (2, 1)
    assert any("poisoned rejected" in r.getMessage() for r in caplog.records)


async def test_only_the_messages_a_handler_names_come_back(harness: Harness) -> None:
    bus = await harness.connect()
    for n in (1, 2, 3):
        await bus.publish(camera(n))
    collector = BatchCollector(refuse={2}, times=2)
    subscription = await bus.subscribe_batch(CameraChanged, durable="named", handler=collector)
    # 2 is handed back twice (after 0.1 s, then 0.2 s) and handled the third time.
    ids = await collector.wait_for(5)
    assert sorted(ids[:3]) == [1, 2, 3]
    assert ids[3:] == [2, 2]
    await _stays(collector, 5)
    assert (subscription.stats.handled, subscription.stats.failed) == (3, 2)


async def test_a_batch_handler_that_raises_gets_every_message_again(harness: Harness) -> None:
    bus = await harness.connect()
    for n in (1, 2):
        await bus.publish(camera(n))
    collector = BatchCollector(raise_first=1)
    subscription = await bus.subscribe_batch(CameraChanged, durable="raiser", handler=collector)
    assert await collector.wait_for(4) == [1, 2, 1, 2]
    await _stays(collector, 4)
    assert (subscription.stats.handled, subscription.stats.failed) == (2, 2)


async def ignore_sites(messages: Sequence[SiteChanged]) -> Collection[str]:
    return ()


async def test_a_batch_subscription_is_checked_as_a_single_one_is(harness: Harness) -> None:
    bus = await harness.connect()
    with pytest.raises(ValueError, match="durable name"):
        await bus.subscribe_batch(CameraChanged, durable="has space", handler=BatchCollector())
    with pytest.raises(ValueError, match="ack_wait_seconds"):
        await bus.subscribe_batch(
            CameraChanged, durable="no-wait", handler=BatchCollector(), ack_wait_seconds=0
        )
    # One durable name, one subject, whichever way each subscription consumes.
    await bus.subscribe_batch(CameraChanged, durable="shared", handler=BatchCollector())
    with pytest.raises(BusError, match=r"already reads safecity\.registry\.camera\.changed"):
        await bus.subscribe_batch(SiteChanged, durable="shared", handler=ignore_sites)
    await bus.close()
    with pytest.raises(BusError, match="closed"):
        await bus.subscribe_batch(CameraChanged, durable="late", handler=BatchCollector())


async def test_a_batch_of_less_than_one_is_refused(harness: Harness) -> None:
    bus = await harness.connect()
    with pytest.raises(ValueError, match="max_batch"):
        await bus.subscribe_batch(
            CameraChanged, durable="empty", handler=BatchCollector(), max_batch=0
        )
