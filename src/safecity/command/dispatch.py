"""Computer-aided dispatch: recommend the nearest suitable available units, send one,
and let the units' own status reports move the incident along.

Recommendation (DOMAIN.md): filter by status (available), capability (the incident
type's) and jurisdiction (the incident's district), then rank by estimated travel
time from the ``TravelEstimator`` (straight line with a road factor until a road
network is configured). Each dispatch records the rank of the unit chosen, so the
KPIs can show how often dispatchers follow the recommendation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.audit.log import AuditLog
from safecity.command.catalogue import Catalogue
from safecity.command.dispatch_routing import Point, TravelEstimator
from safecity.command.incidents_models import INCIDENT_FLOW, Incident, IncidentEvent
from safecity.command.incidents_schemas import Recommendation
from safecity.command.units_models import AVAILABLE, WORKING, Dispatch, Unit
from safecity.core.clock import utcnow
from safecity.core.errors import Conflict, NotFound
from safecity.identity.permissions import Principal, restrict

# A unit status reached first by any assigned unit moves the incident to the same status.
INCIDENT_STATUS_FOR_UNIT = {
    "en_route": "en_route",
    "on_scene": "on_scene",
    "transporting": "transporting",
    "at_facility": "at_facility",
}
DEFAULT_SPEED_KMH = 30.0


@dataclass(frozen=True)
class Candidate:
    unit: Unit
    rank: int
    seconds: float
    distance_m: float


def release_units(session: Session, incident: Incident, at: datetime) -> list[Unit]:
    """Free every unit still working ``incident`` (it was cleared, closed or triaged out)."""
    units = list(session.scalars(select(Unit).where(Unit.incident_id == incident.id)))
    for unit in units:
        unit.incident_id = None
        unit.status = "available_mobile"
        unit.status_at = at
    for dispatch in session.scalars(
        select(Dispatch).where(Dispatch.incident_id == incident.id, Dispatch.released_at.is_(None))
    ):
        dispatch.released_at = at
    return units


def advance_incident(session: Session, unit: Unit, status: str, at: datetime, actor: str) -> None:
    """A working unit reported ``status``: stamp its dispatch and move the incident forward."""
    if unit.incident_id is None:
        return
    incident = session.get(Incident, unit.incident_id)
    dispatch = session.scalars(
        select(Dispatch)
        .where(
            Dispatch.unit_id == unit.id,
            Dispatch.incident_id == unit.incident_id,
            Dispatch.released_at.is_(None),
        )
        .order_by(Dispatch.id.desc())
    ).first()
    if incident is None or dispatch is None:
        return
    if status == "en_route":
        dispatch.en_route_at = dispatch.en_route_at or at
        incident.en_route_at = incident.en_route_at or at
    elif status == "on_scene":
        dispatch.on_scene_at = dispatch.on_scene_at or at
        incident.on_scene_at = incident.on_scene_at or at
    target = INCIDENT_STATUS_FOR_UNIT.get(status)
    if target is not None and incident.is_open and _later(target, incident.status):
        incident.status = target
    session.add(
        IncidentEvent(
            incident_id=incident.id,
            at=at,
            actor=actor,
            kind=f"unit_{status}",
            status=target,
            unit_id=unit.id,
            note=unit.callsign,
        )
    )


def acknowledge(session: Session, unit: Unit, at: datetime, actor: str) -> None:
    """The unit confirmed it received the dispatch."""
    if unit.incident_id is None:
        raise Conflict(f"unit {unit.callsign} has no assignment to acknowledge")
    incident = session.get(Incident, unit.incident_id)
    dispatch = session.scalars(
        select(Dispatch).where(
            Dispatch.unit_id == unit.id,
            Dispatch.incident_id == unit.incident_id,
            Dispatch.released_at.is_(None),
        )
    ).first()
    if incident is None or dispatch is None:
        raise Conflict(f"unit {unit.callsign} has no assignment to acknowledge")
    dispatch.acknowledged_at = dispatch.acknowledged_at or at
    if incident.status == "dispatched":
        incident.status = "acknowledged"
    session.add(
        IncidentEvent(
            incident_id=incident.id,
            at=at,
            actor=actor,
            kind="unit_acknowledged",
            status=incident.status,
            unit_id=unit.id,
            note=unit.callsign,
        )
    )


def _later(target: str, current: str) -> bool:
    return INCIDENT_FLOW.index(target) > INCIDENT_FLOW.index(current)


class DispatchService:
    def __init__(
        self,
        audit: AuditLog,
        catalogue: Catalogue,
        estimator: TravelEstimator,
        changeable: Callable[[Session, Principal, int, int | None], Incident],
    ) -> None:
        self.audit = audit
        self.catalogue = catalogue
        self.estimator = estimator
        self._changeable = changeable

    def candidates(
        self, session: Session, principal: Principal, incident: Incident, *, limit: int = 5
    ) -> list[Candidate]:
        """Available, capable units of the incident's district with a known position,
        nearest by estimated travel time first."""
        kind = self.catalogue.incident_type(incident.type_code)
        units = [
            u
            for u in session.scalars(
                restrict(Unit, principal, "units.view").where(
                    Unit.district_id == incident.district_id,
                    Unit.status.in_(sorted(AVAILABLE)),
                    Unit.active.is_(True),
                    Unit.latitude.is_not(None),
                )
            )
            if kind.capability in (u.capabilities or [])
        ]
        speeds = {k.code: k.speed_kmh for k in self.catalogue.unit_kinds}
        origins = [
            (Point(u.latitude or 0.0, u.longitude or 0.0), speeds.get(u.kind, DEFAULT_SPEED_KMH))
            for u in units
        ]
        legs = self.estimator.estimate(origins, Point(incident.latitude, incident.longitude))
        ranked = sorted(zip(units, legs, strict=True), key=lambda p: (p[1].seconds, p[0].callsign))
        return [
            Candidate(unit=u, rank=n, seconds=leg.seconds, distance_m=leg.distance_m)
            for n, (u, leg) in enumerate(ranked[:limit], start=1)
        ]

    def recommend(
        self, session: Session, principal: Principal, incident: Incident
    ) -> list[Recommendation]:
        principal.require("units.view")
        return [
            Recommendation(
                unit_id=c.unit.id,
                callsign=c.unit.callsign,
                kind=c.unit.kind,
                status=c.unit.status,
                rank=c.rank,
                estimated_seconds=round(c.seconds, 1),
                distance_m=round(c.distance_m, 1),
            )
            for c in self.candidates(session, principal, incident)
        ]

    def dispatch(
        self,
        session: Session,
        principal: Principal,
        incident_id: int,
        unit_id: int,
        *,
        note: str,
        expected_version: int | None,
    ) -> Dispatch:
        incident = self._changeable(session, principal, incident_id, expected_version)
        unit = session.scalars(
            restrict(Unit, principal, "units.view").where(Unit.id == unit_id)
        ).first()
        if unit is None:
            raise NotFound(f"unit {unit_id} not found", field="unit_id")
        if unit.status not in AVAILABLE or unit.incident_id is not None or not unit.active:
            where = f" on incident {unit.incident_id}" if unit.incident_id else ""
            raise Conflict(
                f"unit {unit.callsign} is {unit.status.replace('_', ' ')}{where}: "
                "choose an available unit"
            )
        if incident.status not in ("received", "created", *WORKING, "acknowledged"):
            raise Conflict(f"incident {incident.id} is {incident.status}: no dispatch now")
        recommended = {c.unit.id: c for c in self.candidates(session, principal, incident)}
        chosen = recommended.get(unit.id)
        now = utcnow()
        row = Dispatch(
            incident_id=incident.id,
            unit_id=unit.id,
            dispatched_at=now,
            dispatched_by=principal.username,
            recommended_rank=chosen.rank if chosen else None,
            followed_recommendation=chosen is not None and chosen.rank == 1,
            estimated_seconds=chosen.seconds if chosen else None,
        )
        session.add(row)
        before = {"status": incident.status, "unit_status": unit.status}
        unit.status = "dispatched"
        unit.status_at = now
        unit.incident_id = incident.id
        incident.dispatched_at = incident.dispatched_at or now
        if incident.status in ("received", "created"):
            incident.status = "dispatched"
        # Always touch the incident, so that its version moves and a concurrent
        # dispatcher holding the old version is refused.
        incident.updated_at = now
        session.flush()
        followed = (
            "followed"
            if row.followed_recommendation
            else (f"rank {chosen.rank}" if chosen else "not recommended")
        )
        session.add(
            IncidentEvent(
                incident_id=incident.id,
                at=now,
                actor=principal.username,
                kind="dispatched",
                status=incident.status,
                unit_id=unit.id,
                note=f"{unit.callsign} ({followed}). {note}".strip(),
            )
        )
        self.audit.append(
            session,
            principal.audit,
            action="update",
            object_type="incident",
            object_id=incident.id,
            district=incident.district.slug,
            summary=f"dispatched unit {unit.callsign} to incident {incident.id} "
            f"(recommendation {followed})",
            before=before,
            after={"status": incident.status, "unit": unit.callsign, "unit_status": unit.status},
        )
        return row
