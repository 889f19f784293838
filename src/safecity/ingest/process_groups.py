"""Cameras placed in groups, one supervised worker process per group.

Shared by ingest (``ingest.groups``) and analytics (``analytics.groups``): a
camera is in exactly one group, a group has at most ``per_process`` cameras (a
new camera joins the emptiest group with room, else a new one). Each group is a
process under a ``WorkerSupervisor`` with a pipe on its stdin; the owner says
how a camera is told to the process (``add_line``) and how it is taken away
(``remove_line``). When the supervisor (re)starts a group's process, every
camera it holds is told to it again, so a crash loses no placement.

A line may carry a stream URL with its password: it goes only down the pipe
to the group's own process, never into a log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Generic, TypeVar

from safecity.ingest.supervisor import WorkerLaunch, WorkerRun, WorkerSupervisor

logger = logging.getLogger(__name__)

MemberT = TypeVar("MemberT")


@dataclass(frozen=True)
class GroupRefusal:
    """A group whose process refused its configuration: why, since when, and the cameras
    it leaves without service."""

    reason: str
    since: datetime
    cameras: tuple[str, ...]


@dataclass(frozen=True)
class GroupRun:
    """A group's process as its supervisor sees it (running, restarts, last end) and the
    cameras the group holds."""

    run: WorkerRun
    cameras: tuple[str, ...]


@dataclass(frozen=True)
class GroupCommand:
    """How to start a group's process: the command line (``--group NAME`` is added)."""

    argv: Sequence[str]
    env: Mapping[str, str]
    log_dir: Path | None = None

    def launch(self, group: str) -> WorkerLaunch:
        """The group's process, its output in ``<log_dir>/<group>.log``, a pipe on its stdin."""
        log = None if self.log_dir is None else self.log_dir / f"{group}.log"
        return WorkerLaunch(
            name=group, argv=[*self.argv, "--group", group], env=self.env, log_path=log, stdin=True
        )


class ProcessGroups(Generic[MemberT]):
    """The placement of cameras (each with its ``MemberT``, what its group is told)."""

    def __init__(
        self,
        *,
        prefix: str,
        launch: Callable[[str], WorkerLaunch],
        add_line: Callable[[MemberT], bytes],
        remove_line: Callable[[str], bytes],
        per_process: int = 8,
        first_backoff: float = 0.5,
        max_backoff: float = 30.0,
        config_retry: float = 300.0,
    ) -> None:
        if per_process < 1:
            raise ValueError("a group holds at least one camera")
        self._prefix = prefix
        self._launch = launch
        self._add_line = add_line
        self._remove_line = remove_line
        self._per_process = per_process
        self._members: dict[str, dict[str, MemberT]] = {}
        self._group_of: dict[str, str] = {}
        self._lock = threading.Lock()
        self._serial = 0
        self._supervisor = WorkerSupervisor(
            [],
            first_backoff=first_backoff,
            max_backoff=max_backoff,
            config_retry=config_retry,
            on_start=self._started,
        )

    def start(self) -> None:
        self._supervisor.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._supervisor.stop(timeout)

    def place(self, camera: str, member: MemberT) -> None:
        """Put the camera in a group, or tell its group its new ``member``."""
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
            self._send(group, self._add_line(member))

    def leave(self, camera: str) -> None:
        """Take the camera out of its group; a group left empty stops its process."""
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
            self._send(group, self._remove_line(camera))

    def groups(self) -> dict[str, list[str]]:
        """Each group's cameras."""
        with self._lock:
            return {name: sorted(members) for name, members in self._members.items()}

    def group_of(self, camera: str) -> str | None:
        with self._lock:
            return self._group_of.get(camera)

    def member(self, camera: str) -> MemberT | None:
        with self._lock:
            group = self._group_of.get(camera)
            return None if group is None else self._members[group].get(camera)

    def pid(self, group: str) -> int | None:
        return self._supervisor.pid(group)

    def restarts(self, group: str) -> int:
        return self._supervisor.restarts(group)

    def exit_codes(self, group: str) -> list[int]:
        return self._supervisor.exit_codes(group)

    def runs(self) -> dict[str, GroupRun]:
        """Every group's process (restarts, how and when it last ended) with its cameras."""
        runs = self._supervisor.runs()
        with self._lock:
            return {
                name: GroupRun(run, tuple(sorted(self._members.get(name, ()))))
                for name, run in runs.items()
            }

    def refusal(self, group: str) -> str | None:
        """Why the group's process is down if it refused its configuration (exit status 2):
        what it said; None otherwise. It is tried again every ``config_retry`` seconds."""
        return self._supervisor.refusal(group)

    def refusals(self) -> dict[str, GroupRefusal]:
        """Every group whose process is down because it refused its configuration."""
        refused = self._supervisor.refusals()
        with self._lock:
            return {
                name: GroupRefusal(r.reason, r.since, tuple(sorted(self._members.get(name, ()))))
                for name, r in sorted(refused.items())
            }

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
        return f"{self._prefix}-{self._serial}"

    def _started(self, group: str) -> None:
        """A group's process (re)started: tell it every camera it has."""
        with self._lock:
            members = list(self._members.get(group, {}).values())
        for member in members:
            self._send(group, self._add_line(member))

    def _send(self, group: str, line: bytes) -> None:
        if not self._supervisor.send(group, line):
            # Not running now: the restart (``_started``) brings it up to date.
            logger.info("group %s not running; it gets its cameras when it starts", group)
