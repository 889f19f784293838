"""The alert queue: store what the bus raises, show it to the operators of its district,
and keep its lifecycle (acknowledge, escalate, dismiss, incident), every action audited.

The intake from the bus (:class:`~safecity.command.alerts_intake.AlertIntake`) and the
plate match check of hotlist hits (:mod:`safecity.command.alerts_match`) live beside it.

Interface for the incidents module (``POST /api/v1/alerts/{id}/incident`` lives in the
incidents router): after creating the incident in the same transaction, call

    platform.alerts.link_incident(session, principal, alert_id, incident_id)

It checks ``alerts.handle`` and scope (404 outside it), refuses a dismissed alert or one
already linked to another incident (409), marks the alert ``incident``, audits, and
returns the :class:`AlertPublic` to broadcast through the console hub after commit.
Calling it again with the same incident is harmless. A hotlist hit whose plate match no
operator has confirmed (:meth:`AlertsService.confirm_match`) is refused with 409
(``alert_match_unconfirmed``), and so is one whose hotlist entry has since left the list
(``alert_entry_not_live``); call
:func:`~safecity.command.alerts_match.refuse_unconfirmed_match` and
:func:`~safecity.command.alerts_match.refuse_ended_entry` before creating anything to
refuse it early.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.audit.log import AuditLog
from safecity.command.alerts_errors import AlertClosed, AlertTransitionRefused
from safecity.command.alerts_intake import AlertIntake, to_public
from safecity.command.alerts_match import (
    MISREAD_PLATE,
    load_entries,
    refuse_checked,
    refuse_ended_entry,
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
)
from safecity.command.alerts_schemas import DISMISS_REASONS, AlertPublic
from safecity.command.correlation import CorrelationWindow
from safecity.core.clock import format_pkt, utcnow
from safecity.core.errors import InvalidInput, NotFound, PreconditionFailed
from safecity.identity.permissions import Principal, get_in_scope, restrict
from safecity.registry.models import District
from safecity.registry.privacy import mask_note, picture_for

ImageKind = Literal["snapshot", "plate"]


class AlertsService(AlertIntake):
    """The alert queue: the intake from the bus, then what operators see and do."""

    def __init__(self, audit: AuditLog, media_root: Path, correlation: CorrelationWindow) -> None:
        super().__init__(correlation)
        self.audit = audit
        self.media_root = media_root

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
        shown = list(rows)
        entries = load_entries(shown)  # held while shown: each alert finds its entry
        items = [to_public(a) for a in shown]
        del entries
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

    def open_hits_of(self, session: Session, entry_id: int) -> list[AlertPublic]:
        """The open hotlist alerts that name hotlist entry ``entry_id``, as consoles show
        them: sent again once the entry leaves the list, so an operator's card says so
        without a reload. No principal and no audit record: nobody views them here, and
        the console hub sends each only to its own district's consoles. Found through the
        entry id column and its index (migration 0014 filled it in for older alerts)."""
        hits = list(
            session.scalars(
                select(Alert)
                .where(
                    Alert.hotlist_entry_id == entry_id,
                    Alert.source == HOTLIST_SOURCE,
                    Alert.status.in_(OPEN_STATUSES),
                )
                .order_by(Alert.id)
            ).unique()
        )
        entries = load_entries(hits)  # held while shown: each alert finds its entry
        items = [to_public(alert) for alert in hits]
        del entries
        return items

    @staticmethod
    def mark_entry_removed(session: Session, entry_id: int, at: datetime) -> int:
        """Mark every hit on hotlist entry ``entry_id`` not yet marked as ended by its
        removal at ``at`` (in the removal's transaction); how many were marked. Called by
        the hotlist service; no audit record of its own, as the removal has one. Each
        marked alert gets a new version, so an operator acting on the card as it was
        before is told to reload it."""
        hits = session.scalars(
            select(Alert).where(
                Alert.hotlist_entry_id == entry_id,
                Alert.source == HOTLIST_SOURCE,
                Alert.entry_removed_at.is_(None),
            )
        ).unique()
        marked = 0
        for alert in hits:
            alert.entry_removed_at = at
            marked += 1
        session.flush()
        return marked

    def hits_of_read(
        self,
        session: Session,
        principal: Principal,
        *,
        read_id: int,
        entry_ids: Sequence[int],
        district_id: int,
        at: datetime,
    ) -> list[AlertPublic]:
        """The hotlist alerts a plate read raised (read ``read_id`` at ``at``, matching
        ``entry_ids``, in district ``district_id``): the alert of each entry that counts
        the read among its sightings. Scope and ``alerts.view`` apply (none without it);
        audited as a view when any is shown."""
        if not entry_ids or not principal.has_permission("alerts.view"):
            return []
        stmt = restrict(Alert, principal, "alerts.view").where(
            Alert.source == HOTLIST_SOURCE,
            Alert.hotlist_entry_id.in_(list(entry_ids)),
            Alert.district_id == district_id,
            Alert.first_seen <= at,
            Alert.last_seen >= at,
        )
        rows = list(session.scalars(stmt.order_by(Alert.first_seen, Alert.id)).unique())
        entries = load_entries(rows)  # held while shown: each alert finds its entry
        items = [to_public(alert) for alert in rows]
        del entries
        if rows:
            self.audit.append(
                session,
                principal.audit,
                action="view",
                object_type="alert",
                district=rows[0].district.slug,
                summary=f"viewed alerts {', '.join(str(a.id) for a in rows)} raised by plate "
                f"read {read_id}",
            )
        return items

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
    ) -> bytes:
        """The snapshot or plate crop of an alert in scope as the viewer may see it, audited."""
        alert = get_in_scope(session, Alert, principal, "alerts.view", alert_id)
        return self.picture(session, principal, alert, which)

    def picture(
        self, session: Session, principal: Principal, alert: Alert, which: ImageKind
    ) -> bytes:
        """The JPEG of ``alert`` the caller has already let ``principal`` see, audited.

        A scene gets its camera's current privacy masks burned in (unless the viewer holds
        ``cameras.unmask``); the stored file is unchanged. A hotlist hit's pictures are
        crops of the read's subject, the plate and the vehicle box around it, served as
        stored: the operator must compare the plate with the listing before anyone acts,
        so a mask must not blank it silently, and a crop's place in the frame is not
        recorded, so the frame's masks could not be laid on it anyway.
        """
        relative = alert.snapshot if which == "snapshot" else alert.plate_crop
        path = (self.media_root / relative).resolve() if relative else None
        if path is None or not path.is_relative_to(self.media_root.resolve()) or not path.is_file():
            raise NotFound(f"alert {alert.id} has no {which} image")
        data = path.read_bytes()
        note = ""
        if which == "snapshot" and alert.source != "hotlist":
            what = f"the snapshot of alert {alert.id}"
            data = picture_for(data, alert.camera, principal, what=what)
            note = mask_note(alert.camera, principal)
        self.audit.append(
            session,
            principal.audit,
            action="view",
            object_type="alert_image",
            object_id=alert.id,
            district=alert.district.slug,
            summary=f"viewed the {which} of alert {alert.id} ({alert.kind})" + note,
        )
        return data

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
            verb = f"dismissed ({reason})"
            return self._give_verdict(session, principal, alert, MATCH_REJECTED, note, verb)
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
        self,
        session: Session,
        principal: Principal,
        alert: Alert,
        verdict: str,
        note: str,
        verb: str | None = None,
    ) -> AlertPublic:
        """Record the verdict and move the alert as it says (confirmed: acknowledged if
        new; rejected: dismissed as misread_plate), audited once with the verdict's before
        and after; ``verb`` names the action in the audit summary when it is not the
        verdict's own (a dismissal)."""
        refuse_checked(alert)
        before, after = set_verdict(alert, principal, verdict)
        if verdict == MATCH_CONFIRMED:
            status = ACKNOWLEDGED if alert.status == NEW else alert.status
            verb = verb or "confirmed the plate match of"
        else:
            alert.dismiss_reason = MISREAD_PLATE
            status = DISMISSED
            verb = verb or f"rejected the plate match ({MISREAD_PLATE}) of"
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
        refuse_ended_entry(alert)
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
