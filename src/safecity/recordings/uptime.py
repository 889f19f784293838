"""Camera uptime by district, site, owner or vendor: who is dark, now and over a period.

A camera that never reported counts as down: the lesson of Lahore, where half the
cameras went dark unnoticed, is that silence must show, not vanish from the report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.audit.log import AuditLog
from safecity.core.clock import utcnow
from safecity.identity.permissions import Principal, restrict
from safecity.recordings.models import CameraHealthState, HealthEpisode
from safecity.registry.models import Camera

Grouping = Literal["district", "site", "owner", "vendor"]
DOWN_CODES = frozenset({"offline", "stalled"})
STALE_AFTER = timedelta(minutes=5)


@dataclass
class UptimeRow:
    group: str
    cameras: int = 0
    up_now: int = 0
    never_reported: int = 0
    down_seconds: float = 0.0
    period_seconds: float = 0.0
    down_cameras: list[str] = field(default_factory=list)

    @property
    def up_now_pct(self) -> float:
        return 100.0 * self.up_now / self.cameras if self.cameras else 0.0

    @property
    def uptime_pct(self) -> float:
        if not self.period_seconds:
            return 0.0
        return 100.0 * (1 - self.down_seconds / self.period_seconds)


def _group_of(camera: Camera, grouping: Grouping) -> str:
    if grouping == "district":
        return camera.district.name
    if grouping == "site":
        return f"{camera.site.code} {camera.site.name}"
    if grouping == "owner":
        return camera.owner.name if camera.owner else "KP Safe Cities (public)"
    return camera.vendor or "unknown vendor"


def _is_up(state: CameraHealthState | None, now: datetime) -> bool:
    if state is None or state.state != "streaming":
        return False
    if now - state.reported_at > STALE_AFTER:
        return False  # a worker that stopped reporting tells us nothing good
    return not any(p.get("code") in DOWN_CODES for p in state.problems or [])


def uptime_report(
    session: Session,
    audit: AuditLog,
    principal: Principal,
    *,
    grouping: Grouping,
    days: int = 7,
    only_live: bool = True,
) -> list[UptimeRow]:
    now = utcnow()
    since = now - timedelta(days=days)
    stmt = restrict(Camera, principal, "cameras.view")
    if only_live:
        stmt = stmt.where(Camera.status.notin_(("planned", "decommissioned")))
    cameras = list(session.scalars(stmt))
    ids = [c.id for c in cameras]
    states = (
        {
            s.camera_id: s
            for s in session.scalars(
                select(CameraHealthState).where(CameraHealthState.camera_id.in_(ids))
            )
        }
        if ids
        else {}
    )
    down: dict[int, float] = defaultdict(float)
    if ids:
        for episode in session.scalars(
            select(HealthEpisode).where(
                HealthEpisode.camera_id.in_(ids),
                HealthEpisode.code.in_(sorted(DOWN_CODES)),
                (HealthEpisode.cleared_at.is_(None)) | (HealthEpisode.cleared_at > since),
            )
        ):
            start = max(episode.started_at, since)
            end = episode.cleared_at or now
            down[episode.camera_id] += max(0.0, (end - start).total_seconds())
    rows: dict[str, UptimeRow] = {}
    period = (now - since).total_seconds()
    for camera in cameras:
        row = rows.setdefault(_group_of(camera, grouping), UptimeRow(_group_of(camera, grouping)))
        state = states.get(camera.id)
        row.cameras += 1
        row.period_seconds += period
        if state is None:
            row.never_reported += 1
            row.down_seconds += period
            row.down_cameras.append(camera.code)
            continue
        row.down_seconds += min(period, down[camera.id])
        if _is_up(state, now):
            row.up_now += 1
        else:
            row.down_cameras.append(camera.code)
    audit.append(
        session,
        principal.audit,
        action="search",
        object_type="camera",
        summary=f"uptime report by {grouping} over {days} days: {len(cameras)} cameras",
    )
    return sorted(rows.values(), key=lambda r: (r.up_now_pct, r.group))
