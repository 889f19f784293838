"""Analytics rule events of cameras in scope, and their snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import Response

from safecity.contracts.analytics import Box, RuleKind
from safecity.core.clock import as_utc
from safecity.events.models import RuleEventRecord
from safecity.events.schemas import RuleEventPublic
from safecity.events.service import EventFilter
from safecity.web.api.plates import playback_url
from safecity.web.api.shapes import ERRORS, Paginated
from safecity.web.deps import CurrentPrincipal, PageDep, PlatformDep

router = APIRouter(responses=ERRORS)  # type: ignore[arg-type]


def value_text(kind: str, value: float | None, direction: str | None) -> str:
    """An event's value as the operator reads it: each kind's value has its own unit."""
    if value is None:
        return ""
    if kind in ("loitering", "stopped_vehicle", "object_left"):
        return f"{value:.0f} s"
    if kind == "crowd":
        return f"{value:.0f} in the zone"
    if kind == "line_crossing":
        return f"crossing {value:.0f} {direction or ''}".rstrip()
    if kind == "wrong_way":
        return f"{value:.0f} px against the allowed direction"
    return f"{value:g}"


def clip_url(event: RuleEventRecord) -> str:
    query = urlencode({"since": event.clip_start.isoformat(), "until": event.clip_end.isoformat()})
    return f"/api/v1/cameras/{event.camera_id}/clip?{query}"


def event_public(event: RuleEventRecord) -> RuleEventPublic:
    return RuleEventPublic(
        id=event.id,
        camera_id=event.camera_id,
        camera_code=event.camera.code,
        district=event.camera.district.slug,
        kind=event.kind,
        rule=event.rule,
        at=event.at,
        track_id=event.track_id,
        object_class=event.object_class,
        value=event.value,
        direction=event.direction,
        value_text=value_text(event.kind, event.value, event.direction),
        box=Box.model_validate(event.box) if event.box else None,
        frame_width=event.frame_width,
        frame_height=event.frame_height,
        alerted=event.alerted,
        snapshot_url=f"/api/v1/events/{event.id}/snapshot" if event.snapshot else None,
        playback_url=playback_url(event.camera_id, event.at),
        clip_start=event.clip_start,
        clip_end=event.clip_end,
        clip_url=clip_url(event),
        page_url=f"/events/{event.id}",
    )


@router.get("/events", tags=["events"])
def list_events(
    platform: PlatformDep,
    principal: CurrentPrincipal,
    page: PageDep,
    kind: Annotated[RuleKind | None, Query(description="Only this kind of rule")] = None,
    camera: Annotated[str | None, Query(max_length=40, description="Camera code")] = None,
    district: Annotated[str | None, Query(max_length=64, description="District slug")] = None,
    since: Annotated[datetime | None, Query(description="From (ISO 8601; UTC if no zone)")] = None,
    until: Annotated[datetime | None, Query(description="Until (ISO 8601; UTC if no zone)")] = None,
) -> Paginated[RuleEventPublic]:
    """Rule events of cameras in your scope, newest first."""
    filters = EventFilter(
        camera=camera or None,
        district=district or None,
        kind=kind,
        since=as_utc(since) if since else None,
        until=as_utc(until) if until else None,
    )
    with platform.transaction() as session:
        rows, total = platform.events.rule_events(
            session, principal, filters, limit=page.limit, offset=page.offset
        )
        items = [event_public(e) for e in rows]
    return Paginated(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/events/{event_id}", tags=["events"])
def get_event(event_id: int, platform: PlatformDep, principal: CurrentPrincipal) -> RuleEventPublic:
    with platform.transaction() as session:
        return event_public(platform.events.rule_event(session, principal, event_id))


@router.get(
    "/events/{event_id}/snapshot",
    tags=["events"],
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def event_snapshot(event_id: int, platform: PlatformDep, principal: CurrentPrincipal) -> Response:
    """The frame when the rule fired (JPEG, privacy masks burned in); each view is audited."""
    with platform.transaction() as session:
        jpeg = platform.events.event_snapshot(session, principal, event_id)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})
