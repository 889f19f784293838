"""Response-time and alert KPIs: JSON and a CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from safecity.command.kpis import INTERVALS, Window
from safecity.command.kpis_schemas import KpiReport
from safecity.core.clock import utcnow
from safecity.core.csvcells import guard_cell
from safecity.web.api.shapes import ERRORS
from safecity.web.deps import CurrentPrincipal, PlatformDep

router = APIRouter(responses=ERRORS)  # type: ignore[arg-type]
Since = Annotated[datetime | None, Query(description="Window start (UTC); default: 24 h ago")]
Until = Annotated[datetime | None, Query(description="Window end (UTC); default: now")]


def window_of(since: datetime | None, until: datetime | None) -> Window:
    end = until or utcnow()
    return Window(since=since or end - timedelta(hours=24), until=end)


@router.get("/kpis", tags=["kpis"])
def kpis(
    platform: PlatformDep,
    principal: CurrentPrincipal,
    since: Since = None,
    until: Until = None,
    district: str | None = None,
) -> KpiReport:
    with platform.transaction() as session:
        return platform.kpis.report(session, principal, window_of(since, until), district=district)


def kpi_csv(report: KpiReport) -> str:
    """One row per district, agency and priority: counts, then median and p90 seconds."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["district", "agency", "priority", "incidents", "triaged_out", "followed_share"]
    for name, _, _ in INTERVALS:
        header += [f"{name}_median_s", f"{name}_p90_s", f"{name}_n"]
    writer.writerow(header)
    for row in report.responses:
        line: list[object] = [
            row.district,
            row.agency,
            row.priority,
            row.incidents,
            row.triaged_out,
            "" if row.recommendation_followed_share is None else row.recommendation_followed_share,
        ]
        for name, _, _ in INTERVALS:
            s = getattr(row, name)
            line += [
                "" if s.median_seconds is None else s.median_seconds,
                "" if s.p90_seconds is None else s.p90_seconds,
                s.count,
            ]
        writer.writerow([guard_cell(cell) for cell in line])  # names typed by people
    return out.getvalue()


@router.get("/kpis/export.csv", tags=["kpis"])
def kpis_csv(
    platform: PlatformDep,
    principal: CurrentPrincipal,
    since: Since = None,
    until: Until = None,
    district: str | None = None,
) -> Response:
    with platform.transaction() as session:
        report = platform.kpis.report(
            session, principal, window_of(since, until), district=district
        )
    return Response(
        kpi_csv(report),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="kpis.csv"'},
    )
