"""The supervisor keeps, per worker, what an admin asks after a crash: restarts, how and
when the last process ended, when it was restarted (shared by ingest and analytics)."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable

import pytest

from safecity.core.clock import utcnow
from safecity.ingest.supervisor import WorkerLaunch, WorkerSupervisor
from safecity.web.workers import describe_exit

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def _until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_killed_worker_is_restarted_and_its_end_is_kept() -> None:
    supervisor = WorkerSupervisor(
        [WorkerLaunch("w", SLEEPER, dict(os.environ))], first_backoff=0.1, poll_seconds=0.05
    )
    supervisor.start()
    try:
        fresh = supervisor.runs()["w"]
        assert fresh.pid is not None
        assert (fresh.restarts, fresh.last_exit_code, fresh.last_exit_at) == (0, None, None)
        before = utcnow()
        os.kill(fresh.pid, signal.SIGKILL)
        _until(lambda: supervisor.runs()["w"].restarts == 1 and supervisor.pid("w") is not None)
        run = supervisor.runs()["w"]
        assert run.pid not in (None, fresh.pid)
        assert run.last_exit_code == -signal.SIGKILL
        assert run.last_exit_at is not None
        assert run.last_restart_at is not None
        assert before <= run.last_exit_at <= run.last_restart_at <= utcnow()
        assert run.refused is None
    finally:
        supervisor.stop(5)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (None, None),
        (1, "exit status 1"),
        (-9, "killed by signal 9 (SIGKILL)"),
        (-6, "killed by signal 6 (SIGABRT)"),
        (-99, "killed by signal 99"),
    ],
)
def test_an_end_is_told_in_words(code: int | None, words: str | None) -> None:
    assert describe_exit(code) == words
