"""Map, cameras and sites pages."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from safecity.core.clock import utcnow
from safecity.core.errors import PreconditionFailed, SafecityError
from safecity.recordings.uptime import STALE_AFTER
from safecity.registry.models import CAMERA_STATUSES, OWNERSHIPS, ROLLOUT_STATUSES, SITE_TYPES
from safecity.registry.schemas import CameraCreate, CameraUpdate, SiteUpdate
from safecity.registry.service import CameraFilter, SiteFilter, camera_public
from safecity.registry.transfer import COLUMNS, detect_format, parse
from safecity.web.deps import CurrentPrincipal, PageDep, PlatformDep
from safecity.web.pages.forms import blank_to_none, form_dict, validation_messages
from safecity.web.templating import render

router = APIRouter()
CHOICES = {
    "statuses": CAMERA_STATUSES,
    "ownerships": OWNERSHIPS,
    "site_types": SITE_TYPES,
    "rollout_statuses": ROLLOUT_STATUSES,
}


@router.get("/map")
def map_page(request: Request, platform: PlatformDep, principal: CurrentPrincipal) -> Response:
    with platform.transaction() as session:
        # The district list only fills filters: a camera owner may lack districts.view.
        districts = (
            platform.registry.list_districts(session, principal)
            if principal.has_permission("districts.view")
            else []
        )
    return render(request, "map.html", {"districts": districts, **CHOICES}, principal=principal)


@router.get("/cameras")
def cameras_page(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    page: PageDep,
    district: str = "",
    status: str = "",
    ownership: str = "",
    q: str = "",
    site: str = "",
) -> Response:
    flt = CameraFilter(district or None, site or None, status or None, ownership or None, q or None)
    with platform.transaction() as session:
        cameras, total = platform.registry.list_cameras(
            session, principal, flt, limit=page.limit, offset=page.offset
        )
        rows = [camera_public(c) for c in cameras]
        # The district list only fills filters: a camera owner may lack districts.view.
        districts = (
            platform.registry.list_districts(session, principal)
            if principal.has_permission("districts.view")
            else []
        )
    return render(
        request,
        "cameras.html",
        {
            "cameras": rows,
            "total": total,
            "limit": page.limit,
            "offset": page.offset,
            "filters": {
                "district": district,
                "status": status,
                "ownership": ownership,
                "q": q,
                "site": site,
            },
            "districts": districts,
            **CHOICES,
        },
        principal=principal,
    )


@router.get("/cameras/import")
def import_page(request: Request, principal: CurrentPrincipal) -> Response:
    principal.require("cameras.import")
    return render(request, "import.html", {"columns": COLUMNS}, principal=principal)


@router.post("/cameras/import")
def import_upload(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File()],
) -> Response:
    principal.require("cameras.import")
    context: dict[str, Any] = {"columns": COLUMNS, "filename": file.filename}
    try:
        rows = parse(file.file.read(), detect_format(file.filename or ""))
        with platform.transaction() as session:
            context["report"] = platform.importer.run(session, principal, rows)
    except SafecityError as exc:
        context["error"] = exc.message
        return render(request, "import.html", context, principal=principal, status_code=422)
    return render(request, "import.html", context, principal=principal)


@router.get("/cameras/new")
def camera_new_form(
    request: Request, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    principal.require("cameras.change")
    return render(
        request,
        "camera_form.html",
        {"camera": None, "values": {}, "errors": {}, **CHOICES},
        principal=principal,
    )


@router.post("/cameras/new")
async def camera_create(
    request: Request, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    data = blank_to_none(await form_dict(request))
    data["ptz"] = data.get("ptz") == "on"
    return await _run_form(request, platform, principal, data, camera_id=None, version=None)


@router.get("/cameras/{camera_id}")
def camera_page(
    request: Request, camera_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    with platform.transaction() as session:
        camera = camera_public(platform.registry.get_camera(session, principal, camera_id))
        health = platform.recordings.health_of(session, camera.id)
        stale = health is not None and utcnow() - health.reported_at > STALE_AFTER
    return render(
        request,
        "camera.html",
        {
            "camera": camera,
            "health": health,
            "health_stale": stale,
            "masks_json": json.dumps([m.model_dump() for m in camera.privacy_masks]),
        },
        principal=principal,
    )


@router.get("/cameras/{camera_id}/edit")
def camera_edit_form(
    request: Request, camera_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    principal.require("cameras.change")
    with platform.transaction() as session:
        camera = camera_public(platform.registry.get_camera(session, principal, camera_id))
    values = camera.model_dump()
    values["privacy_masks"] = json.dumps([m.model_dump() for m in camera.privacy_masks])
    return render(
        request,
        "camera_form.html",
        {"camera": camera, "values": values, "errors": {}, **CHOICES},
        principal=principal,
    )


@router.post("/cameras/{camera_id}/edit")
async def camera_update(
    request: Request, camera_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    form = await request.form()
    version_text = form.get("version")
    version = (
        int(version_text) if isinstance(version_text, str) and version_text.isdigit() else None
    )
    data = blank_to_none(await form_dict(request))
    data["ptz"] = data.get("ptz") == "on"
    return await _run_form(request, platform, principal, data, camera_id=camera_id, version=version)


async def _run_form(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    data: dict[str, Any],
    *,
    camera_id: int | None,
    version: int | None,
) -> Response:
    def save() -> int:
        with platform.transaction() as session:
            if camera_id is None:
                camera = platform.registry.create_camera(
                    session, principal, CameraCreate.model_validate(data)
                )
            else:
                changes = {k: v for k, v in data.items() if k not in ("code",)}
                camera = platform.registry.update_camera(
                    session,
                    principal,
                    camera_id,
                    CameraUpdate.model_validate(changes),
                    expected_version=version,
                )
            return camera.id

    errors: dict[str, str] = {}
    try:
        saved = await run_in_threadpool(save)
    except ValidationError as exc:
        errors = validation_messages(exc)
    except PreconditionFailed as exc:
        errors = {"__all__": exc.message}
    except SafecityError as exc:
        if exc.status in (401, 403, 404):
            raise
        errors = {exc.field or "__all__": exc.message}
    else:
        return RedirectResponse(f"/cameras/{saved}", status_code=303)
    camera = None
    if camera_id is not None:

        def load() -> Any:
            with platform.transaction() as session:
                return camera_public(platform.registry.get_camera(session, principal, camera_id))

        camera = await run_in_threadpool(load)
    return render(
        request,
        "camera_form.html",
        {"camera": camera, "values": data, "errors": errors, **CHOICES},
        principal=principal,
        status_code=422,
    )


@router.get("/sites")
def sites_page(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    page: PageDep,
    district: str = "",
    site_type: str = "",
    rollout_status: str = "",
    q: str = "",
) -> Response:
    flt = SiteFilter(district or None, site_type or None, rollout_status or None, q or None)
    with platform.transaction() as session:
        sites, total = platform.registry.list_sites(
            session, principal, flt, limit=page.limit, offset=page.offset
        )
        districts = platform.registry.list_districts(session, principal)
    return render(
        request,
        "sites.html",
        {
            "sites": sites,
            "total": total,
            "limit": page.limit,
            "offset": page.offset,
            "filters": {
                "district": district,
                "site_type": site_type,
                "rollout_status": rollout_status,
                "q": q,
            },
            "districts": districts,
            **CHOICES,
        },
        principal=principal,
    )


@router.get("/sites/{site_id}")
def site_page(
    request: Request, site_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    with platform.transaction() as session:
        site = platform.registry.site_summary(
            session, principal, platform.registry.get_site(session, principal, site_id)
        )
        cameras: list[Any] = []
        if principal.has_permission("cameras.view"):
            found, _ = platform.registry.list_cameras(
                session, principal, CameraFilter(site=site.code), limit=500, offset=0
            )
            cameras = [camera_public(c) for c in found]
    return render(
        request, "site.html", {"site": site, "cameras": cameras, **CHOICES}, principal=principal
    )


@router.post("/sites/{site_id}/edit")
def site_update(
    request: Request,
    site_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    name: Annotated[str, Form()],
    site_type: Annotated[str, Form()],
    rollout_status: Annotated[str, Form()],
    latitude: Annotated[str, Form()],
    longitude: Annotated[str, Form()],
    address: Annotated[str, Form()] = "",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    error = ""
    try:
        data = SiteUpdate.model_validate(
            {
                "name": name,
                "site_type": site_type,
                "rollout_status": rollout_status,
                "latitude": latitude,
                "longitude": longitude,
                "address": address,
            }
        )
        with platform.transaction() as session:
            platform.registry.update_site(
                session, principal, site_id, data, expected_version=version
            )
    except ValidationError as exc:
        error = "; ".join(f"{k}: {v}" for k, v in validation_messages(exc).items())
    except SafecityError as exc:
        if exc.status in (401, 403, 404):
            raise
        error = exc.message
    if not error:
        return RedirectResponse(f"/sites/{site_id}", status_code=303)
    with platform.transaction() as session:
        site = platform.registry.site_summary(
            session, principal, platform.registry.get_site(session, principal, site_id)
        )
    return render(
        request,
        "site.html",
        {"site": site, "cameras": [], "error": error, **CHOICES},
        principal=principal,
        status_code=422,
    )
