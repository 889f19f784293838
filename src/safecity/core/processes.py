"""Stopping the child servers the platform runs (NATS, Mosquitto, the RTSP simulator,
ingest workers) the same way everywhere."""

from __future__ import annotations

import signal
import subprocess
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
