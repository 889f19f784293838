"""Control-plane consumers of data-plane facts: each durable consumer hands a message to
a service inside a transaction; a handler that raises gets the message again."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from safecity.bus.interface import Bus, Subscription
from safecity.command.alerts_service import Ingested
from safecity.contracts.alerts import AlertRaised
from safecity.contracts.ingest import CameraHealth, SegmentClosed
from safecity.web.hub import ConsoleHub
from safecity.web.platform import Platform


@dataclass
class Consumers:
    subscriptions: list[Subscription]

    async def stop(self) -> None:
        for subscription in self.subscriptions:
            await subscription.stop()


async def start_consumers(platform: Platform, bus: Bus, hub: ConsoleHub | None = None) -> Consumers:
    def index(message: SegmentClosed) -> None:
        with platform.transaction() as session:
            platform.recordings.index_segment(session, message)

    def health(message: CameraHealth) -> None:
        with platform.transaction() as session:
            platform.recordings.record_health(session, message)

    def raise_alert(message: AlertRaised) -> Ingested | None:
        with platform.transaction() as session:
            return platform.alerts.ingest(session, message)

    async def on_alert(message: AlertRaised) -> None:
        # Shown to the consoles only once stored: a console never shows a lost alert.
        ingested = await run_in_threadpool(raise_alert, message)
        if ingested is not None and hub is not None:
            alert = ingested.alert
            payload = alert.model_dump(mode="json")
            hub.broadcast(alert.district_id, "alert", payload, camera_id=alert.camera_id)

    async def on_segment(message: SegmentClosed) -> None:
        await run_in_threadpool(index, message)

    async def on_health(message: CameraHealth) -> None:
        await run_in_threadpool(health, message)

    return Consumers(
        [
            await bus.subscribe(SegmentClosed, durable="control-segments", handler=on_segment),
            await bus.subscribe(CameraHealth, durable="control-health", handler=on_health),
            await bus.subscribe(AlertRaised, durable="control-alerts", handler=on_alert),
        ]
    )
