"""Onboarding a camera: probe it over ONVIF, check it against the standards, and fill
the new-camera form from what it reports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from safecity.core.errors import SafecityError
from safecity.registry.models import CAMERA_STATUSES, OWNERSHIPS, ROLLOUT_STATUSES, SITE_TYPES
from safecity.registry.onvif import compliance_summary, probe_camera
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.templating import render

router = APIRouter()
CHOICES = {
    "statuses": CAMERA_STATUSES,
    "ownerships": OWNERSHIPS,
    "site_types": SITE_TYPES,
    "rollout_statuses": ROLLOUT_STATUSES,
}


@router.post("/cameras/new/probe")
async def probe(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    host: Annotated[str, Form(max_length=253)],
    port: Annotated[int, Form(ge=1, le=65535)] = 80,
    username: Annotated[str, Form(max_length=120)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    principal.require("cameras.change")
    context: dict[str, Any] = {
        "camera": None,
        "errors": {},
        "values": {},
        "probe_target": {"host": host, "port": port, "username": username},
        **CHOICES,
    }
    try:
        result = await probe_camera(host, port, username, password, timeout=10)
    except SafecityError as exc:
        context["probe_error"] = exc.message
        _audit_probe(platform, principal, host, port, f"failed: {exc.code}")
        return render(request, "camera_form.html", context, principal=principal, status_code=422)
    values = result.camera_fields_with_credentials()
    resolution = values.get("resolution")
    if isinstance(resolution, tuple) and len(resolution) == 2:
        values["resolution"] = f"{resolution[0]}x{resolution[1]}"
    values["vendor"] = values.get("make") or ""
    context["values"] = values
    context["probe"] = result
    context["compliance"] = compliance_summary(result)
    _audit_probe(
        platform,
        principal,
        host,
        port,
        f"{result.device.manufacturer or '?'} {result.device.model or '?'}",
    )
    return render(request, "camera_form.html", context, principal=principal)


def _audit_probe(
    platform: PlatformDep, principal: CurrentPrincipal, host: str, port: int, outcome: str
) -> None:
    with platform.transaction() as session:
        platform.audit.append(
            session,
            principal.audit,
            action="probe",
            object_type="camera",
            summary=f"ONVIF probe of {host}:{port}: {outcome}",
        )
