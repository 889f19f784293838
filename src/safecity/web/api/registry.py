"""Districts, sites and cameras."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response

from safecity.registry.schemas import (
    CameraCreate,
    CameraPublic,
    CameraUpdate,
    DistrictPublic,
    ImportReport,
    SiteCreate,
    SitePublic,
    SiteUpdate,
)
from safecity.registry.service import CameraFilter, SiteFilter, camera_public
from safecity.registry.transfer import detect_format, export_rows, parse, render
from safecity.web.api.shapes import ERRORS, Paginated, if_match_version, page_of
from safecity.web.deps import CurrentPrincipal, PageDep, PlatformDep

router = APIRouter(responses=ERRORS)  # type: ignore[arg-type]
IfMatch = Annotated[int | None, Depends(if_match_version)]


@router.get("/districts", tags=["registry"])
def list_districts(
    platform: PlatformDep, principal: CurrentPrincipal, page: PageDep
) -> Paginated[DistrictPublic]:
    with platform.transaction() as session:
        items = platform.registry.list_districts(session, principal)
    return page_of(items, limit=page.limit, offset=page.offset)


@router.get("/sites", tags=["registry"])
def list_sites(
    platform: PlatformDep,
    principal: CurrentPrincipal,
    page: PageDep,
    district: str | None = None,
    site_type: str | None = None,
    rollout_status: str | None = None,
    q: str | None = None,
) -> Paginated[SitePublic]:
    flt = SiteFilter(district, site_type, rollout_status, q)
    with platform.transaction() as session:
        items, total = platform.registry.list_sites(
            session, principal, flt, limit=page.limit, offset=page.offset
        )
    return Paginated(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/sites/{site_id}", tags=["registry"])
def get_site(site_id: int, platform: PlatformDep, principal: CurrentPrincipal) -> SitePublic:
    with platform.transaction() as session:
        site = platform.registry.get_site(session, principal, site_id)
        return platform.registry.site_summary(session, principal, site)


@router.post("/sites", status_code=201, tags=["registry"])
def create_site(data: SiteCreate, platform: PlatformDep, principal: CurrentPrincipal) -> SitePublic:
    with platform.transaction() as session:
        site = platform.registry.create_site(session, principal, data)
        return platform.registry.site_summary(session, principal, site)


@router.patch("/sites/{site_id}", tags=["registry"])
def update_site(
    site_id: int,
    data: SiteUpdate,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    version: IfMatch,
) -> SitePublic:
    with platform.transaction() as session:
        site = platform.registry.update_site(
            session, principal, site_id, data, expected_version=version
        )
        return platform.registry.site_summary(session, principal, site)


@router.get("/cameras", tags=["registry"])
def list_cameras(
    platform: PlatformDep,
    principal: CurrentPrincipal,
    page: PageDep,
    district: str | None = None,
    site: str | None = None,
    status: str | None = None,
    ownership: str | None = None,
    q: str | None = None,
) -> Paginated[CameraPublic]:
    flt = CameraFilter(district, site, status, ownership, q)
    with platform.transaction() as session:
        cameras, total = platform.registry.list_cameras(
            session, principal, flt, limit=page.limit, offset=page.offset
        )
        items = [camera_public(c) for c in cameras]
    return Paginated(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/cameras/export", tags=["registry"])
def export_cameras(
    platform: PlatformDep,
    principal: CurrentPrincipal,
    format: Literal["csv", "yaml"] = "csv",
    district: str | None = None,
    status: str | None = None,
) -> Response:
    principal.require("cameras.export")
    with platform.transaction() as session:
        cameras = platform.registry.all_cameras(
            session, principal, CameraFilter(district=district, status=status), action="export"
        )
        body = render(export_rows(cameras), format)
    media = "text/csv" if format == "csv" else "application/yaml"
    return Response(
        body,
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="cameras.{format}"'},
    )


@router.post("/cameras/import", tags=["registry"])
def import_cameras(
    platform: PlatformDep, principal: CurrentPrincipal, file: Annotated[UploadFile, File()]
) -> ImportReport:
    principal.require("cameras.import")
    fmt = detect_format(file.filename or "")
    rows = parse(file.file.read(), fmt)
    with platform.transaction() as session:
        return platform.importer.run(session, principal, rows)


@router.get("/cameras/{camera_id}", tags=["registry"])
def get_camera(camera_id: int, platform: PlatformDep, principal: CurrentPrincipal) -> CameraPublic:
    with platform.transaction() as session:
        return camera_public(platform.registry.get_camera(session, principal, camera_id))


@router.post("/cameras", status_code=201, tags=["registry"])
def create_camera(
    data: CameraCreate, platform: PlatformDep, principal: CurrentPrincipal
) -> CameraPublic:
    with platform.transaction() as session:
        return camera_public(platform.registry.create_camera(session, principal, data))


@router.patch("/cameras/{camera_id}", tags=["registry"])
def update_camera(
    camera_id: int,
    data: CameraUpdate,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    version: IfMatch,
) -> CameraPublic:
    with platform.transaction() as session:
        camera = platform.registry.update_camera(
            session, principal, camera_id, data, expected_version=version
        )
        return camera_public(camera)


@router.delete("/cameras/{camera_id}", status_code=204, tags=["registry"])
def delete_camera(
    camera_id: int, platform: PlatformDep, principal: CurrentPrincipal, version: IfMatch
) -> Response:
    with platform.transaction() as session:
        platform.registry.delete_camera(session, principal, camera_id, expected_version=version)
    return Response(status_code=204)


@router.get("/map/features", tags=["registry"])
def map_features(
    platform: PlatformDep,
    principal: CurrentPrincipal,
    district: str | None = None,
    status: str | None = None,
    ownership: str | None = None,
    site_type: Annotated[str | None, Query(description="Only sites of this type")] = None,
) -> dict[str, object]:
    """Compact features for the map: districts, sites and cameras in scope (one audit record)."""
    with platform.transaction() as session:
        # The district list is context only: a camera owner may lack districts.view.
        districts = (
            platform.registry.list_districts(session, principal)
            if principal.has_permission("districts.view")
            else []
        )
        sites: list[SitePublic] = []
        if principal.has_permission("sites.view"):
            sites, _ = platform.registry.list_sites(
                session,
                principal,
                SiteFilter(district=district, site_type=site_type),
                limit=100_000,
                offset=0,
            )
        cameras = []
        if principal.has_permission("cameras.view"):
            cameras = platform.registry.all_cameras(
                session,
                principal,
                CameraFilter(district=district, status=status, ownership=ownership),
            )
        return {
            "districts": [d.model_dump() for d in districts],
            "sites": [
                {
                    "id": s.id,
                    "code": s.code,
                    "name": s.name,
                    "lat": s.latitude,
                    "lon": s.longitude,
                    "type": s.site_type,
                    "status": s.rollout_status,
                    "district": s.district,
                    "cameras": s.cameras,
                }
                for s in sites
            ],
            "cameras": [
                {
                    "id": c.id,
                    "code": c.code,
                    "name": c.name,
                    "status": c.status,
                    "ownership": c.ownership,
                    "district": c.district.slug,
                    "lat": c.latitude if c.latitude is not None else c.site.latitude,
                    "lon": c.longitude if c.longitude is not None else c.site.longitude,
                }
                for c in cameras
            ],
        }
