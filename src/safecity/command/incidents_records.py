"""What every incident change shares: opening one (the creation paths converge here),
finding one that may still change, the timeline and the audit record of a change.

:class:`IncidentRecords` is the base of the incident service; the lifecycle
(``incidents_lifecycle``) and the intake and reading (``incidents``) build on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from safecity.audit.log import AuditLog
from safecity.command.catalogue import Catalogue
from safecity.command.incidents_models import Incident, IncidentEvent
from safecity.core.clock import utcnow
from safecity.core.errors import Conflict, NotFound, PreconditionFailed
from safecity.identity.permissions import Principal, get_in_scope, in_scope


@dataclass(frozen=True)
class NewIncident:
    """What every way of opening an incident has in common, already checked."""

    district_id: int
    type_code: str
    priority: int | None
    latitude: float
    longitude: float
    landmark: str
    caller_number: str | None
    narrative: str
    received_at: datetime
    source: str
    alert_id: int | None = None
    parent_id: int | None = None
    agency: str | None = None


def check_version(incident: Incident, expected: int | None) -> None:
    if expected is not None and expected != incident.version:
        raise PreconditionFailed(
            f"incident {incident.id} was changed by someone else (now version "
            f"{incident.version}, status {incident.status}; you had version {expected}): "
            "reload it and decide again"
        )


def snapshot(incident: Incident) -> dict[str, Any]:
    return {
        "status": incident.status,
        "type": incident.type_code,
        "priority": incident.priority,
        "agency": incident.agency,
        "disposition": incident.disposition,
        "latitude": incident.latitude,
        "longitude": incident.longitude,
        "landmark": incident.landmark,
        "caller_number": incident.caller_number,
    }


class IncidentRecords:
    def __init__(self, audit: AuditLog, catalogue: Catalogue) -> None:
        self.audit = audit
        self.catalogue = catalogue

    def open(self, session: Session, principal: Principal, new: NewIncident) -> Incident:
        """Insert, time-line and audit an incident (creation paths converge here)."""
        principal.require("incidents.create")
        kind = self.catalogue.incident_type(new.type_code)
        priority = self.catalogue.check_priority(new.priority or kind.default_priority)
        now = utcnow()
        incident = Incident(
            district_id=new.district_id,
            agency=new.agency or kind.agency,
            type_code=kind.code,
            priority=priority,
            status="created",
            source=new.source,
            caller_number=new.caller_number,
            landmark=new.landmark,
            latitude=new.latitude,
            longitude=new.longitude,
            narrative=new.narrative,
            alert_id=new.alert_id,
            parent_id=new.parent_id,
            received_at=min(new.received_at, now),
            created_at=now,
            created_by=principal.username,
        )
        session.add(incident)
        session.flush()
        if not in_scope(session, incident, principal):
            raise NotFound("district not found", field="district")
        self.event(session, incident, principal, "received", "received", at=incident.received_at)
        self.event(session, incident, principal, "created", "created", note=kind.label)
        self.audit.append(
            session,
            principal.audit,
            action="create",
            object_type="incident",
            object_id=incident.id,
            district=incident.district.slug,
            summary=f"opened incident {incident.id} ({kind.code}, P{priority}) from {new.source}",
            after=snapshot(incident),
        )
        return incident

    def changeable(
        self, session: Session, principal: Principal, incident_id: int, expected: int | None
    ) -> Incident:
        principal.require("incidents.dispatch")
        incident = get_in_scope(session, Incident, principal, "incidents.view", incident_id)
        check_version(incident, expected)
        if not incident.is_open:
            raise Conflict(
                f"incident {incident.id} is already {incident.status}; nothing more can change"
            )
        return incident

    def _audit_change(
        self,
        session: Session,
        principal: Principal,
        incident: Incident,
        before: dict[str, Any],
        what: str,
    ) -> None:
        self.audit.append(
            session,
            principal.audit,
            action="update",
            object_type="incident",
            object_id=incident.id,
            district=incident.district.slug,
            summary=f"{what} incident {incident.id}",
            before=before,
            after=snapshot(incident),
        )

    @staticmethod
    def event(
        session: Session,
        incident: Incident,
        principal: Principal | None,
        kind: str,
        status: str | None,
        *,
        note: str = "",
        unit_id: int | None = None,
        at: datetime | None = None,
    ) -> None:
        session.add(
            IncidentEvent(
                incident_id=incident.id,
                at=at or utcnow(),
                actor=principal.username if principal else "system",
                kind=kind,
                status=status,
                unit_id=unit_id,
                note=note[:1000],
            )
        )
