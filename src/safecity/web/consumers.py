"""Control-plane consumers of data-plane facts: each durable consumer hands a message to
a service inside a transaction; a handler that raises gets the message again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from safecity.bus.interface import Bus, Subscription
from safecity.contracts.analytics import PlateRead, RuleEvent
from safecity.contracts.ingest import CameraHealth, SegmentClosed
from safecity.web.platform import Platform


@dataclass
class Consumers:
    subscriptions: list[Subscription]

    async def stop(self) -> None:
        for subscription in self.subscriptions:
            await subscription.stop()


def _nothing() -> None:
    return None


async def start_consumers(
    platform: Platform, bus: Bus, *, wake: Callable[[], None] = _nothing
) -> Consumers:
    """``wake``: tells the outbox relay that a handler committed a message to send now."""

    def index(message: SegmentClosed) -> None:
        with platform.transaction() as session:
            platform.recordings.index_segment(session, message)

    def health(message: CameraHealth) -> None:
        with platform.transaction() as session:
            platform.recordings.record_health(session, message)

    def plate(message: PlateRead) -> None:
        with platform.transaction() as session:
            platform.events.store_plate_read(session, message)

    def rule_event(message: RuleEvent) -> None:
        with platform.transaction() as session:
            platform.events.store_rule_event(session, message)

    async def on_plate(message: PlateRead) -> None:
        await run_in_threadpool(plate, message)
        wake()  # a hotlist hit must reach the operators within the second

    async def on_rule_event(message: RuleEvent) -> None:
        await run_in_threadpool(rule_event, message)
        wake()

    async def on_segment(message: SegmentClosed) -> None:
        await run_in_threadpool(index, message)

    async def on_health(message: CameraHealth) -> None:
        await run_in_threadpool(health, message)

    return Consumers(
        [
            await bus.subscribe(SegmentClosed, durable="control-segments", handler=on_segment),
            await bus.subscribe(CameraHealth, durable="control-health", handler=on_health),
            await bus.subscribe(PlateRead, durable="control-plates", handler=on_plate),
            await bus.subscribe(RuleEvent, durable="control-rule-events", handler=on_rule_event),
        ]
    )
