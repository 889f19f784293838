"""Hotlist entries: list, add, change (If-Match), take off the list, import and export CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response

from safecity.events.hotlists import public
from safecity.events.models import HotlistCategory
from safecity.events.schemas import (
    HotlistEntryCreate,
    HotlistEntryPublic,
    HotlistEntryUpdate,
    HotlistImportReport,
)
from safecity.web.api.shapes import ERRORS, Paginated, if_match_version
from safecity.web.deps import CurrentPrincipal, PageDep, PlatformDep

router = APIRouter(prefix="/hotlists", responses=ERRORS)  # type: ignore[arg-type]
IfMatch = Annotated[int | None, Depends(if_match_version)]


@router.get("/entries", tags=["hotlists"])
def list_entries(
    platform: PlatformDep,
    principal: CurrentPrincipal,
    page: PageDep,
    plate: Annotated[
        str | None, Query(max_length=20, description="Entries for this plate (confusables too)")
    ] = None,
    category: Annotated[HotlistCategory | None, Query(description="Only this list")] = None,
    include_inactive: Annotated[bool, Query(description="Also entries taken off")] = False,
) -> Paginated[HotlistEntryPublic]:
    with platform.transaction() as session:
        rows, total = platform.hotlists.entries(
            session,
            principal,
            plate=plate or None,
            category=category,
            include_inactive=include_inactive,
            limit=page.limit,
            offset=page.offset,
        )
        items = [public(entry) for entry in rows]
    return Paginated(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/entries", status_code=201, tags=["hotlists"])
def create_entry(
    data: HotlistEntryCreate, platform: PlatformDep, principal: CurrentPrincipal
) -> HotlistEntryPublic:
    with platform.transaction() as session:
        return public(platform.hotlists.create(session, principal, data))


@router.get("/entries/{entry_id}", tags=["hotlists"])
def get_entry(
    entry_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> HotlistEntryPublic:
    with platform.transaction() as session:
        return public(platform.hotlists.entry(session, principal, entry_id))


@router.patch("/entries/{entry_id}", tags=["hotlists"])
def update_entry(
    entry_id: int,
    data: HotlistEntryUpdate,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    version: IfMatch,
) -> HotlistEntryPublic:
    with platform.transaction() as session:
        entry = platform.hotlists.update(
            session, principal, entry_id, data, expected_version=version
        )
        return public(entry)


@router.delete("/entries/{entry_id}", tags=["hotlists"])
def deactivate_entry(
    entry_id: int, platform: PlatformDep, principal: CurrentPrincipal, version: IfMatch
) -> HotlistEntryPublic:
    """Take the entry off the list; it is kept, inactive, so past alerts still explain."""
    with platform.transaction() as session:
        entry = platform.hotlists.deactivate(session, principal, entry_id, expected_version=version)
        return public(entry)


@router.post("/import", tags=["hotlists"])
def import_entries(
    file: Annotated[UploadFile, File(description="CSV file")],
    platform: PlatformDep,
    principal: CurrentPrincipal,
) -> HotlistImportReport:
    """CSV with columns plate, category, reason, source_agency and optionally priority,
    expires_at, owner. Valid rows are added; each invalid row is reported by row and column."""
    principal.require("hotlists.change")
    content = file.file.read()
    with platform.transaction() as session:
        return platform.hotlists.import_csv(session, principal, content)


@router.get("/export.csv", tags=["hotlists"])
def export_entries(platform: PlatformDep, principal: CurrentPrincipal) -> Response:
    with platform.transaction() as session:
        body = platform.hotlists.export_csv(session, principal)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="hotlist.csv"',
            "Cache-Control": "private, no-store",
        },
    )
