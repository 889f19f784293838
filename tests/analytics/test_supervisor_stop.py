"""A worker that stops cleanly on request is not brought back by the supervisor."""

from __future__ import annotations

import os
import sys
import time

from safecity.analytics.supervisor import WorkerLaunch, WorkerSupervisor


def test_a_worker_that_exits_cleanly_stays_stopped_and_a_failing_one_is_restarted() -> None:
    launches = [
        WorkerLaunch("clean", [sys.executable, "-c", "raise SystemExit(0)"], dict(os.environ)),
        WorkerLaunch("failing", [sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ)),
    ]
    supervisor = WorkerSupervisor(launches, first_backoff=0.05, max_backoff=0.1, poll_seconds=0.02)
    supervisor.start()
    try:
        deadline = time.monotonic() + 20
        while supervisor.restarts("failing") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert supervisor.restarts("failing") >= 2
        assert supervisor.restarts("clean") == 0
        assert supervisor.pid("clean") is None
    finally:
        supervisor.stop(timeout=2)
