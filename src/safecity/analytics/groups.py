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

It follows the registry's ``CameraChanged`` too, as ingest does: a camera is analysed
only while ``resolve_url`` gives a URL for it (``safecity up``: while ingest would
run it, so a camera decommissioned, in maintenance or deleted leaves its group), and a
new stream URL reaches its group (the worker starts the camera afresh on it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from safecity.analytics import control
from safecity.contracts.analytics_config import AnalyticsConfigChanged
from safecity.contracts.registry import CameraChanged
from safecity.core.logging import scrub_credentials
from safecity.ingest.follower import BusFollower
from safecity.ingest.process_groups import GroupCommand, GroupRefusal, GroupRun, ProcessGroups

logger = logging.getLogger(__name__)

FOLLOWER_DURABLE = "analytics-supervisor"
REGISTRY_FOLLOWER_DURABLE = "analytics-supervisor-registry"

__all__ = ["FOLLOWER_DURABLE", "REGISTRY_FOLLOWER_DURABLE", "CameraGroups", "GroupCommand"]


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
        """``resolve_url``: the camera's stream URL now, None when it is not to be analysed
        (no stream, or a status in which ingest does not run it either)."""
        self._resolve = resolve_url
        # The newest configuration of every camera heard of, enabled or not: a registry
        # change decides again with it.
        self._configs: dict[str, AnalyticsConfigChanged] = {}
        self._lock = threading.Lock()
        # One placement decision at a time, so that a configuration and a registry change
        # of one camera arriving together cannot leave the older of the two in force.
        self._deciding = threading.Lock()
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
        self._registry_follower = BusFollower(
            CameraChanged,
            durable=REGISTRY_FOLLOWER_DURABLE,
            handler=self._camera_changed,
            name="analytics-supervisor-registry",
            what="camera registry changes",
        )

    # -- running -----------------------------------------------------------------------------

    def start(self) -> None:
        self._placement.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._follower.stop(timeout)
        self._registry_follower.stop(timeout)
        self._placement.stop(timeout)

    def follow(self, bus_url: str, *, timeout: float | None = 60.0) -> None:
        """Apply every ``AnalyticsConfigChanged`` and ``CameraChanged`` from the bus (each
        from a thread of its own). Returns once subscribed and raises ``BusError`` if it
        cannot; with ``timeout=None`` returns at once (a failure is then logged). The
        durable consumers resume where they stopped."""
        self._follower.start(bus_url, timeout=timeout)
        self._registry_follower.start(bus_url, timeout=timeout)

    # -- placement ---------------------------------------------------------------------------

    def apply(self, message: AnalyticsConfigChanged) -> None:
        """Place, update or remove the camera as its (newer) configuration says."""
        camera = message.camera_id
        with self._lock:
            known = self._configs.get(camera)
            if known is not None and message.version <= known.version:
                return  # an older or repeated message: the newest wins
            self._configs[camera] = message
        self._decide(camera)

    def refresh(self, camera: str) -> None:
        """Decide again after a registry change: the camera's stream or status may have
        changed. A camera whose analytics was never configured stays out."""
        with self._lock:
            if camera not in self._configs:
                return
        self._decide(camera)

    def _decide(self, camera: str) -> None:
        with self._deciding:
            with self._lock:
                message = self._configs[camera]
            if not message.config.enabled:
                self.leave(camera)
                return
            url = self._resolve(camera)
            if not url:
                logger.warning(
                    "camera %s: analytics enabled but the camera is not running "
                    "(no stream URL, or a status ingest does not run)",
                    camera,
                )
                self.leave(camera)
                return
            member = _Member(message, SecretStr(url))
            if self._placement.member(camera) != member:
                self._placement.place(camera, member)

    def _camera_changed(self, message: CameraChanged) -> None:
        try:
            self.refresh(message.code)
        except Exception as exc:
            # A camera that cannot be resolved now (the database busy) is decided again with
            # its next change; the others go on.
            logger.error(
                "camera %s: cannot follow its registry change: %s",
                message.code,
                scrub_credentials(str(exc))[:300],
            )

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
