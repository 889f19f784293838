"""Incidents (CAD) over HTTP: record, read, dispatch, triage, refer. Thin: every rule
lives in the services; changes are broadcast to the consoles after commit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from safecity.command.incidents import IncidentFilter
from safecity.command.incidents_models import Incident
from safecity.command.incidents_schemas import (
    DispatchRequest,
    IncidentCreate,
    IncidentDetail,
    IncidentFromAlert,
    IncidentPublic,
    IncidentStatus,
    Recommendation,
    Referral,
    StatusChange,
)
from safecity.command.units import unit_public
from safecity.command.units_models import Unit
from safecity.web.api.shapes import ERRORS, Paginated, if_match_version
from safecity.web.deps import CurrentPrincipal, PageDep, PlatformDep
from safecity.web.hub import ConsoleHub, HubDep
from safecity.web.platform import Platform

router = APIRouter(responses=ERRORS)  # type: ignore[arg-type]
IfMatch = Annotated[int | None, Depends(if_match_version)]


def announce(
    hub: ConsoleHub, platform: Platform, incident_id: int, unit_ids: list[int] | None = None
) -> None:
    """After commit: the incident, and the units it moved, to the district's consoles."""
    with platform.sessions() as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            return
        public = platform.incidents.public(session, [incident])[0]
        hub.broadcast(incident.district_id, "incident", public.model_dump(mode="json"))
        for unit_id in unit_ids or []:
            unit = session.get(Unit, unit_id)
            if unit is not None:
                hub.broadcast(unit.district_id, "unit", unit_public(unit).model_dump(mode="json"))


@router.get("/incidents", tags=["incidents"])
def list_incidents(
    platform: PlatformDep,
    principal: CurrentPrincipal,
    page: PageDep,
    district: str | None = None,
    status: IncidentStatus | None = None,
    open: Annotated[bool, Query(description="Only incidents not yet closed")] = False,
) -> Paginated[IncidentPublic]:
    flt = IncidentFilter(district=district, status=status, open_only=open)
    with platform.transaction() as session:
        rows, total = platform.incidents.list_incidents(
            session, principal, flt, limit=page.limit, offset=page.offset
        )
        items = platform.incidents.public(session, rows)
    return Paginated(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/incidents", status_code=201, tags=["incidents"])
def create_incident(
    data: IncidentCreate, platform: PlatformDep, principal: CurrentPrincipal, hub: HubDep
) -> IncidentDetail:
    with platform.transaction() as session:
        incident = platform.incidents.create(session, principal, data)
        detail = platform.incidents.detail(session, incident)
    announce(hub, platform, detail.id)
    return detail


@router.post("/alerts/{alert_id}/incident", status_code=201, tags=["incidents"])
def incident_from_alert(
    alert_id: int,
    data: IncidentFromAlert,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    hub: HubDep,
) -> IncidentDetail:
    """Open an incident from an alert; the alert is marked as handled by it. A hotlist
    hit needs its plate match confirmed first (409 ``alert_match_unconfirmed``), and its
    hotlist entry still on the list (409 ``alert_entry_not_live`` once it was removed or
    expired)."""
    with platform.transaction() as session:
        incident = platform.incidents.from_alert(session, principal, alert_id, data)
        alert = platform.alerts.link_incident(session, principal, alert_id, incident.id)
        detail = platform.incidents.detail(session, incident)
    hub.broadcast(
        alert.district_id, "alert", alert.model_dump(mode="json"), camera_id=alert.camera_id
    )
    announce(hub, platform, detail.id)
    return detail


@router.get("/incidents/{incident_id}", tags=["incidents"])
def get_incident(
    incident_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> IncidentDetail:
    with platform.transaction() as session:
        incident = platform.incidents.get(session, principal, incident_id)
        return platform.incidents.detail(session, incident)


@router.get("/incidents/{incident_id}/recommendations", tags=["incidents"])
def recommendations(
    incident_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Paginated[Recommendation]:
    """Nearest suitable available units by estimated travel time, best first."""
    principal.require("incidents.dispatch")
    with platform.transaction() as session:
        incident = platform.incidents.get(session, principal, incident_id)
        items = platform.dispatch.recommend(session, principal, incident)
    return Paginated(items=items, total=len(items), limit=len(items), offset=0)


@router.post("/incidents/{incident_id}/dispatch", tags=["incidents"])
def dispatch_unit(
    incident_id: int,
    data: DispatchRequest,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    hub: HubDep,
    version: IfMatch,
) -> IncidentDetail:
    """Send a unit (409 if it is busy; 412 if the incident changed since you read it)."""
    with platform.transaction() as session:
        row = platform.dispatch.dispatch(
            session,
            principal,
            incident_id,
            data.unit_id,
            note=data.note,
            expected_version=version,
        )
        incident = session.get(Incident, row.incident_id)
        assert incident is not None  # just written in this transaction
        detail = platform.incidents.detail(session, incident)
    announce(hub, platform, incident_id, [data.unit_id])
    return detail


@router.post("/incidents/{incident_id}/status", tags=["incidents"])
def change_status(
    incident_id: int,
    data: StatusChange,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    hub: HubDep,
    version: IfMatch,
) -> IncidentDetail:
    """Clear, close (with a disposition), or triage out as cancelled, duplicate or hoax."""
    with platform.transaction() as session:
        before = platform.incidents.public(
            session, [platform.incidents.changeable(session, principal, incident_id, version)]
        )[0]
        incident = platform.incidents.change_status(
            session, principal, incident_id, data, expected_version=version
        )
        detail = platform.incidents.detail(session, incident)
    announce(hub, platform, incident_id, before.unit_ids)
    return detail


@router.post("/incidents/{incident_id}/referral", status_code=201, tags=["incidents"])
def refer(
    incident_id: int,
    data: Referral,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    hub: HubDep,
    version: IfMatch,
) -> IncidentDetail:
    """Refer to another agency: answers the new, linked incident."""
    with platform.transaction() as session:
        linked = platform.incidents.refer(
            session, principal, incident_id, data, expected_version=version
        )
        detail = platform.incidents.detail(session, linked)
    announce(hub, platform, incident_id)
    announce(hub, platform, detail.id)
    return detail
