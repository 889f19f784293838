"""The console hub: each console gets what its districts and permissions allow, from the
event loop or from a worker thread, and a console that falls behind loses the oldest
messages and is told to reload instead of showing a stale queue."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from safecity.web import hub as hub_module
from safecity.web.hub import ConsoleHub, Listener, frame_of

OPERATOR = frozenset({"alerts.view", "incidents.view", "units.view"})


async def drain(listener: Listener) -> list[dict[str, object]]:
    await asyncio.sleep(0)  # let call_soon_threadsafe deliveries run
    frames = []
    while listener.pending:
        frames.append(json.loads(listener.pending.popleft()))
    return frames


async def test_districts_cameras_and_permissions_decide_who_hears() -> None:
    hub = ConsoleHub()
    peshawar = hub.connect(
        district_ids=frozenset({1}), camera_ids=frozenset(), permissions=OPERATOR
    )
    province = hub.connect(district_ids=None, camera_ids=frozenset(), permissions=OPERATOR)
    owner = hub.connect(
        district_ids=frozenset(), camera_ids=frozenset({9}), permissions=frozenset({"alerts.view"})
    )
    investigator = hub.connect(
        district_ids=frozenset({1}), camera_ids=frozenset(), permissions=frozenset({"alerts.view"})
    )
    hub.broadcast(1, "alert", {"id": 1})
    hub.broadcast(2, "alert", {"id": 2}, camera_id=9)
    hub.broadcast(1, "unit", {"id": 3})
    hub.broadcast(1, "incident.updated", {"id": 4})
    seen = {
        name: [f["payload"]["id"] for f in await drain(listener)]  # type: ignore[index]
        for name, listener in (
            ("peshawar", peshawar),
            ("province", province),
            ("owner", owner),
            ("investigator", investigator),
        )
    }
    assert seen == {
        "peshawar": [1, 3, 4],
        "province": [1, 2, 3, 4],
        "owner": [2],
        "investigator": [1],
    }
    with pytest.raises(ValueError, match="no default permission"):
        hub.broadcast(1, "weather", {})
    hub.broadcast(1, "weather", {"id": 5}, permission="units.view")
    assert [f["payload"] for f in await drain(peshawar)] == [{"id": 5}]
    hub.disconnect(peshawar)
    assert hub.connected == 3


async def test_broadcast_from_a_worker_thread_reaches_the_loop() -> None:
    hub = ConsoleHub()
    hub.bind(asyncio.get_running_loop())
    listener = hub.connect(district_ids=None, camera_ids=frozenset(), permissions=OPERATOR)
    worker = threading.Thread(target=hub.broadcast, args=(7, "alert", {"id": 1}))
    worker.start()
    worker.join()
    [frame] = [json.loads(m) for m in await asyncio.wait_for(listener.collect(), 5)]
    assert (frame["kind"], frame["district_id"], frame["payload"]) == ("alert", 7, {"id": 1})


async def test_a_slow_console_loses_the_oldest_and_is_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hub_module, "QUEUE_LIMIT", 3)
    hub = ConsoleHub()
    listener = hub.connect(district_ids=None, camera_ids=frozenset(), permissions=OPERATOR)
    for n in range(5):
        hub.broadcast(1, "alert", {"id": n})
    assert [f["payload"]["id"] for f in await drain(listener)] == [2, 3, 4]  # type: ignore[index]
    assert listener.dropped == 2
    assert listener.take_stale() is True
    assert listener.take_stale() is False


async def test_messages_due_within_a_tick_go_as_one_frame_and_a_lone_one_at_once() -> None:
    hub = ConsoleHub()
    listener = hub.connect(district_ids=None, camera_ids=frozenset(), permissions=OPERATOR)
    hub.broadcast(1, "alert", {"id": 1})
    started = time.monotonic()
    first = await listener.collect(tick=0.2)
    assert time.monotonic() - started < 0.1  # nothing sent before: no waiting
    # Three more arrive while the tick runs: they wait for it and leave together.
    later = asyncio.create_task(listener.collect(tick=0.2))
    for n in (2, 3, 4):
        await asyncio.sleep(0.02)
        hub.broadcast(1, "alert", {"id": n})
    second = await later
    assert time.monotonic() - started >= 0.19
    frames = [json.loads(frame_of(first)), json.loads(frame_of(second))]
    assert frames[0]["payload"] == {"id": 1}
    assert frames[1]["kind"] == "batch"
    assert [f["payload"]["id"] for f in frames[1]["frames"]] == [2, 3, 4]


async def test_a_frame_holds_at_most_the_limit_and_the_rest_follows() -> None:
    hub = ConsoleHub()
    listener = hub.connect(district_ids=None, camera_ids=frozenset(), permissions=OPERATOR)
    for n in range(5):
        hub.broadcast(1, "alert", {"id": n})
    taken = [await listener.collect(tick=0, limit=2) for _ in range(3)]
    assert [[json.loads(m)["payload"]["id"] for m in batch] for batch in taken] == [
        [0, 1],
        [2, 3],
        [4],
    ]
    waiting = asyncio.create_task(listener.collect(tick=0))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # nothing queued: it waits rather than send an empty frame
    hub.broadcast(1, "alert", {"id": 5})
    assert [json.loads(m)["payload"]["id"] for m in await asyncio.wait_for(waiting, 5)] == [5]


async def test_each_message_is_encoded_once_for_every_console() -> None:
    hub = ConsoleHub()
    consoles = [
        hub.connect(district_ids=None, camera_ids=frozenset(), permissions=OPERATOR)
        for _ in range(3)
    ]
    hub.broadcast(1, "alert", {"id": 1})
    await asyncio.sleep(0)
    assert len({id(console.pending[0]) for console in consoles}) == 1
