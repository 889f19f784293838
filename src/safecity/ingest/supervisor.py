"""Runs worker processes and restarts any that exits, with capped backoff.

A worker is one process (a group of cameras: ingest or analytics, placed by
``ingest.process_groups.ProcessGroups``): a worker that crashes on a bad
stream or model takes only its own cameras down, and only until the supervisor
starts it again. A worker that keeps crashing is
restarted after growing delays (``first_backoff`` doubling up to
``max_backoff``); one that ran for ``healthy_after`` seconds starts again from
the shortest delay. Workers can be added and removed while it runs; a worker
launched with ``stdin=True`` gets a pipe its owner writes commands to
(``send``), and ``on_start`` is called after every start, restarts included.

A worker that exits with ``CONFIG_REFUSED`` (2) refused its configuration (a
setting or a file it reads, such as the plate-rules file, broken since the
start): starting it again at once cannot help. Its reason (the last lines it
wrote to its log) is logged as an error and kept for ``refusal``, and it is
tried again only every ``config_retry`` seconds (5 minutes), so a repaired file
brings the group back without a restart of the whole service. ``refusals`` lists
every worker down for that reason, with the time its refusals began.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from safecity.core import processes
from safecity.core.clock import utcnow
from safecity.core.logging import scrub_credentials
from safecity.ingest.backoff import Backoff

logger = logging.getLogger(__name__)

CONFIG_REFUSED = 2
"""The status a worker exits with when it refuses its configuration (and only then)."""

_REASON_LINES = 5
_REASON_LINE_CHARS = 300
_REASON_READ_BYTES = 64 * 1024


@dataclass(frozen=True)
class WorkerLaunch:
    """How to start one worker: its name, command line and environment."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log_path: Path | None = None
    stdin: bool = False
    """Give the worker a pipe on its stdin (``WorkerSupervisor.send``)."""


@dataclass(frozen=True)
class Refusal:
    """Why a worker is down after refusing its configuration, and since when."""

    reason: str
    """The last lines its latest run wrote, credentials scrubbed."""
    since: datetime
    """UTC: its first refusal of those in a row (the retries in between refused too)."""


@dataclass
class _Managed:
    launch: WorkerLaunch
    backoff: Backoff
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    restarts: int = 0
    exit_codes: list[int] = field(default_factory=list)
    stopped: bool = False  # exited cleanly when told to stop: not restarted
    log_offset: int = 0  # where this run's output starts in the worker's log
    refused: str | None = None  # why it refused its configuration, until it starts again
    refused_since: datetime | None = None  # when its refusals in a row began
    last_exit_at: datetime | None = None  # UTC: when its latest process ended
    last_restart_at: datetime | None = None  # UTC: when it was last started again


@dataclass(frozen=True)
class WorkerRun:
    """What an admin needs to know about one supervised worker: is it running, how often it
    was restarted, how its last process ended and when."""

    name: str
    pid: int | None
    """The running process's id; None while it is down (waiting for its restart)."""
    restarts: int
    last_exit_code: int | None
    """How its latest process ended: its exit status, or minus the signal that killed it;
    None if none has ended yet."""
    last_exit_at: datetime | None
    last_restart_at: datetime | None
    refused: str | None
    """Why it is down, if it refused its configuration."""


STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


class WorkerSupervisor:
    """Starts the workers, watches them from a thread, restarts the ones that fail.

    A worker that exits with status 0 was told to stop (SIGTERM/SIGINT) and stays stopped;
    so does one killed by SIGINT or SIGTERM (signalled before it could handle the signal,
    while still starting). Any other end (a crash, SIGKILL, SIGABRT) is restarted; one
    that refused its configuration (``CONFIG_REFUSED``) only after ``config_retry`` seconds.
    """

    def __init__(
        self,
        launches: Sequence[WorkerLaunch],
        *,
        first_backoff: float = 0.5,
        max_backoff: float = 30.0,
        healthy_after: float = 60.0,
        poll_seconds: float = 0.2,
        config_retry: float = 300.0,
        on_start: Callable[[str], None] | None = None,
    ) -> None:
        self._workers = {
            launch.name: _Managed(launch, Backoff(first_backoff, max_backoff, jitter=0.2))
            for launch in launches
        }
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._healthy_after = healthy_after
        self._poll = poll_seconds
        self._config_retry = config_retry
        self._on_start = on_start
        self._stop = threading.Event()
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the supervisor was already started")
        with self._lock:
            for worker in self._workers.values():
                self._spawn(worker)
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)
        self._thread.start()

    def add(self, launch: WorkerLaunch) -> None:
        """Run one more worker (started at once if the supervisor runs)."""
        worker = _Managed(launch, Backoff(self._first_backoff, self._max_backoff, jitter=0.2))
        with self._lock:
            if launch.name in self._workers:
                raise ValueError(f"a worker named {launch.name!r} is already supervised")
            self._workers[launch.name] = worker
            if self._thread is not None and not self._stop.is_set():
                self._spawn(worker)

    def remove(self, name: str, timeout: float = 10.0) -> None:
        """Stop a worker for good: close its stdin (if it has one), then SIGTERM."""
        with self._lock:
            worker = self._workers.pop(name, None)
        if worker is None or worker.process is None:
            return
        _close_stdin(worker.process)
        processes.terminate(worker.process, timeout)
        _close_stdin(worker.process)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._workers)

    def send(self, name: str, line: bytes) -> bool:
        """Write to a running worker's stdin; False if it is not running (a worker restarted
        later is brought up to date by ``on_start``)."""
        with self._lock:
            worker = self._workers.get(name)
            process = None if worker is None else worker.process
            if process is None or process.stdin is None or process.poll() is not None:
                return False
            try:
                process.stdin.write(line)
                process.stdin.flush()
            except (BrokenPipeError, ValueError):
                return False
            return True

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            children = [w.process for w in self._workers.values() if w.process is not None]
        for child in children:
            _close_stdin(child)
        processes.terminate_all(children, timeout)

    def pid(self, name: str) -> int | None:
        with self._lock:
            worker = self._workers.get(name)
            process = None if worker is None else worker.process
            return None if process is None or process.poll() is not None else process.pid

    def restarts(self, name: str) -> int:
        with self._lock:
            return self._workers[name].restarts

    def exit_codes(self, name: str) -> list[int]:
        """How each of the worker's processes ended (negative: killed by that signal)."""
        with self._lock:
            return list(self._workers[name].exit_codes)

    def runs(self) -> dict[str, WorkerRun]:
        """Every supervised worker as it is now, by name."""
        with self._lock:
            return {name: _run(name, worker) for name, worker in sorted(self._workers.items())}

    def refusal(self, name: str) -> str | None:
        """Why the worker is down, if it refused its configuration (``CONFIG_REFUSED``):
        the last lines it wrote, credentials scrubbed. None while it runs (or for any other
        end)."""
        with self._lock:
            return self._workers[name].refused

    def refusals(self) -> dict[str, Refusal]:
        """Every worker down because it refused its configuration, by name."""
        with self._lock:
            return {
                name: Refusal(worker.refused, worker.refused_since)
                for name, worker in self._workers.items()
                if worker.refused is not None and worker.refused_since is not None
            }

    def _spawn(self, worker: _Managed) -> None:
        launch = worker.launch
        output = None
        worker.refused = None
        if launch.log_path is not None:
            launch.log_path.parent.mkdir(parents=True, exist_ok=True)
            output = launch.log_path.open("ab")
            worker.log_offset = launch.log_path.stat().st_size
        try:
            worker.process = subprocess.Popen(
                list(launch.argv),
                env=dict(launch.env),
                stdin=subprocess.PIPE if launch.stdin else subprocess.DEVNULL,
                stdout=output,
                stderr=output,
            )
        finally:
            if output is not None:
                output.close()
        worker.started_at = time.monotonic()
        worker.restart_at = None
        if self._on_start is not None:
            # Called with the (reentrant) lock held: the owner may ``send`` from it.
            self._on_start(launch.name)

    def _watch(self) -> None:
        while not self._stop.wait(self._poll):
            now = time.monotonic()
            with self._lock:
                for worker in self._workers.values():
                    self._check(worker, now)

    def _check(self, worker: _Managed, now: float) -> None:
        process = worker.process
        if worker.restart_at is not None:
            if now >= worker.restart_at:
                worker.restarts += 1
                worker.last_restart_at = utcnow()
                self._spawn(worker)
            return
        if worker.stopped or process is None or process.poll() is None:
            return
        code = process.returncode
        worker.exit_codes.append(code)
        worker.last_exit_at = utcnow()
        _close_stdin(process)
        if code == 0 or -code in STOP_SIGNALS:
            # A worker exits 0 only when signalled to stop: Ctrl-C reaches the whole
            # process group, and a worker restarted then would outlive its parent.
            worker.stopped = True
            logger.info("worker %s stopped on request", worker.launch.name)
            return
        if now - worker.started_at >= self._healthy_after:
            worker.backoff.reset()
        if code == CONFIG_REFUSED:
            if worker.refused_since is None or now - worker.started_at >= self._healthy_after:
                worker.refused_since = utcnow()  # not a retry that refused again at once
            worker.refused = _refusal_reason(worker)
            worker.restart_at = now + self._config_retry
            logger.error(
                "worker %s refused its configuration (exit status %s): %s; trying again in %.0f s",
                worker.launch.name,
                code,
                worker.refused,
                self._config_retry,
            )
            return
        worker.refused_since = None
        delay = worker.backoff.next_delay()
        worker.restart_at = now + delay
        logger.warning(
            "worker %s exited with %s; restarting in %.1f s",
            worker.launch.name,
            code,
            delay,
        )


def _run(name: str, worker: _Managed) -> WorkerRun:
    process = worker.process
    return WorkerRun(
        name=name,
        pid=None if process is None or process.poll() is not None else process.pid,
        restarts=worker.restarts,
        last_exit_code=worker.exit_codes[-1] if worker.exit_codes else None,
        last_exit_at=worker.last_exit_at,
        last_restart_at=worker.last_restart_at,
        refused=worker.refused,
    )


def _refusal_reason(worker: _Managed) -> str:
    """The last lines of the run's log (what the worker said when it refused), scrubbed."""
    path = worker.launch.log_path
    if path is None:
        return "no log of its own: its reason is in this process's output above it"
    try:
        with path.open("rb") as log:
            log.seek(max(worker.log_offset, path.stat().st_size - _REASON_READ_BYTES))
            tail = log.read(_REASON_READ_BYTES).decode("utf-8", errors="replace")
    except OSError as exc:
        return f"its log {path} cannot be read ({exc.strerror})"
    lines = [line.strip() for line in tail.splitlines() if line.strip()][-_REASON_LINES:]
    if not lines:
        return f"it wrote nothing to its log {path}"
    said = " | ".join(scrub_credentials(line)[:_REASON_LINE_CHARS] for line in lines)
    return f"{said} (log: {path})"


def _close_stdin(process: subprocess.Popen[bytes]) -> None:
    """The end of its input tells a worker to stop; a dead one's pipe may be broken already."""
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
