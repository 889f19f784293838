"""Stopping child processes: asked politely first, killed if they outlive the timeout."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from safecity.core import processes

STUBBORN = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)
POLITE = "import sys, time\nprint('ready', flush=True)\ntime.sleep(60)\n"


def spawn(code: str) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"  # its signal handler is in place
    return child


def test_terminate_all_shares_one_timeout_and_kills_whoever_ignores_it() -> None:
    stubborn = [spawn(STUBBORN) for _ in range(3)]
    polite = spawn(POLITE)
    started = time.monotonic()
    processes.terminate_all([*stubborn, polite], timeout=1.0)
    elapsed = time.monotonic() - started
    assert polite.returncode == -signal.SIGTERM
    assert [child.returncode for child in stubborn] == [-signal.SIGKILL] * 3
    # One after the other this would take three timeouts.
    assert elapsed < 2.5, elapsed
    for child in [*stubborn, polite]:
        assert child.stdout is not None
        child.stdout.close()


def test_terminate_all_leaves_finished_children_alone() -> None:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    processes.terminate_all([done], timeout=1.0)
    assert done.returncode == 0
