"""Incident pages: the call-taker's form with a map, the open incidents, one incident
with its timeline, the recommended units and the dispatcher's buttons."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from safecity.command.incidents import IncidentFilter
from safecity.command.incidents_schemas import IncidentCreate, StatusChange
from safecity.core.errors import SafecityError
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.pages.forms import blank_to_none, form_dict, validation_messages
from safecity.web.templating import render

router = APIRouter()
TRIAGE = ("hoax", "duplicate", "cancelled")


def _form_context(
    request: Request, platform: PlatformDep, principal: CurrentPrincipal
) -> dict[str, object]:
    catalogue = platform.incidents.catalogue
    with platform.transaction() as session:
        rows, _ = platform.incidents.list_incidents(
            session, principal, IncidentFilter(open_only=True), limit=200, offset=0
        )
        incidents = platform.incidents.public(session, rows)
        districts = platform.registry.list_districts(session, principal)
    return {
        "incidents": incidents,
        "districts": districts,
        "types": catalogue.incident_types,
        "priorities": catalogue.priorities,
        "values": {},
        "errors": {},
    }


@router.get("/incidents")
def incidents_page(
    request: Request, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    context = _form_context(request, platform, principal)
    return render(request, "incidents.html", context, principal=principal)


@router.post("/incidents")
async def record_call(
    request: Request, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    """The Emergency 15 call form: a refusal comes back as the form with its message."""
    principal.require("incidents.create")
    values = await form_dict(request)
    errors: dict[str, str] = {}
    optional = {k: v for k, v in values.items() if k in ("priority", "caller_number")}
    try:
        data = IncidentCreate.model_validate(values | blank_to_none(optional))
        with platform.transaction() as session:
            incident_id = platform.incidents.create(session, principal, data).id
        return RedirectResponse(f"/incidents/{incident_id}", status_code=303)
    except ValidationError as exc:
        errors = validation_messages(exc)
    except SafecityError as exc:
        if exc.status in (401, 403):
            raise
        errors = {exc.field or "__all__": exc.message}
    context = _form_context(request, platform, principal) | {"values": values, "errors": errors}
    return render(request, "incidents.html", context, principal=principal, status_code=422)


@router.get("/incidents/{incident_id}")
def incident_page(
    request: Request,
    incident_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    error: str = "",
) -> Response:
    with platform.transaction() as session:
        incident = platform.incidents.get(session, principal, incident_id)
        detail = platform.incidents.detail(session, incident)
        recommended = (
            platform.dispatch.recommend(session, principal, incident)
            if principal.has_permission("incidents.dispatch") and incident.is_open
            else []
        )
    return render(
        request,
        "incident.html",
        {"incident": detail, "recommended": recommended, "error": error, "triage": TRIAGE},
        principal=principal,
    )


def _back(incident_id: int, error: str = "") -> RedirectResponse:
    suffix = f"?error={quote(error)}" if error else ""
    return RedirectResponse(f"/incidents/{incident_id}{suffix}", status_code=303)


def _version(values: dict[str, str]) -> int | None:
    raw = values.get("version", "")
    return int(raw) if raw.isdigit() else None


@router.post("/incidents/{incident_id}/dispatch")
async def dispatch_form(
    request: Request, incident_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    principal.require("incidents.dispatch")
    values = await form_dict(request, drop=("csrf_token",))
    unit = values.get("unit_id", "")
    try:
        if not unit.isdigit():
            return _back(incident_id, "choose a unit")
        with platform.transaction() as session:
            platform.dispatch.dispatch(
                session,
                principal,
                incident_id,
                int(unit),
                note=values.get("note", ""),
                expected_version=_version(values),
            )
    except SafecityError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _back(incident_id, exc.message)
    return _back(incident_id)


@router.post("/incidents/{incident_id}/status")
async def status_form(
    request: Request, incident_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    principal.require("incidents.dispatch")
    values = await form_dict(request, drop=("csrf_token",))
    try:
        change = StatusChange.model_validate(
            blank_to_none(
                {k: values.get(k, "") for k in ("status", "disposition", "duplicate_of", "note")}
            )
            | {"note": values.get("note", "")}
        )
        with platform.transaction() as session:
            platform.incidents.change_status(
                session, principal, incident_id, change, expected_version=_version(values)
            )
    except ValidationError as exc:
        return _back(incident_id, "; ".join(validation_messages(exc).values()))
    except SafecityError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _back(incident_id, exc.message)
    return _back(incident_id)
