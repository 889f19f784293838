"""Legal holds for people: the list in scope, placing one from playback, releasing one.

The API (``web/api/recordings.py``) and these forms share the recording service,
which checks ``footage.hold``, keeps to the caller's scope and audits each change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from safecity.core.clock import PKT, as_utc
from safecity.core.errors import SafecityError
from safecity.recordings.schemas import LegalHoldCreate
from safecity.registry.models import Camera
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.pages.forms import validation_messages
from safecity.web.pages.recordings import FORM_FORMAT
from safecity.web.templating import render

router = APIRouter()


def _holds_page(error: str | None = None, placed: int | None = None) -> RedirectResponse:
    query = {"error": error} if error else {"placed": str(placed)} if placed else {}
    return RedirectResponse(f"/holds?{urlencode(query)}" if query else "/holds", status_code=303)


def _back_to_playback(camera_id: int, since: str, until: str, error: str) -> RedirectResponse:
    query = urlencode({"since": since, "until": until, "error": error})
    return RedirectResponse(f"/cameras/{camera_id}/playback?{query}", status_code=303)


def _pkt_form_time(text: str) -> datetime:
    return as_utc(datetime.strptime(text, FORM_FORMAT).replace(tzinfo=PKT))


@router.get("/holds")
def holds_page(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    released: bool = False,
    error: str = "",
    placed: int | None = None,
) -> Response:
    with platform.transaction() as session:
        holds = platform.recordings.holds(session, principal, active_only=not released)
        # Every hold listed is in scope, hence so is its camera.
        cameras = session.scalars(
            select(Camera).where(Camera.id.in_({hold.camera_id for hold in holds}))
        )
        codes = {camera.id: camera.code for camera in cameras}
        rows = [(hold, codes.get(hold.camera_id, "?")) for hold in holds]
    return render(
        request,
        "holds.html",
        {"rows": rows, "released": released, "error": error[:300], "placed": placed},
        principal=principal,
    )


@router.post("/cameras/{camera_id}/holds")
def place_hold(
    camera_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    starts_at: Annotated[str, Form(max_length=20)],
    ends_at: Annotated[str, Form(max_length=20)],
    case_reference: Annotated[str, Form(max_length=200)],
    reason: Annotated[str, Form(max_length=600)],
) -> Response:
    principal.require("footage.hold")
    try:
        data = LegalHoldCreate(
            starts_at=_pkt_form_time(starts_at),
            ends_at=_pkt_form_time(ends_at),
            case_reference=case_reference,
            reason=reason,
        )
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            message = "; ".join(f"{k}: {v}" for k, v in validation_messages(exc).items())
        else:
            message = "times must look like 2026-11-22T14:30 (Pakistan time)"
        return _back_to_playback(camera_id, starts_at, ends_at, message)
    try:
        with platform.transaction() as session:
            hold = platform.recordings.place_hold(session, principal, camera_id, data)
            hold_id = hold.id
    except SafecityError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _back_to_playback(camera_id, starts_at, ends_at, exc.message)
    return _holds_page(placed=hold_id)


@router.post("/holds/{hold_id}/release")
def release_hold(
    hold_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    principal.require("footage.hold")
    if confirm != "yes":
        # Releasing lets retention delete evidence: never on a single stray click.
        return _holds_page(error=f"tick the confirmation to release hold {hold_id}")
    try:
        with platform.transaction() as session:
            platform.recordings.release_hold(session, principal, hold_id)
    except SafecityError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _holds_page(error=exc.message)
    return RedirectResponse(f"/holds?released=true#hold-{quote(str(hold_id))}", status_code=303)
