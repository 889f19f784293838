"""The bus follower of the group supervisors stops at once, even while the bus it was
started on cannot be reached (a `safecity up` stopping with its bus down)."""

from __future__ import annotations

import time

from safecity.contracts.analytics_config import AnalyticsConfigChanged
from safecity.ingest.follower import BusFollower

UNREACHABLE = "nats://127.0.0.1:9"


def test_a_follower_still_connecting_stops_at_once() -> None:
    follower = BusFollower(
        AnalyticsConfigChanged,
        durable="test-follower",
        handler=lambda _: None,
        name="test-follower",
        what="analytics configuration",
    )
    follower.start(UNREACHABLE, timeout=None)
    # Its event loop must be running (trying to connect) before the stop is what is timed.
    deadline = time.monotonic() + 30
    while follower._loop is None:  # its loop starting is not observable otherwise
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.2)
    started = time.monotonic()
    follower.stop(timeout=10.0)
    assert time.monotonic() - started < 5.0, "the stop waited for the connection"
