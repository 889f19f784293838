"""NATS-only promises: crashes, broker restarts, outages and the stream's own settings."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest
from nats.js.api import StorageType
from tests.bus.bus_helpers import FETCH_WAIT_SECONDS, Collector, NatsHarness, camera

from safecity.bus import BusError, BusUnavailable, NatsBus, NatsServer, free_port
from safecity.contracts import CameraChanged

pytestmark = pytest.mark.nats

CRASH_CONSUMER = Path(__file__).with_name("bus_crash_consumer.py")


async def _read_line_starting(process: asyncio.subprocess.Process, prefix: str) -> str:
    assert process.stdout is not None
    while True:
        raw = await process.stdout.readline()
        if not raw:
            raise AssertionError(f"the consumer process ended before printing {prefix!r}")
        line = raw.decode().strip()
        if line.startswith(prefix):
            return line


async def test_a_message_comes_back_after_its_consumer_is_killed(
    nats_harness: NatsHarness,
) -> None:
    bus = await nats_harness.connect_nats()
    sent = camera()
    await bus.publish(sent)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CRASH_CONSUMER),
        nats_harness.server.url,
        "crash-victim",
        "1.0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(_read_line_starting(process, "RECEIVED"), timeout=20)
    finally:
        if process.returncode is None:
            process.kill()
        _, stderr = await process.communicate()
    assert line == f"RECEIVED {sent.message_id}", stderr.decode()
    assert process.returncode == -signal.SIGKILL

    collector: Collector[CameraChanged] = Collector()
    await bus.subscribe(
        CameraChanged, durable="crash-victim", handler=collector, ack_wait_seconds=1.0
    )
    assert await collector.wait_for(1) == [sent]


@pytest.mark.parametrize("how", ["stop", "kill"])
async def test_acknowledged_messages_survive_a_broker_restart(
    nats_server: NatsServer, how: str
) -> None:
    bus = await NatsBus.connect(nats_server.url, fetch_wait_seconds=FETCH_WAIT_SECONDS)
    sent = [camera(i) for i in range(1, 51)]
    for message in sent:
        await bus.publish(message)
    await bus.close()
    port = nats_server.port
    if how == "kill":
        nats_server.kill()
    else:
        nats_server.stop()

    with NatsServer(nats_server.store_dir, port=port) as restarted:
        assert restarted.url == nats_server.url
        bus = await NatsBus.connect(restarted.url, fetch_wait_seconds=FETCH_WAIT_SECONDS)
        try:
            collector: Collector[CameraChanged] = Collector()
            await bus.subscribe(CameraChanged, durable="after-restart", handler=collector)
            received = await collector.wait_for(len(sent))
            assert [m.message_id for m in received] == [m.message_id for m in sent]
            assert received == sent
        finally:
            await bus.close()


async def test_a_connected_bus_rides_out_a_broker_restart(nats_server: NatsServer) -> None:
    bus = await NatsBus.connect(nats_server.url, fetch_wait_seconds=FETCH_WAIT_SECONDS)
    try:
        collector: Collector[CameraChanged] = Collector()
        await bus.subscribe(CameraChanged, durable="survivor", handler=collector)
        first, second = camera(1), camera(2)
        await bus.publish(first)
        await collector.wait_for(1)

        nats_server.stop()
        async with asyncio.timeout(5):
            while bus.is_connected:
                await asyncio.sleep(0.01)
        pending = asyncio.create_task(bus.publish(second))
        await asyncio.sleep(0.3)
        assert not pending.done(), "a publish must wait for the broker, not pretend"

        await asyncio.to_thread(nats_server.start)
        await asyncio.wait_for(pending, timeout=10)
        assert await collector.wait_for(2) == [first, second]
    finally:
        await bus.close()


async def test_publish_raises_when_the_broker_stays_away(nats_server: NatsServer) -> None:
    bus = await NatsBus.connect(nats_server.url, publish_timeout_seconds=0.5)
    try:
        nats_server.stop()
        with pytest.raises(BusUnavailable, match="did not acknowledge"):
            await bus.publish(camera())
    finally:
        await bus.close()


async def test_connect_gives_up_with_a_clear_error_and_no_password() -> None:
    port = free_port()
    with pytest.raises(BusUnavailable, match=f"127.0.0.1:{port}") as caught:
        await NatsBus.connect(f"nats://bus-user:hunter2@127.0.0.1:{port}", connect_wait_seconds=0.5)
    assert "hunter2" not in str(caught.value)


async def test_the_stream_is_on_disk_with_a_duplicate_window(nats_harness: NatsHarness) -> None:
    await nats_harness.connect_nats(duplicate_window_seconds=60)
    js = (await nats_harness.raw_client()).jetstream()
    info = await js.stream_info("SAFECITY")
    assert info.config.storage == StorageType.FILE
    assert info.config.subjects == ["safecity.>"]
    assert info.config.duplicate_window == 60

    await nats_harness.connect_nats(duplicate_window_seconds=300)
    info = await js.stream_info("SAFECITY")
    assert info.config.duplicate_window == 300


async def test_a_stream_in_memory_is_refused(nats_harness: NatsHarness) -> None:
    js = (await nats_harness.raw_client()).jetstream()
    await js.add_stream(name="VOLATILE", subjects=["volatile.>"], storage=StorageType.MEMORY)
    with pytest.raises(BusError, match="file storage"):
        await NatsBus.connect(nats_harness.server.url, stream="VOLATILE")


async def test_a_slow_handler_keeps_its_message_past_ack_wait(nats_harness: NatsHarness) -> None:
    bus = await nats_harness.connect_nats()
    slow: Collector[CameraChanged] = Collector(hold_seconds=1.5)
    idle: Collector[CameraChanged] = Collector()
    await bus.subscribe(CameraChanged, durable="shared", handler=slow, ack_wait_seconds=0.5)
    await bus.publish(camera())
    await slow.started.wait()
    # A second member of the same durable must not get the message the first is still on.
    await bus.subscribe(CameraChanged, durable="shared", handler=idle, ack_wait_seconds=0.5)
    await slow.wait_for(1)
    await asyncio.sleep(0.6)
    assert idle.calls == 0
    assert slow.calls == 1


async def test_a_consumer_deleted_under_a_subscription_is_recreated(
    nats_harness: NatsHarness,
) -> None:
    bus = await nats_harness.connect_nats()
    collector: Collector[CameraChanged] = Collector()
    await bus.subscribe(CameraChanged, durable="phoenix", handler=collector)
    await bus.publish(camera(1))
    await collector.wait_for(1)
    js = (await nats_harness.raw_client()).jetstream()
    await js.delete_consumer("SAFECITY", "phoenix")
    later = camera(2)
    await bus.publish(later)
    async with asyncio.timeout(10):
        while later not in collector.received:
            await asyncio.sleep(0.05)
