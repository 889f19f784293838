"""Alerts stored in batches, on SQLite and PostgreSQL: correlation and deduplication stay
exact inside a batch and across batches; a message that cannot be stored is undone alone;
on a real NATS server, the control plane's consumer acknowledges only what it committed,
and a crash between the commit and the acknowledgement counts nothing twice."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from safecity.bus.nats import NatsBus
from safecity.bus.server import NatsServer
from safecity.command.alerts_intake import IngestedBatch
from safecity.command.alerts_models import Alert, AlertOccurrence
from safecity.contracts.alerts import AlertRaised
from safecity.core.clock import utcnow
from safecity.web.consumers import ALERTS_ACK_WAIT_SECONDS, Consumers, start_consumers
from safecity.web.platform import Platform
from tests.api.routes_command import alert_message
from tests.command.alerts_support import malformed_alert, publish_raw
from tests.conftest import TEST_SECRET
from tests.factories import World

CRASH_CONSUMER = Path(__file__).with_name("alert_crash_consumer.py")
POISON = "poison"  # the title a database trigger refuses (see refuse_poison)
WAIT = 20.0


def store(platform: Platform, messages: list[AlertRaised]) -> IngestedBatch:
    with platform.transaction() as session:
        return platform.alerts.ingest_batch(session, messages)


def alerts_with_key(platform: Platform, key: str) -> list[tuple[int, int, str]]:
    """(id, count, title) of each alert with ``key``, oldest first."""
    with platform.sessions() as session:
        rows = session.execute(
            select(Alert.id, Alert.count, Alert.title)
            .where(Alert.correlation_key == key)
            .order_by(Alert.id)
        ).all()
    return [(alert_id, count, title) for alert_id, count, title in rows]


def occurrences(platform: Platform, key: str) -> int:
    with platform.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AlertOccurrence)
                .join(Alert)
                .where(Alert.correlation_key == key)
            )
            or 0
        )


def refuse_poison(platform: Platform) -> None:
    """A real database error for one message: a trigger that refuses an alert titled
    ``poison``, on insert and on update (a poisoned sighting of an open alert)."""
    with platform.engine.begin() as connection:
        if platform.engine.dialect.name == "postgresql":
            connection.execute(
                text(
                    "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.title = 'poison' THEN RAISE EXCEPTION 'poisoned alert'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON alerts "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
                )
            )
            return
        for event in ("INSERT", "UPDATE"):
            connection.execute(
                text(
                    f"CREATE TRIGGER refuse_poison_{event.lower()} BEFORE {event} ON alerts "
                    "WHEN NEW.title = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned alert'); END"
                )
            )


# -- the service ---------------------------------------------------------------------------


def test_correlation_is_exact_inside_a_batch_and_across_batches(
    platform: Platform, world: World
) -> None:
    t0 = utcnow() - timedelta(hours=1)
    window = platform.alerts.correlation.window
    plate = [
        alert_message("PSH-TC1", correlation_key="plate:LEB3656", at=t0, title="first"),
        alert_message("PSH-TC2", correlation_key="plate:LEB3656", at=t0 + timedelta(seconds=5)),
        alert_message("PSH-TC1", correlation_key="zone:PSH-TC1", at=t0),
        # Late and out of order: joins the alert that started after it.
        alert_message(
            "PSH-TC1", correlation_key="plate:LEB3656", at=t0 - timedelta(seconds=3), priority=1
        ),
        # The same plate in another district is another alert.
        alert_message("BNU-TC1", correlation_key="plate:LEB3656", at=t0),
    ]
    batch = store(platform, plate)
    assert batch.failed == set()
    shown = {(a.alert.district, a.alert.correlation_key): a for a in batch.alerts}
    assert len(batch.alerts) == 3, "each alert is shown once, in its final state"
    peshawar = shown[("peshawar", "plate:LEB3656")]
    assert (peshawar.created, peshawar.alert.count, peshawar.alert.priority) == (True, 3, 1)
    assert shown[("peshawar", "zone:PSH-TC1")].alert.count == 1
    assert shown[("bannu", "plate:LEB3656")].alert.count == 1

    # The next batch: one more sighting in the window, one past it, and a repeat of the
    # same message inside the batch (a publisher's retry) that counts once.
    again = alert_message("PSH-TC1", correlation_key="plate:LEB3656", at=t0 + timedelta(minutes=1))
    later = alert_message("PSH-TC1", correlation_key="plate:LEB3656", at=t0 + 3 * window)
    second = store(platform, [again, again, later])
    assert [(a.created, a.alert.count) for a in second.alerts] == [(False, 4), (True, 1)]
    assert second.alerts[0].alert.id == peshawar.alert.id

    # Cameras are looked up once for a batch: an unknown one still falls back to its
    # district, and a message with no known place is refused, not failed.
    ghost = alert_message("PSH-GHOST1", district="peshawar", correlation_key="ghost")
    nowhere = alert_message("NOWHERE-9", correlation_key="nowhere")
    third = store(platform, [ghost, nowhere])
    assert third.failed == set()
    assert [(a.alert.camera_id, a.alert.camera_code) for a in third.alerts] == [
        (None, "PSH-GHOST1")
    ]
    assert alerts_with_key(platform, "nowhere") == []

    # A whole batch delivered again (acknowledgement lost): nothing changes.
    assert store(platform, plate).alerts == []
    rows = [(count, title) for _, count, title in alerts_with_key(platform, "plate:LEB3656")]
    assert [count for count, _ in rows] == [4, 1, 1]
    assert occurrences(platform, "plate:LEB3656") == 6


def test_a_message_that_cannot_be_stored_is_undone_alone(platform: Platform, world: World) -> None:
    refuse_poison(platform)
    key = "plate:AAA111"
    good = alert_message("PSH-TC1", correlation_key=key, title="good")
    poisoned_new = alert_message("PSH-TC1", title=POISON)
    # A poisoned sighting of the alert opened a moment ago in the same batch: its fold is
    # undone, the count and title stay as the good ones left them.
    poisoned_fold = alert_message("PSH-TC1", correlation_key=key, title=POISON)
    also_good = alert_message("PSH-TC2", correlation_key=key, title="also good")
    batch = store(platform, [good, poisoned_new, poisoned_fold, also_good])
    assert batch.failed == {poisoned_new.message_id, poisoned_fold.message_id}
    assert [(a.alert.count, a.alert.title) for a in batch.alerts] == [(2, "also good")]
    assert [(c, t) for _, c, t in alerts_with_key(platform, key)] == [(2, "also good")]
    assert occurrences(platform, key) == 2
    with platform.sessions() as session:
        refused = select(func.count()).select_from(Alert).where(Alert.title == POISON)
        assert session.scalar(refused) == 0
        for poisoned in (poisoned_new, poisoned_fold):
            assert session.get(AlertOccurrence, poisoned.message_id) is None


# -- the consumer on a real NATS server -----------------------------------------------------


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    with NatsServer(tmp_path / "nats") as server:
        yield server


@pytest.fixture
async def publisher(nats: NatsServer) -> AsyncIterator[NatsBus]:
    bus = await NatsBus.connect(nats.url)
    try:
        yield bus
    finally:
        await bus.close()


async def _consume(
    platform: Platform, nats: NatsServer, ack_wait: float = ALERTS_ACK_WAIT_SECONDS
) -> Consumers:
    bus = await NatsBus.connect(nats.url, fetch_wait_seconds=0.25)
    consumers = await start_consumers(platform, bus, alerts_ack_wait_seconds=ack_wait)
    consumers.own_buses.append(bus)
    return consumers


async def _until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


@pytest.mark.nats
async def test_a_poisoned_message_in_a_batch_costs_none_of_the_good_ones(
    platform: Platform, world: World, nats: NatsServer, publisher: NatsBus
) -> None:
    refuse_poison(platform)
    key = "plate:BBB222"
    good = [alert_message("PSH-TC1", correlation_key=key, title=f"good {n}") for n in range(3)]
    poisoned = alert_message("PSH-TC1", title=POISON)
    # Published before the consumer starts, so that they arrive as one batch.
    await publisher.publish(good[0])
    await publish_raw(nats.url, malformed_alert())
    await publisher.publish(poisoned)
    for message in good[1:]:
        await publisher.publish(message)
    consumers = await _consume(platform, nats)
    try:
        subscription = consumers.subscriptions[-1]
        assert subscription.durable == "control-alerts"
        await _until(lambda: occurrences(platform, key) == 3)
        # The poisoned one keeps coming back (0.1 s, 0.2 s, ...) and is never stored.
        await _until(lambda: subscription.stats.failed >= 2)
        stats = subscription.stats
        assert (stats.handled, stats.rejected) == (3, 1)
    finally:
        await consumers.stop()
    assert [(c, t) for _, c, t in alerts_with_key(platform, key)] == [(3, "good 2")]
    with platform.sessions() as session:
        assert session.get(AlertOccurrence, poisoned.message_id) is None


@pytest.mark.nats
async def test_a_crash_between_store_and_ack_counts_nothing_twice(
    platform: Platform, world: World, nats: NatsServer, publisher: NatsBus
) -> None:
    key = "plate:CCC333"
    sent = [alert_message("PSH-TC1", correlation_key=key, title=f"seen {n}") for n in range(3)]
    for message in sent:
        await publisher.publish(message)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CRASH_CONSUMER),
        nats.url,
        str(platform.settings.data_dir),
        platform.settings.sqlalchemy_url,
        TEST_SECRET,
        str(ALERTS_ACK_WAIT_SECONDS),  # as the application runs it
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(WAIT):
            while (line := (await process.stdout.readline()).decode()) and not line.startswith(
                "COMMITTED"
            ):
                pass
    finally:
        if process.returncode is None:
            process.kill()
        _, stderr = await process.communicate()
    assert process.returncode == -signal.SIGKILL, stderr.decode()
    stored_before = occurrences(platform, key)
    assert stored_before >= 1, f"the crashed consumer committed its batch: {line!r} {stderr!r}"
    assert alerts_with_key(platform, key)[0][1] == stored_before

    # The restarted consumer gets the unacknowledged messages again, within the ack wait of
    # the crashed one's last keep-alive (not the half minute it once was).
    consumers = await _consume(platform, nats)
    try:
        subscription = consumers.subscriptions[-1]
        # Within 15 s of the crash: the operators' promise, whatever the setting is named.
        await _until(lambda: subscription.stats.handled >= len(sent), timeout=15)
        assert occurrences(platform, key) == len(sent)
        assert [c for _, c, _ in alerts_with_key(platform, key)] == [len(sent)]
        # And it carries on: one more sighting is one more count.
        await publisher.publish(alert_message("PSH-TC2", correlation_key=key))
        await _until(lambda: occurrences(platform, key) == len(sent) + 1)
    finally:
        await consumers.stop()
    assert [c for _, c, _ in alerts_with_key(platform, key)] == [len(sent) + 1]
