"""Control-plane consumers of data-plane facts: each durable consumer hands a message to
a service inside a transaction; a handler that raises gets the message again."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool

from safecity.bus.interface import Bus, Subscription
from safecity.command.alerts_intake import IngestedBatch
from safecity.contracts.alerts import AlertRaised
from safecity.contracts.analytics import PlateRead, RuleEvent
from safecity.contracts.analytics_config import AnalyticsConfigChanged, AnalyticsWorkerStats
from safecity.contracts.ingest import CameraHealth, SegmentClosed
from safecity.web.bus_metrics import AnalyticsWorkerGauges
from safecity.web.hub import ConsoleHub
from safecity.web.platform import Platform

# Alerts stored in one transaction at most. At 100 alerts/s a batch holds what came in
# during the previous one's store (a few; more on a busy machine). Every alert of a batch
# waits for the last one's store: 64 a batch held the first ones back 160-180 ms (p50)
# on a machine at load 11-30, and storing costs no less per alert at 64 than at 8
# (bench/alert_store.py), so the cap stays small.
ALERT_BATCH = 16


@dataclass
class Consumers:
    subscriptions: list[Subscription]
    own_buses: list[Bus] = field(default_factory=list)

    async def stop(self) -> None:
        for subscription in self.subscriptions:
            await subscription.stop()
        for bus in self.own_buses:
            await bus.close()


def _nothing() -> None:
    return None


# After a crash of the control plane, the alerts it had fetched but not acknowledged come
# back this long after its last sign of life (JetStream's ack wait). At 30 s a stolen car
# seen during a restart reached the operators half a minute late. A batch that takes longer
# to store is not handed out twice: the consumer tells the broker it is still working every
# third of this (``_keep_alive``), and a redelivered alert is folded in once anyway.
ALERTS_ACK_WAIT_SECONDS = 5.0


async def start_consumers(
    platform: Platform,
    bus: Bus,
    hub: ConsoleHub | None = None,
    *,
    alerts_url: str | None = None,
    wake: Callable[[], None] = _nothing,
    worker_gauges: AnalyticsWorkerGauges | None = None,
    alerts_ack_wait_seconds: float = ALERTS_ACK_WAIT_SECONDS,
) -> Consumers:
    """``wake``: tells the outbox relay that a handler committed a message to send now.
    ``alerts_url``: the alert consumer gets a NATS connection of its own with a short
    fetch wait. A waiting pull returns only when its batch is full or the wait has passed,
    so with the shared connection's one-second wait a lone alert could sit a second
    before a console saw it; 20 ms keeps bursts batched and single alerts prompt.
    ``worker_gauges``: when given, analytics workers' periodic reports are kept there for
    ``/metrics`` (nothing is stored in the database).
    ``alerts_ack_wait_seconds``: how long the broker waits for the alert consumer's ack
    before handing its messages to the next consumer (after a crash, say; see
    ``ALERTS_ACK_WAIT_SECONDS``)."""
    own: list[Bus] = []
    alerts_bus = bus
    if alerts_url is not None:
        from safecity.bus.nats import NatsBus

        alerts_bus = await NatsBus.connect(
            alerts_url, name="safecity-alerts", fetch_batch=64, fetch_wait_seconds=0.02
        )
        own.append(alerts_bus)

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

    def raise_alerts(messages: Sequence[AlertRaised]) -> IngestedBatch:
        # One transaction for what arrived together, with what every message looks up read
        # once: about a fifth less CPU per alert from 8 a batch (bench/alert_store.py), and
        # a backlog drains in fewer, larger steps.
        with platform.transaction() as session:
            return platform.alerts.ingest_batch(session, messages)

    async def on_alerts(messages: Sequence[AlertRaised]) -> Collection[str]:
        # Shown to the consoles only once stored: a console never shows a lost alert.
        # Returning hands the batch back to the bus, which acknowledges all but the failed.
        stored = await run_in_threadpool(raise_alerts, messages)
        if hub is not None:
            for ingested in stored.alerts:
                alert = ingested.alert
                payload = alert.model_dump(mode="json")
                hub.broadcast(alert.district_id, "alert", payload, camera_id=alert.camera_id)
        return stored.failed

    async def on_segment(message: SegmentClosed) -> None:
        await run_in_threadpool(index, message)

    async def on_health(message: CameraHealth) -> None:
        await run_in_threadpool(health, message)
        wake()  # a camera gone dark may have raised an alert

    async def on_worker_stats(message: AnalyticsWorkerStats) -> None:
        if worker_gauges is not None:
            worker_gauges.observe(message)

    async def on_worker_config(message: AnalyticsConfigChanged) -> None:
        if worker_gauges is not None:
            worker_gauges.configured(message)  # a camera switched off leaves the metrics

    subscriptions = [
        await bus.subscribe(SegmentClosed, durable="control-segments", handler=on_segment),
        await bus.subscribe(CameraHealth, durable="control-health", handler=on_health),
        await bus.subscribe(PlateRead, durable="control-plates", handler=on_plate),
        await bus.subscribe(RuleEvent, durable="control-rule-events", handler=on_rule_event),
        await alerts_bus.subscribe_batch(
            AlertRaised,
            durable="control-alerts",
            handler=on_alerts,
            max_batch=ALERT_BATCH,
            ack_wait_seconds=alerts_ack_wait_seconds,
        ),
    ]
    if worker_gauges is not None:
        subscriptions.append(
            await bus.subscribe(
                AnalyticsWorkerStats, durable="control-worker-stats", handler=on_worker_stats
            )
        )
        subscriptions.append(
            await bus.subscribe(
                AnalyticsConfigChanged, durable="control-worker-configs", handler=on_worker_config
            )
        )
    return Consumers(subscriptions, own)
