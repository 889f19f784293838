"""The video workers' groups as the control plane sees them: which refused their configuration.

``safecity up`` and ``demo`` run the ingest and analytics groups in this process
(``video_workers``); each group object is put on the platform's ``WorkerBoard`` when
it starts, so the API and the health page can say which groups are down because
their process refused its configuration (a broken plate-rules file, a bad option),
why (the process's last log lines, credentials scrubbed, never a stream URL), since
when, and which cameras are left without service.

A group holds cameras of any district and its reason is about the server's own
settings: only a principal with ``workers.view`` (engineer, administrator) and a
province-wide scope may see them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal, Protocol

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


class RefusingGroups(Protocol):
    """Ingest or analytics groups (``IngestGroups``, ``CameraGroups``)."""

    def refusals(self) -> Mapping[str, Refused]: ...


class RefusedGroup(BaseModel):
    """A worker group whose process refused its configuration and is tried again later."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="The group (its process's log is <data>/<kind>/<name>.log)")
    kind: WorkerKind = Field(description="Which workers: ingest or analytics")
    since: datetime = Field(description="UTC: when the process began refusing")
    cameras: list[str] = Field(description="The codes of the cameras the group holds")
    reason: str = Field(description="The process's last log lines, credentials scrubbed")


class WorkerStatus(BaseModel):
    refused: list[RefusedGroup] = Field(description="Groups down on a refused configuration")


class WorkerBoard:
    """The groups this process runs, by kind; empty where it runs none (API-only)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: list[tuple[WorkerKind, RefusingGroups]] = []

    def add(self, kind: WorkerKind, groups: RefusingGroups) -> None:
        with self._lock:
            self._groups.append((kind, groups))

    def status(self, principal: Principal) -> WorkerStatus:
        """Every refused group; denied without ``SEE_WORKERS`` or a province-wide scope."""
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
            ]
        )

    def visible_to(self, principal: Principal) -> bool:
        return principal.has_permission(SEE_WORKERS) and principal.all_districts
