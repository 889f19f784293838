"""Recorded footage: list a camera's segments over a time range and play them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from safecity.core.clock import as_utc
from safecity.recordings.schemas import LegalHoldCreate, LegalHoldPublic, SegmentPublic
from safecity.recordings.service import TimeRange
from safecity.web.api.shapes import ERRORS, Paginated, page_of
from safecity.web.deps import CurrentPrincipal, PageDep, PlatformDep

router = APIRouter(responses=ERRORS)  # type: ignore[arg-type]


@router.get("/cameras/{camera_id}/recordings", tags=["recordings"])
def list_recordings(
    camera_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    since: Annotated[datetime, Query(description="From (ISO 8601; UTC if no zone)")],
    until: Annotated[datetime, Query(description="Until (ISO 8601; UTC if no zone)")],
) -> Paginated[SegmentPublic]:
    window = TimeRange(as_utc(since), as_utc(until))
    with platform.transaction() as session:
        rows = platform.recordings.segments(session, principal, camera_id, window)
        items = [
            SegmentPublic(
                id=s.id,
                camera_id=s.camera_id,
                started_at=s.started_at,
                ended_at=s.ended_at,
                duration_seconds=s.duration_seconds,
                size_bytes=s.size_bytes,
                sha256=s.sha256,
                codec=s.codec,
                width=s.width,
                height=s.height,
                gap_before_seconds=s.gap_before_seconds,
                url=f"/api/v1/recordings/{s.id}/video",
            )
            for s in rows
        ]
    return Paginated(items=items, total=len(items), limit=len(items), offset=0)


@router.get("/recordings/{segment_id}/video", tags=["recordings"])
def play_recording(
    segment_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> FileResponse:
    """The segment exactly as recorded (MP4, stream copy); every play is audited."""
    with platform.transaction() as session:
        path = platform.recordings.open_segment(session, principal, segment_id)
    # Recordings are evidence: no caching in shared proxies, the hash stays checkable.
    return FileResponse(
        path, media_type="video/mp4", headers={"Cache-Control": "private, no-store"}
    )


@router.get("/cameras/{camera_id}/clip", tags=["recordings"])
def export_clip(
    camera_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    since: Annotated[datetime, Query(description="From (ISO 8601; UTC if no zone)")],
    until: Annotated[datetime, Query(description="Until (ISO 8601; UTC if no zone)")],
) -> FileResponse:
    """Whole segments over the range joined into one MP4 without re-encoding (audited)."""
    window = TimeRange(as_utc(since), as_utc(until))
    with platform.transaction() as session:
        path = platform.recordings.export_clip(
            session, principal, camera_id, window, platform.settings.data_dir / "exports"
        )
    return FileResponse(
        path,
        media_type="video/mp4",
        filename=path.name,
        headers={"Cache-Control": "private, no-store"},
    )


@router.post("/cameras/{camera_id}/holds", status_code=201, tags=["recordings"])
def place_hold(
    camera_id: int, data: LegalHoldCreate, platform: PlatformDep, principal: CurrentPrincipal
) -> LegalHoldPublic:
    """Keep a camera's footage over a time range from retention, for a case."""
    with platform.transaction() as session:
        hold = platform.recordings.place_hold(session, principal, camera_id, data)
        return LegalHoldPublic.model_validate(hold, from_attributes=True)


@router.get("/holds", tags=["recordings"])
def list_holds(
    platform: PlatformDep,
    principal: CurrentPrincipal,
    page: PageDep,
    include_released: bool = False,
) -> Paginated[LegalHoldPublic]:
    with platform.transaction() as session:
        items = [
            LegalHoldPublic.model_validate(h, from_attributes=True)
            for h in platform.recordings.holds(session, principal, active_only=not include_released)
        ]
    return page_of(items, limit=page.limit, offset=page.offset)


@router.post("/holds/{hold_id}/release", tags=["recordings"])
def release_hold(
    hold_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> LegalHoldPublic:
    with platform.transaction() as session:
        hold = platform.recordings.release_hold(session, principal, hold_id)
        return LegalHoldPublic.model_validate(hold, from_attributes=True)
