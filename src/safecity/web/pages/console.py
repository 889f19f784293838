"""The operator console: one page with the map and the live alert queue.

The page itself carries no alert data: its script loads the queue and the map from
the API (the same filter, the same audit) and then follows ``/ws/console``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from safecity.command.alerts_schemas import DISMISS_REASONS
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.templating import render

router = APIRouter()

# Served by the dispatch module; the console uses them when they exist in this build.
UNITS_API = "/api/v1/units"
INCIDENTS_API = "/api/v1/incidents"
INCIDENT_FROM_ALERT = "/api/v1/alerts/{alert_id}/incident"


def _served(request: Request, path: str, method: str) -> bool:
    return any(
        isinstance(route, APIRoute) and route.path == path and method in (route.methods or ())
        for route in request.app.routes
    )


@router.get("/console")
def console_page(request: Request, platform: PlatformDep, principal: CurrentPrincipal) -> Response:
    principal.require("alerts.view")
    with platform.transaction() as session:
        districts = platform.registry.list_districts(session, principal)
    feeds = {
        "units": principal.has_permission("units.view") and _served(request, UNITS_API, "GET"),
        "incidents": principal.has_permission("incidents.view")
        and _served(request, INCIDENTS_API, "GET"),
        "open_incident": principal.has_permission("incidents.create")
        and _served(request, INCIDENT_FROM_ALERT, "POST"),
    }
    return render(
        request,
        "console.html",
        {
            "districts": districts,
            "reasons": DISMISS_REASONS,
            "can_handle": principal.has_permission("alerts.handle"),
            "can_watch": principal.has_permission("footage.view"),
            "feeds": feeds,
        },
        principal=principal,
    )
