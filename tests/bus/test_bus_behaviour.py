"""What every bus promises, checked on the real NATS bus and on its in-memory twin alike."""

from __future__ import annotations

import asyncio
import logging

import pytest
from tests.bus.bus_helpers import Collector, Harness, camera, site

from safecity.bus import BusError, Subscription
from safecity.contracts import SCHEMA_HEADER, VERSION_HEADER, CameraChanged, SiteChanged

CAMERA_SUBJECT = "safecity.registry.camera.changed"


async def _stays(collector: Collector[CameraChanged], count: int, seconds: float = 0.4) -> None:
    """Nothing more arrives for a while (a redelivery would have by then)."""
    await asyncio.sleep(seconds)
    assert len(collector.received) == count


async def test_a_published_message_reaches_a_subscriber_unchanged(harness: Harness) -> None:
    bus = await harness.connect()
    collector: Collector[CameraChanged] = Collector()
    subscription = await bus.subscribe(CameraChanged, durable="round-trip", handler=collector)
    sent = camera(privacy_mask_count=3, site_code=None)
    await bus.publish(sent)
    assert await collector.wait_for(1) == [sent]
    assert subscription.stats.handled == 1
    assert subscription.durable == "round-trip"


async def test_a_subscription_receives_only_its_message_type(harness: Harness) -> None:
    bus = await harness.connect()
    cameras: Collector[CameraChanged] = Collector()
    sites: Collector[SiteChanged] = Collector()
    await bus.subscribe(CameraChanged, durable="cameras", handler=cameras)
    await bus.subscribe(SiteChanged, durable="sites", handler=sites)
    await bus.publish(site(1))
    await bus.publish(camera(2))
    await bus.publish(site(3))
    assert [m.camera_id for m in await cameras.wait_for(1)] == [2]
    assert [m.site_id for m in await sites.wait_for(2)] == [1, 3]
    await _stays(cameras, 1, seconds=0.1)


async def test_a_new_durable_starts_from_the_first_stored_message(harness: Harness) -> None:
    bus = await harness.connect()
    sent = [camera(i) for i in range(1, 6)]
    for message in sent:
        await bus.publish(message)
    collector: Collector[CameraChanged] = Collector()
    await bus.subscribe(CameraChanged, durable="late-joiner", handler=collector)
    assert await collector.wait_for(5) == sent


async def test_a_durable_consumer_resumes_where_it_acknowledged(harness: Harness) -> None:
    first_process = await harness.connect()
    before: Collector[CameraChanged] = Collector()
    await first_process.subscribe(CameraChanged, durable="resumer", handler=before)
    await first_process.publish(camera(1))
    await before.wait_for(1)
    await first_process.close()

    publisher = await harness.connect()
    missed = [camera(2), camera(3)]
    for message in missed:
        await publisher.publish(message)

    second_process = await harness.connect()
    after: Collector[CameraChanged] = Collector()
    await second_process.subscribe(CameraChanged, durable="resumer", handler=after)
    assert await after.wait_for(2) == missed
    await _stays(after, 2)


async def test_a_failing_handler_gets_the_message_again(harness: Harness) -> None:
    bus = await harness.connect()
    collector: Collector[CameraChanged] = Collector(fail_first=2)
    subscription = await bus.subscribe(CameraChanged, durable="flaky", handler=collector)
    sent = camera()
    await bus.publish(sent)
    assert await collector.wait_for(1) == [sent]
    assert collector.calls == 3
    assert subscription.stats.failed == 2
    assert subscription.stats.handled == 1
    await _stays(collector, 1)


async def test_a_repeated_publish_is_stored_once(harness: Harness) -> None:
    bus = await harness.connect()
    message = camera()
    await bus.publish(message)
    await bus.publish(message)
    await bus.publish(message.model_copy())
    await bus.publish(camera())
    assert await harness.stored_count() == 2
    collector: Collector[CameraChanged] = Collector()
    await bus.subscribe(CameraChanged, durable="dedupe", handler=collector)
    received = await collector.wait_for(2)
    assert received[0] == message
    await _stays(collector, 2)


async def test_an_undecodable_payload_is_reported_and_skipped(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="safecity.bus")
    bus = await harness.connect()
    valid_headers = dict(camera().encode().headers)
    await harness.publish_raw(CAMERA_SUBJECT, b"{not json", valid_headers)
    await harness.publish_raw(
        CAMERA_SUBJECT, camera().encode().data, {**valid_headers, VERSION_HEADER: "99"}
    )
    await harness.publish_raw(
        CAMERA_SUBJECT, site().encode().data, {SCHEMA_HEADER: "registry.site.changed"}
    )
    good = camera(42)
    await bus.publish(good)
    collector: Collector[CameraChanged] = Collector()
    subscription = await bus.subscribe(
        CameraChanged, durable="strict", handler=collector, ack_wait_seconds=0.3
    )
    assert await collector.wait_for(1) == [good]
    # Past ack_wait: a rejected payload must not come back.
    await _stays(collector, 1, seconds=0.8)
    assert subscription.stats.rejected == 3
    assert subscription.stats.handled == 1
    reports = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(reports) == 3
    assert all(CAMERA_SUBJECT in report and "strict" in report for report in reports)
    assert "unknown schema version 99" in reports[1]


async def test_stop_lets_the_running_handler_finish_and_acknowledge(harness: Harness) -> None:
    bus = await harness.connect()
    slow: Collector[CameraChanged] = Collector(hold_seconds=0.3)
    subscription = await bus.subscribe(CameraChanged, durable="graceful", handler=slow)
    await bus.publish(camera())
    await slow.started.wait()
    await subscription.stop()
    assert len(slow.received) == 1
    assert subscription.stats.handled == 1

    successor: Collector[CameraChanged] = Collector()
    await bus.subscribe(CameraChanged, durable="graceful", handler=successor)
    await _stays(successor, 0)


async def test_a_handler_that_never_returns_is_cancelled_and_its_message_comes_back(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    bus = await harness.connect()
    stuck = asyncio.Event()

    async def hang(message: CameraChanged) -> None:
        stuck.set()
        await asyncio.Event().wait()

    subscription = await bus.subscribe(
        CameraChanged, durable="hung", handler=hang, ack_wait_seconds=0.2
    )
    sent = camera()
    await bus.publish(sent)
    await stuck.wait()
    await subscription.stop()
    assert "still running" in caplog.text
    successor: Collector[CameraChanged] = Collector()
    await bus.subscribe(CameraChanged, durable="hung", handler=successor)
    assert await successor.wait_for(1, timeout=3) == [sent]


async def test_a_handler_can_stop_its_own_subscription(harness: Harness) -> None:
    bus = await harness.connect()
    handled: list[CameraChanged] = []
    subscriptions: list[Subscription] = []

    async def stop_after_first(message: CameraChanged) -> None:
        handled.append(message)
        await subscriptions[0].stop()

    first, second = camera(1), camera(2)
    await bus.publish(first)
    await bus.publish(second)
    subscriptions.append(
        await bus.subscribe(CameraChanged, durable="one-shot", handler=stop_after_first)
    )
    successor: Collector[CameraChanged] = Collector()
    async with asyncio.timeout(5):
        while not handled:
            await asyncio.sleep(0.01)
    await subscriptions[0].stop()
    await bus.subscribe(CameraChanged, durable="one-shot", handler=successor)
    assert await successor.wait_for(1) == [second]
    assert handled == [first]


async def test_a_durable_name_serves_one_message_type(harness: Harness) -> None:
    bus = await harness.connect()
    await bus.subscribe(CameraChanged, durable="shared-name", handler=Collector[CameraChanged]())
    with pytest.raises(BusError, match=r"already reads safecity\.registry\.camera\.changed"):
        await bus.subscribe(SiteChanged, durable="shared-name", handler=Collector[SiteChanged]())


@pytest.mark.parametrize("durable", ["", "has space", "dots.not.allowed", "x" * 65])
async def test_an_invalid_durable_name_is_refused(harness: Harness, durable: str) -> None:
    bus = await harness.connect()
    with pytest.raises(ValueError, match="durable name"):
        await bus.subscribe(CameraChanged, durable=durable, handler=Collector[CameraChanged]())


async def test_a_closed_bus_refuses_work(harness: Harness) -> None:
    bus = await harness.connect()
    await bus.close()
    with pytest.raises(BusError, match="closed"):
        await bus.publish(camera())
    with pytest.raises(BusError, match="closed"):
        await bus.subscribe(CameraChanged, durable="late", handler=Collector[CameraChanged]())
    await bus.close()
