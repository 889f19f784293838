"""Simulated RTSP cameras: start, check and stop GStreamer's RTSP server serving MP4 clips.

The server itself (``rtsp_server_main.py``) runs under Debian's
``/usr/bin/python3``, which has GStreamer's Python bindings; this module runs
anywhere and only launches it. Each mount loops one H.264 clip as a live
camera at ``rtsp://127.0.0.1:<port>/<camera_id>``, optionally behind its own
user name and password. ``start()`` returns once every mount answers DESCRIBE
with 200 (a session description), i.e. once a client can really play it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from urllib.parse import quote

from safecity.core import processes
from safecity.core.errors import SafecityError

HOST = "127.0.0.1"
SYSTEM_PYTHON = Path("/usr/bin/python3")
SERVER_SCRIPT = Path(__file__).with_name("rtsp_server_main.py")
# 554 is RTSP's own port and 8554 the usual RTSP server port on a developer's
# machine: a simulated camera never takes either.
RESERVED_PORTS = frozenset({554, 8554})
EXIT_CANNOT_LISTEN = 3  # rtsp_server_main.EXIT_CANNOT_LISTEN (it cannot be imported here)
_CAMERA_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PROBE = (
    "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
    "from gi.repository import GstRtspServer"
)
_LOG_TAIL_LINES = 20
_POLL_SECONDS = 0.05
_DESCRIBE_TIMEOUT_SECONDS = 2.0


class RtspServerError(SafecityError):
    """The simulated-camera RTSP server could not be started or stopped."""

    code = "rtsp_server_error"


@dataclass(frozen=True)
class RtspMount:
    """One simulated camera: a clip served at ``/<camera_id>``."""

    camera_id: str
    clip: Path
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    clock_offset_seconds: float = 0.0
    """The camera's clock minus true time, as its RTCP sender reports show it."""

    def __post_init__(self) -> None:
        if not _CAMERA_ID.fullmatch(self.camera_id):
            raise ValueError(
                f"camera id {self.camera_id!r} must be 1-64 letters, digits, '.', '_' or '-'"
            )
        if (self.user is None) != (self.password is None):
            raise ValueError("give both a user and a password, or neither")
        if self.user is not None and ":" in self.user:
            raise ValueError("a user name for Basic authentication cannot contain ':'")


def gstreamer_unavailable_reason(python: Path = SYSTEM_PYTHON) -> str | None:
    """Why the RTSP server cannot run here, or None when it can."""
    if not python.is_file():
        return f"{python} not found (Debian's python3 runs the RTSP server)"
    try:
        result = subprocess.run(
            [str(python), "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {python}: {exc}"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        return (
            f"{python} cannot import GStreamer's RTSP server ({last}); install "
            "gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi "
            "gstreamer1.0-plugins-{base,good,bad} gstreamer1.0-libav"
        )
    return None


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now, never a reserved RTSP port."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
        if port not in RESERVED_PORTS:
            return port


def describe_status(
    port: int, mount: RtspMount, timeout: float = _DESCRIBE_TIMEOUT_SECONDS
) -> int | None:
    """The status code of a DESCRIBE of ``mount`` (with its credentials), None if nobody answers."""
    lines = [
        f"DESCRIBE rtsp://{HOST}:{port}/{mount.camera_id} RTSP/1.0",
        "CSeq: 1",
        "Accept: application/sdp",
        "User-Agent: safecity-sim",
    ]
    if mount.user is not None and mount.password is not None:
        token = base64.b64encode(f"{mount.user}:{mount.password}".encode()).decode()
        lines.append(f"Authorization: Basic {token}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as connection:
            connection.sendall(request)
            status_line = connection.makefile("rb").readline(1024)
    except OSError:
        return None
    parts = status_line.split()
    if len(parts) >= 2 and parts[0].startswith(b"RTSP/") and parts[1].isdigit():
        return int(parts[1])
    return None


class RtspServer:
    """A GStreamer RTSP server process serving ``mounts`` on 127.0.0.1.

    ``start()`` picks a free port the first time; ``stop()`` then ``start()``
    again serves on the same port, so clients see a camera that went away and
    came back. Use it as a context manager in tests.
    """

    def __init__(
        self,
        mounts: Sequence[RtspMount],
        *,
        log_path: Path,
        port: int | None = None,
        python: Path = SYSTEM_PYTHON,
        max_threads: int | None = None,
        start_timeout_seconds: float = 30.0,
        stop_timeout_seconds: float = 5.0,
    ) -> None:
        if not mounts:
            raise ValueError("an RTSP server needs at least one mount")
        ids = [mount.camera_id for mount in mounts]
        if len(set(ids)) != len(ids):
            raise ValueError("camera ids of the mounts must be unique")
        if port is not None and (port in RESERVED_PORTS or not 0 < port < 65536):
            raise ValueError(f"port {port} is reserved or out of range")
        self._mounts = {mount.camera_id: mount for mount in mounts}
        self._log_path = Path(log_path)
        self._port = port
        self._python = python
        # One pool thread per client connection: the default of 1 refuses most
        # of 20 simultaneous clients (ENVIRONMENT.md, "Video").
        self._max_threads = max_threads or max(16, 2 * len(mounts) + 8)
        self._start_timeout = start_timeout_seconds
        self._stop_timeout = stop_timeout_seconds
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RtspServerError("the RTSP server has no port yet: start() it first")
        return self._port

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self.running else None

    @property
    def log_path(self) -> Path:
        return self._log_path

    def url(self, camera_id: str, *, with_credentials: bool = True) -> str:
        """The camera's RTSP URL; with its user and password unless told otherwise."""
        mount = self._mounts[camera_id]
        userinfo = ""
        if with_credentials and mount.user is not None and mount.password is not None:
            userinfo = f"{quote(mount.user, safe='')}:{quote(mount.password, safe='')}@"
        return f"rtsp://{userinfo}{HOST}:{self.port}/{camera_id}"

    def start(self) -> None:
        if self.running:
            raise RtspServerError(f"the RTSP server is already running on port {self.port}")
        reason = gstreamer_unavailable_reason(self._python)
        if reason is not None:
            raise RtspServerError(reason)
        fixed_port = self._port is not None
        deadline = time.monotonic() + self._start_timeout
        while True:
            port = self._port if self._port is not None else free_port()
            code = self._launch(port, deadline)
            if code is None:
                self._port = port  # a restart serves on the same port
                return
            if code != EXIT_CANNOT_LISTEN or time.monotonic() > deadline:
                raise RtspServerError(
                    f"the RTSP server exited with code {code} while starting on port {port}; "
                    f"its log ({self._log_path}) ends with:\n{self.log_tail()}"
                )
            if fixed_port:
                # The old socket of a restarted server may linger for a moment.
                time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if the server does not exit in time."""
        process = self._process
        if process is None:
            return
        try:
            processes.terminate(process, self._stop_timeout)
        finally:
            self._forget()

    def kill(self) -> None:
        """SIGKILL, as a camera losing power would."""
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
        return processes.log_tail(self._log_path, lines)

    def _launch(self, port: int, deadline: float) -> int | None:
        """Run the server on ``port``; None once every mount answers, else its exit code."""
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self._log_path.open("ab")
        try:
            self._process = subprocess.Popen(
                [str(self._python), str(SERVER_SCRIPT)],
                stdin=subprocess.PIPE,
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            self._forget()
            raise RtspServerError(f"cannot run {self._python}: {exc}") from exc
        process = self._process
        stdin = process.stdin
        if stdin is None:
            raise RtspServerError("the RTSP server has no stdin")
        # Passwords go through a pipe, never on the command line (visible to every user).
        with contextlib.suppress(BrokenPipeError):
            stdin.write(self._config(port))
            stdin.close()
        waiting = list(self._mounts.values())
        while waiting:
            code = process.poll()
            if code is not None:
                self._forget()
                return code
            if time.monotonic() > deadline:
                self.kill()
                raise RtspServerError(
                    f"the RTSP server did not answer DESCRIBE for {waiting[0].camera_id} on "
                    f"port {port} within {self._start_timeout:.0f} s; its log "
                    f"({self._log_path}) ends with:\n{self.log_tail()}"
                )
            if describe_status(port, waiting[0]) == 200:
                waiting.pop(0)
            else:
                time.sleep(_POLL_SECONDS)
        return None

    def _config(self, port: int) -> bytes:
        mounts = [
            {
                "camera_id": mount.camera_id,
                "clip": str(Path(mount.clip).resolve()),
                "user": mount.user,
                "password": mount.password,
                "clock_offset_seconds": mount.clock_offset_seconds,
            }
            for mount in self._mounts.values()
        ]
        config = {"host": HOST, "port": port, "max_threads": self._max_threads, "mounts": mounts}
        return json.dumps(config).encode()

    def _forget(self) -> None:
        self._process = None
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None
