"""Incidents (CAD): record calls and alerts as incidents, triage, move them through
their lifecycle, refer them to another agency; every change in the timeline and the
audit log, in the caller's transaction.

Scope: an incident belongs to one district; whoever holds ``incidents.view`` for that
district sees it, whatever the agency. A referral creates a linked incident for the
receiving agency in the *same* district, so it stays inside the referring
dispatcher's scope and appears at once to the receiving agency's dispatchers of that
district; crossing a district boundary is a new call, not a referral.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from safecity.audit.log import AuditLog
from safecity.command.alerts_models import Alert
from safecity.command.catalogue import Catalogue
from safecity.command.dispatch import release_units
from safecity.command.incidents_models import FINAL_STATUSES, Incident, IncidentEvent
from safecity.command.incidents_schemas import (
    IncidentCreate,
    IncidentDetail,
    IncidentFromAlert,
    IncidentPublic,
    Referral,
    StatusChange,
    TimelineEntry,
)
from safecity.command.units_models import Unit
from safecity.core.clock import utcnow
from safecity.core.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from safecity.identity.permissions import Principal, get_in_scope, in_scope, restrict
from safecity.registry.models import District

MAX_CALL_AGE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class IncidentFilter:
    district: str | None = None
    status: str | None = None
    open_only: bool = False

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in vars(self).items() if v]
        return ", ".join(parts) or "all"


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


def _alert_place(alert: Alert) -> tuple[float, float]:
    """The alert's own coordinates, else its camera's, its site's, its district's centre."""
    if alert.latitude is not None and alert.longitude is not None:
        return alert.latitude, alert.longitude
    camera = alert.camera
    if camera is not None and camera.latitude is not None and camera.longitude is not None:
        return camera.latitude, camera.longitude
    if alert.site is not None:
        return alert.site.latitude, alert.site.longitude
    return alert.district.latitude, alert.district.longitude


class IncidentService:
    def __init__(self, audit: AuditLog, catalogue: Catalogue) -> None:
        self.audit = audit
        self.catalogue = catalogue

    # -- creating --------------------------------------------------------------------------

    def create(self, session: Session, principal: Principal, data: IncidentCreate) -> Incident:
        """A call-taker's form or another system's API call."""
        principal.require("incidents.create")
        district = self._district_in_scope(session, principal, data.district)
        now = utcnow()
        received = data.received_at or now
        if received > now:
            raise InvalidInput("the call cannot be received in the future", field="received_at")
        if (now - received).total_seconds() > MAX_CALL_AGE_SECONDS:
            raise InvalidInput("the call is more than a day old", field="received_at")
        return self.open(
            session,
            principal,
            NewIncident(
                district_id=district.id,
                type_code=data.type,
                priority=data.priority,
                latitude=data.latitude,
                longitude=data.longitude,
                landmark=data.landmark,
                caller_number=data.caller_number,
                narrative=data.narrative,
                received_at=received,
                source="call" if data.caller_number else "api",
            ),
        )

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

    def from_alert(
        self, session: Session, principal: Principal, alert_id: int, data: IncidentFromAlert
    ) -> Incident:
        """Open an incident where the alert happened; the alert is then marked handled
        by it (``AlertsService.link_incident``, which refuses a closed alert: 409)."""
        principal.require("incidents.create")
        principal.require("alerts.handle")
        alert = get_in_scope(session, Alert, principal, "alerts.view", alert_id)
        latitude, longitude = _alert_place(alert)
        narrative = f"{alert.title}\n{alert.detail}\n{data.narrative}".strip()
        return self.open(
            session,
            principal,
            NewIncident(
                district_id=alert.district_id,
                type_code=data.type,
                priority=data.priority or min(alert.priority, 4),
                latitude=latitude,
                longitude=longitude,
                landmark=alert.site.name if alert.site else (alert.camera_code or ""),
                caller_number=None,
                narrative=narrative[:4000],
                received_at=alert.first_seen,
                source="alert",
                alert_id=alert.id,
            ),
        )

    def _district_in_scope(self, session: Session, principal: Principal, slug: str) -> District:
        district = session.scalars(
            restrict(District, principal, "districts.view").where(District.slug == slug)
        ).first()
        if district is None or (
            principal.district_ids is not None and district.id not in principal.district_ids
        ):
            raise InvalidInput(f"district '{slug}' is not in your scope", field="district")
        return district

    # -- reading ---------------------------------------------------------------------------

    def _query(self, principal: Principal, flt: IncidentFilter) -> Select[Incident]:
        stmt = restrict(Incident, principal, "incidents.view")
        if flt.district:
            stmt = stmt.where(
                Incident.district_id.in_(select(District.id).where(District.slug == flt.district))
            )
        if flt.status:
            stmt = stmt.where(Incident.status == flt.status)
        if flt.open_only:
            stmt = stmt.where(Incident.status.not_in(sorted(FINAL_STATUSES)))
        return stmt

    def list_incidents(
        self,
        session: Session,
        principal: Principal,
        flt: IncidentFilter,
        *,
        limit: int,
        offset: int,
    ) -> tuple[list[Incident], int]:
        stmt = self._query(principal, flt)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = list(
            session.scalars(
                stmt.order_by(Incident.priority, Incident.created_at.desc())
                .limit(limit)
                .offset(offset)
            )
        )
        self.audit.append(
            session,
            principal.audit,
            action="search",
            object_type="incident",
            district=flt.district,
            summary=f"listed incidents ({flt.describe()}): {len(rows)} of {total}",
        )
        return rows, total

    def get(self, session: Session, principal: Principal, incident_id: int) -> Incident:
        incident = get_in_scope(session, Incident, principal, "incidents.view", incident_id)
        self.audit.append(
            session,
            principal.audit,
            action="view",
            object_type="incident",
            object_id=incident.id,
            district=incident.district.slug,
            summary=f"viewed incident {incident.id}",
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

    # -- changing --------------------------------------------------------------------------

    def change_status(
        self,
        session: Session,
        principal: Principal,
        incident_id: int,
        change: StatusChange,
        *,
        expected_version: int | None,
    ) -> Incident:
        incident = self.changeable(session, principal, incident_id, expected_version)
        before = snapshot(incident)
        now = utcnow()
        target = change.status
        if target == "closed":
            if not change.disposition:
                raise InvalidInput("closing needs a disposition", field="disposition")
            incident.disposition = change.disposition
            incident.closed_at = now
            incident.cleared_at = incident.cleared_at or now
        elif target == "cleared":
            if incident.dispatched_at is None:
                raise Conflict(
                    f"incident {incident.id} was never dispatched: close it, or triage it out"
                )
            incident.cleared_at = now
        else:
            if target == "duplicate":
                incident.duplicate_of_id = self._original(session, principal, incident, change)
            incident.disposition = change.disposition or target
            incident.closed_at = now
        incident.status = target
        released = release_units(session, incident, now)
        session.flush()
        note = change.note or (change.disposition or "")
        self.event(session, incident, principal, target, target, note=note)
        for unit in released:
            self.event(session, incident, principal, "unit_released", None, unit_id=unit.id)
        self._audit_change(session, principal, incident, before, f"marked {target}")
        return incident

    def _original(
        self, session: Session, principal: Principal, incident: Incident, change: StatusChange
    ) -> int:
        if change.duplicate_of is None:
            raise InvalidInput("name the incident this one repeats", field="duplicate_of")
        if change.duplicate_of == incident.id:
            raise InvalidInput("an incident cannot repeat itself", field="duplicate_of")
        original = session.scalars(
            restrict(Incident, principal, "incidents.view").where(
                Incident.id == change.duplicate_of
            )
        ).first()
        if original is None:
            raise InvalidInput(f"incident {change.duplicate_of} not found", field="duplicate_of")
        return original.id

    def refer(
        self,
        session: Session,
        principal: Principal,
        incident_id: int,
        referral: Referral,
        *,
        expected_version: int | None,
    ) -> Incident:
        """Hand the incident to another agency: a linked incident in the same district."""
        incident = self.changeable(session, principal, incident_id, expected_version)
        kind = self.catalogue.incident_type(referral.type)
        if referral.agency == incident.agency:
            raise InvalidInput("refer to another agency than the one handling it", field="agency")
        if kind.agency != referral.agency:
            raise InvalidInput(
                f"type '{kind.code}' is answered by {kind.agency}, not {referral.agency}",
                field="type",
            )
        before = snapshot(incident)
        now = utcnow()
        linked = self.open(
            session,
            principal,
            NewIncident(
                district_id=incident.district_id,
                type_code=kind.code,
                priority=incident.priority,
                latitude=incident.latitude,
                longitude=incident.longitude,
                landmark=incident.landmark,
                caller_number=incident.caller_number,
                narrative=f"Referred from incident {incident.id}: {referral.note}\n"
                f"{incident.narrative}".strip(),
                received_at=incident.received_at,
                source="referral",
                alert_id=incident.alert_id,
                parent_id=incident.id,
                agency=referral.agency,
            ),
        )
        incident.status = "referred"
        incident.disposition = f"referred to {referral.agency} as incident {linked.id}"
        incident.closed_at = now
        release_units(session, incident, now)
        session.flush()
        note = f"to {referral.agency} as incident {linked.id}. {referral.note}".strip()
        self.event(session, incident, principal, "referred", "referred", note=note)
        self._audit_change(session, principal, incident, before, "referred")
        return linked

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

    # -- shaping ---------------------------------------------------------------------------

    def public(self, session: Session, incidents: list[Incident]) -> list[IncidentPublic]:
        ids = [i.id for i in incidents]
        assigned: dict[int, list[int]] = {}
        if ids:
            for unit_id, incident_id in session.execute(
                select(Unit.id, Unit.incident_id).where(Unit.incident_id.in_(ids))
            ):
                if incident_id is not None:
                    assigned.setdefault(incident_id, []).append(unit_id)
        return [self._public(i, sorted(assigned.get(i.id, []))) for i in incidents]

    def _public(self, incident: Incident, unit_ids: list[int]) -> IncidentPublic:
        labels = {t.code: t.label for t in self.catalogue.incident_types}
        return IncidentPublic(
            id=incident.id,
            district=incident.district.slug,
            agency=incident.agency,
            type=incident.type_code,
            type_label=labels.get(incident.type_code, incident.type_code),
            priority=incident.priority,
            status=incident.status,
            disposition=incident.disposition,
            source=incident.source,
            caller_number=incident.caller_number,
            landmark=incident.landmark,
            latitude=incident.latitude,
            longitude=incident.longitude,
            narrative=incident.narrative,
            alert_id=incident.alert_id,
            parent_id=incident.parent_id,
            duplicate_of_id=incident.duplicate_of_id,
            received_at=incident.received_at,
            created_at=incident.created_at,
            dispatched_at=incident.dispatched_at,
            en_route_at=incident.en_route_at,
            on_scene_at=incident.on_scene_at,
            cleared_at=incident.cleared_at,
            closed_at=incident.closed_at,
            unit_ids=unit_ids,
            version=incident.version,
        )

    def detail(self, session: Session, incident: Incident) -> IncidentDetail:
        public = self.public(session, [incident])[0]
        events = session.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == incident.id)
            .order_by(IncidentEvent.at, IncidentEvent.id)
        )
        timeline = [
            TimelineEntry(
                at=e.at, actor=e.actor, kind=e.kind, status=e.status, unit_id=e.unit_id, note=e.note
            )
            for e in events
        ]
        return IncidentDetail(**public.model_dump(), timeline=timeline)
