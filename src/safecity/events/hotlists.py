"""Hotlists: plates to look out for. Every change is audited with before and after;
entries are province-wide, so the permission alone decides who sees or edits them."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from safecity.audit.log import AuditLog
from safecity.core.clock import as_utc, utcnow
from safecity.core.csvcells import guard_cell, unguard_cell
from safecity.core.errors import Conflict, InvalidInput, PreconditionFailed
from safecity.events.hotlist_csv import (
    EXPORT_COLUMNS,
    REQUIRED_COLUMNS,
    entry_from_row,
    parse_active,
)
from safecity.events.models import HotlistEntry
from safecity.events.plates import confusable_key, normalise
from safecity.events.schemas import (
    HotlistEntryCreate,
    HotlistEntryPublic,
    HotlistEntryRemove,
    HotlistEntryUpdate,
    HotlistImportReport,
    ImportProblem,
)
from safecity.identity.models import User
from safecity.identity.permissions import Principal, get_in_scope, restrict


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


# Told of each removal in its transaction (entry id, when): the alert queue marks the
# entry's hits as ended, so that listing the entry again never makes them live again.
RemovalHook = Callable[[Session, int, datetime], object]


class HotlistService:
    def __init__(self, audit: AuditLog, *, on_removal: RemovalHook | None = None) -> None:
        self.audit = audit
        self.on_removal = on_removal

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

    @staticmethod
    def _check_version(entry: HotlistEntry, expected_version: int) -> None:
        if expected_version != entry.version:
            raise PreconditionFailed(
                f"hotlist entry {entry.id} was changed by someone else meanwhile (it is at "
                f"version {entry.version}, you sent {expected_version}): reload it and try again"
            )

    def update(
        self,
        session: Session,
        principal: Principal,
        entry_id: int,
        data: HotlistEntryUpdate,
        *,
        expected_version: int,
    ) -> HotlistEntry:
        """Change an entry as last read (``expected_version``); a stale edit is refused."""
        principal.require("hotlists.change")
        entry = self.entry(session, principal, entry_id)
        if data.active is False:
            # Taking an entry off the list needs a reason on record: only deactivate() does it.
            raise InvalidInput(
                "to take an entry off the list, remove it with a reason "
                '(DELETE with {"reason": ...})',
                field="active",
            )
        self._check_version(entry, expected_version)
        if not entry.active and data.active is not True:
            # A removed entry stays as it was when it left the list (its alerts show when
            # that was): it is listed again first, which is a change of its own.
            raise InvalidInput(
                "this entry was taken off the list: list it again (active: true, with a "
                "relist_reason) to change it",
                field="active",
            )
        relisting = not entry.active
        if relisting and not data.relist_reason:
            # Putting a plate back on the list sends officers after it again: as taking it
            # off, it needs a reason on record.
            raise InvalidInput(
                "to list an entry taken off the list again, say why (relist_reason)",
                field="relist_reason",
            )
        if not relisting and data.relist_reason is not None:
            raise InvalidInput(
                "relist_reason is only for listing again an entry taken off the list; "
                "this one is on it",
                field="relist_reason",
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
        if relisting:
            summary = (
                f"listed {entry.plate} again on the {entry.category} list: {data.relist_reason}"
            )
            after["relist_reason"] = data.relist_reason
        elif after == before:
            return entry
        else:
            summary = f"changed hotlist entry {entry.plate} ({entry.category})"
        self.audit.append(
            session,
            principal.audit,
            action="update",
            object_type="hotlist_entry",
            object_id=entry.id,
            summary=summary,
            before=before,
            after=after,
        )
        return entry

    def deactivate(
        self,
        session: Session,
        principal: Principal,
        entry_id: int,
        removal: HotlistEntryRemove,
        *,
        expected_version: int,
    ) -> HotlistEntry:
        """Take an entry off the list, for a stated reason kept in the audit record; the
        entry is kept (inactive) so past alerts still explain."""
        principal.require("hotlists.change")
        entry = self.entry(session, principal, entry_id)
        if not entry.active:
            raise Conflict(f"hotlist entry {entry_id} is already off the list")
        self._check_version(entry, expected_version)
        before = _snapshot(entry)
        entry.active = False
        session.flush()
        session.refresh(entry)
        if self.on_removal is not None:
            self.on_removal(session, entry.id, entry.updated_at)
        self.audit.append(
            session,
            principal.audit,
            action="update",
            object_type="hotlist_entry",
            object_id=entry.id,
            summary=f"took {entry.plate} off the {entry.category} list: {removal.reason}",
            before=before,
            after={**_snapshot(entry), "removal_reason": removal.reason},
        )
        return entry

    # -- files ---------------------------------------------------------------------------------

    @staticmethod
    def _listed_unchanged(session: Session, data: HotlistEntryCreate) -> HotlistEntry | None:
        """The active entry a row repeats exactly (as a re-imported export does), if any."""
        listed = session.scalar(
            select(HotlistEntry).where(
                HotlistEntry.plate == data.plate,
                HotlistEntry.category == data.category,
                HotlistEntry.active.is_(True),
            )
        )
        if listed is None:
            return None
        expires = as_utc(listed.expires_at) if listed.expires_at else None
        same = (
            listed.reason == data.reason
            and listed.source_agency == data.source_agency
            and listed.priority == data.priority
            and expires == data.expires_at
            and (
                data.owner is None
                or (listed.owner is not None and listed.owner.username == data.owner)
            )
        )
        return listed if same else None

    def import_csv(
        self, session: Session, principal: Principal, content: bytes
    ) -> HotlistImportReport:
        """Add every valid row; report each invalid one by row and column. A row is
        imported in a savepoint, so one bad row never takes the good ones with it.

        The export's own file is accepted: its read-only columns are ignored, a row with
        ``active`` no is skipped (never put back on the list), and a row repeating an
        entry already on the list is skipped as unchanged."""
        principal.require("hotlists.change")
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"the file is not UTF-8 text: {exc}", field="file") from exc
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [name.strip().lower() for name in reader.fieldnames or []]
        report = HotlistImportReport()
        missing = sorted(REQUIRED_COLUMNS - set(header))
        unknown = [name for name in header if name not in EXPORT_COLUMNS]
        for name in missing:
            report.problems.append(ImportProblem(row=1, field=name, message="column missing"))
        for name in unknown:
            report.problems.append(
                ImportProblem(
                    row=1,
                    field=name,
                    message=f"unknown column (known: {', '.join(EXPORT_COLUMNS)})",
                )
            )
        if report.problems:
            return report
        reader.fieldnames = header
        now = utcnow()
        for number, raw in enumerate(reader, start=2):
            if None in raw:
                report.rows += 1
                report.problems.append(
                    ImportProblem(row=number, field=None, message="more cells than columns")
                )
                continue
            values = {k: unguard_cell((v or "").strip()) for k, v in raw.items()}
            if not any(values.values()):
                continue  # spreadsheets leave rows of empty cells at the end
            report.rows += 1
            self._import_row(session, principal, number, values, report, now)
        self.audit.append(
            session,
            principal.audit,
            action="import",
            object_type="hotlist_entry",
            summary=f"imported hotlist file: {report.created} added, {report.skipped} skipped, "
            f"{report.failed} rows refused of {report.rows}",
        )
        return report

    def _import_row(
        self,
        session: Session,
        principal: Principal,
        number: int,
        values: dict[str, str],
        report: HotlistImportReport,
        now: datetime,
    ) -> None:
        def note(target: list[ImportProblem], field: str | None, message: str) -> None:
            target.append(ImportProblem(row=number, field=field, message=message))

        if values.get("active"):
            try:
                active = parse_active(values["active"])
            except ValueError as exc:
                note(report.problems, "active", str(exc))
                return
            if not active:
                report.skipped += 1
                note(report.warnings, "active", "off the list in the file (active=no): skipped")
                return
        data, errors = entry_from_row(values)
        if data is None:
            report.problems.extend(
                ImportProblem(row=number, field=field, message=message) for field, message in errors
            )
            return
        listed = self._listed_unchanged(session, data)
        if listed is not None:
            report.skipped += 1
            note(report.warnings, None, f"already on the list as entry {listed.id}: unchanged")
            return
        try:
            with session.begin_nested():
                self.create(session, principal, data)
        except Conflict as exc:
            note(
                report.problems,
                exc.field,
                f"{exc.message}, with other values: edit that entry rather than import it",
            )
            return
        except InvalidInput as exc:
            note(report.problems, exc.field, exc.message)
            return
        report.created += 1
        if data.expires_at is not None and data.expires_at <= now:
            note(
                report.warnings,
                "expires_at",
                "the expiry is already past: the entry was added but matches no read",
            )

    def export_csv(self, session: Session, principal: Principal) -> str:
        """Every entry in the import's format; text cells are guarded against formulas."""
        stmt = restrict(HotlistEntry, principal, "hotlists.view").order_by(HotlistEntry.id)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        count = 0
        for entry in session.scalars(stmt):
            count += 1
            # Times carry their offset (UTC): the import reads a time without one as PKT.
            cells = (
                entry.id,
                entry.plate,
                entry.category,
                entry.reason,
                entry.source_agency,
                entry.priority,
                as_utc(entry.expires_at).isoformat() if entry.expires_at else "",
                entry.owner.username if entry.owner else "",
                "yes" if entry.active else "no",
                entry.created_by,
                as_utc(entry.created_at).isoformat(),
            )
            writer.writerow([guard_cell(cell) for cell in cells])
        self.audit.append(
            session,
            principal.audit,
            action="export",
            object_type="hotlist_entry",
            summary=f"exported {count} hotlist entries",
        )
        return out.getvalue()
