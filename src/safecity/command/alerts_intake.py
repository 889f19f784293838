"""The intake of the alert queue: what the bus raises becomes an alert, or one more
sighting of an open one (correlation, deduplication by message id), in the caller's
transaction; :func:`to_public` is the shape every alert is shown in."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.command.alerts_match import entry_id_in, hotlist_match
from safecity.command.alerts_models import NEW, Alert, AlertOccurrence
from safecity.command.alerts_schemas import AlertPublic
from safecity.command.correlation import CorrelationWindow, open_alert_for
from safecity.contracts.alerts import AlertRaised
from safecity.events.models import HotlistEntry
from safecity.registry.models import RETIRED_STATUS, Camera, District, Site

log = logging.getLogger(__name__)
# Sources whose alerts are something a camera saw: none is taken from a decommissioned one.
SIGHTINGS = frozenset({"analytics", "hotlist"})


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


def _removed_since_read(session: Session, entry_id: int | None) -> datetime | None:
    """When hotlist entry ``entry_id`` came off the list, if it is off now. A hit reaches
    the queue after its read matched a listed entry: an entry off the list by then was
    removed in between, and its hit is marked as the removal marks those already queued
    (so that listing the entry again later does not make it live)."""
    if entry_id is None:
        return None
    entry = session.get(HotlistEntry, entry_id)
    return entry.updated_at if entry is not None and not entry.active else None


class AlertIntake:
    """Stores what the bus raises (:meth:`ingest`, :meth:`ingest_batch`)."""

    def __init__(self, correlation: CorrelationWindow) -> None:
        self.correlation = correlation
        # Messages refused for want of a place ("unknown_district", "no_place") or as the
        # sighting of a decommissioned camera ("camera_decommissioned"); a malformed
        # payload never gets this far (the bus counts those as rejected for the consumer).
        self.refused: Counter[str] = Counter()

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
            alert.entry_removed_at = _removed_since_read(session, alert.hotlist_entry_id)
            session.add(alert)
        else:
            self._fold(alert, message, place)
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
        if camera is not None and camera.status == RETIRED_STATUS and message.source in SIGHTINGS:
            self.refused["camera_decommissioned"] += 1
            log.warning(
                "alert %s (%s) refused: camera %s is decommissioned",
                message.message_id,
                message.kind,
                camera.code,
            )
            return None
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
    def _position(message: AlertRaised, place: _Place) -> tuple[float | None, float | None]:
        """Where a sighting was: its own coordinates, else its camera's, else its site's."""
        camera, site = place.camera, place.site
        if message.latitude is not None:
            return message.latitude, message.longitude
        if camera is not None and camera.latitude is not None:
            return camera.latitude, camera.longitude
        if site is not None:
            return site.latitude, site.longitude
        return None, None

    @classmethod
    def _new_alert(cls, message: AlertRaised, place: _Place) -> Alert:
        latitude, longitude = cls._position(message, place)
        # Relationships set from the objects at hand: showing the alert loads nothing more.
        return Alert(
            district=place.district,
            camera=place.camera,
            site=place.site,
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
            hotlist_entry_id=entry_id_in(message.source, message.reference),
            note="",
        )

    @classmethod
    def _fold(cls, alert: Alert, message: AlertRaised, place: _Place) -> None:
        """Count one more sighting of ``alert``; the newest sighting speaks for it.

        What a sighting says travels together: its camera (and so the Live and Recorded
        links), site, position, title, detail, pictures, plate text and reference (which
        plate read). An alert never shows one sighting's words over another's picture,
        so a newer sighting without pictures leaves the alert without them rather than
        with an older camera's.

        Districts: only sightings of the alert's own district ever reach here
        (:func:`~safecity.command.correlation.open_alert_for` looks in the message's
        district), so a hotlisted car that crosses into another district starts an
        alert of its own there, seen by that district's operators; the first district's
        card keeps its last sighting in that district, which is still true, and is
        handled there. An alert never moves between districts behind the operators
        working it.
        """
        alert.count += 1
        alert.priority = min(alert.priority, message.priority)
        alert.first_seen = min(alert.first_seen, message.at)
        if message.at < alert.last_seen:
            return  # an older sighting arriving late: counted, it does not speak
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
        # Otherwise the newest sighting speaks for the alert, whole (the console reloads
        # the crop with the alert's version, and a verdict given on an older version is
        # refused as stale).
        alert.camera, alert.site = place.camera, place.site
        alert.camera_code = message.camera_id
        alert.title, alert.detail = message.title, message.detail
        alert.snapshot, alert.plate_crop = message.snapshot, message.plate_crop
        alert.plate_text = message.plate_text
        alert.reference = dict(message.reference)
        alert.hotlist_entry_id = entry_id_in(message.source, message.reference)
        alert.latitude, alert.longitude = cls._position(message, place)
