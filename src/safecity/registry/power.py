"""Site power service: store telemetry, open and clear alerts, answer series and alerts
through the permission filter."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.contracts.alerts import AlertRaised
from safecity.core.clock import utcnow
from safecity.core.errors import InvalidInput, NotFound
from safecity.db import outbox
from safecity.identity.permissions import Principal, get_in_scope, restrict
from safecity.registry.models import District, Site
from safecity.registry.power_models import SitePowerAlert, SitePowerReading
from safecity.registry.power_rules import SILENT, PowerThresholds, Reading, conditions
from safecity.registry.power_schemas import (
    PowerAlertPublic,
    PowerReadingIn,
    PowerReadingPublic,
    RecordedReading,
)

MAX_CLOCK_AHEAD = timedelta(minutes=5)
MAX_AGE = timedelta(days=7)
# How urgent a site power problem is for the control room (1 most).
POWER_PRIORITY = {"low_battery": 3, "no_charge_by_day": 4, "link_down": 3, "no_telemetry": 3}


class PowerService:
    def __init__(self, thresholds: PowerThresholds | None = None) -> None:
        self.thresholds = thresholds or PowerThresholds()

    def record(
        self,
        session: Session,
        principal: Principal,
        site_code: str,
        reading: PowerReadingIn,
        *,
        source: str,
        now: datetime | None = None,
    ) -> RecordedReading:
        principal.require("sites.telemetry")
        now = now or utcnow()
        site = session.scalars(
            restrict(Site, principal, "sites.telemetry").where(Site.code == site_code)
        ).first()
        if site is None:
            raise NotFound(f"site '{site_code}' not found", field="site")
        if reading.at > now + MAX_CLOCK_AHEAD:
            raise InvalidInput(
                f"reading time {reading.at.isoformat()} is in the future; check the "
                "controller's clock (NTP)",
                field="at",
            )
        if reading.at < now - MAX_AGE:
            raise InvalidInput("reading is older than 7 days; not accepted", field="at")
        duplicate = session.scalars(
            select(SitePowerReading.id).where(
                SitePowerReading.site_id == site.id, SitePowerReading.at == reading.at
            )
        ).first()
        if duplicate is not None:
            # Controllers resend after a lost acknowledgement; one sample is stored once.
            return RecordedReading(site=site.code, stored=False, opened=[], cleared=[])
        session.add(SitePowerReading(site_id=site.id, source=source, **reading.model_dump()))
        session.flush()
        # Judge as of the sample's own time: a backfilled day is judged hour by hour.
        opened, cleared = self._evaluate(session, site, reading.at)
        return RecordedReading(site=site.code, stored=True, opened=opened, cleared=cleared)

    def _evaluate(
        self, session: Session, site: Site, as_of: datetime
    ) -> tuple[list[str], list[str]]:
        t = self.thresholds
        since = as_of - timedelta(minutes=t.no_charge_minutes * 2)
        rows = session.scalars(
            select(SitePowerReading)
            .where(
                SitePowerReading.site_id == site.id,
                SitePowerReading.at >= since,
                SitePowerReading.at <= as_of,
            )
            .order_by(SitePowerReading.at)
        ).all()
        readings = [Reading(r.at, r.battery_soc_pct, r.solar_input_w, r.link_up) for r in rows]
        open_alerts = {a.kind: a for a in self._open(session, site.id)}
        held = {c.kind: c for c in conditions(readings, open_kinds=set(open_alerts), t=t)}
        latest_at = readings[-1].at if readings else as_of
        opened, cleared = [], []
        for kind, condition in held.items():
            if kind not in open_alerts:
                session.add(
                    SitePowerAlert(
                        site_id=site.id,
                        kind=kind,
                        started_at=latest_at,
                        message=condition.message,
                        value=condition.value,
                    )
                )
                outbox.enqueue(session, _power_alert(site, kind, condition.message, latest_at))
                opened.append(kind)
        for kind, alert in open_alerts.items():
            # A fresh reading proves telemetry is back; other kinds clear when not held.
            if kind not in held:
                alert.cleared_at = latest_at
                cleared.append(kind)
        session.flush()
        return opened, cleared

    @staticmethod
    def _open(session: Session, site_id: int) -> list[SitePowerAlert]:
        return list(
            session.scalars(
                select(SitePowerAlert).where(
                    SitePowerAlert.site_id == site_id, SitePowerAlert.cleared_at.is_(None)
                )
            )
        )

    def sweep_silent(self, session: Session, *, now: datetime | None = None) -> list[str]:
        """Open "no telemetry" for sites that reported before but fell silent."""
        now = now or utcnow()
        limit = now - timedelta(minutes=self.thresholds.silent_minutes)
        last = (
            select(SitePowerReading.site_id, func.max(SitePowerReading.at).label("last"))
            .group_by(SitePowerReading.site_id)
            .subquery()
        )
        silent = session.execute(
            select(Site, last.c.last)
            .join(last, last.c.site_id == Site.id)
            .where(last.c.last < limit)
        ).all()
        opened = []
        for site, last_at in silent:
            if any(a.kind == SILENT for a in self._open(session, site.id)):
                continue
            minutes = int((now - last_at).total_seconds() // 60)
            session.add(
                SitePowerAlert(
                    site_id=site.id,
                    kind=SILENT,
                    started_at=now,
                    message=f"no telemetry for {minutes} min",
                    value=float(minutes),
                )
            )
            message = f"no telemetry for {minutes} min"
            outbox.enqueue(session, _power_alert(site, SILENT, message, now))
            opened.append(site.code)
        session.flush()
        return opened

    def series(
        self, session: Session, principal: Principal, site_id: int, *, hours: int = 48
    ) -> list[PowerReadingPublic]:
        site = get_in_scope(session, Site, principal, "sites.view", site_id)
        since = utcnow() - timedelta(hours=hours)
        rows = session.scalars(
            select(SitePowerReading)
            .where(SitePowerReading.site_id == site.id, SitePowerReading.at >= since)
            .order_by(SitePowerReading.at)
        )
        return [PowerReadingPublic.model_validate(r, from_attributes=True) for r in rows]

    def alerts(
        self,
        session: Session,
        principal: Principal,
        *,
        district: str | None = None,
        site_id: int | None = None,
        open_only: bool = True,
        limit: int = 200,
    ) -> list[PowerAlertPublic]:
        stmt = (
            restrict(SitePowerAlert, principal, "sites.view")
            .join(Site, Site.id == SitePowerAlert.site_id)
            .join(District, District.id == Site.district_id)
            .add_columns(Site.code, Site.name, District.slug)
        )
        if district:
            stmt = stmt.where(District.slug == district)
        if site_id is not None:
            stmt = stmt.where(Site.id == site_id)
        if open_only:
            stmt = stmt.where(SitePowerAlert.cleared_at.is_(None))
        rows = session.execute(
            stmt.order_by(SitePowerAlert.started_at.desc(), SitePowerAlert.id.desc()).limit(limit)
        ).all()
        return [
            PowerAlertPublic(
                id=a.id,
                site_id=a.site_id,
                site=code,
                site_name=name,
                district=slug,
                kind=a.kind,
                message=a.message,
                value=a.value,
                started_at=a.started_at,
                cleared_at=a.cleared_at,
            )
            for a, code, name, slug in rows
        ]


def _power_alert(site: Site, kind: str, message: str, at: datetime) -> AlertRaised:
    """A site power problem that just opened, for the control room's queue."""
    return AlertRaised(
        source="power",
        kind=f"power.{kind}",
        priority=POWER_PRIORITY.get(kind, 4),
        title=f"Site {site.code}: {message}"[:160],
        detail=f"{site.name}: {message}",
        at=at,
        site_code=site.code,
        correlation_key=f"site:{site.code}:{kind}",
    )
