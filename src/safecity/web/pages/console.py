"""The operator console: one page with the map and the live alert queue.

The page itself carries no alert data: its script loads the queue and the map from
the API (the same filter, the same audit) and then follows ``/ws/console``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute, iter_route_contexts

from safecity.command.alerts_schemas import DISMISS_REASONS
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.platform import Platform
from safecity.web.templating import render

router = APIRouter()

# Served by the dispatch module; the console uses them when they exist in this build.
UNITS_API = "/api/v1/units"
INCIDENTS_API = "/api/v1/incidents"
INCIDENT_FROM_ALERT = "/api/v1/alerts/{alert_id}/incident"


def _served(request: Request, path: str, method: str) -> bool:
    return any(
        isinstance(context.original_route, APIRoute)
        and context.path_format == path
        and method in (context.methods or ())
        for context in iter_route_contexts(request.app.routes)
    )


def _incident_types(platform: Platform) -> list[tuple[str, str]]:
    """(code, label) of the incident catalogue, when this build has the incidents module."""
    incidents: Any = getattr(platform, "incidents", None)
    catalogue = getattr(incidents, "catalogue", None)
    if catalogue is None:
        return []
    return [(kind.code, kind.label) for kind in catalogue.incident_types]


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
            "incident_types": _incident_types(platform) if feeds["open_incident"] else [],
            "districts": districts,
            "reasons": DISMISS_REASONS,
            "can_handle": principal.has_permission("alerts.handle"),
            "can_watch": principal.has_permission("footage.view"),
            "feeds": feeds,
            "queue_rows": platform.settings.console_queue_rows,
        },
        principal=principal,
    )
