"""The live feed end to end on a real NATS server and a real server: an AlertRaised on the
bus reaches the connected consoles of its district only, once stored; correlation updates
the same alert; a malformed message is dropped and the consumer carries on; operator
actions reach the other consoles; the socket refuses the unsigned and the unpermitted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from safecity.bus.nats import NatsBus
from safecity.command.alerts_models import Alert
from safecity.contracts.alerts import AlertRaised
from safecity.web import hub as hub_module
from safecity.web.platform import Platform
from tests.api.routes_command import alert_message
from tests.command.alerts_support import (
    RunningConsole,
    console_server,
    malformed_alert,
    publish_raw,
)
from tests.factories import World, make_user, token_for

pytestmark = pytest.mark.nats

WAIT = 15.0  # seconds; shared machines are slow, a live alert normally takes milliseconds


@pytest.fixture
def running(platform: Platform, world: World, tmp_path: Path) -> Iterator[RunningConsole]:
    make_user(platform, "psh-operator", ["operator"], districts=["peshawar"])
    make_user(platform, "bnu-operator", ["operator"], districts=["bannu"])
    make_user(platform, "psh-engineer", ["engineer"], districts=["peshawar"])
    with console_server(platform, tmp_path) as server:
        yield server


@pytest.fixture
async def bus(running: RunningConsole) -> AsyncIterator[NatsBus]:
    connected = await NatsBus.connect(running.bus_url)
    try:
        yield connected
    finally:
        await connected.close()


def bearer(platform: Platform, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(platform, username)}"}


async def open_feed(running: RunningConsole, username: str) -> ClientConnection:
    socket = await connect(running.ws_url, additional_headers=bearer(running.platform, username))
    hello = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
    assert hello == {"kind": "hello", "user": username}
    return socket


_PENDING: dict[int, list[dict[str, Any]]] = {}


async def next_alert(socket: ClientConnection, timeout: float = WAIT) -> dict[str, Any]:
    """The next alert the console is sent, whether alone or inside a batch frame."""
    pending = _PENDING.setdefault(id(socket), [])
    while not pending:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        frames = frame["frames"] if frame["kind"] == "batch" else [frame]
        pending.extend(f["payload"] for f in frames if f["kind"] == "alert")
    return pending.pop(0)


async def nothing_more(socket: ClientConnection, seconds: float = 1.0) -> None:
    with pytest.raises(TimeoutError):
        await next_alert(socket, timeout=seconds)


async def test_alerts_reach_only_their_districts_consoles(
    running: RunningConsole, bus: NatsBus
) -> None:
    peshawar = await open_feed(running, "psh-operator")
    bannu = await open_feed(running, "bnu-operator")
    try:
        await bus.publish(alert_message("BNU-TC1", title="Bannu hit"))
        await bus.publish(alert_message("PSH-TC1", title="Peshawar hit", correlation_key="p:1"))
        seen = await next_alert(peshawar)
        assert (seen["title"], seen["district"], seen["count"]) == ("Peshawar hit", "peshawar", 1)
        assert (await next_alert(bannu))["title"] == "Bannu hit"
        await nothing_more(peshawar)
        # The same key again: the same alert, counted.
        await bus.publish(alert_message("PSH-TC2", title="Seen again", correlation_key="p:1"))
        again = await next_alert(peshawar)
        assert (again["id"], again["count"], again["title"]) == (seen["id"], 2, "Seen again")
        # A malformed message is dropped by the contract; the consumer keeps going.
        await publish_raw(running.bus_url, malformed_alert())
        await bus.publish(alert_message("PSH-TC1", title="After the broken one"))
        assert (await next_alert(peshawar))["title"] == "After the broken one"
        # An operator's action reaches the other consoles of the district.
        async with httpx.AsyncClient(base_url=running.base_url) as client:
            acted = await client.post(
                f"/api/v1/alerts/{seen['id']}/acknowledge",
                headers=bearer(running.platform, "psh-operator"),
            )
        assert acted.status_code == 200, acted.text
        update = await next_alert(peshawar)
        assert (update["id"], update["status"], update["handled_by"]) == (
            seen["id"],
            "acknowledged",
            "psh-operator",
        )
        await nothing_more(bannu)
    finally:
        await peshawar.close()
        await bannu.close()


async def test_a_console_that_falls_behind_is_told_to_reload_and_nothing_is_lost(
    running: RunningConsole, bus: NatsBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A queue of three and a one-second tick: ten alerts at once overflow it.
    monkeypatch.setattr(hub_module, "QUEUE_LIMIT", 3)
    monkeypatch.setattr(hub_module, "COALESCE_SECONDS", 1.0)
    socket = await open_feed(running, "psh-operator")
    try:
        for n in range(10):
            await bus.publish(alert_message("PSH-TC1", title=f"behind {n}"))
        kinds: list[str] = []
        titles: list[str] = []
        while "behind 9" not in titles:
            frame = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
            for message in frame["frames"] if frame["kind"] == "batch" else [frame]:
                kinds.append(message["kind"])
                if message["kind"] == "alert":
                    titles.append(message["payload"]["title"])
    finally:
        await socket.close()
    assert "resync" in kinds
    after = kinds.index("resync")
    # The oldest were dropped from the feed, the newest three follow the resync...
    assert len(titles) < 10
    assert titles[-3:] == ["behind 7", "behind 8", "behind 9"]
    assert kinds[after + 1 :] == ["alert", "alert", "alert"]
    # ...and every alert is stored, so the reload the resync asks for shows all ten.
    with running.platform.sessions() as session:
        stored = session.scalar(
            select(func.count()).select_from(Alert).where(Alert.title.like("behind %"))
        )
    assert stored == 10


async def test_an_alert_for_an_unknown_place_is_refused_not_fatal(
    running: RunningConsole, bus: NatsBus
) -> None:
    peshawar = await open_feed(running, "psh-operator")
    try:
        await bus.publish(alert_message("NOWHERE-9", title="nowhere"))
        await bus.publish(alert_message("PSH-GHOST1", district="peshawar", title="ghost"))
        ghost = await next_alert(peshawar)
        assert (ghost["title"], ghost["camera_id"], ghost["camera_code"]) == (
            "ghost",
            None,
            "PSH-GHOST1",
        )
        assert running.platform.alerts.refused
    finally:
        await peshawar.close()


@pytest.mark.parametrize(
    ("who", "origin", "code"),
    [
        (None, None, 4401),
        ("psh-engineer", None, 4403),
        ("psh-operator", "http://evil.example", 4403),
    ],
)
async def test_the_feed_refuses(
    running: RunningConsole, who: str | None, origin: str | None, code: int
) -> None:
    headers = bearer(running.platform, who) if who else {}
    if origin:
        headers["Origin"] = origin
    socket = await connect(running.ws_url, additional_headers=headers)
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), WAIT)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == code


def test_published_alerts_are_valid_messages() -> None:
    """The helper the benchmarks and browser tests share builds contract-valid messages."""
    message = alert_message("PSH-TC1")
    assert AlertRaised.decode(message.encode().data, message.encode().headers) == message
