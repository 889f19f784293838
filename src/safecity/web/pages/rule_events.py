"""Pages: analytics rule events, listed with filters, and one event with its object marked."""

from __future__ import annotations

from typing import get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from safecity.contracts.analytics import RuleKind
from safecity.core.errors import InvalidInput
from safecity.events.service import EventFilter
from safecity.web.api.events import event_public
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.pages.forms import pkt_field
from safecity.web.templating import render

router = APIRouter()
PAGE_SIZE = 50
KINDS: tuple[str, ...] = get_args(RuleKind)


@router.get("/events")
def events_page(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    kind: str = "",
    camera: str = "",
    district: str = "",
    since: str = "",
    until: str = "",
    offset: int = 0,
) -> Response:
    """Rule events in scope, newest first; a bad filter is said on the page, not a 500."""
    fields = {
        "kind": kind,
        "camera": camera.strip(),
        "district": district,
        "since": since,
        "until": until,
    }
    items = []
    total = 0
    error = ""
    with platform.transaction() as session:
        districts = platform.registry.list_districts(session, principal)
        try:
            if kind and kind not in KINDS:
                raise InvalidInput(f"no rule kind is called {kind}", field="kind")
            filters = EventFilter(
                camera=fields["camera"] or None,
                district=district or None,
                kind=kind or None,
                since=pkt_field(since, "since"),
                until=pkt_field(until, "until"),
            )
            rows, total = platform.events.rule_events(
                session, principal, filters, limit=PAGE_SIZE, offset=max(offset, 0)
            )
            items = [event_public(e) for e in rows]
        except InvalidInput as exc:
            error = exc.message
        except ValueError as exc:  # a time not typed as the form asks
            error = str(exc)
    return render(
        request,
        "events.html",
        {
            **fields,
            "kinds": KINDS,
            "items": items,
            "total": total,
            "offset": max(offset, 0),
            "limit": PAGE_SIZE,
            "districts": districts,
            "error": error,
            "query": urlencode(fields),
        },
        principal=principal,
        status_code=422 if error else 200,
    )


@router.get("/events/{event_id}")
def event_page(
    request: Request, event_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    """One event: what fired, on which object (marked on the frame), and its footage."""
    with platform.transaction() as session:
        event = event_public(platform.events.rule_event(session, principal, event_id))
    return render(request, "event.html", {"event": event}, principal=principal)
