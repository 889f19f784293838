"""Playback of a camera's recordings over a time range, in Pakistan time."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from safecity.core.clock import PKT, as_utc, utcnow
from safecity.core.errors import SafecityError
from safecity.recordings.service import TimeRange
from safecity.registry.service import camera_public
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.templating import render

router = APIRouter()
FORM_FORMAT = "%Y-%m-%dT%H:%M"


def _pkt(text: str, default: datetime) -> datetime:
    if not text:
        return default
    return as_utc(datetime.strptime(text, FORM_FORMAT).replace(tzinfo=PKT))


def _moment(text: str, window: TimeRange) -> datetime | None:
    """``text`` as a UTC moment inside ``window``; None if empty, malformed or outside."""
    if not text:
        return None
    try:
        moment = as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None
    return moment if window.since <= moment <= window.until else None


@router.get("/cameras/{camera_id}/playback")
def playback_page(
    request: Request,
    camera_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    since: str = "",
    until: str = "",
    at: str = "",
    error: str = "",
) -> Response:
    """A camera's segments over a range; ``at`` (UTC, ISO 8601), where a link comes from an
    event or a read, is where the player starts."""
    principal.require("footage.view")
    now = utcnow()
    hold_error, error = error[:300], ""
    segments = []
    try:
        window = TimeRange(_pkt(since, now - timedelta(hours=1)), _pkt(until, now))
    except ValueError:
        window = TimeRange(now - timedelta(hours=1), now)
        error = "times must look like 2026-11-22T14:30 (Pakistan time)"
    start_at = _moment(at, window)
    if at and start_at is None:
        error = "the moment to start at must be a UTC time within the range"
    with platform.transaction() as session:
        camera = camera_public(platform.registry.get_camera(session, principal, camera_id))
        try:
            segments = platform.recordings.segments(session, principal, camera_id, window)
        except SafecityError as exc:
            if exc.status in (401, 403, 404):
                raise
            error = exc.message
    return render(
        request,
        "playback.html",
        {
            "camera": camera,
            "segments": segments,
            "since": window.since.astimezone(PKT).strftime(FORM_FORMAT),
            "until": window.until.astimezone(PKT).strftime(FORM_FORMAT),
            "error": error,
            "hold_error": hold_error,
            "recorded_seconds": sum(s.duration_seconds for s in segments),
            "start_at": start_at,
        },
        principal=principal,
        status_code=422 if error else 200,
    )
