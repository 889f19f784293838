"""The incident lifecycle after creation: status changes (dispatch is the dispatch
module's) with their side exits (cancelled, duplicate, hoax) and closing with a
disposition, and referral to another agency as a linked incident. Each change checks
the caller's version, releases the units, and goes on the timeline and the audit log.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from safecity.command.dispatch import release_units
from safecity.command.incidents_models import Incident
from safecity.command.incidents_records import IncidentRecords, NewIncident, snapshot
from safecity.command.incidents_schemas import Referral, StatusChange
from safecity.core.clock import utcnow
from safecity.core.errors import Conflict, InvalidInput
from safecity.identity.permissions import Principal, restrict


class IncidentLifecycle(IncidentRecords):
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
