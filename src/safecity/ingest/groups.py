"""The ingest of every camera, in groups of cameras per process, following the registry.

``IngestGroups`` places each camera to ingest in a group (``ProcessGroups``,
shared with analytics: at most ``per_process`` cameras a group, a process
each, supervised and restarted with backoff; a restarted group is told all its
cameras again). A group process (``python -m safecity.ingest --group NAME``,
``ingest.group_main``) learns its cameras, stream URLs included, over its
stdin (``ingest.control``): never a command line, an environment or a log.

``follow(bus_url)`` keeps the placement in step with the registry: every
``CameraChanged`` (created, updated, deleted) makes it ask ``resolve`` what the
camera is now; a camera installed or given a stream joins a group, one
decommissioned, deleted or without a stream leaves (its segment is closed), a
new stream URL or recording mode is handed to the camera's group. Those
messages carry no URL (they travel on a general subject): ``resolve`` reads it
where the owner keeps credentials (``safecity up``: the registry, decrypted in
the control-plane process that runs this supervisor).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from safecity.contracts.ingest import RecordingMode
from safecity.contracts.registry import CameraChanged
from safecity.core.logging import scrub_credentials
from safecity.ingest import control
from safecity.ingest.follower import BusFollower
from safecity.ingest.process_groups import GroupCommand, GroupRefusal, GroupRun, ProcessGroups

logger = logging.getLogger(__name__)

FOLLOWER_DURABLE = "ingest-supervisor"


@dataclass(frozen=True)
class IngestCamera:
    """One camera to ingest: code, stream URL (with credentials), recording mode."""

    code: str
    stream_url: str
    recording_mode: RecordingMode

    def __repr__(self) -> str:  # never the URL: it may carry a password
        return f"IngestCamera(code={self.code!r}, recording_mode={self.recording_mode!r})"


def _add_line(camera: IngestCamera) -> bytes:
    return control.encode(
        control.AddCamera(
            camera_id=camera.code,
            stream_url=SecretStr(camera.stream_url),
            recording_mode=camera.recording_mode,
        )
    )


def _remove_line(code: str) -> bytes:
    return control.encode(control.RemoveCamera(camera_id=code))


class IngestGroups:
    def __init__(
        self,
        command: GroupCommand,
        resolve: Callable[[str], IngestCamera | None],
        *,
        per_process: int = 8,
        only: Callable[[str], bool] | None = None,
        first_backoff: float = 0.5,
        max_backoff: float = 30.0,
        config_retry: float = 300.0,
    ) -> None:
        """``resolve``: the camera as it is now, None when it is not to be ingested;
        ``only``: which camera codes this supervisor looks after (default: every one)."""
        self._resolve = resolve
        self._only = only
        self._placement: ProcessGroups[IngestCamera] = ProcessGroups(
            prefix="ingest",
            launch=command.launch,
            add_line=_add_line,
            remove_line=_remove_line,
            per_process=per_process,
            first_backoff=first_backoff,
            max_backoff=max_backoff,
            config_retry=config_retry,
        )
        self._follower = BusFollower(
            CameraChanged,
            durable=FOLLOWER_DURABLE,
            handler=self._changed,
            name="ingest-supervisor",
            what="camera registry changes",
        )

    def start(self) -> None:
        self._placement.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._follower.stop(timeout)
        self._placement.stop(timeout)

    def follow(self, bus_url: str, *, timeout: float | None = 60.0) -> None:
        """Follow ``CameraChanged`` on the bus (from a thread of its own). Returns once
        subscribed and raises ``BusError`` if it cannot; with ``timeout=None`` returns at
        once (a failure is then logged)."""
        self._follower.start(bus_url, timeout=timeout)

    def apply(self, camera: IngestCamera) -> None:
        """Ingest the camera (its group is told a new stream or mode; nothing if unchanged)."""
        if self._placement.member(camera.code) == camera:
            return
        self._placement.place(camera.code, camera)

    def leave(self, code: str) -> None:
        """Stop ingesting the camera; a group left empty stops its process."""
        self._placement.leave(code)

    def refresh(self, code: str) -> None:
        """Ingest the camera as ``resolve`` says it is now, or stop ingesting it."""
        camera = self._resolve(code)
        if camera is None:
            self.leave(code)
        else:
            self.apply(camera)

    def groups(self) -> dict[str, list[str]]:
        return self._placement.groups()

    def group_of(self, code: str) -> str | None:
        return self._placement.group_of(code)

    def pid(self, group: str) -> int | None:
        return self._placement.pid(group)

    def restarts(self, group: str) -> int:
        return self._placement.restarts(group)

    def exit_codes(self, group: str) -> list[int]:
        return self._placement.exit_codes(group)

    def runs(self) -> dict[str, GroupRun]:
        """Every group's process (restarts, how and when it last ended) with its cameras."""
        return self._placement.runs()

    def refusal(self, group: str) -> str | None:
        """Why the group's process is down if it refused its configuration (exit status 2):
        what it said; None otherwise. It is tried again every ``config_retry`` seconds."""
        return self._placement.refusal(group)

    def refusals(self) -> dict[str, GroupRefusal]:
        """Every group whose process refused its configuration: why, since when, its
        cameras."""
        return self._placement.refusals()

    def _changed(self, message: CameraChanged) -> None:
        if self._only is not None and not self._only(message.code):
            return
        try:
            self.refresh(message.code)
        except Exception as exc:
            # A camera that cannot be resolved now (the database busy) is retried with its
            # next change; the others go on.
            logger.error(
                "camera %s: cannot follow its registry change: %s",
                message.code,
                scrub_credentials(str(exc))[:300],
            )
