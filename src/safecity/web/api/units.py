"""Field units over HTTP: the roster, and the units' own GPS and status reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from safecity.command.units import unit_public
from safecity.command.units_schemas import (
    PositionBatch,
    PositionBatchResult,
    PositionReport,
    PositionResult,
    StatusReport,
    TrackPoint,
    UnitCreate,
    UnitPublic,
    UnitUpdate,
)
from safecity.core.clock import utcnow
from safecity.web.api.incidents import announce
from safecity.web.api.shapes import ERRORS, Paginated, if_match_version, page_of
from safecity.web.deps import CurrentPrincipal, PageDep, PlatformDep
from safecity.web.hub import HubDep

router = APIRouter(responses=ERRORS)  # type: ignore[arg-type]
IfMatch = Annotated[int | None, Depends(if_match_version)]


@router.get("/units", tags=["units"])
def list_units(
    platform: PlatformDep, principal: CurrentPrincipal, page: PageDep, district: str | None = None
) -> Paginated[UnitPublic]:
    with platform.transaction() as session:
        items = [
            unit_public(u) for u in platform.units.list_units(session, principal, district=district)
        ]
    return page_of(items, limit=page.limit, offset=page.offset)


@router.post("/units", status_code=201, tags=["units"])
def create_unit(data: UnitCreate, platform: PlatformDep, principal: CurrentPrincipal) -> UnitPublic:
    with platform.transaction() as session:
        return unit_public(platform.units.create(session, principal, data))


@router.get("/units/{unit_id}", tags=["units"])
def get_unit(unit_id: int, platform: PlatformDep, principal: CurrentPrincipal) -> UnitPublic:
    with platform.transaction() as session:
        return unit_public(platform.units.get(session, principal, unit_id))


@router.patch("/units/{unit_id}", tags=["units"])
def update_unit(
    unit_id: int,
    data: UnitUpdate,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    version: IfMatch,
) -> UnitPublic:
    with platform.transaction() as session:
        unit = platform.units.update(session, principal, unit_id, data, expected_version=version)
        return unit_public(unit)


@router.get("/units/{unit_id}/track", tags=["units"])
def unit_track(
    unit_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    minutes: Annotated[int, Query(ge=1, le=24 * 60, description="How far back")] = 60,
) -> Paginated[TrackPoint]:
    with platform.transaction() as session:
        items = platform.units.track(
            session, principal, unit_id, since=utcnow() - timedelta(minutes=minutes)
        )
    return Paginated(items=items, total=len(items), limit=len(items), offset=0)


@router.post("/units/{unit_id}/positions", tags=["units"])
def report_position(
    unit_id: int,
    fix: PositionReport,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    hub: HubDep,
) -> PositionResult:
    """One GPS fix from the unit's own account (a resend is answered, stored once)."""
    with platform.transaction() as session:
        result = platform.units.report_position(session, principal, unit_id, fix)
        unit = platform.units.reporting_unit(session, principal, unit_id)
        district_id, public = unit.district_id, unit_public(unit)
    if result.current:
        hub.broadcast(district_id, "unit", public.model_dump(mode="json"))
    return result


@router.post("/units/{unit_id}/positions/batch", tags=["units"])
def report_positions(
    unit_id: int,
    batch: PositionBatch,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    hub: HubDep,
) -> PositionBatchResult:
    """Up to 500 GPS fixes of one unit (e.g. what a device buffered while out of
    coverage), one answer per fix: stored, duplicate, late or refused with the reason."""
    with platform.transaction() as session:
        result = platform.units.report_positions(session, principal, unit_id, batch.fixes)
        unit = platform.units.reporting_unit(session, principal, unit_id)
        district_id, public = unit.district_id, unit_public(unit)
    if result.current:
        hub.broadcast(district_id, "unit", public.model_dump(mode="json"))
    return result


@router.post("/units/{unit_id}/status", tags=["units"])
def report_status(
    unit_id: int,
    report: StatusReport,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    hub: HubDep,
) -> UnitPublic:
    with platform.transaction() as session:
        unit = platform.units.report_status(session, principal, unit_id, report)
        public, incident_id = unit_public(unit), unit.incident_id
    if incident_id is not None:
        announce(hub, platform, incident_id, [unit_id])
    else:
        with platform.sessions() as session:
            hub_unit = platform.units.reporting_unit(session, principal, unit_id)
            hub.broadcast(hub_unit.district_id, "unit", public.model_dump(mode="json"))
    return public


@router.post("/units/{unit_id}/acknowledge", tags=["units"])
def acknowledge(
    unit_id: int, platform: PlatformDep, principal: CurrentPrincipal, hub: HubDep
) -> UnitPublic:
    """The unit confirms it received its dispatch."""
    with platform.transaction() as session:
        unit = platform.units.acknowledge(session, principal, unit_id)
        public, incident_id = unit_public(unit), unit.incident_id
    if incident_id is not None:
        announce(hub, platform, incident_id, [unit_id])
    return public
