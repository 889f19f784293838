"""Helpers of the bus suite: sample messages, a recording handler, a harness per bus kind.

A uniquely named module rather than conftest, so that importing it cannot pick
up another test folder's conftest.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Generic

import nats

from safecity.bus import Bus, MemoryBus, MemoryStore, NatsBus, NatsServer
from safecity.bus.interface import M
from safecity.contracts import CameraChanged, SiteChanged

# Short enough that a test waiting for a fetch to time out stays quick.
FETCH_WAIT_SECONDS = 0.25


def camera(camera_id: int = 7, **changes: Any) -> CameraChanged:
    fields: dict[str, Any] = {
        "change": "created",
        "camera_id": camera_id,
        "code": f"PSH-{camera_id:04d}",
        "district": "peshawar",
        "site_code": "PSH-S-001",
        "name": f"Khyber Bazaar {camera_id}",
        "ownership": "public",
        "status": "live",
        "has_main_stream": True,
        "has_sub_stream": True,
        "privacy_mask_count": 1,
    }
    fields.update(changes)
    return CameraChanged(**fields)


def site(site_id: int = 3, **changes: Any) -> SiteChanged:
    fields: dict[str, Any] = {
        "change": "updated",
        "site_id": site_id,
        "code": f"DIK-S-{site_id:03d}",
        "district": "dera-ismail-khan",
        "name": "Circular Road junction",
        "site_type": "junction",
        "rollout_status": "installed",
        "latitude": 31.8323,
        "longitude": 70.9024,
    }
    fields.update(changes)
    return SiteChanged(**fields)


class Collector(Generic[M]):
    """A handler that records what it receives; ``fail_first`` deliveries raise."""

    def __init__(self, *, fail_first: int = 0, hold_seconds: float = 0.0) -> None:
        self.received: list[M] = []
        self.calls = 0
        self.started = asyncio.Event()
        self._fail_first = fail_first
        self._hold = hold_seconds
        self._changed = asyncio.Event()

    async def __call__(self, message: M) -> None:
        self.calls += 1
        self.started.set()
        if self.calls <= self._fail_first:
            raise RuntimeError(f"simulated failure {self.calls}")
        if self._hold:
            await asyncio.sleep(self._hold)
        self.received.append(message)
        self._changed.set()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[M]:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self._changed.clear()
                await self._changed.wait()
        return list(self.received)


class Harness(ABC):
    """One broker of a given kind; ``connect`` opens another client to it (a new process)."""

    kind: str

    @abstractmethod
    async def connect(self) -> Bus: ...

    @abstractmethod
    async def publish_raw(self, subject: str, data: bytes, headers: Mapping[str, str]) -> None:
        """Store bytes as a foreign or broken publisher would."""

    @abstractmethod
    async def stored_count(self) -> int: ...

    @abstractmethod
    async def aclose(self) -> None: ...


class MemoryHarness(Harness):
    kind = "memory"

    def __init__(self) -> None:
        self.store = MemoryStore()
        self._buses: list[MemoryBus] = []

    async def connect(self) -> Bus:
        bus = MemoryBus(self.store)
        self._buses.append(bus)
        return bus

    async def publish_raw(self, subject: str, data: bytes, headers: Mapping[str, str]) -> None:
        await MemoryBus(self.store).publish_raw(subject, data, headers)

    async def stored_count(self) -> int:
        return self.store.message_count

    async def aclose(self) -> None:
        for bus in self._buses:
            await bus.close()


class NatsHarness(Harness):
    kind = "nats"

    def __init__(self, server: NatsServer) -> None:
        self.server = server
        self._buses: list[NatsBus] = []
        self._raw: Any = None

    async def connect(self) -> Bus:
        return await self.connect_nats()

    async def connect_nats(self, **options: Any) -> NatsBus:
        options.setdefault("fetch_wait_seconds", FETCH_WAIT_SECONDS)
        bus = await NatsBus.connect(self.server.url, **options)
        self._buses.append(bus)
        return bus

    async def raw_client(self) -> Any:
        """A plain nats-py connection, for looking at the stream behind the bus's back."""
        if self._raw is None:
            self._raw = await nats.connect(self.server.url)
        return self._raw

    async def publish_raw(self, subject: str, data: bytes, headers: Mapping[str, str]) -> None:
        client = await self.raw_client()
        await client.jetstream().publish(subject, data, headers=dict(headers))

    async def stored_count(self) -> int:
        client = await self.raw_client()
        info = await client.jetstream().stream_info("SAFECITY")
        return int(info.state.messages)

    async def aclose(self) -> None:
        for bus in self._buses:
            await bus.close()
        if self._raw is not None:
            await self._raw.close()
