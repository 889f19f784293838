"""Site power and link telemetry: gateways report, operators and engineers read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from safecity.registry.power_schemas import (
    PowerAlertPublic,
    PowerReadingIn,
    PowerReadingPublic,
    RecordedReading,
)
from safecity.web.api.shapes import ERRORS, Paginated, page_of
from safecity.web.deps import CurrentPrincipal, PageDep, PlatformDep

router = APIRouter(responses=ERRORS)  # type: ignore[arg-type]


@router.post("/sites/{site_code}/power", tags=["power"])
def report_power(
    site_code: str, reading: PowerReadingIn, platform: PlatformDep, principal: CurrentPrincipal
) -> RecordedReading:
    """One telemetry sample from a site gateway (token with the site_gateway role)."""
    with platform.transaction() as session:
        return platform.power.record(session, principal, site_code, reading, source="http")


@router.get("/sites/{site_id}/power", tags=["power"])
def power_series(
    site_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    hours: Annotated[int, Query(ge=1, le=24 * 7, description="How far back")] = 48,
) -> Paginated[PowerReadingPublic]:
    with platform.transaction() as session:
        items = platform.power.series(session, principal, site_id, hours=hours)
    return Paginated(items=items, total=len(items), limit=len(items), offset=0)


@router.get("/power/alerts", tags=["power"])
def power_alerts(
    platform: PlatformDep,
    principal: CurrentPrincipal,
    page: PageDep,
    district: str | None = None,
    include_cleared: bool = False,
) -> Paginated[PowerAlertPublic]:
    with platform.transaction() as session:
        items = platform.power.alerts(
            session, principal, district=district, open_only=not include_cleared, limit=5000
        )
    return page_of(items, limit=page.limit, offset=page.offset)
