"""Cameras placed in groups, one worker process per group, following the configuration bus.

``CameraGroups`` places cameras with ``ingest.process_groups.ProcessGroups``
(shared with ingest): a camera is in exactly one group, a group has at most
``per_process`` cameras (a new camera joins the emptiest group with room, else
a new one). Each group is a ``python -m safecity.analytics --group
NAME`` process under a ``WorkerSupervisor``, told its cameras over its stdin
(``analytics.control``); when the supervisor restarts a crashed group, it is
told all its cameras again.

``follow(bus_url)`` keeps the placement in step with ``AnalyticsConfigChanged``
on the bus: enabled -> the camera joins a group (or its group gets the newer
configuration); disabled -> it leaves (an emptied group's process stops).
Those messages carry no stream URL (they travel on a general subject): the
URL comes from ``resolve_url``, which the owner provides from where it keeps
credentials (the demo: the registry, decrypted in the control-plane process
that runs this supervisor), and reaches the worker only through its stdin.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from safecity.analytics import control
from safecity.contracts.analytics_config import AnalyticsConfigChanged
from safecity.ingest.follower import BusFollower
from safecity.ingest.process_groups import GroupCommand, GroupRefusal, GroupRun, ProcessGroups

logger = logging.getLogger(__name__)

FOLLOWER_DURABLE = "analytics-supervisor"

__all__ = ["FOLLOWER_DURABLE", "CameraGroups", "GroupCommand"]


@dataclass(frozen=True)
class _Member:
    message: AnalyticsConfigChanged
    url: SecretStr


def _add_line(member: _Member) -> bytes:
    return control.encode(control.AddCamera(config=member.message, stream_url=member.url))


def _remove_line(camera: str) -> bytes:
    return control.encode(control.RemoveCamera(camera_id=camera))


class CameraGroups:
    def __init__(
        self,
        command: GroupCommand,
        resolve_url: Callable[[str], str | None],
        *,
        per_process: int = 8,
        first_backoff: float = 0.5,
        max_backoff: float = 30.0,
        config_retry: float = 300.0,
    ) -> None:
        self._resolve = resolve_url
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()
        self._placement: ProcessGroups[_Member] = ProcessGroups(
            prefix="group",
            launch=command.launch,
            add_line=_add_line,
            remove_line=_remove_line,
            per_process=per_process,
            first_backoff=first_backoff,
            max_backoff=max_backoff,
            config_retry=config_retry,
        )
        self._follower = BusFollower(
            AnalyticsConfigChanged,
            durable=FOLLOWER_DURABLE,
            handler=self.apply,
            name="analytics-supervisor",
            what="analytics configuration",
        )

    # -- running -----------------------------------------------------------------------------

    def start(self) -> None:
        self._placement.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._follower.stop(timeout)
        self._placement.stop(timeout)

    def follow(self, bus_url: str, *, timeout: float | None = 60.0) -> None:
        """Apply every ``AnalyticsConfigChanged`` from the bus (from a thread of its own).
        Returns once subscribed and raises ``BusError`` if it cannot; with ``timeout=None``
        returns at once (a failure is then logged). The durable consumer resumes where it
        stopped."""
        self._follower.start(bus_url, timeout=timeout)

    # -- placement ---------------------------------------------------------------------------

    def apply(self, message: AnalyticsConfigChanged) -> None:
        """Place, update or remove the camera as its (newer) configuration says."""
        camera = message.camera_id
        with self._lock:
            if message.version <= self._versions.get(camera, 0):
                return  # an older or repeated message: the newest wins
            self._versions[camera] = message.version
        if not message.config.enabled:
            self.leave(camera)
            return
        url = self._resolve(camera)
        if not url:
            logger.warning("camera %s: analytics enabled but no stream URL is known", camera)
            self.leave(camera)
            return
        self._placement.place(camera, _Member(message, SecretStr(url)))

    def leave(self, camera: str) -> None:
        """The camera stops being analysed; a group left empty stops its process."""
        self._placement.leave(camera)

    def groups(self) -> dict[str, list[str]]:
        """Each group's cameras."""
        return self._placement.groups()

    def group_of(self, camera: str) -> str | None:
        return self._placement.group_of(camera)

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
