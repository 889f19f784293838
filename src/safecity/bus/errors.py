"""Errors of the bus: the broker is unreachable, refused a message, or could not be started."""

from __future__ import annotations

from safecity.core.errors import SafecityError


class BusError(SafecityError):
    """The bus could not do what was asked (never swallowed: callers decide what to do)."""

    code = "bus_error"
    status = 503


class BusUnavailable(BusError):
    """No broker answered in time."""

    code = "bus_unavailable"


class NatsServerError(BusError):
    """A private nats-server could not be found, started or stopped."""

    code = "nats_server_error"
    status = 500
