"""Publish/subscribe over NATS JetStream, with an in-memory twin for unit tests.

Importing this package starts nothing: connect with ``await NatsBus.connect(url)``,
or run a private broker with ``NatsServer(store_dir)``.
"""

from safecity.bus.errors import BusError, BusUnavailable, NatsServerError
from safecity.bus.interface import Bus, Subscription, SubscriptionStats, redelivery_delay
from safecity.bus.memory import MemoryBus, MemoryStore
from safecity.bus.nats import NatsBus
from safecity.bus.server import NatsServer, find_nats_server_binary, free_port

__all__ = [
    "Bus",
    "BusError",
    "BusUnavailable",
    "MemoryBus",
    "MemoryStore",
    "NatsBus",
    "NatsServer",
    "NatsServerError",
    "Subscription",
    "SubscriptionStats",
    "find_nats_server_binary",
    "free_port",
    "redelivery_delay",
]
