"""Plate reads: search (exact, wildcard, fuzzy, near) with a stated purpose, one read, its images.

Images are served by read id after the permission filter; a client never names a path.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response

from safecity.core.clock import PKT, as_utc
from safecity.events.models import PlateReadRecord
from safecity.events.plates import SearchMode
from safecity.events.schemas import PlateReadPublic
from safecity.events.service import PlateImage, PlateSearch
from safecity.web.api.shapes import ERRORS, Paginated
from safecity.web.deps import PURPOSE_HEADER, CurrentPrincipal, PageDep, PlatformDep

router = APIRouter(responses=ERRORS)  # type: ignore[arg-type]
PLAYBACK_MARGIN = timedelta(minutes=2)
PLAYBACK_FORMAT = "%Y-%m-%dT%H:%M"
PLAYBACK_START_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

PurposeQuery = Annotated[
    str | None,
    Query(
        max_length=300,
        description="Why you search (case or FIR number...); or send the X-Purpose header.",
    ),
]


def stated_purpose(request: Request, purpose: str | None) -> str | None:
    """The purpose stated for this request: the field, else the X-Purpose header."""
    return purpose or request.headers.get(PURPOSE_HEADER)


def playback_url(camera_id: int, at: datetime) -> str:
    """The playback page around a moment (the page reads Pakistan time), starting the
    player at the moment itself rather than at the window's start."""
    moment = as_utc(at)
    since = (moment - PLAYBACK_MARGIN).astimezone(PKT).strftime(PLAYBACK_FORMAT)
    until = (moment + PLAYBACK_MARGIN).astimezone(PKT).strftime(PLAYBACK_FORMAT)
    start = moment.strftime(PLAYBACK_START_FORMAT)
    return f"/cameras/{camera_id}/playback?since={since}&until={until}&at={start}"


def read_public(read: PlateReadRecord) -> PlateReadPublic:
    return PlateReadPublic(
        id=read.id,
        camera_id=read.camera_id,
        camera_code=read.camera.code,
        district=read.camera.district.slug,
        at=read.at,
        first_seen=read.first_seen,
        last_seen=read.last_seen,
        text=read.text,
        confidence=read.confidence,
        rule=read.rule,
        vehicle_class=read.vehicle_class,
        hit=read.hit,
        hotlist_hits=list(read.hotlist_hits),
        crop_url=f"/api/v1/plates/{read.id}/crop" if read.plate_crop else None,
        vehicle_url=f"/api/v1/plates/{read.id}/vehicle" if read.vehicle_image else None,
        playback_url=playback_url(read.camera_id, read.at),
    )


def plate_search(
    plate: Annotated[
        str | None,
        Query(max_length=40, description="Plate or pattern: '?' one character, '*' any run."),
    ] = None,
    mode: Annotated[
        SearchMode,
        Query(
            description="exact; wildcard (also exact without wildcards); fuzzy (O/0, I/1, "
            "B/8, S/5, Z/2, G/6 alike); near (a whole plate: fuzzy, and reads one character "
            "dropped, added or misread)"
        ),
    ] = "wildcard",
    camera: Annotated[str | None, Query(max_length=40, description="Camera code")] = None,
    district: Annotated[str | None, Query(max_length=64, description="District slug")] = None,
    since: Annotated[datetime | None, Query(description="From (ISO 8601; UTC if no zone)")] = None,
    until: Annotated[datetime | None, Query(description="Until (ISO 8601; UTC if no zone)")] = None,
    min_confidence: Annotated[
        float | None,
        Query(ge=0, le=1, description="Only reads of this fused confidence (0 to 1) or more"),
    ] = None,
) -> PlateSearch:
    """The search's fields from the query string (shared by the search and its export)."""
    return PlateSearch(
        plate=plate or None,
        mode=mode,
        camera=camera or None,
        district=district or None,
        since=as_utc(since) if since else None,
        until=as_utc(until) if until else None,
        min_confidence=min_confidence,
    )


PlateSearchQuery = Annotated[PlateSearch, Depends(plate_search)]


@router.get("/plates", tags=["plates"])
def search_plates(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    page: PageDep,
    search: PlateSearchQuery,
    purpose: PurposeQuery = None,
) -> Paginated[PlateReadPublic]:
    """Reads of cameras in your scope, newest first; every search is audited with its purpose."""
    with platform.transaction() as session:
        rows, total = platform.events.search_plates(
            session,
            principal,
            search,
            purpose=stated_purpose(request, purpose),
            limit=page.limit,
            offset=page.offset,
        )
        items = [read_public(r) for r in rows]
    return Paginated(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/plates/export.csv", tags=["plates"], response_class=Response)
def export_plates(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    search: PlateSearchQuery,
    purpose: PurposeQuery = None,
) -> Response:
    """The reads a search finds, as CSV (newest first, at most 10,000: narrow a larger
    search), for a case file. Needs ``plates.export``, a purpose, and is audited."""
    with platform.transaction() as session:
        body = platform.events.export_plates(
            session, principal, search, purpose=stated_purpose(request, purpose)
        )
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="plate-reads.csv"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/plates/{read_id}", tags=["plates"])
def get_plate_read(
    request: Request,
    read_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    purpose: PurposeQuery = None,
) -> PlateReadPublic:
    with platform.transaction() as session:
        read = platform.events.plate_read(
            session, principal, read_id, purpose=stated_purpose(request, purpose)
        )
        return read_public(read)


def _image(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    read_id: int,
    which: PlateImage,
    purpose: str | None,
) -> FileResponse:
    with platform.transaction() as session:
        path = platform.events.plate_image(
            session, principal, read_id, which, purpose=stated_purpose(request, purpose)
        )
    return FileResponse(
        path, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"}
    )


@router.get("/plates/{read_id}/crop", tags=["plates"])
def plate_crop(
    request: Request,
    read_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    purpose: PurposeQuery = None,
) -> FileResponse:
    """The plate as the reader cut it out (JPEG); each view is audited."""
    return _image(request, platform, principal, read_id, "crop", purpose)


@router.get("/plates/{read_id}/vehicle", tags=["plates"])
def plate_vehicle(
    request: Request,
    read_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    purpose: PurposeQuery = None,
) -> FileResponse:
    """The whole vehicle (JPEG); each view is audited."""
    return _image(request, platform, principal, read_id, "vehicle", purpose)
