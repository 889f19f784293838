"""Pages: plate search (with a stated purpose), hotlists and their import."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from safecity.core.clock import PKT
from safecity.core.errors import InvalidInput, PreconditionRequired, SafecityError
from safecity.events.hotlist_csv import CSV_COLUMNS, EXPIRY_FORMATS, READ_ONLY_COLUMNS
from safecity.events.hotlists import public
from safecity.events.models import HOTLIST_CATEGORIES
from safecity.events.plates import SearchMode
from safecity.events.schemas import (
    HotlistEntryCreate,
    HotlistEntryPublic,
    HotlistEntryRemove,
    HotlistEntryUpdate,
)
from safecity.events.service import EXPORT_LIMIT, PlateSearch
from safecity.web.api.hotlists import push_open_hits
from safecity.web.api.plates import read_public
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.hub import HubDep
from safecity.web.pages.forms import (
    PKT_FORM_FORMAT,
    blank_to_none,
    form_dict,
    pkt_field,
    validation_messages,
)
from safecity.web.templating import render

router = APIRouter()
PAGE_SIZE = 50
MODES: tuple[SearchMode, ...] = ("wildcard", "exact", "fuzzy", "near")


def _share(text: str) -> float | None:
    """A minimum confidence typed as a percentage, as a share from 0 to 1."""
    if not text.strip():
        return None
    try:
        percent = float(text)
    except ValueError as exc:
        raise ValueError("minimum confidence: a percentage from 0 to 100") from exc
    if not 0.0 <= percent <= 100.0:
        raise ValueError("minimum confidence: a percentage from 0 to 100")
    return percent / 100.0


@router.get("/plates")
def plates_page(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    plate: str = "",
    mode: str = "wildcard",
    camera: str = "",
    district: str = "",
    since: str = "",
    until: str = "",
    confidence: str = "",
    purpose: str = "",
    offset: int = 0,
) -> Response:
    principal.require("plates.search")
    # A search arriving from a link (the console's "Other reads") comes without a
    # purpose: the form is filled in and asks for one, and nothing is searched yet.
    needs_purpose = bool(plate or camera) and not purpose.strip()
    asked = not needs_purpose and any((plate, camera, district, since, until, confidence, purpose))
    error, items, total, export_query = "", [], 0, ""
    form = {
        "plate": plate,
        "mode": mode if mode in MODES else "wildcard",
        "camera": camera,
        "district": district,
        "since": since,
        "until": until,
        "confidence": confidence,
        "purpose": purpose,
    }
    with platform.transaction() as session:
        districts = platform.registry.list_districts(session, principal)
    if asked:
        try:
            search = PlateSearch(
                plate=plate or None,
                mode=form["mode"],  # type: ignore[arg-type]
                camera=camera or None,
                district=district or None,
                since=pkt_field(since, "since"),
                until=pkt_field(until, "until"),
                min_confidence=_share(confidence),
            )
            with platform.transaction() as session:
                rows, total = platform.events.search_plates(
                    session,
                    principal,
                    search,
                    purpose=purpose,
                    limit=PAGE_SIZE,
                    offset=max(offset, 0),
                )
                items = [read_public(r) for r in rows]
            export_query = urlencode(
                {
                    key: value
                    for key, value in (
                        ("plate", search.plate),
                        ("mode", search.mode),
                        ("camera", search.camera),
                        ("district", search.district),
                        ("since", search.since.isoformat() if search.since else None),
                        ("until", search.until.isoformat() if search.until else None),
                        ("min_confidence", search.min_confidence),
                        ("purpose", purpose),
                    )
                    if value is not None
                }
            )
        except ValueError as exc:
            error = str(exc)
        except SafecityError as exc:
            if exc.status in (401, 403, 404):
                raise
            error = exc.message
    return render(
        request,
        "plates.html",
        {
            "form": form,
            "modes": MODES,
            "districts": districts,
            "items": items,
            "total": total,
            "offset": max(offset, 0),
            "limit": PAGE_SIZE,
            "asked": asked,
            "error": error,
            "query": urlencode(form),
            "image_query": urlencode({"purpose": purpose}),
            "needs_purpose": needs_purpose,
            "export_query": export_query if 0 < total <= EXPORT_LIMIT else "",
            "export_limit": EXPORT_LIMIT,
        },
        principal=principal,
        status_code=422 if error else 200,
    )


# -- hotlists --------------------------------------------------------------------------------


@router.get("/hotlists")
def hotlists_page(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    plate: str = "",
    category: str = "",
    inactive: bool = False,
    offset: int = 0,
) -> Response:
    with platform.transaction() as session:
        rows, total = platform.hotlists.entries(
            session,
            principal,
            plate=plate or None,
            category=category if category in HOTLIST_CATEGORIES else None,
            include_inactive=inactive,
            limit=PAGE_SIZE,
            offset=max(offset, 0),
        )
        items = [public(entry) for entry in rows]
    return render(
        request,
        "hotlists.html",
        {
            "items": items,
            "total": total,
            "offset": max(offset, 0),
            "limit": PAGE_SIZE,
            "plate": plate,
            "category": category,
            "inactive": inactive,
            "categories": HOTLIST_CATEGORIES,
            "query": urlencode(
                {"plate": plate, "category": category, "inactive": "1" if inactive else ""}
            ),
        },
        principal=principal,
    )


def _entry_form(
    request: Request,
    principal: CurrentPrincipal,
    values: dict[str, Any],
    *,
    entry_id: int | None,
    version: int | None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "hotlist_form.html",
        {
            "values": values,
            "entry_id": entry_id,
            "version": version,
            "errors": errors or {},
            "categories": HOTLIST_CATEGORIES,
        },
        principal=principal,
        status_code=status_code,
    )


def _form_values(data: dict[str, Any]) -> dict[str, Any]:
    """Form fields as the schemas take them: expiry typed in Pakistan time."""
    values = blank_to_none(data)
    expiry = values.get("expires_at")
    if isinstance(expiry, str):
        # Left as typed when unreadable: the schema then reports it against the field.
        with contextlib.suppress(ValueError):
            values["expires_at"] = pkt_field(expiry, "expires_at")
    return values


@router.get("/hotlists/new")
def hotlist_new(request: Request, principal: CurrentPrincipal) -> Response:
    principal.require("hotlists.change")
    return _entry_form(
        request, principal, {"priority": 2, "category": "stolen"}, entry_id=None, version=None
    )


@router.post("/hotlists/new")
async def hotlist_create(
    request: Request, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    principal.require("hotlists.change")
    typed = await form_dict(request)
    try:
        data = HotlistEntryCreate.model_validate(_form_values(typed))
        with platform.transaction() as session:
            platform.hotlists.create(session, principal, data)
    except ValidationError as exc:
        return _entry_form(
            request,
            principal,
            typed,
            entry_id=None,
            version=None,
            errors=validation_messages(exc),
            status_code=422,
        )
    except SafecityError as exc:
        if exc.status in (401, 403, 404):
            raise
        errors = {exc.field or "__all__": exc.message}
        return _entry_form(
            request, principal, typed, entry_id=None, version=None, errors=errors, status_code=409
        )
    return RedirectResponse("/hotlists", status_code=303)


@router.get("/hotlists/{entry_id}/edit")
def hotlist_edit(
    request: Request, entry_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    principal.require("hotlists.change")
    with platform.transaction() as session:
        entry = public(platform.hotlists.entry(session, principal, entry_id))
    values = entry.model_dump()
    values["expires_at"] = (
        entry.expires_at.astimezone(PKT).strftime(PKT_FORM_FORMAT) if entry.expires_at else ""
    )
    return _entry_form(request, principal, values, entry_id=entry_id, version=entry.version)


def form_version(raw: object) -> int | None:
    """The version a form was shown at, or None if it sent none."""
    return int(raw) if isinstance(raw, str) and raw.isdigit() else None


STALE_FORM = "this page is out of date (no version): reload the entry and try again"


@router.post("/hotlists/{entry_id}/edit")
async def hotlist_update(
    request: Request, entry_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    principal.require("hotlists.change")
    form = await request.form()
    version = form_version(form.get("version"))
    typed = await form_dict(request)
    values = _form_values(typed)
    values.setdefault("expires_at", None)
    try:
        data = HotlistEntryUpdate.model_validate(values)
        if version is None:
            raise PreconditionRequired(STALE_FORM)
        with platform.transaction() as session:
            platform.hotlists.update(session, principal, entry_id, data, expected_version=version)
    except ValidationError as exc:
        errors = validation_messages(exc)
        return _entry_form(
            request,
            principal,
            typed,
            entry_id=entry_id,
            version=version,
            errors=errors,
            status_code=422,
        )
    except SafecityError as exc:
        if exc.status in (401, 403, 404):
            raise
        errors = {exc.field or "__all__": exc.message}
        return _entry_form(
            request,
            principal,
            typed,
            entry_id=entry_id,
            version=version,
            errors=errors,
            status_code=exc.status,
        )
    return RedirectResponse("/hotlists", status_code=303)


def reason_form(
    request: Request,
    principal: CurrentPrincipal,
    template: str,
    entry: HotlistEntryPublic,
    *,
    version: int | None,
    reason: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    """A change of an entry's listing (removal, listing again): reason, confirmation and
    the version the form was shown at."""
    return render(
        request,
        template,
        {"entry": entry, "version": version, "reason": reason, "error": error},
        principal=principal,
        status_code=status_code,
    )


@router.get("/hotlists/{entry_id}/deactivate")
def hotlist_remove_form(
    request: Request, entry_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    """Removal asks for a reason and a confirmation, against the version shown here."""
    principal.require("hotlists.change")
    with platform.transaction() as session:
        entry = public(platform.hotlists.entry(session, principal, entry_id))
    return reason_form(request, principal, "hotlist_remove.html", entry, version=entry.version)


@router.post("/hotlists/{entry_id}/deactivate")
def hotlist_deactivate(
    request: Request,
    entry_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    hub: HubDep,
    reason: Annotated[str, Form(max_length=600)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
    version: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    principal.require("hotlists.change")
    expected = form_version(version)
    try:
        if confirm != "yes":
            # Taking a plate off the list silences its alerts: never on a stray click.
            raise InvalidInput("tick the confirmation to take this entry off the list")
        removal = HotlistEntryRemove(reason=reason)
        if expected is None:
            raise PreconditionRequired(STALE_FORM)
        with platform.transaction() as session:
            platform.hotlists.deactivate(
                session, principal, entry_id, removal, expected_version=expected
            )
        push_open_hits(platform, hub, entry_id)
    except (ValidationError, SafecityError) as exc:
        if isinstance(exc, SafecityError) and exc.status in (401, 403, 404):
            raise
        if isinstance(exc, ValidationError):
            error, status = "reason: " + validation_messages(exc).get("reason", str(exc)), 422
        else:
            error, status = exc.message, exc.status
        with platform.transaction() as session:
            entry = public(platform.hotlists.entry(session, principal, entry_id))
        # After a stale or missing version the page shows the entry as it is now; removing
        # it still takes a fresh confirmation, made against what is shown.
        return reason_form(
            request,
            principal,
            "hotlist_remove.html",
            entry,
            version=entry.version if status in (412, 428) else expected,
            reason=reason,
            error=error,
            status_code=status,
        )
    return RedirectResponse("/hotlists", status_code=303)


def _import_help() -> dict[str, Any]:
    return {
        "columns": CSV_COLUMNS,
        "read_only_columns": READ_ONLY_COLUMNS,
        "expiry_formats": EXPIRY_FORMATS,
    }


@router.get("/hotlists/import")
def hotlist_import_form(request: Request, principal: CurrentPrincipal) -> Response:
    principal.require("hotlists.change")
    return render(request, "hotlist_import.html", _import_help(), principal=principal)


@router.post("/hotlists/import")
def hotlist_import(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="CSV file")],
) -> Response:
    principal.require("hotlists.change")
    error, report = "", None
    try:
        with platform.transaction() as session:
            report = platform.hotlists.import_csv(session, principal, file.file.read())
    except SafecityError as exc:
        if exc.status in (401, 403):
            raise
        error = exc.message
    return render(
        request,
        "hotlist_import.html",
        {
            **_import_help(),
            "report": report,
            "filename": file.filename or "the file",
            "error": error,
        },
        principal=principal,
        status_code=422 if error else 200,
    )
