"""Cameras placed in groups, one worker process per group, following the configuration bus.

``CameraGroups`` owns the placement: a camera is in exactly one group, a group
has at most ``per_process`` cameras (a new camera joins the emptiest group with
room, else a new one). Each group is a ``python -m safecity.analytics --group
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

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from safecity.analytics import control
from safecity.analytics.supervisor import WorkerLaunch, WorkerSupervisor
from safecity.bus.errors import BusError
from safecity.contracts.analytics_config import AnalyticsConfigChanged
from safecity.core.logging import scrub_credentials

logger = logging.getLogger(__name__)

FOLLOWER_DURABLE = "analytics-supervisor"


@dataclass(frozen=True)
class GroupCommand:
    """How to start a group's process: the command line (``--group NAME`` is added)."""

    argv: Sequence[str]
    env: Mapping[str, str]
    log_dir: Path | None = None


@dataclass(frozen=True)
class _Member:
    message: AnalyticsConfigChanged
    url: SecretStr


class CameraGroups:
    def __init__(
        self,
        command: GroupCommand,
        resolve_url: Callable[[str], str | None],
        *,
        per_process: int = 8,
        first_backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        if per_process < 1:
            raise ValueError("a group holds at least one camera")
        self._command = command
        self._resolve = resolve_url
        self._per_process = per_process
        self._members: dict[str, dict[str, _Member]] = {}
        self._group_of: dict[str, str] = {}
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()
        self._serial = 0
        self._supervisor = WorkerSupervisor(
            [], first_backoff=first_backoff, max_backoff=max_backoff, on_start=self._started
        )
        self._follower: threading.Thread | None = None
        self._follower_stop: asyncio.Event | None = None
        self._follower_loop: asyncio.AbstractEventLoop | None = None
        self._following = threading.Event()

    # -- running -----------------------------------------------------------------------------

    def start(self) -> None:
        self._supervisor.start()

    def stop(self, timeout: float = 10.0) -> None:
        loop, stop = self._follower_loop, self._follower_stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the follower's loop already ended
                loop.call_soon_threadsafe(stop.set)
        if self._follower is not None:
            self._follower.join(timeout)
        self._supervisor.stop(timeout)

    def follow(self, bus_url: str, *, timeout: float | None = 60.0) -> None:
        """Apply every ``AnalyticsConfigChanged`` from the bus (from a thread of its own).
        Returns once subscribed and raises ``BusError`` if it cannot; with ``timeout=None``
        returns at once (a failure is then logged). The durable consumer resumes where it
        stopped."""
        failure: list[BaseException] = []
        self._follower = threading.Thread(
            target=self._follow, args=(bus_url, failure), name="analytics-groups", daemon=True
        )
        self._follower.start()
        if timeout is None:
            return
        if not self._following.wait(timeout) or failure:
            reason = scrub_credentials(str(failure[0])) if failure else "timed out"
            raise BusError(f"cannot follow analytics configuration: {reason}")

    def _follow(self, bus_url: str, failure: list[BaseException]) -> None:
        async def serve() -> None:
            from safecity.bus.nats import NatsBus

            self._follower_loop = asyncio.get_running_loop()
            self._follower_stop = asyncio.Event()
            try:
                bus = await NatsBus.connect(bus_url, name="analytics-supervisor")
            except (BusError, ValueError) as exc:
                failure.append(exc)
                self._following.set()
                return
            try:
                await bus.subscribe(
                    AnalyticsConfigChanged, durable=FOLLOWER_DURABLE, handler=self._changed
                )
            except BusError as exc:
                failure.append(exc)
                self._following.set()
                await bus.close()
                return
            try:
                self._following.set()
                await self._follower_stop.wait()
            finally:
                await bus.close()

        asyncio.run(serve())
        if failure:
            logger.warning(
                "analytics configuration changes are not followed: %s",
                scrub_credentials(str(failure[0])),
            )

    async def _changed(self, message: AnalyticsConfigChanged) -> None:
        await asyncio.to_thread(self.apply, message)

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
        member = _Member(message, SecretStr(url))
        with self._lock:
            group = self._group_of.get(camera)
            if group is None:
                group = self._choose_group()
                self._group_of[camera] = group
            fresh = group not in self._members
            self._members.setdefault(group, {})[camera] = member
        if fresh:
            self._supervisor.add(self._launch(group))  # its start sends every member
        else:
            self._send(group, control.AddCamera(config=message, stream_url=member.url))

    def leave(self, camera: str) -> None:
        """The camera stops being analysed; a group left empty stops its process."""
        with self._lock:
            group = self._group_of.pop(camera, None)
            if group is None:
                return
            members = self._members[group]
            members.pop(camera, None)
            emptied = not members
            if emptied:
                del self._members[group]
        if emptied:
            self._supervisor.remove(group)
        else:
            self._send(group, control.RemoveCamera(camera_id=camera))

    def groups(self) -> dict[str, list[str]]:
        """Each group's cameras."""
        with self._lock:
            return {name: sorted(members) for name, members in self._members.items()}

    def group_of(self, camera: str) -> str | None:
        with self._lock:
            return self._group_of.get(camera)

    def pid(self, group: str) -> int | None:
        return self._supervisor.pid(group)

    def restarts(self, group: str) -> int:
        return self._supervisor.restarts(group)

    def exit_codes(self, group: str) -> list[int]:
        return self._supervisor.exit_codes(group)

    def _choose_group(self) -> str:
        """The emptiest group with room, else a new one (called with the lock held)."""
        open_groups = [
            (len(members), name)
            for name, members in self._members.items()
            if len(members) < self._per_process
        ]
        if open_groups:
            return min(open_groups)[1]
        self._serial += 1
        return f"group-{self._serial}"

    def _launch(self, group: str) -> WorkerLaunch:
        log = None if self._command.log_dir is None else self._command.log_dir / f"{group}.log"
        return WorkerLaunch(
            name=group,
            argv=[*self._command.argv, "--group", group],
            env=self._command.env,
            log_path=log,
            stdin=True,
        )

    def _started(self, group: str) -> None:
        """A group's process (re)started: tell it every camera it has."""
        with self._lock:
            members = list(self._members.get(group, {}).values())
        for member in members:
            self._send(group, control.AddCamera(config=member.message, stream_url=member.url))

    def _send(self, group: str, command: control.AddCamera | control.RemoveCamera) -> None:
        if not self._supervisor.send(group, control.encode(command)):
            # Not running now: the restart (``_started``) brings it up to date.
            logger.info("group %s not running; it gets its cameras when it starts", group)
