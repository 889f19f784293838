"""Plate reads and rule events in the control plane.

Workers publish facts; this service stores each once (by ``message_id``), matches
every new read against the hotlists and raises alerts through the outbox in the
same transaction. Searching plates is a search of personal data: it needs
``plates.search``, goes through the permission filter, needs a stated purpose and
leaves an audit record, as does every view of a read and of its images.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, TypeVar

from sqlalchemy import Select, and_, delete, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from safecity.audit.context import AuditContext
from safecity.audit.log import AuditLog
from safecity.contracts.analytics import PlateRead, RuleEvent
from safecity.core.clock import as_utc, format_pkt, utcnow
from safecity.core.csvcells import guard_cell
from safecity.core.errors import InvalidInput, NotFound
from safecity.db.outbox import enqueue
from safecity.events.alerts import hotlist_alert, rule_alert
from safecity.events.hotlists import live_entries
from safecity.events.models import HotlistEntry, PlateReadRecord, RuleEventRecord
from safecity.events.plate_detail import (
    NEARBY_WINDOW,
    PlateReadDetail,
    matched_entries,
    nearby_reads,
)
from safecity.events.plates import LIKE_ESCAPE, SearchMode, confusable_key, plate_query
from safecity.identity.permissions import Principal, get_in_scope, restrict
from safecity.registry.models import RETIRED_STATUS, Camera, District
from safecity.registry.privacy import mask_note, picture_for

log = logging.getLogger(__name__)
PlateImage = Literal["crop", "vehicle"]
SWEEP_BATCH = 5000


EXPORT_LIMIT = 10_000
"""Reads one export may hold: a case file, not a copy of the store."""
PLATE_EXPORT_COLUMNS = (
    "id",
    "plate",
    "confidence",
    "at_utc",
    "at_pkt",
    "camera",
    "district",
    "vehicle_class",
    "rule",
)


@dataclass(frozen=True)
class PlateSearch:
    plate: str | None = None
    mode: SearchMode = "wildcard"
    camera: str | None = None  # camera code
    district: str | None = None  # district slug
    since: datetime | None = None
    until: datetime | None = None
    min_confidence: float | None = None
    """Only reads fused at this confidence (0 to 1) or more: an investigator who wants
    the reads to act on leaves out the uncertain ones, which hold most misreads."""


@dataclass(frozen=True)
class EventFilter:
    camera: str | None = None
    district: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class EventRetention:
    unmatched_read_days: int = 30
    hit_read_days: int = 365
    rule_event_days: int = 90


@dataclass(frozen=True)
class SweepResult:
    reads: int
    events: int
    files: list[Path]

    @property
    def more(self) -> bool:
        """A batch was full: more may have expired; sweep again (in a new transaction)."""
        return SWEEP_BATCH in (self.reads, self.events)


def _stated(principal: Principal, purpose: str | None) -> Principal:
    """The principal acting for ``purpose``; refused when none is stated."""
    stated = (purpose or "").strip()
    if len(stated) < 3:
        raise InvalidInput(
            "state the purpose of this search (a case or FIR number, a complaint...)",
            field="purpose",
        )
    return replace(principal, audit=replace(principal.audit, purpose=stated[:300]))


def _audit_district(principal: Principal, requested: str | None) -> str | None:
    """The district an auditor finds the search under: the searcher's own when it has
    only one (a search never reaches beyond it), else the district it asked for."""
    slugs = principal.district_slugs
    if principal.district_ids is not None and slugs and len(slugs) == 1:
        return next(iter(slugs))
    return requested


RowT = TypeVar("RowT")


def _place_filters(
    session: Session,
    principal: Principal,
    stmt: Select[RowT],
    column: InstrumentedAttribute[int],
    camera: str | None,
    district: str | None,
) -> Select[RowT]:
    """The statement narrowed to a camera (by code) and a district (by slug), both in any
    case. One that names nothing in the principal's districts is refused, the same
    whether it exists elsewhere or nowhere (so the answer tells nothing of other
    districts): a mistyped camera would otherwise look like a camera that saw nothing."""
    if camera and camera.strip():
        code = camera.strip().upper()
        cameras = select(Camera.id).where(func.upper(Camera.code) == code)
        if principal.district_ids is not None:
            cameras = cameras.where(Camera.district_id.in_(sorted(principal.district_ids)))
        if session.scalar(cameras.limit(1)) is None:
            raise InvalidInput(f"no camera has the code {code} in your districts", field="camera")
        stmt = stmt.where(column.in_(cameras))
    if district and district.strip():
        slug = district.strip().lower()
        districts = select(District.id).where(func.lower(District.slug) == slug)
        if principal.district_ids is not None:
            districts = districts.where(District.id.in_(sorted(principal.district_ids)))
        if session.scalar(districts.limit(1)) is None:
            raise InvalidInput(f"no district is called {slug} in your scope", field="district")
        stmt = stmt.where(column.in_(select(Camera.id).where(Camera.district_id.in_(districts))))
    return stmt


def _described(search: PlateSearch) -> str:
    """A plate search as the audit trail records it."""
    described = ", ".join(
        f"{name}={value}"
        for name, value in (
            ("plate", search.plate),
            ("mode", search.mode if search.plate else None),
            ("camera", search.camera),
            ("district", search.district),
            ("since", search.since.isoformat() if search.since else None),
            ("until", search.until.isoformat() if search.until else None),
            (
                "min_confidence",
                f"{search.min_confidence:g}" if search.min_confidence is not None else None,
            ),
        )
        if value
    )
    return described or "everything in scope"


class EventService:
    def __init__(
        self,
        audit: AuditLog,
        media_root: Path,
        *,
        rule_alerts: Mapping[str, int],
        retention: EventRetention,
    ) -> None:
        self.audit = audit
        self.media_root = media_root
        self.rule_alerts = dict(rule_alerts)
        self.retention = retention

    # -- facts from the data plane -------------------------------------------------------------

    @staticmethod
    def _camera(session: Session, code: str) -> Camera | None:
        camera = session.scalars(select(Camera).where(Camera.code == code)).first()
        if camera is None:
            log.warning("fact from unknown camera %s dropped", code)
        elif camera.status == RETIRED_STATUS:
            # Its workers are told to stop; what is still in flight raises no alert.
            log.warning("fact from decommissioned camera %s dropped", code)
            return None
        return camera

    def store_plate_read(self, session: Session, message: PlateRead) -> PlateReadRecord | None:
        """Store a read once and raise an alert for each live hotlist entry it matches."""
        existing = session.scalars(
            select(PlateReadRecord).where(PlateReadRecord.message_id == message.message_id)
        ).first()
        if existing is not None:
            return existing  # redelivered: stored (and matched) once
        camera = self._camera(session, message.camera_id)
        if camera is None:
            return None
        read = PlateReadRecord(
            message_id=message.message_id,
            camera_id=camera.id,
            camera=camera,
            at=message.at,
            first_seen=message.first_seen,
            last_seen=message.last_seen,
            track_id=message.track_id,
            text=message.text,
            plate_key=confusable_key(message.text),
            text_reversed=message.text[::-1],
            confidence=message.confidence,
            rule=message.rule,
            frames=message.frames,
            box=message.box.model_dump() if message.box else None,
            vehicle_class=message.vehicle_class,
            plate_crop=message.plate_crop,
            vehicle_image=message.vehicle_image,
            hotlist_hits=[],
            hit=False,
        )
        session.add(read)
        session.flush()
        entries = session.scalars(
            live_entries(read.plate_key, utcnow()).order_by(HotlistEntry.priority, HotlistEntry.id)
        ).all()
        for entry in entries:
            enqueue(
                session,
                hotlist_alert(
                    read,
                    entry_id=entry.id,
                    entry_plate=entry.plate,
                    category=entry.category,
                    reason=entry.reason,
                    source_agency=entry.source_agency,
                    priority=entry.priority,
                ),
            )
        if entries:
            read.hit = True
            read.hotlist_hits = [entry.id for entry in entries]
            session.flush()
        return read

    def store_rule_event(self, session: Session, message: RuleEvent) -> RuleEventRecord | None:
        existing = session.scalars(
            select(RuleEventRecord).where(RuleEventRecord.message_id == message.message_id)
        ).first()
        if existing is not None:
            return existing
        camera = self._camera(session, message.camera_id)
        if camera is None:
            return None
        event = RuleEventRecord(
            message_id=message.message_id,
            camera_id=camera.id,
            camera=camera,
            kind=message.kind,
            rule=message.rule,
            at=message.at,
            track_id=message.track_id,
            object_class=message.object_class,
            box=message.box.model_dump() if message.box else None,
            frame_width=message.frame_width,
            frame_height=message.frame_height,
            value=message.value,
            direction=message.direction,
            snapshot=message.snapshot,
            clip_start=message.clip_start,
            clip_end=message.clip_end,
            alerted=False,
        )
        session.add(event)
        session.flush()
        alert = rule_alert(event, self.rule_alerts)
        if alert is not None:
            enqueue(session, alert)
            event.alerted = True
            session.flush()
        return event

    # -- plate search ----------------------------------------------------------------------------

    def search_plates(
        self,
        session: Session,
        principal: Principal,
        search: PlateSearch,
        *,
        purpose: str | None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[PlateReadRecord], int]:
        principal.require("plates.search")  # refused before being asked why
        acting = _stated(principal, purpose)
        stmt = self._plates_found(session, acting, search)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = list(
            session.scalars(
                stmt.order_by(PlateReadRecord.at.desc(), PlateReadRecord.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )
        self.audit.append(
            session,
            acting.audit,
            action="search",
            object_type="plate_read",
            district=_audit_district(principal, search.district),
            summary=f"searched plate reads ({_described(search)}): {total} found",
        )
        return rows, total

    def export_plates(
        self, session: Session, principal: Principal, search: PlateSearch, *, purpose: str | None
    ) -> str:
        """The reads of a search as CSV, newest first, at most :data:`EXPORT_LIMIT`: for a
        case file. Needs ``plates.export`` beside ``plates.search`` and a purpose; the
        export is audited with the search, the purpose and how many reads left; text
        cells are guarded against spreadsheet formulas."""
        principal.require("plates.search")
        principal.require("plates.export")
        acting = _stated(principal, purpose)
        stmt = self._plates_found(session, acting, search)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        if total > EXPORT_LIMIT:
            raise InvalidInput(
                f"{total} reads match: narrow the search to {EXPORT_LIMIT} or fewer to "
                "export them (a camera, a district, a shorter time)",
                field="plate",
            )
        rows = session.scalars(
            stmt.order_by(PlateReadRecord.at.desc(), PlateReadRecord.id.desc()).limit(
                EXPORT_LIMIT  # reads stored since the count never push it past the limit
            )
        ).all()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(PLATE_EXPORT_COLUMNS)
        for read in rows:
            cells = (
                read.id,
                read.text,
                f"{read.confidence:.3f}",
                as_utc(read.at).isoformat(),
                format_pkt(read.at),
                read.camera.code,
                read.camera.district.slug,
                read.vehicle_class or "",
                read.rule,
            )
            writer.writerow([guard_cell(cell) for cell in cells])
        body = out.getvalue()
        # The file itself is named in the trail: the same search run later finds other reads.
        digest = hashlib.sha256(body.encode()).hexdigest()
        self.audit.append(
            session,
            acting.audit,
            action="export",
            object_type="plate_read",
            district=_audit_district(principal, search.district),
            summary=f"exported {len(rows)} plate reads ({_described(search)}), "
            f"file sha256 {digest}",
        )
        return body

    def _plates_found(
        self, session: Session, acting: Principal, search: PlateSearch
    ) -> Select[PlateReadRecord]:
        """The reads in ``acting``'s scope that match ``search`` (no order, no limit)."""
        stmt = restrict(PlateReadRecord, acting, "plates.search")
        if search.plate:
            query = plate_query(search.plate, search.mode)
            column = {
                "text": PlateReadRecord.text,
                "key": PlateReadRecord.plate_key,
                "reversed": PlateReadRecord.text_reversed,
            }[query.column]
            if query.any_of:
                stmt = stmt.where(column.in_(query.any_of))
            elif query.equals is not None:
                stmt = stmt.where(column == query.equals)
            elif query.like is not None:
                if query.prefix:
                    stmt = stmt.where(column >= query.prefix)
                if query.prefix_end:
                    stmt = stmt.where(column < query.prefix_end)
                stmt = stmt.where(column.like(query.like, escape=LIKE_ESCAPE))
        stmt = _place_filters(
            session, acting, stmt, PlateReadRecord.camera_id, search.camera, search.district
        )
        if search.since:
            stmt = stmt.where(PlateReadRecord.at >= search.since)
        if search.until:
            stmt = stmt.where(PlateReadRecord.at < search.until)
        if search.since and search.until and search.until <= search.since:
            raise InvalidInput("the end of the range must be after its start", field="until")
        if search.min_confidence is not None:
            if not 0.0 <= search.min_confidence <= 1.0:
                raise InvalidInput(
                    "the minimum confidence is a share from 0 to 1", field="min_confidence"
                )
            stmt = stmt.where(PlateReadRecord.confidence >= search.min_confidence)
        return stmt

    def plate_read(
        self, session: Session, principal: Principal, read_id: int, *, purpose: str | None
    ) -> PlateReadRecord:
        principal.require("plates.search")  # refused before being asked why
        acting = _stated(principal, purpose)
        read = get_in_scope(session, PlateReadRecord, acting, "plates.search", read_id)
        self._audit_view(session, acting.audit, read, "viewed")
        return read

    def plate_read_detail(
        self, session: Session, principal: Principal, read_id: int, *, purpose: str | None
    ) -> PlateReadDetail:
        """A read with the other reads of its plate near it in time and the hotlist
        entries it matched (see :mod:`safecity.events.plate_detail`): what a read's page
        shows. Same permission, scope (404 outside it) and purpose as :meth:`plate_read`;
        one audit record names the read and how many other reads were shown with it."""
        principal.require("plates.search")  # refused before being asked why
        acting = _stated(principal, purpose)
        read = get_in_scope(session, PlateReadRecord, acting, "plates.search", read_id)
        nearby, total = nearby_reads(session, acting, read)
        entries = matched_entries(session, acting, read)
        minutes = round(NEARBY_WINDOW.total_seconds() / 60)
        shown = f"{len(nearby)} other reads of the plate within {minutes} minutes"
        if total > len(nearby):
            shown += f" (of {total})"
        # Which reads were disclosed, not only how many: some are other vehicles whose
        # plate differs by a look-alike character, and an auditor must be able to tell.
        self._audit_view(
            session, acting.audit, read, "viewed", shown=shown, others=[r.id for r in nearby]
        )
        return PlateReadDetail(read=read, nearby=nearby, nearby_total=total, entries=entries)

    def plate_image(
        self,
        session: Session,
        principal: Principal,
        read_id: int,
        which: PlateImage,
        *,
        purpose: str | None,
    ) -> Path:
        # The page that showed the search fetches its images with the purpose it stated;
        # an image is personal data as much as the read, so none is served without one.
        # Privacy masks: both pictures are served as stored. They are crops of the read's
        # subject (the plate, and the vehicle box around it), not views of the scene; the
        # plate is what an operator must compare before acting, so a mask over the road
        # must not blank it silently, and the crops' places in the frame are not recorded,
        # so the frame's masks could not be laid on them anyway. The scene pictures
        # (rule-event snapshots, analytics alerts, the zone editor's frame) are masked.
        acting = _stated(principal, purpose)
        read = get_in_scope(session, PlateReadRecord, acting, "plates.search", read_id)
        relative = read.plate_crop if which == "crop" else read.vehicle_image
        path = self._media(relative, f"plate read {read_id} has no {which} image")
        self._audit_view(session, acting.audit, read, f"viewed the {which} image of")
        return path

    def _audit_view(
        self,
        session: Session,
        ctx: AuditContext,
        read: PlateReadRecord,
        verb: str,
        *,
        shown: str = "",
        others: list[int] | None = None,
    ) -> None:
        self.audit.append(
            session,
            ctx,
            action="view",
            object_type="plate_read",
            object_id=read.id,
            district=read.camera.district.slug,
            summary=f"{verb} plate read {read.text} at {read.camera.code} {read.at.isoformat()}"
            + (f", with {shown}" if shown else ""),
            after={"other_reads_shown": others} if others is not None else None,
        )

    def _media(self, relative: str | None, missing: str) -> Path:
        if not relative:
            raise NotFound(missing)
        root = self.media_root.resolve()
        path = (root / relative).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise NotFound(f"{missing} in the media store")
        return path

    # -- rule events -------------------------------------------------------------------------------

    def rule_events(
        self,
        session: Session,
        principal: Principal,
        filters: EventFilter,
        *,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[RuleEventRecord], int]:
        stmt = restrict(RuleEventRecord, principal, "analytics.view")
        stmt = _place_filters(
            session, principal, stmt, RuleEventRecord.camera_id, filters.camera, filters.district
        )
        if filters.kind:
            stmt = stmt.where(RuleEventRecord.kind == filters.kind)
        if filters.since:
            stmt = stmt.where(RuleEventRecord.at >= filters.since)
        if filters.until:
            stmt = stmt.where(RuleEventRecord.at < filters.until)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.scalars(
            stmt.order_by(RuleEventRecord.at.desc(), RuleEventRecord.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        return list(rows), total

    def rule_event(self, session: Session, principal: Principal, event_id: int) -> RuleEventRecord:
        return get_in_scope(session, RuleEventRecord, principal, "analytics.view", event_id)

    def event_snapshot(self, session: Session, principal: Principal, event_id: int) -> bytes:
        """The frame when the rule fired (JPEG), with the camera's current privacy masks
        burned in unless the viewer holds ``cameras.unmask``; the stored file is unchanged."""
        event = self.rule_event(session, principal, event_id)
        path = self._media(event.snapshot, f"event {event_id} has no snapshot")
        picture = picture_for(
            path.read_bytes(), event.camera, principal, what=f"the snapshot of event {event_id}"
        )
        self.audit.append(
            session,
            principal.audit,
            action="view",
            object_type="rule_event",
            object_id=event.id,
            district=event.camera.district.slug,
            summary=f"viewed the snapshot of {event.kind} at {event.camera.code}"
            + mask_note(event.camera, principal),
        )
        return picture

    # -- retention ---------------------------------------------------------------------------------

    def sweep(
        self, session: Session, ctx: AuditContext, now: datetime | None = None
    ) -> SweepResult:
        """Delete reads and events past their retention; returns the image files to unlink
        once this commits (unlinking first would leave rows pointing at nothing)."""
        now = now or utcnow()
        keep = self.retention
        expired_read = or_(
            and_(
                PlateReadRecord.hit.is_(False),
                PlateReadRecord.at < now - timedelta(days=keep.unmatched_read_days),
            ),
            and_(
                PlateReadRecord.hit.is_(True),
                PlateReadRecord.at < now - timedelta(days=keep.hit_read_days),
            ),
        )
        reads = session.execute(
            select(PlateReadRecord.id, PlateReadRecord.plate_crop, PlateReadRecord.vehicle_image)
            .where(expired_read)
            .limit(SWEEP_BATCH)
        ).all()
        events = session.execute(
            select(RuleEventRecord.id, RuleEventRecord.snapshot)
            .where(RuleEventRecord.at < now - timedelta(days=keep.rule_event_days))
            .limit(SWEEP_BATCH)
        ).all()
        files = [
            self.media_root / name
            for row in reads
            for name in (row.plate_crop, row.vehicle_image)
            if name
        ]
        if reads:
            session.execute(
                delete(PlateReadRecord).where(PlateReadRecord.id.in_([r.id for r in reads]))
            )
        if events:
            session.execute(
                delete(RuleEventRecord).where(RuleEventRecord.id.in_([e.id for e in events]))
            )
            # Rules that fired on one frame share its snapshot: a file still named by an
            # event this batch left (the next batch's) stays until that one goes too.
            snapshots = {row.snapshot for row in events if row.snapshot}
            still_named = set(
                session.scalars(
                    select(RuleEventRecord.snapshot).where(RuleEventRecord.snapshot.in_(snapshots))
                )
            )
            files += [self.media_root / name for name in sorted(snapshots - still_named)]
        if reads or events:
            self.audit.append(
                session,
                ctx,
                action="retention",
                object_type="plate_read",
                summary=f"retention deleted {len(reads)} plate reads and {len(events)} rule events",
            )
        return SweepResult(reads=len(reads), events=len(events), files=files)
