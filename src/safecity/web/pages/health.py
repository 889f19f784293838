"""Camera health: uptime by district, site, owner or vendor, and who is dark now."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from safecity.core.csvcells import guard_cell
from safecity.recordings.uptime import Grouping, uptime_report
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.templating import render

router = APIRouter()


@router.get("/health")
def health_page(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    group: Grouping = "district",
    days: Annotated[int, Query(ge=1, le=90)] = 7,
    format: str = "html",
) -> Response:
    with platform.transaction() as session:
        rows = uptime_report(session, platform.audit, principal, grouping=group, days=days)
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(
            [
                group,
                "cameras",
                "up_now",
                "up_now_pct",
                f"uptime_pct_{days}d",
                "never_reported",
                "down_cameras",
            ]
        )
        for r in rows:
            cells = (
                r.group,
                r.cameras,
                r.up_now,
                f"{r.up_now_pct:.1f}",
                f"{r.uptime_pct:.1f}",
                r.never_reported,
                " ".join(r.down_cameras),
            )
            # Group names (districts, owners) and camera codes are typed by people.
            writer.writerow([guard_cell(cell) for cell in cells])
        return Response(
            buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="uptime-{group}.csv"'},
        )
    totals = {
        "cameras": sum(r.cameras for r in rows),
        "up_now": sum(r.up_now for r in rows),
        "never_reported": sum(r.never_reported for r in rows),
    }
    # The video worker groups (restarts, crashes, refused configurations), for whoever may
    # see them.
    workers = platform.workers.status(principal) if platform.workers.visible_to(principal) else None
    return render(
        request,
        "health.html",
        {
            "rows": rows,
            "group": group,
            "days": days,
            "totals": totals,
            "refused": [] if workers is None else workers.refused,
            "worker_groups": [] if workers is None else workers.groups,
        },
        principal=principal,
    )
