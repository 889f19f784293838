"""The zone and line editor of a camera: draw on a snapshot, save through the API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.templating import render

router = APIRouter()


@router.get("/cameras/{camera_id}/analytics")
def analytics_page(
    request: Request, camera_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    with platform.transaction() as session:
        current = platform.analytics_config.get_config(session, principal, camera_id)
    return render(
        request,
        "camera_analytics.html",
        {
            "analytics": current,
            "config_json": current.config.model_dump_json(indent=2),
            "can_configure": principal.has_permission("analytics.configure"),
            "can_snapshot": principal.has_permission("footage.view"),
        },
        principal=principal,
    )
