"""The alert queue: store what the bus raises, show it to the operators of its district,
and keep its lifecycle (acknowledge, escalate, dismiss, incident), every action audited.

Interface for the incidents module (``POST /api/v1/alerts/{id}/incident`` lives in the
incidents router): after creating the incident in the same transaction, call

    platform.alerts.link_incident(session, principal, alert_id, incident_id)

It checks ``alerts.handle`` and scope (404 outside it), refuses a dismissed alert or one
already linked to another incident (409), marks the alert ``incident``, audits, and
returns the :class:`AlertPublic` to broadcast through the console hub after commit.
Calling it again with the same incident is harmless. A hotlist hit whose plate match no
operator has confirmed (:meth:`AlertsService.confirm_match`) is refused with 409
(``alert_match_unconfirmed``); call
:func:`~safecity.command.alerts_match.refuse_unconfirmed_match` before creating anything
to refuse it early.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.audit.log import AuditLog
from safecity.command.alerts_errors import AlertClosed, AlertTransitionRefused
from safecity.command.alerts_match import (
    MISREAD_PLATE,
    hotlist_match,
    refuse_checked,
    refuse_unconfirmed_match,
    set_verdict,
)
from safecity.command.alerts_models import (
    ACKNOWLEDGED,
    DISMISSED,
    ESCALATED,
    HOTLIST_SOURCE,
    INCIDENT,
    MATCH_CONFIRMED,
    MATCH_REJECTED,
    NEW,
    OPEN_STATUSES,
    Alert,
    AlertOccurrence,
)
from safecity.command.alerts_schemas import DISMISS_REASONS, AlertPublic
from safecity.command.correlation import CorrelationWindow, open_alert_for
from safecity.contracts.alerts import AlertRaised
from safecity.core.clock import format_pkt, utcnow
from safecity.core.errors import InvalidInput, NotFound, PreconditionFailed
from safecity.identity.permissions import Principal, get_in_scope, restrict
from safecity.registry.models import Camera, District, Site

log = logging.getLogger(__name__)

ImageKind = Literal["snapshot", "plate"]


@dataclass(frozen=True)
class Ingested:
    """What a consumed message became: a new alert, or one more count on an open one."""

    alert: AlertPublic
    created: bool


@dataclass
class IngestedBatch:
    """What one batch of messages became, once its transaction commits.

    ``alerts``: each alert the batch created or counted on, once, in its final state
    (three sightings of one plate in a batch show as one alert with its count);
    ``failed``: the ``message_id`` of each message that could not be stored (its
    changes were undone; the rest of the batch stands)."""

    alerts: list[Ingested] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Place:
    district: District
    camera: Camera | None
    site: Site | None


def to_public(alert: Alert) -> AlertPublic:
    camera, site = alert.camera, alert.site
    return AlertPublic(
        id=alert.id,
        status=alert.status,
        priority=alert.priority,
        source=alert.source,
        kind=alert.kind,
        title=alert.title,
        detail=alert.detail,
        district_id=alert.district_id,
        district=alert.district.slug,
        camera_id=alert.camera_id,
        camera_code=camera.code if camera is not None else alert.camera_code,
        camera_name=camera.name if camera is not None else None,
        site_id=alert.site_id,
        site_code=site.code if site is not None else None,
        latitude=alert.latitude,
        longitude=alert.longitude,
        correlation_key=alert.correlation_key,
        count=alert.count,
        first_seen=alert.first_seen,
        last_seen=alert.last_seen,
        has_snapshot=alert.snapshot is not None,
        has_plate_crop=alert.plate_crop is not None,
        plate_text=alert.plate_text,
        reference={str(k): str(v) for k, v in (alert.reference or {}).items()},
        dismiss_reason=alert.dismiss_reason,
        note=alert.note,
        handled_by=alert.handled_by,
        handled_at=alert.handled_at,
        incident_id=alert.incident_id,
        hotlist=hotlist_match(alert),
        version=alert.version,
    )


class AlertsService:
    def __init__(self, audit: AuditLog, media_root: Path, correlation: CorrelationWindow) -> None:
        self.audit = audit
        self.media_root = media_root
        self.correlation = correlation
        # Messages refused for want of a place ("unknown_district", "no_place"); a malformed
        # payload never gets this far (the bus counts those as rejected for the consumer).
        self.refused: Counter[str] = Counter()

    # -- from the bus ------------------------------------------------------------------------

    def ingest(self, session: Session, message: AlertRaised) -> Ingested | None:
        """Store one AlertRaised; None when it was seen before or names no known place."""
        if session.get(AlertOccurrence, message.message_id) is not None:
            return None  # redelivered: folded in once
        place = self._place(session, message)
        if place is None:
            return None
        alert, created = self._store(session, message, place)
        return Ingested(alert=to_public(alert), created=created)

    def ingest_batch(self, session: Session, messages: Sequence[AlertRaised]) -> IngestedBatch:
        """Store several AlertRaised in the caller's transaction, in order, each exactly as
        :meth:`ingest` would one after the other (so correlation and deduplication see the
        earlier messages of the batch). Each message runs in a savepoint: one that fails
        is undone alone and named in ``failed``. What every message looks up alike (was it
        stored before, which camera) is read once for the batch. A batch of one is stored
        as :meth:`ingest` stores it and raises when it fails (the savepoint and the batch
        reads would only add to the cost of a lone alert, the usual case at low rates)."""
        if len(messages) == 1:
            alone = self.ingest(session, messages[0])
            return IngestedBatch(alerts=[] if alone is None else [alone])
        ids = {m.message_id for m in messages}
        seen = set(
            session.scalars(
                select(AlertOccurrence.message_id).where(AlertOccurrence.message_id.in_(ids))
            )
        )
        codes = {m.camera_id for m in messages if m.camera_id is not None}
        cameras = (
            {c.code: c for c in session.scalars(select(Camera).where(Camera.code.in_(codes)))}
            if codes
            else {}
        )
        touched: dict[int, tuple[Alert, bool]] = {}
        failed: set[str] = set()
        for message in messages:
            if message.message_id in seen:
                continue  # redelivered, or repeated inside the batch: folded in once
            try:
                with session.begin_nested():
                    place = self._place(session, message, cameras)
                    stored = None if place is None else self._store(session, message, place)
            except Exception:
                log.exception(
                    "alert %s (%s) could not be stored; the rest of its batch is kept",
                    message.message_id,
                    message.kind,
                )
                failed.add(message.message_id)
                continue
            if stored is None:
                continue
            seen.add(message.message_id)
            alert, created = stored
            earlier = touched.pop(alert.id, None)
            # Re-inserted so that the consoles get alerts in the order of their last change.
            touched[alert.id] = (alert, created or (earlier is not None and earlier[1]))
        # Read once all are in: a later message's undone savepoint may have reloaded one.
        shown = [Ingested(alert=to_public(a), created=c) for a, c in touched.values()]
        return IngestedBatch(alerts=shown, failed=failed)

    def _store(self, session: Session, message: AlertRaised, place: _Place) -> tuple[Alert, bool]:
        """Fold ``message`` into its open alert or start one; the alert, and whether new."""
        alert = open_alert_for(
            session,
            self.correlation,
            key=message.correlation_key,
            district_id=place.district.id,
            at=message.at,
        )
        created = alert is None
        if alert is None:
            alert = self._new_alert(message, place)
            session.add(alert)
        else:
            self._fold(alert, message)
        session.flush()
        session.add(
            AlertOccurrence(message_id=message.message_id, alert_id=alert.id, at=message.at)
        )
        session.flush()
        return alert, created

    def _place(
        self,
        session: Session,
        message: AlertRaised,
        cameras: Mapping[str, Camera] | None = None,
    ) -> _Place | None:
        """Where the alert belongs. ``cameras``: every known camera the batch names, by
        code (read once for a batch); without it the camera is looked up here."""
        camera = site = None
        if message.camera_id is not None:
            camera = (
                cameras.get(message.camera_id)
                if cameras is not None
                else session.scalars(select(Camera).where(Camera.code == message.camera_id)).first()
            )
        if camera is not None:
            return _Place(camera.district, camera, camera.site)
        if message.site_code is not None:
            site = session.scalars(select(Site).where(Site.code == message.site_code)).first()
        if site is not None:
            return _Place(site.district, None, site)
        if message.district is not None:
            district = session.scalars(
                select(District).where(District.slug == message.district)
            ).first()
            if district is not None:
                if message.camera_id or message.site_code:
                    log.info(
                        "alert %s names unknown camera %s / site %s: stored against district %s",
                        message.message_id,
                        message.camera_id,
                        message.site_code,
                        message.district,
                    )
                return _Place(district, None, None)
        if message.district:
            counted, reason = "unknown_district", f"unknown district {message.district!r}"
        else:
            counted = "no_place"
            reason = (
                f"unknown camera {message.camera_id!r} / site {message.site_code!r} "
                "and no district given"
            )
        self.refused[counted] += 1
        log.warning("alert %s (%s) refused: %s", message.message_id, message.kind, reason)
        return None

    @staticmethod
    def _new_alert(message: AlertRaised, place: _Place) -> Alert:
        camera, site = place.camera, place.site
        latitude, longitude = message.latitude, message.longitude
        if latitude is None and camera is not None and camera.latitude is not None:
            latitude, longitude = camera.latitude, camera.longitude
        if latitude is None and site is not None:
            latitude, longitude = site.latitude, site.longitude
        # Relationships set from the objects at hand: showing the alert loads nothing more.
        return Alert(
            district=place.district,
            camera=camera,
            site=site,
            camera_code=message.camera_id,
            source=message.source,
            kind=message.kind,
            priority=message.priority,
            title=message.title,
            detail=message.detail,
            status=NEW,
            correlation_key=message.correlation_key,
            count=1,
            first_seen=message.at,
            last_seen=message.at,
            latitude=latitude,
            longitude=longitude,
            snapshot=message.snapshot,
            plate_crop=message.plate_crop,
            plate_text=message.plate_text,
            reference=dict(message.reference),
            note="",
        )

    @staticmethod
    def _fold(alert: Alert, message: AlertRaised) -> None:
        alert.count += 1
        alert.priority = min(alert.priority, message.priority)
        alert.first_seen = min(alert.first_seen, message.at)
        if message.at < alert.last_seen:
            return
        alert.last_seen = message.at
        # A hotlist hit whose match an operator has judged keeps the sighting that was
        # judged: its plate crop, scene, words and place. A later read of the same text
        # may be another car (the very confusion the check is for), and nobody has seen
        # its crop; swapping it in would put an unseen picture and place under the
        # operator's "confirmed" and into the incident opened from it. The sighting still
        # counts (count, last seen, occurrence), as a new read of a listed plate should
        # not quietly undo a verdict the operator at the desk is acting on. This is what
        # an incident already does: once opened, a later read starts a new alert that
        # needs its own check.
        if alert.match_verdict is not None:
            return
        # Otherwise the newest sighting speaks for the alert: its picture, words and
        # place (the console reloads the crop with the alert's version, and a verdict
        # given on an older version is refused as stale).
        alert.title, alert.detail = message.title, message.detail
        alert.snapshot = message.snapshot or alert.snapshot
        alert.plate_crop = message.plate_crop or alert.plate_crop
        if message.latitude is not None:
            alert.latitude, alert.longitude = message.latitude, message.longitude

    # -- for people ----------------------------------------------------------------------------

    def list_alerts(
        self,
        session: Session,
        principal: Principal,
        *,
        status: str | None = None,
        priority: int | None = None,
        district: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[AlertPublic], int]:
        """The queue: most urgent first, then oldest first (the longest waiting)."""
        stmt = restrict(Alert, principal, "alerts.view")
        if status == "open":
            stmt = stmt.where(Alert.status.in_(OPEN_STATUSES))
        elif status is not None:
            stmt = stmt.where(Alert.status == status)
        if priority is not None:
            stmt = stmt.where(Alert.priority == priority)
        if district:
            stmt = stmt.where(
                Alert.district_id.in_(select(District.id).where(District.slug == district))
            )
        if since is not None:
            stmt = stmt.where(Alert.last_seen >= since)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.scalars(
            stmt.order_by(Alert.priority, Alert.first_seen, Alert.id).limit(limit).offset(offset)
        ).unique()
        items = [to_public(a) for a in rows]
        self.audit.append(
            session,
            principal.audit,
            action="view",
            object_type="alert",
            summary=f"listed {len(items)} of {total} alerts"
            + (f" in {district}" if district else "")
            + (f" with status {status}" if status else ""),
        )
        return items, total

    def get(self, session: Session, principal: Principal, alert_id: int) -> AlertPublic:
        alert = get_in_scope(session, Alert, principal, "alerts.view", alert_id)
        self.audit.append(
            session,
            principal.audit,
            action="view",
            object_type="alert",
            object_id=alert.id,
            district=alert.district.slug,
            summary=f"viewed alert {alert.id} ({alert.kind})",
        )
        return to_public(alert)

    def image(
        self, session: Session, principal: Principal, alert_id: int, which: ImageKind
    ) -> Path:
        """The snapshot or plate crop of an alert in scope, audited as a view."""
        alert = get_in_scope(session, Alert, principal, "alerts.view", alert_id)
        relative = alert.snapshot if which == "snapshot" else alert.plate_crop
        path = (self.media_root / relative).resolve() if relative else None
        if path is None or not path.is_relative_to(self.media_root.resolve()) or not path.is_file():
            raise NotFound(f"alert {alert.id} has no {which} image")
        self.audit.append(
            session,
            principal.audit,
            action="view",
            object_type="alert_image",
            object_id=alert.id,
            district=alert.district.slug,
            summary=f"viewed the {which} of alert {alert.id} ({alert.kind})",
        )
        return path

    # -- the lifecycle ---------------------------------------------------------------------------

    def acknowledge(
        self,
        session: Session,
        principal: Principal,
        alert_id: int,
        *,
        expected_version: int | None = None,
        note: str = "",
    ) -> AlertPublic:
        alert = self._changeable(session, principal, alert_id, expected_version)
        if alert.status != NEW:
            raise AlertTransitionRefused(
                f"alert {alert.id} is already {alert.status}"
                + (f" by {alert.handled_by}" if alert.handled_by else "")
            )
        return self._move(session, principal, alert, ACKNOWLEDGED, "acknowledged", note=note)

    def escalate(
        self,
        session: Session,
        principal: Principal,
        alert_id: int,
        *,
        expected_version: int | None = None,
        note: str = "",
    ) -> AlertPublic:
        alert = self._changeable(session, principal, alert_id, expected_version)
        if alert.status == ESCALATED:
            raise AlertTransitionRefused(
                f"alert {alert.id} was already escalated by {alert.handled_by}"
            )
        return self._move(session, principal, alert, ESCALATED, "escalated", note=note)

    def dismiss(
        self,
        session: Session,
        principal: Principal,
        alert_id: int,
        *,
        reason: str,
        expected_version: int | None = None,
        note: str = "",
    ) -> AlertPublic:
        """Close the alert with ``reason``. A hotlist hit dismissed as ``misread_plate``
        is the operator's "not a match": it is :meth:`reject_match`, verdict and all."""
        if reason not in DISMISS_REASONS:
            raise InvalidInput(
                f"reason must be one of {', '.join(DISMISS_REASONS)}", field="reason"
            )
        alert = self._changeable(session, principal, alert_id, expected_version)
        if reason == MISREAD_PLATE and alert.source == HOTLIST_SOURCE:
            return self._give_verdict(session, principal, alert, MATCH_REJECTED, note)
        alert.dismiss_reason = reason
        return self._move(session, principal, alert, DISMISSED, f"dismissed ({reason})", note=note)

    def confirm_match(
        self,
        session: Session,
        principal: Principal,
        alert_id: int,
        *,
        expected_version: int | None = None,
        note: str = "",
    ) -> AlertPublic:
        """The operator saw the listed plate in the plate crop: field action may follow.
        A new alert is acknowledged by it; an acknowledged or escalated one keeps its
        status."""
        alert = self._changeable(session, principal, alert_id, expected_version)
        return self._give_verdict(session, principal, alert, MATCH_CONFIRMED, note)

    def reject_match(
        self,
        session: Session,
        principal: Principal,
        alert_id: int,
        *,
        expected_version: int | None = None,
        note: str = "",
    ) -> AlertPublic:
        """The plate crop does not show the listed plate (a false read): the alert is
        dismissed as ``misread_plate``."""
        alert = self._changeable(session, principal, alert_id, expected_version)
        return self._give_verdict(session, principal, alert, MATCH_REJECTED, note)

    def _give_verdict(
        self, session: Session, principal: Principal, alert: Alert, verdict: str, note: str
    ) -> AlertPublic:
        refuse_checked(alert)
        before, after = set_verdict(alert, principal, verdict)
        if verdict == MATCH_CONFIRMED:
            status = ACKNOWLEDGED if alert.status == NEW else alert.status
            verb = "confirmed the plate match of"
        else:
            alert.dismiss_reason = MISREAD_PLATE
            status, verb = DISMISSED, f"rejected the plate match ({MISREAD_PLATE}) of"
        return self._move(
            session, principal, alert, status, verb, note=note, before=before, after=after
        )

    def link_incident(
        self,
        session: Session,
        principal: Principal,
        alert_id: int,
        incident_id: int,
        *,
        expected_version: int | None = None,
    ) -> AlertPublic:
        """Mark the alert as handled by ``incident_id`` (see the module docstring)."""
        principal.require("alerts.handle")
        alert = get_in_scope(session, Alert, principal, "alerts.view", alert_id)
        if alert.status == INCIDENT and alert.incident_id == incident_id:
            return to_public(alert)
        alert = self._changeable(session, principal, alert_id, expected_version)
        refuse_unconfirmed_match(alert)
        alert.incident_id = incident_id
        return self._move(
            session, principal, alert, INCIDENT, f"opened incident {incident_id} from"
        )

    def _changeable(
        self, session: Session, principal: Principal, alert_id: int, expected: int | None
    ) -> Alert:
        principal.require("alerts.handle")
        alert = get_in_scope(session, Alert, principal, "alerts.view", alert_id)
        if expected is not None and alert.version != expected:
            who = f" ({alert.status} by {alert.handled_by}" if alert.handled_by else " ("
            when = f" at {format_pkt(alert.handled_at)})" if alert.handled_at else "new)"
            raise PreconditionFailed(
                f"alert {alert.id} changed since you saw it (your version {expected}, now "
                f"{alert.version}{who}{when}; reload it before acting"
            )
        if alert.status not in OPEN_STATUSES:
            detail = (
                f"incident {alert.incident_id}"
                if alert.status == INCIDENT
                else f"dismissed as {alert.dismiss_reason}"
            )
            raise AlertClosed(
                f"alert {alert.id} is closed ({detail} by {alert.handled_by}); nothing to do"
            )
        return alert

    def _move(
        self,
        session: Session,
        principal: Principal,
        alert: Alert,
        status: str,
        verb: str,
        *,
        note: str = "",
        before: Mapping[str, str | None] | None = None,
        after: Mapping[str, str | None] | None = None,
    ) -> AlertPublic:
        """Set the status (and who handled it), flush, audit with before and after;
        ``before`` and ``after`` add what else the action changed."""
        old = {"status": alert.status, "version": alert.version, **(before or {})}
        alert.status = status
        alert.handled_by = principal.username
        alert.handled_at = utcnow()
        if note:
            alert.note = note
        session.flush()  # raises StaleDataError when another operator won the race
        self.audit.append(
            session,
            principal.audit,
            action="update",
            object_type="alert",
            object_id=alert.id,
            district=alert.district.slug,
            summary=f"{verb} alert {alert.id} ({alert.kind}: {alert.title})",
            before=old,
            after={
                "status": status,
                "version": alert.version,
                "note": note or None,
                **(after or {}),
            },
        )
        return to_public(alert)
