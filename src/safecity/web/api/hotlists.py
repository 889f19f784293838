"""Hotlist entries: list, add, change, take off the list (with a reason), import and export
CSV. A change or removal must send the version it was made against in If-Match: a stale
one is refused (412) rather than overwriting a colleague's edit, and one without it too
(428), since a hotlist entry sends officers after a vehicle."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, File, Query, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError

from safecity.core.errors import InvalidInput
from safecity.events.hotlist_csv import EXPIRY_FORMATS
from safecity.events.hotlists import public
from safecity.events.models import HotlistCategory
from safecity.events.schemas import (
    HotlistEntryCreate,
    HotlistEntryPublic,
    HotlistEntryRemove,
    HotlistEntryUpdate,
    HotlistImportReport,
)
from safecity.web.api.shapes import (
    ERRORS,
    ErrorResponse,
    Paginated,
    required_if_match_version,
)
from safecity.web.deps import CurrentPrincipal, PageDep, PlatformDep
from safecity.web.hub import ConsoleHub, HubDep
from safecity.web.platform import Platform

IMPORT_HELP = (
    "CSV with a header row. Required columns: plate, category (stolen, wanted, "
    "expired_registration; any case, 'Expired registration' too), reason, source_agency; "
    "optional: priority (1 to 5, default 2), expires_at, owner (username; you if empty). "
    f"expires_at takes {EXPIRY_FORMATS}; empty: never. The export's file is accepted as "
    "is: its id, created_by and created_at columns are ignored, a row with active=no is "
    "skipped (never put back on the list), and a row repeating an entry already on the "
    "list is skipped as unchanged. Each row stands alone: valid rows are added, each "
    "invalid one is reported in `problems` by row (the header is row 1) and column; "
    "`warnings` notes rows skipped or added with an expiry already past."
)

router = APIRouter(prefix="/hotlists", responses=ERRORS)  # type: ignore[arg-type]
IfMatch = Annotated[int, Depends(required_if_match_version)]
VERSIONED = {
    409: {"model": ErrorResponse, "description": "Conflicts with another entry or state"},
    412: {"model": ErrorResponse, "description": "Stale If-Match: reload and try again"},
    428: {"model": ErrorResponse, "description": "If-Match missing"},
}


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


@router.patch("/entries/{entry_id}", tags=["hotlists"], responses=VERSIONED)  # type: ignore[arg-type]
def update_entry(
    entry_id: int,
    data: HotlistEntryUpdate,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    version: IfMatch,
) -> HotlistEntryPublic:
    """Change the fields sent; If-Match (required) holds the version you read."""
    with platform.transaction() as session:
        entry = platform.hotlists.update(
            session, principal, entry_id, data, expected_version=version
        )
        return public(entry)


def removal_from(body: HotlistEntryRemove | None, reason: str | None) -> HotlistEntryRemove:
    """The removal a DELETE asks for, from its JSON body or its ``reason`` query parameter
    (some proxies drop the body of a DELETE); both may be sent if they agree."""
    if body is not None:
        if reason is not None and reason.strip() != body.reason:
            raise InvalidInput(
                "the reason in the query and the one in the body differ: send one", field="reason"
            )
        return body
    if reason is None:
        raise InvalidInput(
            'a reason is required: ?reason=... or a JSON body {"reason": "..."}', field="reason"
        )
    try:
        return HotlistEntryRemove(reason=reason)
    except ValidationError as exc:
        raise InvalidInput(f"reason: {exc.errors()[0]['msg']}", field="reason") from exc


@router.delete("/entries/{entry_id}", tags=["hotlists"], responses=VERSIONED)  # type: ignore[arg-type]
def deactivate_entry(
    entry_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    version: IfMatch,
    hub: HubDep,
    body: Annotated[
        HotlistEntryRemove | None, Body(description='``{"reason": "..."}``, or use ?reason=')
    ] = None,
    reason: Annotated[
        str | None,
        Query(
            max_length=500,
            description="Why the entry comes off the list, for clients whose DELETE loses "
            "its body on the way; the JSON body is taken too.",
        ),
    ] = None,
) -> HotlistEntryPublic:
    """Take the entry off the list, with its reason (kept in the audit record) in a JSON
    body ``{"reason": "..."}`` or in ``?reason=``, and If-Match (required). The entry is
    kept, inactive, so past alerts still explain."""
    removal = removal_from(body, reason)
    with platform.transaction() as session:
        entry = public(
            platform.hotlists.deactivate(
                session, principal, entry_id, removal, expected_version=version
            )
        )
    push_open_hits(platform, hub, entry_id)
    return entry


def push_open_hits(platform: Platform, hub: ConsoleHub, entry_id: int) -> None:
    """Once an entry has left the list (committed), its open alerts go to the consoles
    again, so the cards say the vehicle is no longer sought and offer no incident."""
    with platform.transaction() as session:
        hits = platform.alerts.open_hits_of(session, entry_id)
    for alert in hits:
        hub.broadcast(
            alert.district_id, "alert", alert.model_dump(mode="json"), camera_id=alert.camera_id
        )


@router.post("/import", tags=["hotlists"], description=IMPORT_HELP)
def import_entries(
    file: Annotated[UploadFile, File(description="CSV file")],
    platform: PlatformDep,
    principal: CurrentPrincipal,
) -> HotlistImportReport:
    principal.require("hotlists.change")
    content = file.file.read()
    with platform.transaction() as session:
        return platform.hotlists.import_csv(session, principal, content)


@router.get("/export.csv", tags=["hotlists"])
def export_entries(platform: PlatformDep, principal: CurrentPrincipal) -> Response:
    """Every entry as CSV in the import's format (the import takes this file back). Times
    are UTC with their offset; a text cell that a spreadsheet would run as a formula
    (starting with = + - @) is written behind an apostrophe, which the import removes."""
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
