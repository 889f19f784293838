"""Hotlists: plates to look out for. Every change is audited with before and after;
entries are province-wide, so the permission alone decides who sees or edits them."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from safecity.audit.log import AuditLog
from safecity.core.clock import utcnow
from safecity.core.errors import Conflict, InvalidInput, PreconditionFailed
from safecity.events.models import HotlistEntry
from safecity.events.plates import confusable_key, normalise
from safecity.events.schemas import (
    HotlistEntryCreate,
    HotlistEntryPublic,
    HotlistEntryUpdate,
    HotlistImportReport,
    ImportProblem,
)
from safecity.identity.models import User
from safecity.identity.permissions import Principal, get_in_scope, restrict

CSV_COLUMNS = (
    "plate",
    "category",
    "reason",
    "source_agency",
    "priority",
    "expires_at",
    "owner",
)
REQUIRED_COLUMNS = {"plate", "category", "reason", "source_agency"}
EXPORT_COLUMNS = ("id", *CSV_COLUMNS, "active", "created_by", "created_at")


def public(entry: HotlistEntry, now: datetime | None = None) -> HotlistEntryPublic:
    return HotlistEntryPublic(
        id=entry.id,
        plate=entry.plate,
        category=entry.category,
        reason=entry.reason,
        source_agency=entry.source_agency,
        priority=entry.priority,
        expires_at=entry.expires_at,
        owner=entry.owner.username if entry.owner else None,
        active=entry.active,
        live=entry.live_at(now or utcnow()),
        created_by=entry.created_by,
        created_at=entry.created_at,
        updated_at=entry.updated_at,
        version=entry.version,
    )


def _snapshot(entry: HotlistEntry) -> dict[str, Any]:
    return public(entry).model_dump(
        mode="json", exclude={"live", "created_at", "updated_at", "version"}
    )


def live_entries(key: str, when: datetime) -> Select[HotlistEntry]:
    """Entries a plate with confusable key ``key`` matches at ``when``."""
    return select(HotlistEntry).where(
        HotlistEntry.plate_key == key,
        HotlistEntry.active.is_(True),
        or_(HotlistEntry.expires_at.is_(None), HotlistEntry.expires_at > when),
    )


class HotlistService:
    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit

    # -- reading -------------------------------------------------------------------------------

    def entries(
        self,
        session: Session,
        principal: Principal,
        *,
        plate: str | None = None,
        category: str | None = None,
        include_inactive: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[HotlistEntry], int]:
        stmt = restrict(HotlistEntry, principal, "hotlists.view")
        if plate:
            stmt = stmt.where(HotlistEntry.plate_key == confusable_key(normalise(plate)))
        if category:
            stmt = stmt.where(HotlistEntry.category == category)
        if not include_inactive:
            stmt = stmt.where(HotlistEntry.active.is_(True))
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.scalars(
            stmt.order_by(HotlistEntry.priority, HotlistEntry.id.desc()).limit(limit).offset(offset)
        ).all()
        return list(rows), total

    @staticmethod
    def entry(session: Session, principal: Principal, entry_id: int) -> HotlistEntry:
        return get_in_scope(session, HotlistEntry, principal, "hotlists.view", entry_id)

    # -- changing ------------------------------------------------------------------------------

    @staticmethod
    def _owner_id(session: Session, principal: Principal, username: str | None) -> int | None:
        if username is None:
            return principal.user_id or None
        user_id = session.scalar(select(User.id).where(User.username == username))
        if user_id is None:
            raise InvalidInput(f"no user named {username!r}", field="owner")
        return user_id

    @staticmethod
    def _refuse_duplicate(
        session: Session, plate: str, category: str, keep: int | None = None
    ) -> None:
        stmt = select(HotlistEntry.id).where(
            HotlistEntry.plate == plate,
            HotlistEntry.category == category,
            HotlistEntry.active.is_(True),
        )
        if keep is not None:
            stmt = stmt.where(HotlistEntry.id != keep)
        existing = session.scalar(stmt.limit(1))
        if existing is not None:
            raise Conflict(
                f"{plate} is already on the {category} list (entry {existing})", field="plate"
            )

    def create(
        self, session: Session, principal: Principal, data: HotlistEntryCreate
    ) -> HotlistEntry:
        principal.require("hotlists.change")
        self._refuse_duplicate(session, data.plate, data.category)
        entry = HotlistEntry(
            plate=data.plate,
            plate_key=confusable_key(data.plate),
            category=data.category,
            reason=data.reason,
            source_agency=data.source_agency,
            priority=data.priority,
            expires_at=data.expires_at,
            owner_id=self._owner_id(session, principal, data.owner),
            active=True,
            created_by=principal.username,
        )
        session.add(entry)
        session.flush()
        session.refresh(entry)
        self.audit.append(
            session,
            principal.audit,
            action="create",
            object_type="hotlist_entry",
            object_id=entry.id,
            summary=f"listed {entry.plate} as {entry.category}",
            after=_snapshot(entry),
        )
        return entry

    def update(
        self,
        session: Session,
        principal: Principal,
        entry_id: int,
        data: HotlistEntryUpdate,
        *,
        expected_version: int | None,
    ) -> HotlistEntry:
        principal.require("hotlists.change")
        entry = self.entry(session, principal, entry_id)
        if expected_version is not None and expected_version != entry.version:
            raise PreconditionFailed(
                f"hotlist entry {entry_id} is at version {entry.version}, not "
                f"{expected_version}: reload it and try again"
            )
        before = _snapshot(entry)
        changes = data.model_dump(exclude_unset=True)
        if "owner" in changes:
            entry.owner_id = self._owner_id(session, principal, changes.pop("owner"))
        for name in ("plate", "category", "reason", "source_agency", "priority", "active"):
            if name in changes and changes[name] is not None:
                setattr(entry, name, changes[name])
        if "expires_at" in changes:
            entry.expires_at = changes["expires_at"]
        entry.plate_key = confusable_key(entry.plate)
        if entry.active and ({"plate", "category", "active"} & changes.keys()):
            self._refuse_duplicate(session, entry.plate, entry.category, keep=entry.id)
        session.flush()
        session.refresh(entry)
        after = _snapshot(entry)
        if after == before:
            return entry
        self.audit.append(
            session,
            principal.audit,
            action="update",
            object_type="hotlist_entry",
            object_id=entry.id,
            summary=f"changed hotlist entry {entry.plate} ({entry.category})",
            before=before,
            after=after,
        )
        return entry

    def deactivate(
        self,
        session: Session,
        principal: Principal,
        entry_id: int,
        *,
        expected_version: int | None,
    ) -> HotlistEntry:
        """Take an entry off the list; it is kept (inactive) so past alerts still explain."""
        principal.require("hotlists.change")
        entry = self.entry(session, principal, entry_id)
        if not entry.active:
            raise Conflict(f"hotlist entry {entry_id} is already off the list")
        return self.update(
            session,
            principal,
            entry_id,
            HotlistEntryUpdate(active=False),
            expected_version=expected_version,
        )

    # -- files ---------------------------------------------------------------------------------

    def import_csv(
        self, session: Session, principal: Principal, content: bytes
    ) -> HotlistImportReport:
        """Add every valid row; report each invalid one by row and column. A row is
        imported in a savepoint, so one bad row never takes the good ones with it."""
        principal.require("hotlists.change")
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"the file is not UTF-8 text: {exc}", field="file") from exc
        reader = csv.DictReader(io.StringIO(text))
        header = [name.strip() for name in reader.fieldnames or []]
        report = HotlistImportReport()
        missing = sorted(REQUIRED_COLUMNS - set(header))
        unknown = [name for name in header if name not in CSV_COLUMNS]
        for name in missing:
            report.problems.append(ImportProblem(row=1, field=name, message="column missing"))
        for name in unknown:
            report.problems.append(
                ImportProblem(
                    row=1,
                    field=name,
                    message=f"unknown column (known: {', '.join(CSV_COLUMNS)})",
                )
            )
        if report.problems:
            return report
        reader.fieldnames = header
        for number, raw in enumerate(reader, start=2):
            report.rows += 1
            if None in raw:
                report.problems.append(
                    ImportProblem(row=number, field=None, message="more cells than columns")
                )
                continue
            values = {k: (v or "").strip() for k, v in raw.items()}
            row = {k: v for k, v in values.items() if v != ""}
            try:
                data = HotlistEntryCreate.model_validate(row)
                with session.begin_nested():
                    self.create(session, principal, data)
                report.created += 1
            except ValidationError as exc:
                for error in exc.errors(include_url=False, include_input=False):
                    field = str(error["loc"][0]) if error["loc"] else None
                    report.problems.append(
                        ImportProblem(row=number, field=field, message=error["msg"])
                    )
            except (InvalidInput, Conflict) as exc:
                report.problems.append(
                    ImportProblem(row=number, field=exc.field, message=exc.message)
                )
        self.audit.append(
            session,
            principal.audit,
            action="import",
            object_type="hotlist_entry",
            summary=f"imported hotlist file: {report.created} added, "
            f"{report.failed} rows refused of {report.rows}",
        )
        return report

    def export_csv(self, session: Session, principal: Principal) -> str:
        stmt = restrict(HotlistEntry, principal, "hotlists.view").order_by(HotlistEntry.id)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        count = 0
        for entry in session.scalars(stmt):
            count += 1
            writer.writerow(
                [
                    entry.id,
                    entry.plate,
                    entry.category,
                    entry.reason,
                    entry.source_agency,
                    entry.priority,
                    entry.expires_at.isoformat() if entry.expires_at else "",
                    entry.owner.username if entry.owner else "",
                    "yes" if entry.active else "no",
                    entry.created_by,
                    entry.created_at.isoformat(),
                ]
            )
        self.audit.append(
            session,
            principal.audit,
            action="export",
            object_type="hotlist_entry",
            summary=f"exported {count} hotlist entries",
        )
        return out.getvalue()
