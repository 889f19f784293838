"""Page: put a hotlist entry taken off the list back on it, with a reason on record.

The same rules as the API's ``PATCH`` with ``active: true``: the ``hotlists.change``
permission, the version the page was read at (a stale page is refused and shows the
entry as it is now), and a reason kept in the audit record. The entry's earlier alerts
stay as its removal left them; its next read raises a new alert."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from safecity.core.errors import InvalidInput, PreconditionRequired, SafecityError
from safecity.events.hotlists import public
from safecity.events.schemas import HotlistEntryUpdate
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.pages.events import STALE_FORM, form_version, reason_form
from safecity.web.pages.forms import validation_messages

router = APIRouter()
TEMPLATE = "hotlist_relist.html"


@router.get("/hotlists/{entry_id}/relist")
def hotlist_relist_form(
    request: Request, entry_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    """Listing again asks for a reason and a confirmation, against the version shown."""
    principal.require("hotlists.change")
    with platform.transaction() as session:
        entry = public(platform.hotlists.entry(session, principal, entry_id))
    return reason_form(request, principal, TEMPLATE, entry, version=entry.version)


@router.post("/hotlists/{entry_id}/relist")
def hotlist_relist(
    request: Request,
    entry_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    reason: Annotated[str, Form(max_length=600)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
    version: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    principal.require("hotlists.change")
    expected = form_version(version)
    try:
        if confirm != "yes":
            # Listing a plate again sends officers after it: never on a stray click.
            raise InvalidInput("tick the confirmation to put this entry back on the list")
        data = HotlistEntryUpdate(active=True, relist_reason=reason)
        if expected is None:
            raise PreconditionRequired(STALE_FORM)
        with platform.transaction() as session:
            platform.hotlists.update(session, principal, entry_id, data, expected_version=expected)
    except (ValidationError, SafecityError) as exc:
        if isinstance(exc, SafecityError) and exc.status in (401, 403, 404):
            raise
        if isinstance(exc, ValidationError):
            message = validation_messages(exc).get("relist_reason", str(exc))
            error, status = f"reason: {message}", 422
        else:
            error, status = exc.message, exc.status
        with platform.transaction() as session:
            entry = public(platform.hotlists.entry(session, principal, entry_id))
        # After a stale or missing version the page shows the entry as it is now; listing
        # it again still takes a fresh confirmation, made against what is shown.
        return reason_form(
            request,
            principal,
            TEMPLATE,
            entry,
            version=entry.version if status in (412, 428) else expected,
            reason=reason,
            error=error,
            status_code=status,
        )
    return RedirectResponse("/hotlists?inactive=1", status_code=303)
