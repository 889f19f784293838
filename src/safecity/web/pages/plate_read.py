"""Page: one plate read, for an investigator who found it in the plate search.

The plate crop and the vehicle, what was read and how surely, where and when, the
track it came from, the other reads of the plate near it in time (each a link to its
own page) and the hotlist hits it raised. A read is personal data: the page needs
``plates.search``, a stated purpose (the search's, carried in the link), answers 404
outside the viewer's scope, and every view is audited with its purpose."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from safecity.events.hotlists import public
from safecity.events.models import PlateReadRecord
from safecity.events.plate_detail import NEARBY_LIMIT, NEARBY_WINDOW
from safecity.web.api.plates import read_public
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.templating import render

router = APIRouter()


def _timeline(read: PlateReadRecord, nearby: list[PlateReadRecord]) -> list[dict[str, Any]]:
    """The other reads and this one, in time order; this one marked."""
    rows = sorted([*nearby, read], key=lambda r: (r.at, r.id))
    return [{"read": read_public(r), "this": r.id == read.id} for r in rows]


@router.get("/plates/{read_id}")
def plate_read_page(
    request: Request,
    read_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    purpose: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    principal.require("plates.search")
    if len(purpose.strip()) < 3:
        # Nothing of the read is shown (or looked up) before a purpose is stated.
        return render(
            request,
            "plate_read.html",
            {"read_id": read_id, "needs_purpose": True, "purpose": purpose},
            principal=principal,
        )
    with platform.transaction() as session:
        detail = platform.events.plate_read_detail(session, principal, read_id, purpose=purpose)
        read = detail.read
        acting = replace(principal, audit=replace(principal.audit, purpose=purpose.strip()))
        alerts = platform.alerts.hits_of_read(
            session,
            acting,
            read_id=read.id,
            entry_ids=list(read.hotlist_hits),
            district_id=read.camera.district_id,
            at=read.at,
        )
        context = {
            "read_id": read_id,
            "needs_purpose": False,
            "purpose": purpose,
            "read": read_public(read),
            "track_id": read.track_id,
            "frames": read.frames,
            "camera_name": read.camera.name,
            "timeline": _timeline(read, detail.nearby),
            "nearby_shown": len(detail.nearby),
            "nearby_total": detail.nearby_total,
            "nearby_minutes": round(NEARBY_WINDOW.total_seconds() / 60),
            "nearby_limit": NEARBY_LIMIT,
            "entries": [public(entry) for entry in detail.entries],
            "alerts": alerts,
            "image_query": urlencode({"purpose": purpose}),
        }
    return render(request, "plate_read.html", context, principal=principal)
