"""What every bus offers: publish a message, consume a message type with a durable consumer.

Delivery is at least once and in publish order, one message at a time per
subscription. A message is acknowledged after its handler returns; if the
handler raises, the message comes back later (after a growing delay, by which
time newer messages may have been handled). A payload that cannot be
decoded is logged and dropped for that consumer, because retrying it could
never succeed. Handlers must therefore be idempotent: use ``message_id`` to
recognise a message seen before.

A batch subscription (``subscribe_batch``) hands over what has arrived, up to
``max_batch`` messages in publish order, in one call, so that a consumer can store
them in one transaction. Each message is still acknowledged on its own, after the
handler returns: the handler names the ones it could not handle (they come back
later, like a single handler's failure) and raises only when none was handled.
An undecodable payload is rejected alone and never reaches the handler.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias, TypeVar

from safecity.contracts.base import Message

M = TypeVar("M", bound=Message)

# Given the decoded messages of one delivery batch; returns the ``message_id`` of each
# message to deliver again (an empty collection when all were handled).
BatchHandler: TypeAlias = Callable[[Sequence[M]], Awaitable[Collection[str]]]

# NATS consumer names become subject tokens and file names on the broker.
_DURABLE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_FIRST_REDELIVERY_SECONDS = 0.1
_MAX_REDELIVERY_SECONDS = 30.0


@dataclass(frozen=True)
class SubscriptionStats:
    """Counts since the subscription started (a snapshot)."""

    handled: int = 0
    failed: int = 0
    rejected: int = 0


class Subscription(Protocol):
    @property
    def durable(self) -> str:
        """Name of the durable consumer; another subscription with it resumes where this acked."""
        ...

    @property
    def stats(self) -> SubscriptionStats: ...

    async def stop(self) -> None:
        """Stop receiving. A handler already running is given ``ack_wait_seconds`` to finish;
        anything not acknowledged is delivered again to the next subscriber."""
        ...


class Bus(Protocol):
    async def publish(self, message: Message) -> None:
        """Store ``message``; returns once the broker has acknowledged it (raises otherwise)."""
        ...

    async def subscribe(
        self,
        model: type[M],
        *,
        durable: str,
        handler: Callable[[M], Awaitable[None]],
        ack_wait_seconds: float = 30,
        key: str | None = None,
    ) -> Subscription:
        """Deliver every ``model`` message, from the first one the durable has not acknowledged.

        ``key``: for a type with a ``routing_field``, only the messages whose field has
        this value (one camera's); the broker filters, so others never reach the consumer.

        ``ack_wait_seconds`` is how long an unacknowledged delivery may stay
        outstanding before the broker hands it to someone else (a crashed
        consumer's messages come back after it).
        """
        ...

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
        """As ``subscribe``, but ``handler`` gets up to ``max_batch`` messages at once: what
        has arrived (an idle NATS consumer waits at most its fetch wait to fill a batch),
        see the module docstring."""
        ...

    async def close(self) -> None:
        """Stop every subscription and disconnect."""
        ...


def subject_matches(subject_filter: str, subject: str) -> bool:
    """NATS matching for the filters ``Message.subject_filter`` makes (exact or ``x.>``)."""
    if subject_filter.endswith(".>"):
        return subject.startswith(subject_filter[:-1]) and len(subject) > len(subject_filter) - 1
    return subject == subject_filter


def validate_subscription(durable: str, ack_wait_seconds: float) -> None:
    if not _DURABLE.fullmatch(durable):
        raise ValueError(
            f"durable name {durable!r} must be 1-64 characters of letters, digits, '_' or '-'"
        )
    if not ack_wait_seconds > 0:
        raise ValueError(f"ack_wait_seconds must be positive, got {ack_wait_seconds}")


def redelivery_delay(delivery: int) -> float:
    """Wait before delivery number ``delivery + 1`` after a failed one: 0.1 s doubling to 30 s."""
    exponent = min(max(delivery, 1) - 1, 16)
    return min(_FIRST_REDELIVERY_SECONDS * 2.0**exponent, _MAX_REDELIVERY_SECONDS)
