"""Registry changes reach the bus only after commit, through the outbox, and carry no
credentials; a rolled-back change announces nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from safecity.bus.nats import NatsBus
from safecity.bus.server import NatsServer
from safecity.contracts.registry import CameraChanged
from safecity.db.outbox import OutboxMessage
from safecity.identity.system import system_principal
from safecity.registry.schemas import CameraCreate, CameraUpdate
from safecity.web.platform import Platform
from safecity.web.relay import relay_once
from tests.factories import World

pytestmark = pytest.mark.nats


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    with NatsServer(tmp_path / "nats") as server:
        yield server


async def test_committed_changes_are_relayed_once(
    platform: Platform, world: World, nats: NatsServer
) -> None:
    admin = system_principal("tests")
    with platform.transaction() as session:
        platform.registry.update_camera(
            session,
            admin,
            world.cameras["PSH-TC1"],
            CameraUpdate(status="offline"),
            expected_version=None,
        )

    def create_then_fail() -> None:
        with platform.transaction() as session:
            platform.registry.create_camera(
                session, admin, CameraCreate(code="ROLLED-BACK", site="PSH-T1", name="never")
            )
            raise RuntimeError("abort the transaction")

    with pytest.raises(RuntimeError):
        create_then_fail()

    received: list[CameraChanged] = []
    bus = await NatsBus.connect(nats.url)
    try:
        sent = await relay_once(platform, bus)
        assert await relay_once(platform, bus) == 0, "published rows are not sent twice"

        async def collect(message: CameraChanged) -> None:
            received.append(message)

        subscription = await bus.subscribe(CameraChanged, durable="relay-test", handler=collect)
        for _ in range(100):
            if len(received) >= 4:
                break
            await asyncio.sleep(0.05)
        await subscription.stop()
    finally:
        await bus.close()

    # build_world created three cameras (and three sites); then one update.
    assert sent == 7
    codes = [(m.code, m.change) for m in received]
    assert codes == [
        ("PSH-TC1", "created"),
        ("PSH-TC2", "created"),
        ("BNU-TC1", "created"),
        ("PSH-TC1", "updated"),
    ]
    assert received[-1].status == "offline"
    assert all("s3cret" not in m.model_dump_json() for m in received)
    with platform.sessions() as session:
        pending = session.scalars(
            select(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        ).all()
        assert pending == []
        assert all(
            row.payload.get("code") != "ROLLED-BACK"
            for row in session.scalars(select(OutboxMessage))
        )


async def test_an_idle_relay_reads_without_taking_the_write_lock(
    platform: Platform, world: World, nats: NatsServer
) -> None:
    if platform.engine.dialect.name != "sqlite":
        pytest.skip("the database-wide write lock is SQLite's")
    bus = await NatsBus.connect(nats.url)
    try:
        assert await relay_once(platform, bus) == 6  # the world's three sites and cameras
        # Another writer holds the lock (a long alert batch, an import). Polling an empty
        # outbox must neither wait for it (10 s busy timeout) nor fail with "locked".
        with platform.engine.connect() as writer, writer.begin():
            assert await relay_once(platform, bus) == 0
        with platform.transaction() as session:
            platform.registry.update_camera(
                session,
                system_principal("tests"),
                world.cameras["PSH-TC2"],
                CameraUpdate(status="online"),
                expected_version=None,
            )
        assert await relay_once(platform, bus) == 1  # work found again once there is some
    finally:
        await bus.close()
