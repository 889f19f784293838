"""The video workers' groups as the control plane sees them: restarts, crashes, refusals.

``safecity up`` and ``demo`` run the ingest and analytics groups in this process
(``video_workers``); each group object is put on the platform's ``WorkerBoard`` when
it starts, so the API, the health page and ``/metrics`` can say, per group, whether
its process runs, how often the supervisor restarted it, how and when its last
process ended (an exit status, or the signal that killed it: a crash at 3 a.m. is
seen the next morning, not only in a log line), and which cameras it holds; and which
groups are down because their process refused its configuration (a broken
plate-rules file, a bad option), why (the process's last log lines, credentials
scrubbed, never a stream URL), since when, and which cameras are left without service.

A group holds cameras of any district and its reason is about the server's own
settings: only a principal with ``workers.view`` (engineer, administrator) and a
province-wide scope may see them.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Literal, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from pydantic import BaseModel, ConfigDict, Field

from safecity.core.errors import PermissionDenied
from safecity.identity.permissions import Principal

WorkerKind = Literal["ingest", "analytics"]
SEE_WORKERS = "workers.view"
"""The permission that shows refused worker groups (with a province-wide scope)."""


class Refused(Protocol):
    """What a group says about its refusal (``ingest.process_groups.GroupRefusal``)."""

    @property
    def reason(self) -> str: ...
    @property
    def since(self) -> datetime: ...
    @property
    def cameras(self) -> Sequence[str]: ...


class WorkerRunLike(Protocol):
    """How a group's process runs (``ingest.supervisor.WorkerRun``)."""

    @property
    def pid(self) -> int | None: ...
    @property
    def restarts(self) -> int: ...
    @property
    def last_exit_code(self) -> int | None: ...
    @property
    def last_exit_at(self) -> datetime | None: ...
    @property
    def last_restart_at(self) -> datetime | None: ...
    @property
    def refused(self) -> str | None: ...


class GroupRunLike(Protocol):
    """A group's process and cameras (``ingest.process_groups.GroupRun``)."""

    @property
    def run(self) -> WorkerRunLike: ...
    @property
    def cameras(self) -> Sequence[str]: ...


class SupervisedGroups(Protocol):
    """Ingest or analytics groups (``IngestGroups``, ``CameraGroups``)."""

    def refusals(self) -> Mapping[str, Refused]: ...
    def runs(self) -> Mapping[str, GroupRunLike]: ...


def describe_exit(code: int | None) -> str | None:
    """How a process ended, in words: "killed by signal 9 (SIGKILL)", "exit status 1"."""
    if code is None:
        return None
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            return f"killed by signal {-code}"
        return f"killed by signal {-code} ({name})"
    return f"exit status {code}"


class RefusedGroup(BaseModel):
    """A worker group whose process refused its configuration and is tried again later."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="The group (its process's log is <data>/<kind>/<name>.log)")
    kind: WorkerKind = Field(description="Which workers: ingest or analytics")
    since: datetime = Field(description="UTC: when the process began refusing")
    cameras: list[str] = Field(description="The codes of the cameras the group holds")
    reason: str = Field(description="The process's last log lines, credentials scrubbed")


class WorkerGroup(BaseModel):
    """One worker group's process: running or not, its restarts and how it last ended."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="The group (its process's log is <data>/<kind>/<name>.log)")
    kind: WorkerKind = Field(description="Which workers: ingest or analytics")
    running: bool = Field(description="Whether the group's process runs now")
    restarts: int = Field(description="Times the supervisor started the process again")
    last_exit_code: int | None = Field(
        description="How the last process ended: its exit status, or minus the signal that "
        "killed it (-9: SIGKILL); null if none has ended"
    )
    last_exit: str | None = Field(
        description='The same in words ("killed by signal 9 (SIGKILL)", "exit status 1")'
    )
    last_exit_at: datetime | None = Field(description="UTC: when the last process ended")
    last_restart_at: datetime | None = Field(description="UTC: when it was last restarted")
    refused: bool = Field(description="Down because it refused its configuration")
    cameras: list[str] = Field(description="The codes of the cameras the group holds")


class WorkerStatus(BaseModel):
    refused: list[RefusedGroup] = Field(description="Groups down on a refused configuration")
    groups: list[WorkerGroup] = Field(
        default_factory=list,
        description="Every group of this process: restarts, last end, cameras",
    )


class WorkerBoard:
    """The groups this process runs, by kind; empty where it runs none (API-only)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: list[tuple[WorkerKind, SupervisedGroups]] = []

    def add(self, kind: WorkerKind, groups: SupervisedGroups) -> None:
        with self._lock:
            self._groups.append((kind, groups))

    def groups(self) -> list[WorkerGroup]:
        """Every group of this process, ingest and analytics (unchecked: for ``/metrics``
        and for ``status``)."""
        with self._lock:
            sources = list(self._groups)
        return [
            WorkerGroup(
                name=name,
                kind=kind,
                running=group.run.pid is not None,
                restarts=group.run.restarts,
                last_exit_code=group.run.last_exit_code,
                last_exit=describe_exit(group.run.last_exit_code),
                last_exit_at=group.run.last_exit_at,
                last_restart_at=group.run.last_restart_at,
                refused=group.run.refused is not None,
                cameras=list(group.cameras),
            )
            for kind, groups in sources
            for name, group in groups.runs().items()
        ]

    def status(self, principal: Principal) -> WorkerStatus:
        """Every group and every refused group; denied without ``SEE_WORKERS`` or a
        province-wide scope."""
        principal.require(SEE_WORKERS)
        if not principal.all_districts:
            raise PermissionDenied(
                "worker groups serve every district: a province-wide scope is required"
            )
        with self._lock:
            sources = list(self._groups)
        return WorkerStatus(
            refused=[
                RefusedGroup(
                    name=name,
                    kind=kind,
                    since=refusal.since,
                    cameras=list(refusal.cameras),
                    reason=refusal.reason,
                )
                for kind, groups in sources
                for name, refusal in groups.refusals().items()
            ],
            groups=self.groups(),
        )

    def visible_to(self, principal: Principal) -> bool:
        return principal.has_permission(SEE_WORKERS) and principal.all_districts


class WorkerGroupMetrics:
    """The board's groups as Prometheus metrics: restarts (a counter to alert on), up,
    last exit code and time, cameras per group."""

    def __init__(self, board: WorkerBoard) -> None:
        self._board = board

    def collect(self) -> Iterable[Metric]:
        labels = ["kind", "group"]
        restarts = CounterMetricFamily(
            "safecity_worker_group_restarts",
            "Times the supervisor restarted the group's process (after a crash or a kill)",
            labels=labels,
        )
        up = GaugeMetricFamily(
            "safecity_worker_group_up", "1 while the group's process runs", labels=labels
        )
        exit_code = GaugeMetricFamily(
            "safecity_worker_group_last_exit_code",
            "How the group's last process ended: exit status, or minus the killing signal",
            labels=labels,
        )
        restarted = GaugeMetricFamily(
            "safecity_worker_group_last_restart_timestamp_seconds",
            "Unix time of the group's last restart",
            labels=labels,
        )
        cameras = GaugeMetricFamily(
            "safecity_worker_group_cameras", "Cameras the group holds", labels=labels
        )
        for group in self._board.groups():
            key = [group.kind, group.name]
            restarts.add_metric(key, group.restarts)
            up.add_metric(key, 1.0 if group.running else 0.0)
            cameras.add_metric(key, len(group.cameras))
            if group.last_exit_code is not None:
                exit_code.add_metric(key, group.last_exit_code)
            if group.last_restart_at is not None:
                restarted.add_metric(key, group.last_restart_at.timestamp())
        return [restarts, up, exit_code, restarted, cameras]
