"""Recordings and camera health in the control plane.

Workers publish facts (a segment closed, a health report); this service stores
them. Every listing and playback of footage is a view of personal data: it goes
through the permission filter and is audited with its purpose.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Select, and_, exists, select
from sqlalchemy.orm import Session

from safecity.audit.context import AuditContext
from safecity.audit.log import AuditLog
from safecity.contracts.alerts import AlertRaised
from safecity.contracts.ingest import CameraHealth, SegmentClosed
from safecity.core.clock import utcnow
from safecity.core.errors import Conflict, InvalidInput, NotFound
from safecity.db import outbox
from safecity.identity.permissions import Principal, get_in_scope, restrict
from safecity.recordings.clips import join_segments
from safecity.recordings.models import (
    CameraHealthState,
    HealthEpisode,
    LegalHold,
    RecordingSegment,
)
from safecity.recordings.rescan import (
    probe_segment,
    recent_day_folders,
    settled_segment_files,
)
from safecity.recordings.retention import RetentionPlan, RetentionPolicy, SegmentFacts, plan
from safecity.recordings.schemas import LegalHoldCreate
from safecity.registry.models import Camera

log = logging.getLogger(__name__)
MAX_RANGE_HOURS = 24
# How urgent a camera problem is for the control room (1 most); unlisted codes are 4.
PROBLEM_PRIORITY = {"offline": 2, "covered": 2, "moved": 3, "stalled": 3, "frozen": 3, "black": 3}


@dataclass(frozen=True)
class TimeRange:
    since: datetime
    until: datetime

    def check(self) -> None:
        if self.until <= self.since:
            raise InvalidInput("the end of the range must be after its start", field="until")
        if (self.until - self.since).total_seconds() > MAX_RANGE_HOURS * 3600:
            raise InvalidInput(f"ask for at most {MAX_RANGE_HOURS} hours at a time", field="until")


class RecordingService:
    def __init__(self, audit: AuditLog, media_root: Path) -> None:
        self.audit = audit
        self.media_root = media_root

    # -- facts from the data plane -------------------------------------------------------------

    @staticmethod
    def _camera_by_code(session: Session, code: str) -> Camera | None:
        return session.scalars(select(Camera).where(Camera.code == code)).first()

    def index_segment(self, session: Session, message: SegmentClosed) -> RecordingSegment | None:
        camera = self._camera_by_code(session, message.camera_id)
        if camera is None:
            log.warning(
                "segment %s for unknown camera %s not indexed", message.path, message.camera_id
            )
            return None
        existing = session.scalars(
            select(RecordingSegment).where(RecordingSegment.path == message.path)
        ).first()
        if existing is not None:
            return existing  # redelivered after a crash: indexed once
        segment = RecordingSegment(
            camera_id=camera.id,
            path=message.path,
            started_at=message.started_at,
            ended_at=message.ended_at,
            duration_seconds=message.duration_seconds,
            size_bytes=message.size_bytes,
            sha256=message.sha256,
            codec=message.codec,
            width=message.width,
            height=message.height,
            frames=message.frames,
            gap_before_seconds=message.gap_before_seconds,
            kind=message.kind,
        )
        session.add(segment)
        session.flush()
        return segment

    def record_health(self, session: Session, report: CameraHealth) -> None:
        camera = self._camera_by_code(session, report.camera_id)
        if camera is None:
            return
        state = session.get(CameraHealthState, camera.id)
        if state is None:
            state = CameraHealthState(camera_id=camera.id)
            session.add(state)
        state.state, state.state_since = report.state, report.state_since
        state.fps, state.bitrate_bps = report.fps, report.bitrate_bps
        state.last_frame_at, state.reconnects = report.last_frame_at, report.reconnects
        state.recording = report.recording
        state.problems = [p.model_dump(mode="json") for p in report.problems]
        state.reported_at = report.emitted_at
        state.clock_offset_seconds = report.clock_offset_seconds
        open_episodes = {
            e.code: e
            for e in session.scalars(
                select(HealthEpisode).where(
                    HealthEpisode.camera_id == camera.id, HealthEpisode.cleared_at.is_(None)
                )
            )
        }
        current = {p.code: p for p in report.problems}
        for code, problem in current.items():
            if code not in open_episodes:
                session.add(
                    HealthEpisode(
                        camera_id=camera.id,
                        code=code,
                        detail=problem.detail,
                        started_at=problem.since,
                    )
                )
                outbox.enqueue(session, _problem_alert(camera, code, problem.detail, problem.since))
        for code, episode in open_episodes.items():
            if code not in current:
                episode.cleared_at = report.emitted_at
        session.flush()

    @staticmethod
    def health_of(session: Session, camera_id: int) -> CameraHealthState | None:
        """The latest report of a camera the caller has already looked up in scope."""
        return session.get(CameraHealthState, camera_id)

    # -- footage for people ----------------------------------------------------------------------

    @staticmethod
    def _overlapping(
        principal: Principal, camera_id: int, window: TimeRange
    ) -> Select[RecordingSegment]:
        """Kept segments of one camera that overlap ``window``, oldest first."""
        return (
            restrict(RecordingSegment, principal, "footage.view")
            .where(
                RecordingSegment.camera_id == camera_id,
                RecordingSegment.deleted_at.is_(None),
                RecordingSegment.ended_at > window.since,
                RecordingSegment.started_at < window.until,
            )
            .order_by(RecordingSegment.started_at)
        )

    def segments(
        self, session: Session, principal: Principal, camera_id: int, window: TimeRange
    ) -> list[RecordingSegment]:
        window.check()
        camera = get_in_scope(session, Camera, principal, "footage.view", camera_id)
        rows = list(session.scalars(self._overlapping(principal, camera.id, window)))
        self.audit.append(
            session,
            principal.audit,
            action="search",
            object_type="recording",
            object_id=camera.id,
            district=camera.district.slug,
            summary=f"listed recordings of {camera.code} {window.since.isoformat()} to "
            f"{window.until.isoformat()}: {len(rows)} segments",
        )
        return rows

    def open_segment(
        self,
        session: Session,
        principal: Principal,
        segment_id: int,
        *,
        use: str = "played recording",
        note: str = "",
    ) -> Path:
        """A recorded segment's file, audited as a view; ``use`` says how it was seen
        ("played recording", or a still taken from it for the zone editor), ``note`` what
        else the auditor should read (the privacy masks applied or lifted)."""
        segment = get_in_scope(session, RecordingSegment, principal, "footage.view", segment_id)
        if segment.deleted_at is not None:
            raise NotFound(f"recording {segment_id} was deleted by retention")
        path = (self.media_root / segment.path).resolve()
        if not path.is_relative_to(self.media_root.resolve()) or not path.is_file():
            raise NotFound(f"recording {segment_id} is missing from the media store")
        camera = session.get(Camera, segment.camera_id)
        self.audit.append(
            session,
            principal.audit,
            action="view",
            object_type="recording",
            object_id=segment.id,
            district=camera.district.slug if camera else None,
            summary=f"{use} of {camera.code if camera else '?'} from "
            f"{segment.started_at.isoformat()}{note}",
        )
        return path

    def export_clip(
        self,
        session: Session,
        principal: Principal,
        camera_id: int,
        window: TimeRange,
        out_dir: Path,
    ) -> Path:
        """One MP4 of the camera's recordings over ``window`` (stream copy), audited."""
        principal.require("footage.export")
        window.check()
        camera = get_in_scope(session, Camera, principal, "footage.view", camera_id)
        rows = list(session.scalars(self._overlapping(principal, camera.id, window)))
        if not rows:
            raise NotFound("no recordings of this camera in that range")
        first = rows[0].started_at
        parts = [(self.media_root / s.path, (s.started_at - first).total_seconds()) for s in rows]
        out_dir.mkdir(parents=True, exist_ok=True)
        out = out_dir / f"{camera.code}_{first:%Y%m%dT%H%M%SZ}_{len(rows)}seg.mp4"
        join_segments(parts, out)
        self.audit.append(
            session,
            principal.audit,
            action="export",
            object_type="recording",
            object_id=camera.id,
            district=camera.district.slug,
            summary=f"exported a clip of {camera.code} from {first.isoformat()} "
            f"({len(rows)} segments, {rows[-1].ended_at.isoformat()} end)",
            after={"segments": [s.sha256 for s in rows]},
        )
        return out

    # -- legal holds ---------------------------------------------------------------------------

    def place_hold(
        self, session: Session, principal: Principal, camera_id: int, data: LegalHoldCreate
    ) -> LegalHold:
        principal.require("footage.hold")
        camera = get_in_scope(session, Camera, principal, "footage.view", camera_id)
        if data.ends_at <= data.starts_at:
            raise InvalidInput("the hold must end after it starts", field="ends_at")
        hold = LegalHold(
            camera_id=camera.id,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            case_reference=data.case_reference,
            reason=data.reason,
            created_by=principal.username,
        )
        session.add(hold)
        session.flush()
        self.audit.append(
            session,
            principal.audit,
            action="create",
            object_type="legal_hold",
            object_id=hold.id,
            district=camera.district.slug,
            summary=f"legal hold on {camera.code} for {data.case_reference}",
            after=data.model_dump(mode="json"),
        )
        return hold

    def release_hold(self, session: Session, principal: Principal, hold_id: int) -> LegalHold:
        principal.require("footage.hold")
        hold = get_in_scope(session, LegalHold, principal, "footage.view", hold_id)
        if hold.released_at is not None:
            raise Conflict(f"legal hold {hold_id} was already released by {hold.released_by}")
        hold.released_at, hold.released_by = utcnow(), principal.username
        camera = session.get(Camera, hold.camera_id)
        self.audit.append(
            session,
            principal.audit,
            action="update",
            object_type="legal_hold",
            object_id=hold.id,
            district=camera.district.slug if camera else None,
            summary=f"released legal hold for {hold.case_reference}",
            before={"released_at": None},
            after={"released_at": hold.released_at.isoformat()},
        )
        session.flush()
        return hold

    def holds(
        self, session: Session, principal: Principal, *, active_only: bool = True
    ) -> list[LegalHold]:
        stmt = restrict(LegalHold, principal, "footage.view").order_by(LegalHold.created_at.desc())
        if active_only:
            stmt = stmt.where(LegalHold.released_at.is_(None))
        return list(session.scalars(stmt))

    # -- rescan ------------------------------------------------------------------------------------

    def rescan(
        self,
        session: Session,
        ctx: AuditContext,
        *,
        days: int = 2,
        settle_seconds: float = 300,
        now: datetime | None = None,
    ) -> list[RecordingSegment]:
        """Index closed segment files of the last ``days`` days whose message never came.

        Only files unchanged for ``settle_seconds`` are taken: a message in flight
        (its worker retrying a busy bus) describes the segment better than a probe.
        """
        now = now or utcnow()
        since = (now - timedelta(days=days)).date()
        settled_before = now - timedelta(seconds=settle_seconds)
        codes = set(session.scalars(select(Camera.code)))
        rescued: list[RecordingSegment] = []
        if not self.media_root.is_dir():
            return rescued
        for camera_folder in sorted(self.media_root.iterdir()):
            if camera_folder.name not in codes:
                continue
            for day in recent_day_folders(camera_folder, since):
                prefix = f"{camera_folder.name}/{day.name}/"
                indexed = set(
                    session.scalars(
                        select(RecordingSegment.path).where(
                            RecordingSegment.path.startswith(prefix, autoescape=True)
                        )
                    )
                )
                for path in settled_segment_files(day, camera_folder.name, settled_before):
                    if f"{prefix}{path.name}" in indexed:
                        continue
                    try:
                        message = probe_segment(self.media_root, path, camera_folder.name)
                    except ValueError as exc:
                        log.warning("rescan: %s left unindexed: %s", path, exc)
                        continue
                    segment = self.index_segment(session, message)
                    if segment is not None:
                        log.warning("rescan: indexed %s, whose segment message was lost", path)
                        rescued.append(segment)
        if rescued:
            self.audit.append(
                session,
                ctx,
                action="create",
                object_type="recording",
                summary=f"rescan indexed {len(rescued)} segment files whose messages were lost: "
                + ", ".join(s.path for s in rescued[:20])
                + (" ..." if len(rescued) > 20 else ""),
            )
        return rescued

    # -- retention ---------------------------------------------------------------------------------

    def sweep(
        self,
        session: Session,
        policy: RetentionPolicy,
        ctx: AuditContext,
        now: datetime | None = None,
    ) -> tuple[RetentionPlan, list[Path]]:
        """Mark what retention removes; returns the files to unlink once this commits
        (unlinking first would leave an index pointing at nothing after a rollback)."""
        now = now or utcnow()
        held = exists().where(
            LegalHold.camera_id == RecordingSegment.camera_id,
            LegalHold.released_at.is_(None),
            and_(
                LegalHold.starts_at < RecordingSegment.ended_at,
                LegalHold.ends_at > RecordingSegment.started_at,
            ),
        )
        rows = session.execute(
            select(RecordingSegment, Camera.ownership, held.label("held"))
            .join(Camera, Camera.id == RecordingSegment.camera_id)
            .where(RecordingSegment.deleted_at.is_(None))
        ).all()
        facts = [
            SegmentFacts(
                s.id, ownership, s.kind, s.started_at, s.ended_at, s.size_bytes, bool(is_held)
            )
            for s, ownership, is_held in rows
        ]
        result = plan(facts, policy, now)
        doomed = set(result.delete)
        files: list[Path] = []
        for segment, _, _ in rows:
            if segment.id in doomed:
                files.append(self.media_root / segment.path)
                segment.deleted_at = now
        if doomed or result.quota_unreachable:
            self.audit.append(
                session,
                ctx,
                action="retention",
                object_type="recording",
                summary=(
                    f"retention deleted {len(result.expired)} expired and "
                    f"{len(result.over_quota)} over-quota segments ({result.bytes_freed} bytes)"
                    + (
                        "; quota cannot be met: legal holds exceed it"
                        if result.quota_unreachable
                        else ""
                    )
                ),
            )
        session.flush()
        return result, files


def _problem_alert(camera: Camera, code: str, detail: str, since: datetime) -> AlertRaised:
    """A camera problem that just opened, for the control room's queue."""
    return AlertRaised(
        source="health",
        kind=f"health.{code}",
        priority=PROBLEM_PRIORITY.get(code, 4),
        title=f"Camera {camera.code} {code.replace('_', ' ')}",
        detail=detail[:2000],
        at=since,
        camera_id=camera.code,
        correlation_key=f"camera:{camera.code}:{code}",
    )
