"""Response-time and alert KPIs per district, agency and priority.

Intervals (DOMAIN.md "Dispatch"): call-to-create (call taking), create-to-dispatch
(queue), dispatch-to-en-route (turnout), en-route-to-on-scene (travel), and total
response from the call to the first unit on scene; each as the median and the 90th
percentile of the incidents created in the window. Per district also: alerts per
hour, time from an alert to its first handling, and the share of cameras online.
Incidents triaged out (hoax, duplicate, cancelled) count as calls but have no
response times.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, column, func, select, table
from sqlalchemy.orm import Session

from safecity.audit.log import AuditLog
from safecity.command.incidents_models import Incident
from safecity.command.kpis_schemas import DistrictKpis, IntervalStats, KpiReport, ResponseKpis
from safecity.command.units_models import Dispatch
from safecity.core.errors import InvalidInput
from safecity.db.base import UTCDateTime
from safecity.identity.permissions import Principal, district_clause
from safecity.registry.models import Camera, District

# Owned by the alert queue; named here without importing it (read-only, two columns).
_alerts = table(
    "alerts",
    column("district_id", Integer),
    column("first_seen", UTCDateTime()),
    column("handled_at", UTCDateTime()),
    column("status", String),
)

INTERVALS = (
    ("call_to_create", "received_at", "created_at"),
    ("create_to_dispatch", "created_at", "dispatched_at"),
    ("dispatch_to_en_route", "dispatched_at", "en_route_at"),
    ("travel", "en_route_at", "on_scene_at"),
    ("total_response", "received_at", "on_scene_at"),
)
TRIAGED_OUT = frozenset({"hoax", "duplicate", "cancelled"})


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def stats(values: Sequence[float]) -> IntervalStats:
    median = percentile(values, 0.5)
    p90 = percentile(values, 0.9)
    return IntervalStats(
        count=len(values),
        median_seconds=None if median is None else round(median, 1),
        p90_seconds=None if p90 is None else round(p90, 1),
    )


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise InvalidInput("'until' must be after 'since'", field="until")

    @property
    def hours(self) -> float:
        return (self.until - self.since).total_seconds() / 3600


class KpiService:
    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit

    def report(
        self, session: Session, principal: Principal, window: Window, *, district: str | None
    ) -> KpiReport:
        principal.require("kpis.view")
        districts = {
            d.id: d.slug
            for d in session.scalars(
                select(District).where(district_clause(District.id, principal))
            )
            if district is None or d.slug == district
        }
        report = KpiReport(
            since=window.since,
            until=window.until,
            responses=self._responses(session, districts, window),
            districts=self._districts(session, districts, window),
        )
        self.audit.append(
            session,
            principal.audit,
            action="view",
            object_type="kpis",
            district=district,
            summary=f"viewed KPIs {window.since.isoformat()} - {window.until.isoformat()}",
        )
        return report

    def _responses(
        self, session: Session, districts: dict[int, str], window: Window
    ) -> list[ResponseKpis]:
        incidents = session.scalars(
            select(Incident).where(
                Incident.district_id.in_(sorted(districts)),
                Incident.created_at >= window.since,
                Incident.created_at < window.until,
            )
        ).all()
        followed: dict[int, bool] = {}
        if incidents:
            first = (
                select(Dispatch.incident_id, func.min(Dispatch.id).label("first_id"))
                .where(Dispatch.incident_id.in_([i.id for i in incidents]))
                .group_by(Dispatch.incident_id)
                .subquery()
            )
            for incident_id, was_followed in session.execute(
                select(Dispatch.incident_id, Dispatch.followed_recommendation).join(
                    first, first.c.first_id == Dispatch.id
                )
            ):
                followed[incident_id] = was_followed
        groups: dict[tuple[str, str, int], list[Incident]] = defaultdict(list)
        for incident in incidents:
            key = (districts[incident.district_id], incident.agency, incident.priority)
            groups[key].append(incident)
        rows = []
        for (slug, agency, priority), members in sorted(groups.items()):
            intervals = {}
            for name, start, end in INTERVALS:
                values = [
                    (getattr(i, end) - getattr(i, start)).total_seconds()
                    for i in members
                    if getattr(i, start) is not None and getattr(i, end) is not None
                ]
                intervals[name] = stats(values)
            decided = [followed[i.id] for i in members if i.id in followed]
            rows.append(
                ResponseKpis(
                    district=slug,
                    agency=agency,
                    priority=priority,
                    incidents=len(members),
                    triaged_out=sum(1 for i in members if i.status in TRIAGED_OUT),
                    recommendation_followed_share=(
                        round(sum(decided) / len(decided), 3) if decided else None
                    ),
                    **intervals,
                )
            )
        return rows

    def _districts(
        self, session: Session, districts: dict[int, str], window: Window
    ) -> list[DistrictKpis]:
        ids = sorted(districts)
        alerts = session.execute(
            select(_alerts.c.district_id, _alerts.c.first_seen, _alerts.c.handled_at).where(
                _alerts.c.district_id.in_(ids),
                _alerts.c.first_seen >= window.since,
                _alerts.c.first_seen < window.until,
            )
        ).all()
        cameras = session.execute(
            select(Camera.district_id, Camera.status, func.count())
            .where(Camera.district_id.in_(ids), Camera.status != "decommissioned")
            .group_by(Camera.district_id, Camera.status)
        ).all()
        rows = []
        for district_id in ids:
            mine = [a for a in alerts if a.district_id == district_id]
            handled = [(a.handled_at - a.first_seen).total_seconds() for a in mine if a.handled_at]
            counts = {status: n for d, status, n in cameras if d == district_id}
            total = sum(counts.values())
            rows.append(
                DistrictKpis(
                    district=districts[district_id],
                    alerts=len(mine),
                    alerts_per_hour=round(len(mine) / window.hours, 2),
                    alert_handling=stats(handled),
                    cameras=total,
                    cameras_online_share=(
                        round(counts.get("online", 0) / total, 3) if total else None
                    ),
                )
            )
        return rows
