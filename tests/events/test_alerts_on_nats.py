"""A hotlist hit reaches the bus within the second: a worker publishes a plate read on a
real NATS server, the control plane's consumer stores and matches it, and the alert
arrives through the outbox relay."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from safecity.bus.nats import NatsBus
from safecity.bus.server import NatsServer
from safecity.contracts.alerts import AlertRaised
from safecity.core.clock import utcnow
from safecity.events.models import PlateReadRecord, RuleEventRecord
from safecity.web import relay
from safecity.web.consumers import start_consumers
from safecity.web.platform import Platform
from tests.events.helpers import list_plate, plate_read, rule_event
from tests.factories import World

pytestmark = pytest.mark.nats
WITHIN_SECONDS = 1.0


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    with NatsServer(tmp_path / "nats") as server:
        yield server


async def test_a_hotlist_hit_reaches_the_bus_within_a_second(
    platform: Platform, world: World, nats: NatsServer
) -> None:
    entry = list_plate(platform, "LEB3656", "stolen", priority=1)
    relay_task = await relay.start(platform, nats.url)
    consumers = await start_consumers(platform, relay_task.bus, wake=relay_task.wake)
    worker = await NatsBus.connect(nats.url)
    arrived: asyncio.Queue[tuple[float, datetime, AlertRaised]] = asyncio.Queue()

    async def on_alert(alert: AlertRaised) -> None:
        await arrived.put((time.monotonic(), utcnow(), alert))

    watcher = await worker.subscribe(AlertRaised, durable="test-alerts", handler=on_alert)
    try:
        # A read that matches nothing raises nothing; then the listed car, misread.
        await worker.publish(plate_read("PSH-TC1", "PKA123"))
        hit = plate_read("PSH-TC2", "LE83656")
        started = time.monotonic()
        await worker.publish(hit)
        arrived_at, arrived_utc, alert = await asyncio.wait_for(arrived.get(), 10)
        from_publish = arrived_at - started
        # Redelivery of the same read must not raise a second alert.
        await worker.publish(hit)
        await worker.publish(rule_event("PSH-TC1", "line_crossing"))
        await worker.publish(rule_event("PSH-TC1", "zone_intrusion"))
        _, _, intrusion = await asyncio.wait_for(arrived.get(), 10)
        await asyncio.sleep(1.0)
        assert arrived.empty(), "a redelivered read or a line crossing raised an alert"
    finally:
        await watcher.stop()
        await worker.close()
        await consumers.stop()
        await relay_task.stop()

    assert (alert.kind, alert.priority, alert.plate_text) == ("hotlist.stolen", 1, "LE83656")
    assert alert.reference["hotlist_entry"] == str(entry)
    assert intrusion.kind == "analytics.zone_intrusion"
    with platform.sessions() as session:
        read = session.scalars(
            select(PlateReadRecord).where(PlateReadRecord.message_id == hit.message_id)
        ).one()
        events = session.scalars(select(RuleEventRecord.kind)).all()
    from_consumed = (arrived_utc - read.received_at).total_seconds()
    print(
        f"hotlist alert: {from_publish * 1000:.0f} ms after the read was published, "
        f"{from_consumed * 1000:.0f} ms after it was stored"
    )
    assert from_publish < WITHIN_SECONDS, f"{from_publish:.3f} s from read to alert"
    assert from_consumed < WITHIN_SECONDS, f"{from_consumed:.3f} s from stored to alert"
    assert sorted(events) == ["line_crossing", "zone_intrusion"]
