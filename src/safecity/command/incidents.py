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

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from safecity.command.alerts_match import refuse_ended_entry, refuse_unconfirmed_match
from safecity.command.alerts_models import Alert
from safecity.command.incidents_lifecycle import IncidentLifecycle
from safecity.command.incidents_models import FINAL_STATUSES, Incident, IncidentEvent
from safecity.command.incidents_records import NewIncident
from safecity.command.incidents_schemas import (
    IncidentCreate,
    IncidentDetail,
    IncidentFromAlert,
    IncidentPublic,
    TimelineEntry,
)
from safecity.command.units_models import Unit
from safecity.core.clock import utcnow
from safecity.core.errors import InvalidInput
from safecity.identity.permissions import Principal, get_in_scope, restrict
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


class IncidentService(IncidentLifecycle):
    """Incidents: intake (call, API, alert), reading, and the shapes the API returns;
    the lifecycle and the shared records come from the base classes."""

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

    def from_alert(
        self, session: Session, principal: Principal, alert_id: int, data: IncidentFromAlert
    ) -> Incident:
        """Open an incident where the alert happened; the alert is then marked handled
        by it (``AlertsService.link_incident``, which refuses a closed alert: 409). A
        hotlist hit whose plate match is not confirmed, or whose hotlist entry has left
        the list since the read (removed or expired), is refused before anything is
        created (409)."""
        principal.require("incidents.create")
        principal.require("alerts.handle")
        alert = get_in_scope(session, Alert, principal, "alerts.view", alert_id)
        refuse_unconfirmed_match(alert)
        refuse_ended_entry(alert)
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
