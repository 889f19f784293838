"""Stopping the child servers the platform runs (NATS, Mosquitto, the RTSP simulator,
ingest workers) the same way everywhere."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def terminate(process: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM (let it flush and close its files), SIGKILL if it outlives ``timeout``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


def terminate_all(children: Iterable[subprocess.Popen[Any]], timeout: float) -> None:
    """``terminate`` for many at once: every one is asked first, so stopping N workers
    takes one ``timeout`` at most, not N of them."""
    running = [child for child in children if child.poll() is None]
    for child in running:
        child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in running:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
        child.wait()


def kill(process: subprocess.Popen[Any]) -> None:
    """SIGKILL, as a crash or a power cut would."""
    if process.poll() is None:
        process.kill()
    process.wait()


def log_tail(path: Path, lines: int) -> str:
    """The end of a server's log, for error messages that say why it died."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"
