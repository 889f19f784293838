"""A camera's analytics configuration (zones, lines, rules) and a snapshot to draw them on."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from safecity.analytics.snapshots import grab_jpeg
from safecity.core.clock import utcnow
from safecity.core.errors import NotFound
from safecity.identity.permissions import get_in_scope
from safecity.recordings.service import TimeRange
from safecity.registry.analytics_schemas import AnalyticsPublic, AnalyticsUpdate
from safecity.registry.models import Camera
from safecity.registry.privacy import mask_note, masked_jpeg, viewer_masks
from safecity.web.api.shapes import ERRORS, required_if_match_version
from safecity.web.deps import CurrentPrincipal, PlatformDep

router = APIRouter(responses=ERRORS)  # type: ignore[arg-type]
# Required: a stale overwrite would silently undo someone's zones and rules (and restart
# the camera's analytics on a configuration nobody chose), so a change names its version.
IfMatch = Annotated[int, Depends(required_if_match_version)]
SNAPSHOT_LOOKBACK = timedelta(hours=24)


@router.get("/cameras/{camera_id}/analytics", tags=["analytics"])
def get_analytics(
    camera_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> AnalyticsPublic:
    with platform.transaction() as session:
        return platform.analytics_config.get_config(session, principal, camera_id)


@router.put("/cameras/{camera_id}/analytics", tags=["analytics"])
def put_analytics(
    camera_id: int,
    data: AnalyticsUpdate,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    version: IfMatch,
    response: Response,
) -> AnalyticsPublic:
    """Replace the whole configuration; send the version you read in If-Match (``"0"`` for a
    camera never configured): 428 without it, 412 if stale."""
    with platform.transaction() as session:
        public = platform.analytics_config.update_config(
            session, principal, camera_id, data, expected_version=version
        )
    response.headers["ETag"] = f'"{public.version}"'
    return public


@router.get(
    "/cameras/{camera_id}/snapshot",
    tags=["analytics"],
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def get_snapshot(camera_id: int, platform: PlatformDep, principal: CurrentPrincipal) -> Response:
    """The last key frame of the camera's most recent recording (footage.view, audited),
    with the camera's privacy masks burned in unless you hold ``cameras.unmask``."""
    now = utcnow()
    with platform.transaction() as session:
        camera = get_in_scope(session, Camera, principal, "footage.view", camera_id)
        segments = platform.recordings.segments(
            session, principal, camera_id, TimeRange(now - SNAPSHOT_LOOKBACK, now)
        )
        live = [segment for segment in segments if segment.deleted_at is None]
        if not live:
            raise NotFound(f"camera {camera_id} has no recording in the last 24 hours")
        path = platform.recordings.open_segment(
            session,
            principal,
            live[-1].id,
            use="viewed a still for the zone editor",
            note=mask_note(camera, principal),
        )
        masks = viewer_masks(camera, principal)
    try:
        jpeg = masked_jpeg(grab_jpeg(path), masks)
    except (ValueError, OSError) as exc:
        raise NotFound(f"no picture in the latest recording of camera {camera_id}") from exc
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
