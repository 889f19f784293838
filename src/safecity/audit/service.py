"""Browsing and exporting the audit log (auditors); both are themselves audited."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from safecity.audit.context import Actor
from safecity.audit.log import AuditLog
from safecity.audit.models import AuditRecord
from safecity.core.clock import format_pkt
from safecity.core.csvcells import guard_cell
from safecity.core.errors import PermissionDenied

EXPORT_COLUMNS = (
    "seq",
    "at_utc",
    "at_pkt",
    "actor_name",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "district",
    "summary",
    "purpose",
    "request_id",
    "source_ip",
    "before",
    "after",
    "hash",
)


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    district: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.__dict__.items() if v]
        return ", ".join(parts) or "no filter"


def _require(actor: Actor, code: str) -> None:
    if not actor.has_permission(code):
        raise PermissionDenied(f"permission '{code}' is required")


class AuditBrowser:
    def __init__(self, log: AuditLog) -> None:
        self.log = log

    @staticmethod
    def _query(flt: AuditFilter) -> Select[AuditRecord]:
        stmt = select(AuditRecord)
        if flt.actor:
            stmt = stmt.where(AuditRecord.actor_name == flt.actor)
        if flt.action:
            stmt = stmt.where(AuditRecord.action == flt.action)
        if flt.object_type:
            stmt = stmt.where(AuditRecord.object_type == flt.object_type)
        if flt.object_id:
            stmt = stmt.where(AuditRecord.object_id == flt.object_id)
        if flt.district:
            stmt = stmt.where(AuditRecord.district == flt.district)
        if flt.since:
            stmt = stmt.where(AuditRecord.at >= flt.since)
        if flt.until:
            stmt = stmt.where(AuditRecord.at < flt.until)
        if flt.text:
            stmt = stmt.where(func.lower(AuditRecord.summary).like(f"%{flt.text.lower()}%"))
        return stmt

    @staticmethod
    def _scoped(actor: Actor, flt: AuditFilter) -> Select[AuditRecord]:
        """A district auditor reads the records of their districts; records that belong to
        no district (sign-ins, accounts, the log itself) need province-wide scope."""
        stmt = AuditBrowser._query(flt)
        districts = actor.audit_districts
        if districts is not None:
            stmt = stmt.where(AuditRecord.district.in_(sorted(districts)))
        return stmt

    def search(
        self, session: Session, actor: Actor, flt: AuditFilter, *, limit: int, offset: int
    ) -> tuple[list[AuditRecord], int]:
        _require(actor, "audit.view")
        stmt = self._scoped(actor, flt)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        records = list(
            session.scalars(stmt.order_by(AuditRecord.seq.desc()).limit(limit).offset(offset))
        )
        self.log.append(
            session,
            actor.audit,
            action="search",
            object_type="audit",
            summary=f"browsed audit log ({flt.describe()}): {len(records)} of {total}",
        )
        return records, total

    def export_csv(self, session: Session, actor: Actor, flt: AuditFilter) -> Iterator[str]:
        """CSV of every matching record, oldest first; the export is audited before it starts."""
        _require(actor, "audit.export")
        stmt = self._scoped(actor, flt)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        self.log.append(
            session,
            actor.audit,
            action="export",
            object_type="audit",
            summary=f"exported audit log as CSV ({flt.describe()}): {total} records",
        )
        records = list(session.scalars(stmt.order_by(AuditRecord.seq)))
        return _csv_lines(records)


def _csv_lines(records: list[AuditRecord]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for r in records:
        # Every text cell is guarded: names, purposes and summaries are typed by users.
        writer.writerow(
            [
                guard_cell(cell)
                for cell in (
                    r.seq,
                    r.at.isoformat(),
                    format_pkt(r.at),
                    r.actor_name,
                    r.actor_id,
                    r.action,
                    r.object_type,
                    r.object_id,
                    r.district,
                    r.summary,
                    r.purpose,
                    r.request_id,
                    r.source_ip,
                    json.dumps(r.before) if r.before is not None else "",
                    json.dumps(r.after) if r.after is not None else "",
                    r.hash,
                )
            ]
        )
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
