"""Permissions as data and the one filter every query on protected data goes through.

Default deny: a principal holds only the permissions of its roles, and sees
only objects inside its district/camera scope. Out-of-scope objects are
"not found" (scope never leaks) and lists simply omit them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, false, select, true
from sqlalchemy.orm import Session

from safecity.audit.context import AuditContext
from safecity.core.errors import NotFound, PermissionDenied

PERMISSIONS: dict[str, str] = {
    "districts.view": "See districts",
    "sites.view": "See sites in scope",
    "sites.change": "Create and edit sites in scope",
    "sites.telemetry": "Report power and link telemetry for sites in scope (site gateways)",
    "cameras.view": "See cameras in scope",
    "cameras.change": "Create, edit and delete cameras in scope",
    "cameras.import": "Bulk-import cameras",
    "cameras.export": "Bulk-export cameras",
    "cameras.unmask": "See footage without privacy masks",
    "workers.view": "See video worker groups that refused their configuration, why and "
    "which cameras they leave without service (with a province-wide scope)",
    "footage.view": "Watch live and recorded footage of cameras in scope",
    "footage.export": "Export recorded footage as a clip",
    "footage.hold": "Place and release legal holds on recorded footage",
    "users.view": "See user accounts",
    "users.change": "Create, edit and deactivate user accounts",
    "roles.grant": "Grant and revoke roles (never to oneself)",
    "audit.view": "Browse the audit log",
    "audit.export": "Export the audit log",
    "analytics.view": "See analytics events (intrusion, loitering, counts) of cameras in scope",
    "analytics.configure": "Draw zones and lines and set analytics rules on cameras in scope",
    "plates.search": "Search number-plate reads of cameras in scope (audited, with a purpose)",
    "plates.export": "Export a search's number-plate reads as CSV (audited, with a purpose)",
    "hotlists.view": "See hotlist entries (stolen, wanted, expired registration)",
    "hotlists.change": "Add, edit, import and remove hotlist entries",
    "alerts.view": "See alerts of districts in scope",
    "alerts.handle": "Acknowledge, escalate and dismiss alerts, open incidents from them",
    "incidents.view": "See incidents of districts in scope",
    "incidents.create": "Record incidents (Emergency 15 calls, from alerts, by API)",
    "incidents.dispatch": "Dispatch units, move incidents through their states, close them",
    "units.view": "See field units, their status and position in districts in scope",
    "units.change": "Add and edit field units (the roster)",
    "units.report": "Report one's own unit's position and status (field units)",
    "kpis.view": "See response-time and alert KPIs of districts in scope",
}

_VIEW = ["districts.view", "sites.view", "cameras.view"]
# Issue 4 and 5 capabilities, granted below role by role.
_ALERTS = ["alerts.view", "alerts.handle"]
_INCIDENTS = ["incidents.view", "incidents.create", "incidents.dispatch"]

DEFAULT_ROLES: dict[str, tuple[str, str, list[str]]] = {
    "operator": (
        "Control-room operator",
        "Watches cameras and the map, takes alerts, dispatches units",
        [
            *_VIEW,
            "footage.view",
            "analytics.view",
            "plates.search",
            "hotlists.view",
            *_ALERTS,
            *_INCIDENTS,
            "units.view",
        ],
    ),
    "supervisor": (
        "Supervisor",
        "Assigns work, reviews KPIs",
        [
            *_VIEW,
            "users.view",
            "footage.view",
            "footage.hold",
            "analytics.view",
            "plates.search",
            "hotlists.view",
            "hotlists.change",
            *_ALERTS,
            *_INCIDENTS,
            "units.view",
            "units.change",
            "kpis.view",
        ],
    ),
    "call_taker": (
        "Emergency call taker (15)",
        "Records calls as incidents",
        ["districts.view", "sites.view", "incidents.view", "incidents.create", "units.view"],
    ),
    # A field unit sees only its own assignment, through the unit it reports for.
    "field_unit": (
        "Field unit",
        "Receives dispatches, reports status",
        ["districts.view", "units.report"],
    ),
    "traffic_officer": (
        "Traffic enforcement officer",
        "Verifies violations, issues e-challans",
        [*_VIEW, "footage.view", "analytics.view", "plates.search", "hotlists.view"],
    ),
    "investigator": (
        "Investigator",
        "Searches footage and plates for a case",
        [
            *_VIEW,
            "cameras.export",
            "footage.view",
            "footage.export",
            "footage.hold",
            "analytics.view",
            "plates.search",
            "plates.export",
            "hotlists.view",
            "hotlists.change",
            "alerts.view",
            "incidents.view",
        ],
    ),
    "engineer": (
        "Integrator / engineer",
        "Onboards cameras, watches health, sets analytics zones",
        [
            *_VIEW,
            "sites.change",
            "cameras.change",
            "cameras.import",
            "cameras.export",
            "footage.view",
            "analytics.view",
            "analytics.configure",
            "workers.view",
        ],
    ),
    "auditor": (
        "Auditor",
        "Reads the audit trail, authorisations and KPIs",
        [*_VIEW, "users.view", "audit.view", "audit.export", "hotlists.view", "kpis.view"],
    ),
    "admin": (
        "Administrator",
        "Manages accounts and roles",
        [
            *_VIEW,
            "sites.change",
            "cameras.change",
            "cameras.import",
            "cameras.export",
            "workers.view",
            "users.view",
            "users.change",
            "roles.grant",
            "audit.view",
            # Nobody grants what they do not hold, so the role manager holds these too.
            "footage.view",
            "footage.export",
            "footage.hold",
            "analytics.view",
            "analytics.configure",
            "plates.search",
            "plates.export",
            "hotlists.view",
            "hotlists.change",
            *_ALERTS,
            *_INCIDENTS,
            "units.view",
            "units.change",
            "units.report",
            "kpis.view",
        ],
    ),
    "camera_owner": (
        "Camera owner",
        "Registers own cameras, sets what is shared",
        ["cameras.view", "cameras.change"],
    ),
    "site_gateway": (
        "Site gateway (device)",
        "A site's power controller or gateway reporting telemetry; no access to data",
        ["sites.telemetry"],
    ),
}


@dataclass(frozen=True)
class Principal:
    """A signed-in user as the permission filter sees it."""

    user_id: int
    username: str
    permissions: frozenset[str]
    district_ids: frozenset[int] | None  # None: every district
    camera_ids: frozenset[int]
    audit: AuditContext
    district_slugs: frozenset[str] | None = None  # the same districts, by slug

    @property
    def audit_districts(self) -> frozenset[str] | None:
        return None if self.district_ids is None else (self.district_slugs or frozenset())

    def has_permission(self, code: str) -> bool:
        return code in self.permissions

    def require(self, code: str) -> None:
        if code not in self.permissions:
            raise PermissionDenied(f"permission '{code}' is required")

    @property
    def all_districts(self) -> bool:
        return self.district_ids is None


class Scoped(Protocol):
    """A model that can say which of its rows a principal may see."""

    scope_kind: ClassVar[str]

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]: ...


ModelT = TypeVar("ModelT")


def district_clause(column: Any, principal: Principal) -> ColumnElement[bool]:
    if principal.district_ids is None:
        return true()
    if not principal.district_ids:
        return false()
    result: ColumnElement[bool] = column.in_(sorted(principal.district_ids))
    return result


def restrict(model: type[ModelT], principal: Principal, permission: str) -> Select[ModelT]:
    """``SELECT model`` limited to what ``principal`` may see; denies without ``permission``."""
    principal.require(permission)
    scoped: Any = model
    return select(model).where(scoped.scope_clause(principal))


def get_in_scope(
    session: Session, model: type[ModelT], principal: Principal, permission: str, pk: Any
) -> ModelT:
    """One object by primary key through the filter; out of scope reads as not found."""
    stmt = restrict(model, principal, permission)
    mapper: Any = model
    key_column = mapper.__mapper__.primary_key[0]
    obj = session.execute(stmt.where(key_column == pk)).scalar_one_or_none()
    if obj is None:
        raise NotFound(f"{_object_name(mapper.__name__)} {pk} not found")
    return obj


def _object_name(class_name: str) -> str:
    """A model's name as a person says it: PlateReadRecord -> 'plate read'."""
    words = re.findall(r"[A-Z][a-z0-9]*", class_name.removesuffix("Record"))
    return " ".join(words).lower() or class_name.lower()


def in_scope(session: Session, obj: Any, principal: Principal) -> bool:
    """Re-check after a write: is the object still visible to the one who changed it?"""
    model: Any = type(obj)
    key_column = model.__mapper__.primary_key[0]
    stmt = select(key_column).where(key_column == getattr(obj, key_column.key))
    return (
        session.execute(stmt.where(model.scope_clause(principal))).scalar_one_or_none() is not None
    )
