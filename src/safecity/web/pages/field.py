"""The field-unit page (phones in police cars and ambulances): the unit's assignment
with a map and the alert's snapshot, and big buttons to report its status."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from safecity.command.alerts_models import Alert
from safecity.command.units import unit_public
from safecity.command.units_schemas import StatusReport
from safecity.core.errors import NotFound, SafecityError
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.pages.forms import form_dict
from safecity.web.templating import render

router = APIRouter()
# What a unit reports from the field, in the order it passes them; "acknowledged" is the
# receipt of the dispatch rather than a status code.
FIELD_ACTIONS = (
    ("acknowledged", "Acknowledge"),
    ("en_route", "En route"),
    ("on_scene", "On scene"),
    ("transporting", "Transporting"),
    ("at_facility", "At facility"),
    ("available_mobile", "Available"),
    ("out_of_service", "Out of service"),
    ("officer_emergency", "EMERGENCY"),
)


@router.get("/field")
def field_page(
    request: Request, platform: PlatformDep, principal: CurrentPrincipal, error: str = ""
) -> Response:
    with platform.transaction() as session:
        unit = platform.units.own_unit(session, principal)
        incident = platform.units.assignment(session, principal, unit) if unit else None
        public = unit_public(unit) if unit else None
        assignment = platform.incidents.public(session, [incident])[0] if incident else None
        snapshot = False
        if incident is not None and incident.alert_id is not None:
            alert = session.get(Alert, incident.alert_id)
            snapshot = alert is not None and alert.snapshot is not None
    return render(
        request,
        "field.html",
        {
            "unit": public,
            "incident": assignment,
            "snapshot": snapshot,
            "actions": FIELD_ACTIONS,
            "error": error,
        },
        principal=principal,
    )


@router.post("/field/{unit_id}/status")
async def field_status(
    request: Request, unit_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    values = await form_dict(request)
    status = values.get("status", "")
    try:
        with platform.transaction() as session:
            if status == "acknowledged":
                platform.units.acknowledge(session, principal, unit_id)
            else:
                report = StatusReport.model_validate({"status": status})
                platform.units.report_status(session, principal, unit_id, report)
    except ValidationError:
        return RedirectResponse(f"/field?error={quote('unknown status')}", status_code=303)
    except SafecityError as exc:
        if exc.status in (401, 403, 404):
            raise
        return RedirectResponse(f"/field?error={quote(exc.message)}", status_code=303)
    return RedirectResponse("/field", status_code=303)


@router.get("/field/{unit_id}/snapshot")
def field_snapshot(unit_id: int, platform: PlatformDep, principal: CurrentPrincipal) -> Response:
    """The scene of the alert behind the unit's assignment (audited as a view)."""
    with platform.transaction() as session:
        unit = platform.units.reporting_unit(session, principal, unit_id)
        incident = platform.units.assignment(session, principal, unit)
        alert = session.get(Alert, incident.alert_id) if incident and incident.alert_id else None
        if alert is None or alert.snapshot is None:
            raise NotFound("this assignment has no snapshot")
        jpeg = platform.alerts.picture(session, principal, alert, "snapshot")
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
