"""Relays committed outbox rows to the bus, oldest first, marking each once the broker
has acknowledged it. Runs beside the web server; a crash resumes where it stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from starlette.concurrency import run_in_threadpool

from safecity.contracts.alerts import AlertRaised
from safecity.contracts.analytics_config import AnalyticsConfigChanged
from safecity.contracts.base import Message
from safecity.contracts.ingest import RecordingModeChanged
from safecity.contracts.registry import CameraChanged, SiteChanged
from safecity.core.clock import utcnow
from safecity.db.engine import read_only
from safecity.db.outbox import OutboxMessage
from safecity.web.platform import Platform

if TYPE_CHECKING:
    from safecity.bus.interface import Bus

log = logging.getLogger(__name__)
# Every message a control-plane service writes to the outbox; an unknown subject is
# kept back and logged rather than published in a shape nobody reads.
KNOWN: dict[str, type[Message]] = {
    m.subject: m
    for m in (CameraChanged, SiteChanged, AlertRaised, AnalyticsConfigChanged, RecordingModeChanged)
}
BATCH = 200
IDLE_SECONDS = 0.5
KEEP_PUBLISHED = timedelta(days=1)


def _anything_pending(platform: Platform) -> bool:
    # Polled twice a second: a plain read, so an idle relay never takes (or waits for)
    # the database's write lock that alert stores and requests need.
    with read_only(platform.engine) as session:
        first = session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.published_at.is_(None)).limit(1)
        )
        return first is not None


def _pending(platform: Platform) -> list[tuple[int, Message]]:
    if not _anything_pending(platform):
        return []
    with platform.transaction() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.published_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(BATCH)
        ).all()
        out: list[tuple[int, Message]] = []
        now = utcnow()
        for row in rows:
            model = KNOWN.get(row.subject)
            try:
                if model is None:
                    raise ValueError(f"unknown subject {row.subject}")
                out.append((row.id, model.model_validate(row.payload)))
            except ValueError:
                # Retrying can never make it valid, and leaving it would stall the rows
                # behind it: log it loudly and set it aside (the row itself is kept).
                log.exception("outbox row %s cannot be published; set aside", row.id)
                row.published_at = now
        return out


def _mark(platform: Platform, ids: list[int]) -> None:
    with platform.transaction() as session:
        now = utcnow()
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))):
            row.published_at = now
        # JetStream keeps the messages; the outbox only needs what is not yet published.
        session.execute(
            delete(OutboxMessage).where(OutboxMessage.published_at < now - KEEP_PUBLISHED)
        )


async def relay_once(platform: Platform, bus: Bus) -> int:
    batch = await run_in_threadpool(_pending, platform)
    done: list[int] = []
    try:
        for row_id, message in batch:
            await bus.publish(message)
            done.append(row_id)
    finally:
        if done:
            await run_in_threadpool(_mark, platform, done)
    return len(done)


@dataclass
class RelayTask:
    task: asyncio.Task[None]
    bus: Bus
    wakeup: asyncio.Event

    def wake(self) -> None:
        """Relay now rather than at the next poll (an alert was just committed)."""
        self.wakeup.set()

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.bus.close()


async def _run(platform: Platform, bus: Bus, wakeup: asyncio.Event) -> None:
    while True:
        wakeup.clear()
        try:
            sent = await relay_once(platform, bus)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbox relay failed; retrying")
            sent = 0
        if sent < BATCH:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), IDLE_SECONDS)


async def start(platform: Platform, bus_url: str) -> RelayTask:
    from safecity.bus.nats import NatsBus

    bus = await NatsBus.connect(bus_url)
    wakeup = asyncio.Event()
    task = asyncio.create_task(_run(platform, bus, wakeup), name="outbox-relay")
    return RelayTask(task, bus, wakeup)
