"""Consumer behaviour shared by the NATS bus and its in-memory twin, so both decide alike."""

from __future__ import annotations

import asyncio
import enum
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic

from safecity.bus.interface import (
    BatchHandler,
    M,
    SubscriptionStats,
    redelivery_delay,
    validate_subscription,
)
from safecity.contracts.base import MessageDecodeError

logger = logging.getLogger("safecity.bus")

# A consumer loop that fails unexpectedly waits this long before trying again,
# so a persistent fault costs one log line per second, not a busy loop.
_LOOP_FAULT_PAUSE_SECONDS = 1.0


class Verdict(enum.Enum):
    ACK = "ack"
    RETRY = "retry"
    REJECT = "reject"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    delay: float = 0.0


@dataclass(frozen=True)
class Delivery:
    """One message as the broker handed it over, before decoding."""

    subject: str
    data: bytes
    headers: Mapping[str, str] | None
    delivery: int  # 1 for the first delivery, 2 for the first redelivery, ...
    sequence: int  # the stream's sequence number, for log lines


@dataclass(frozen=True)
class ConsumerSpec(Generic[M]):
    """What one subscription consumes and how, checked once for both buses' ``subscribe``
    and ``subscribe_batch``: build it with :meth:`one_at_a_time` or :meth:`batched`."""

    model: type[M]
    durable: str
    subject: str  # the broker's filter: the type's subject, or one key's
    ack_wait_seconds: float
    handler: Callable[[M], Awaitable[None]] | None
    batch_handler: BatchHandler[M] | None
    max_batch: int  # 1 for a one-at-a-time handler

    @classmethod
    def one_at_a_time(
        cls,
        model: type[M],
        *,
        durable: str,
        handler: Callable[[M], Awaitable[None]],
        ack_wait_seconds: float,
        key: str | None,
    ) -> ConsumerSpec[M]:
        return cls._checked(model, durable, ack_wait_seconds, key, handler, None, 1)

    @classmethod
    def batched(
        cls,
        model: type[M],
        *,
        durable: str,
        handler: BatchHandler[M],
        max_batch: int,
        ack_wait_seconds: float,
        key: str | None,
    ) -> ConsumerSpec[M]:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        return cls._checked(model, durable, ack_wait_seconds, key, None, handler, max_batch)

    @classmethod
    def _checked(
        cls,
        model: type[M],
        durable: str,
        ack_wait_seconds: float,
        key: str | None,
        handler: Callable[[M], Awaitable[None]] | None,
        batch_handler: BatchHandler[M] | None,
        max_batch: int,
    ) -> ConsumerSpec[M]:
        validate_subscription(durable, ack_wait_seconds)
        return cls(
            model=model,
            durable=durable,
            subject=model.subject_filter(key),
            ack_wait_seconds=ack_wait_seconds,
            handler=handler,
            batch_handler=batch_handler,
            max_batch=max_batch,
        )


class LoopSubscription(ABC, Generic[M]):
    """One task per subscription that waits for deliveries and hands each to the handler."""

    def __init__(self, spec: ConsumerSpec[M]) -> None:
        self._model = spec.model
        self._durable = spec.durable
        self._subject = spec.subject
        self._handler = spec.handler
        self._batch_handler = spec.batch_handler
        self._max_batch = spec.max_batch
        self._ack_wait = spec.ack_wait_seconds
        self._handled = 0
        self._failed = 0
        self._rejected = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._released = False
        # True while the loop only waits for work: cancelling it then loses nothing.
        self._idle = False

    @property
    def durable(self) -> str:
        return self._durable

    @property
    def stats(self) -> SubscriptionStats:
        return SubscriptionStats(
            handled=self._handled, failed=self._failed, rejected=self._rejected
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"safecity-bus-consumer-{self._durable}")

    async def stop(self) -> None:
        self._stopping = True
        task = self._task
        if task is asyncio.current_task():
            # Called from inside the handler: the loop ends, and releases, once it returns.
            return
        if task is not None and not task.done():
            if self._idle:
                task.cancel()
            done, _ = await asyncio.wait({task}, timeout=self._ack_wait)
            if not done:
                logger.warning(
                    "consumer %s: handler still running after %.1f s; cancelling it "
                    "(its message will be delivered again)",
                    self._durable,
                    self._ack_wait,
                )
                task.cancel()
                await asyncio.wait({task})
        if task is not None and not task.cancelled() and task.exception() is not None:
            logger.error(
                "consumer %s ended with an error", self._durable, exc_info=task.exception()
            )
        # The loop releases on its way out; a task cancelled before it ever ran did not.
        await self._release_once()

    async def _run(self) -> None:
        try:
            while not self._stopping:
                try:
                    await self._step()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("consumer %s: unexpected failure; retrying", self._durable)
                    self._idle = True
                    try:
                        await asyncio.sleep(_LOOP_FAULT_PAUSE_SECONDS)
                    finally:
                        self._idle = False
        finally:
            await self._release_once()

    async def _release_once(self) -> None:
        if not self._released:
            self._released = True
            await self._release()

    @abstractmethod
    async def _step(self) -> None:
        """Wait for deliveries (setting ``_idle`` meanwhile) and handle them."""

    @abstractmethod
    async def _release(self) -> None:
        """Give back anything received but not handled, and detach from the broker."""

    async def _dispatch(
        self,
        *,
        subject: str,
        data: bytes,
        headers: Mapping[str, str] | None,
        delivery: int,
        sequence: int,
    ) -> Decision:
        item = Delivery(subject, data, headers, delivery, sequence)
        if self._handler is None:
            return (await self._dispatch_batch([item]))[0]
        decoded = self._decode(item)
        if isinstance(decoded, Decision):
            return decoded
        message = decoded
        try:
            await self._handler(message)
        except Exception:
            self._failed += 1
            delay = redelivery_delay(delivery)
            logger.exception(
                "consumer %s: handler failed on %s message %s (delivery %d); retrying in %.1f s",
                self._durable,
                subject,
                message.message_id,
                delivery,
                delay,
            )
            return Decision(Verdict.RETRY, delay)
        self._handled += 1
        return Decision(Verdict.ACK)

    async def _dispatch_batch(self, items: Sequence[Delivery]) -> list[Decision]:
        """Decode every delivery, hand the readable ones to the batch handler at once, and
        decide each one's fate: an unreadable payload is rejected alone; a message the
        handler names, or every message when it raises, comes back later."""
        if self._batch_handler is None:
            return [
                await self._dispatch(
                    subject=i.subject,
                    data=i.data,
                    headers=i.headers,
                    delivery=i.delivery,
                    sequence=i.sequence,
                )
                for i in items
            ]
        decisions: list[Decision | None] = []
        readable: list[tuple[int, M]] = []
        for index, item in enumerate(items):
            decoded = self._decode(item)
            if isinstance(decoded, Decision):
                decisions.append(decoded)
            else:
                decisions.append(None)
                readable.append((index, decoded))
        if readable:
            try:
                again = set(await self._batch_handler([message for _, message in readable]))
                failure = None
            except Exception as exc:
                again, failure = {m.message_id for _, m in readable}, exc
            for index, message in readable:
                if message.message_id not in again:
                    self._handled += 1
                    decisions[index] = Decision(Verdict.ACK)
                    continue
                self._failed += 1
                item = items[index]
                delay = redelivery_delay(item.delivery)
                logger.error(
                    "consumer %s: handler failed on %s message %s (delivery %d, in a batch "
                    "of %d); retrying in %.1f s",
                    self._durable,
                    item.subject,
                    message.message_id,
                    item.delivery,
                    len(items),
                    delay,
                    exc_info=failure,
                )
                decisions[index] = Decision(Verdict.RETRY, delay)
        return [d if d is not None else Decision(Verdict.ACK) for d in decisions]

    def _decode(self, item: Delivery) -> M | Decision:
        """The message, or the decision for a payload that could not be decoded."""
        subject, data, headers = item.subject, item.data, item.headers
        delivery, sequence = item.delivery, item.sequence
        try:
            return self._model.decode(data, headers)
        except MessageDecodeError as exc:
            self._rejected += 1
            logger.error(
                "consumer %s rejected stream message %d on %s (not delivered again): %s",
                self._durable,
                sequence,
                subject,
                exc.reason,
            )
            return Decision(Verdict.REJECT)
        except Exception:
            # A fault in our own decoding code (say, an upgrade step), not in the
            # payload: keep the message so a fixed build can still read it.
            self._failed += 1
            delay = redelivery_delay(delivery)
            logger.exception(
                "consumer %s: decoding stream message %d on %s failed; retrying in %.1f s",
                self._durable,
                sequence,
                subject,
                delay,
            )
            return Decision(Verdict.RETRY, delay)
