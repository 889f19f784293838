"""Who is acting, from where, why: the facts every audit record carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class AuditContext:
    actor_id: int | None
    actor_name: str
    request_id: str | None = None
    source_ip: str | None = None
    purpose: str | None = None


SYSTEM = AuditContext(actor_id=None, actor_name="system")


class Actor(Protocol):
    """What the audit service needs of a signed-in principal (identity provides it)."""

    @property
    def audit(self) -> AuditContext: ...

    def has_permission(self, code: str) -> bool: ...

    @property
    def audit_districts(self) -> frozenset[str] | None:
        """Slugs of the districts whose records this actor may read; None: all."""
        ...
