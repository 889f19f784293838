"""An in-memory twin of the NATS bus for unit tests of pure logic.

It keeps JetStream's promises that matter to a consumer: messages are stored in
order, a publish with a known ``message_id`` is stored once, a durable consumer
resumes from its first unacknowledged message, a failing handler gets the
message again later, and a payload that cannot be decoded is dropped with a log
line. ``MemoryStore`` plays the broker: give the same store to a new
``MemoryBus`` to model a process reconnecting. There is no ack-wait timer: a
handler cancelled mid-way (a "crash") hands its message back at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from safecity.bus._consumer import ConsumerSpec, Decision, Delivery, LoopSubscription, Verdict
from safecity.bus.errors import BusError
from safecity.bus.interface import BatchHandler, M, Subscription, subject_matches
from safecity.contracts.base import Message


@dataclass(frozen=True)
class _Stored:
    sequence: int
    subject: str
    data: bytes
    headers: Mapping[str, str]


@dataclass
class _ConsumerState:
    durable: str
    subject: str
    # Every sequence below ``floor`` is settled or belongs to another subject.
    floor: int = 1
    settled: set[int] = field(default_factory=set)
    in_flight: set[int] = field(default_factory=set)
    deliveries: dict[int, int] = field(default_factory=dict)
    not_before: dict[int, float] = field(default_factory=dict)
    waiters: set[asyncio.Event] = field(default_factory=set)

    def notify(self) -> None:
        for event in self.waiters:
            event.set()


class MemoryStore:
    """The stream and its durable consumers; outlives the ``MemoryBus`` clients using it."""

    def __init__(self, *, duplicate_window_seconds: float = 120.0) -> None:
        self._messages: list[_Stored] = []
        self._seen: dict[str, float] = {}
        self._consumers: dict[str, _ConsumerState] = {}
        self._window = duplicate_window_seconds

    @property
    def message_count(self) -> int:
        return len(self._messages)

    def append(
        self, subject: str, data: bytes, headers: Mapping[str, str], message_id: str | None
    ) -> bool:
        """Store a message; False when ``message_id`` was stored within the duplicate window."""
        now = time.monotonic()
        # Ids are kept in insertion order, so the expired ones are at the front.
        while self._seen:
            oldest = next(iter(self._seen))
            if now - self._seen[oldest] <= self._window:
                break
            del self._seen[oldest]
        if message_id is not None:
            if message_id in self._seen:
                return False
            self._seen[message_id] = now
        self._messages.append(_Stored(len(self._messages) + 1, subject, bytes(data), dict(headers)))
        for state in self._consumers.values():
            if subject_matches(state.subject, subject):
                state.notify()
        return True

    def consumer(self, durable: str, subject: str) -> _ConsumerState:
        state = self._consumers.get(durable)
        if state is None:
            state = self._consumers[durable] = _ConsumerState(durable, subject)
        elif state.subject != subject:
            raise BusError(
                f"durable consumer {durable!r} already reads {state.subject}, not {subject}; "
                "give this subscription its own durable name"
            )
        return state

    def claim(self, state: _ConsumerState) -> tuple[_Stored, int] | None:
        """The next message this consumer may deliver now, and its delivery number."""
        now = time.monotonic()
        while state.floor <= len(self._messages):
            head = self._messages[state.floor - 1]
            if subject_matches(state.subject, head.subject) and state.floor not in state.settled:
                break
            state.settled.discard(state.floor)
            state.floor += 1
        for stored in self._messages[state.floor - 1 :]:
            seq = stored.sequence
            if (
                not subject_matches(state.subject, stored.subject)
                or seq in state.settled
                or seq in state.in_flight
                or state.not_before.get(seq, 0.0) > now
            ):
                continue
            state.in_flight.add(seq)
            state.not_before.pop(seq, None)
            state.deliveries[seq] = state.deliveries.get(seq, 0) + 1
            return stored, state.deliveries[seq]
        return None

    def seconds_until_due(self, state: _ConsumerState) -> float | None:
        waiting = [t for seq, t in state.not_before.items() if seq not in state.in_flight]
        if not waiting:
            return None
        return max(0.0, min(waiting) - time.monotonic())

    def settle(self, state: _ConsumerState, sequence: int) -> None:
        state.in_flight.discard(sequence)
        state.deliveries.pop(sequence, None)
        state.settled.add(sequence)

    def retry_later(self, state: _ConsumerState, sequence: int, delay: float) -> None:
        state.in_flight.discard(sequence)
        state.not_before[sequence] = time.monotonic() + delay
        state.notify()

    def give_back(self, state: _ConsumerState, sequence: int) -> None:
        state.in_flight.discard(sequence)
        state.notify()


class _MemorySubscription(LoopSubscription[M]):
    def __init__(
        self,
        store: MemoryStore,
        state: _ConsumerState,
        spec: ConsumerSpec[M],
        *,
        on_stopped: Callable[[_MemorySubscription[M]], None],
    ) -> None:
        super().__init__(spec)
        self._store = store
        self._state = state
        self._wakeup = asyncio.Event()
        self._on_stopped = on_stopped
        state.waiters.add(self._wakeup)

    async def _step(self) -> None:
        self._wakeup.clear()
        claimed: list[tuple[_Stored, int]] = []
        # What is due now, up to a batch (one message for a one-at-a-time handler).
        while len(claimed) < self._max_batch:
            next_one = self._store.claim(self._state)
            if next_one is None:
                break
            claimed.append(next_one)
        if not claimed:
            self._idle = True
            try:
                async with asyncio.timeout(self._store.seconds_until_due(self._state)):
                    await self._wakeup.wait()
            except TimeoutError:
                pass
            finally:
                self._idle = False
            return
        try:
            decisions = await self._dispatch_batch(
                [
                    Delivery(stored.subject, stored.data, stored.headers, delivery, stored.sequence)
                    for stored, delivery in claimed
                ]
            )
        except BaseException:
            # Cancelled mid-handler: like a crashed process, nothing is acknowledged.
            for stored, _ in claimed:
                self._store.give_back(self._state, stored.sequence)
            raise
        for (stored, _), decision in zip(claimed, decisions, strict=True):
            self._settle(stored, decision)

    def _settle(self, stored: _Stored, decision: Decision) -> None:
        if decision.verdict is Verdict.RETRY:
            self._store.retry_later(self._state, stored.sequence, decision.delay)
        else:
            self._store.settle(self._state, stored.sequence)

    async def _release(self) -> None:
        self._state.waiters.discard(self._wakeup)
        self._on_stopped(self)


class MemoryBus:
    """A ``Bus`` held in memory; see the module docstring for what it models."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self._store = store if store is not None else MemoryStore()
        self._subscriptions: set[_MemorySubscription[Any]] = set()
        self._closed = False

    @property
    def store(self) -> MemoryStore:
        return self._store

    async def publish(self, message: Message) -> None:
        self._check_open()
        envelope = message.encode()
        self._store.append(envelope.subject, envelope.data, envelope.headers, message.message_id)

    async def publish_raw(
        self,
        subject: str,
        data: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        message_id: str | None = None,
    ) -> None:
        """Store bytes as a foreign or faulty publisher would (for tests of consumers)."""
        self._check_open()
        self._store.append(subject, data, headers or {}, message_id)

    async def subscribe(
        self,
        model: type[M],
        *,
        durable: str,
        handler: Callable[[M], Awaitable[None]],
        ack_wait_seconds: float = 30,
        key: str | None = None,
    ) -> Subscription:
        self._check_open()
        return self._start(
            ConsumerSpec.one_at_a_time(
                model, durable=durable, handler=handler, ack_wait_seconds=ack_wait_seconds, key=key
            )
        )

    async def subscribe_batch(
        self,
        model: type[M],
        *,
        durable: str,
        handler: BatchHandler[M],
        max_batch: int = 64,
        ack_wait_seconds: float = 30,
        key: str | None = None,
    ) -> Subscription:
        self._check_open()
        return self._start(
            ConsumerSpec.batched(
                model,
                durable=durable,
                handler=handler,
                max_batch=max_batch,
                ack_wait_seconds=ack_wait_seconds,
                key=key,
            )
        )

    def _start(self, spec: ConsumerSpec[M]) -> Subscription:
        state = self._store.consumer(spec.durable, spec.subject)
        subscription = _MemorySubscription(
            self._store, state, spec, on_stopped=self._subscriptions.discard
        )
        self._subscriptions.add(subscription)
        subscription.start()
        return subscription

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for subscription in list(self._subscriptions):
            await subscription.stop()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise BusError("the bus is closed")
