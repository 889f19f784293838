"""Running the `safecity` command as a user does, in tests: its own process group, its
children found through /proc, and never left behind by a failing test."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

SAFECITY = Path(sys.executable).with_name("safecity")


def start_safecity(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """`safecity ARGS` with text pipes, in a session of its own: a signal to its group is
    a terminal's Ctrl-C, and a failed run can take every child down with it (an orphaned
    server holding the pipes would hang ``communicate`` for the whole run)."""
    return subprocess.Popen(
        [str(SAFECITY), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@contextlib.contextmanager
def killed_on_failure(process: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """Whatever the block raises, the process group is gone afterwards, and so are the
    children that run in sessions of their own (the private NATS server does, so that a
    terminal's Ctrl-C does not stop the bus first)."""
    try:
        yield process
    finally:
        if process.poll() is None:
            children = descendants(process.pid)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.communicate(timeout=30)


def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid``, with its command line (arguments joined by spaces)."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # Field 4 is the parent pid; the command name in field 2 may contain spaces.
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if parent == pid:
            found[int(entry.name)] = cmdline.replace("\0", " ")
            found |= descendants(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running (a zombie awaiting its parent does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
