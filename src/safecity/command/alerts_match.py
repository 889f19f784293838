"""The plate match check of hotlist alerts: a hotlist hit is a machine's reading of a
plate, so an operator compares the plate crop with the listed plate and gives a verdict
(confirmed, or rejected as a false read) before any field action.

What the check needs of an alert, apart from the lifecycle that
:class:`~safecity.command.alerts_service.AlertsService` keeps: how the hit is shown
(:func:`hotlist_match`), the refusals (:func:`refuse_unconfirmed_match` before field
action, :func:`refuse_checked` before a second verdict) and the verdict itself
(:func:`set_verdict`, with the before/after the audit record carries).

A hit names the hotlist entry it matched (``reference["hotlist_entry"]``); the entry may
leave the list after the read (the car was recovered: taken off; or it expired). The
alert then says so (``entry_state``, read from the entry as it stands whenever the alert
is shown) and no field action starts from it (:func:`refuse_ended_entry`): nobody should
be sent after a car that is no longer sought. If it is sought again, it is listed again
and its next read raises a new alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import object_session

from safecity.command.alerts_errors import (
    AlertEntryNotLive,
    AlertMatchUnconfirmed,
    AlertTransitionRefused,
)
from safecity.command.alerts_models import HOTLIST_SOURCE, MATCH_REJECTED, Alert
from safecity.command.alerts_schemas import EntryState, HotlistMatch
from safecity.core.clock import format_pkt, utcnow
from safecity.events.models import HotlistEntry
from safecity.identity.permissions import Principal

# The dismiss reason a rejected plate match closes its alert with.
MISREAD_PLATE = "misread_plate"

MatchState = dict[str, str | None]


@dataclass(frozen=True)
class EntryStanding:
    """Where the entry a hit matched stands now; ``ended_at`` for one off the list."""

    state: EntryState
    ended_at: datetime | None = None


def entry_id_of(alert: Alert) -> int | None:
    """The hotlist entry a hit names, if any."""
    return entry_id_in(alert.source, alert.reference)


def entry_id_in(source: str, reference: Mapping[str, object] | None) -> int | None:
    """The hotlist entry an alert of ``source`` with ``reference`` names, if any."""
    if source != HOTLIST_SOURCE:
        return None
    entry = str((reference or {}).get("hotlist_entry", ""))
    return int(entry) if entry.isdigit() else None


def entry_standing(alert: Alert, now: datetime | None = None) -> EntryStanding | None:
    """Where the entry ``alert`` matched stands now; None for an alert that is no hotlist
    hit, names no entry or one not found (a drill's hits match no real entry). Read in
    the alert's own session (a listing loads its entries first, see
    :func:`load_entries`)."""
    entry_id = entry_id_of(alert)
    if entry_id is not None and alert.entry_removed_at is not None:
        # Marked when the entry came off the list: it stays so even if listed again since.
        return EntryStanding("removed", alert.entry_removed_at)
    session = object_session(alert)
    if entry_id is None or session is None:
        return None
    entry = session.get(HotlistEntry, entry_id)
    if entry is None:
        return None
    now = now or utcnow()
    if not entry.active:
        # Entries are never deleted, only made inactive: the last change of an
        # inactive entry is when it came off the list (unless edited after that).
        return EntryStanding("removed", entry.updated_at)
    if entry.expires_at is not None and entry.expires_at <= now:
        return EntryStanding("expired", entry.expires_at)
    return EntryStanding("live")


def load_entries(alerts: list[Alert]) -> list[HotlistEntry]:
    """Load the entries ``alerts`` name in one query, so that showing each alert finds
    its entry in the session; keep the returned list while showing them (the session
    holds loaded objects only as long as something else does)."""
    ids = {i for i in map(entry_id_of, alerts) if i is not None}
    session = object_session(alerts[0]) if alerts else None
    if not ids or session is None:
        return []
    return list(session.scalars(select(HotlistEntry).where(HotlistEntry.id.in_(ids))))


def hotlist_match(alert: Alert) -> HotlistMatch | None:
    """The hit as the operator checks it: read and listed plate, why listed, verdict,
    and whether its entry is still listed."""
    if alert.source != HOTLIST_SOURCE:
        return None
    reference = alert.reference or {}
    match = reference.get("match")
    entry = str(reference.get("hotlist_entry", ""))
    standing = entry_standing(alert)
    # Alerts raised before the listed plate travelled in the reference: an exact match
    # lists what was read; a confusable one says only which entry it matched.
    listed = reference.get("listed_plate") or (alert.plate_text if match == "exact" else None)
    return HotlistMatch(
        entry_id=int(entry) if entry.isdigit() else None,
        listed_plate=str(listed) if listed else None,
        read_plate=alert.plate_text,
        match=match if match in ("exact", "confusable") else None,
        category=alert.kind.removeprefix(f"{HOTLIST_SOURCE}."),
        reason=str(reference.get("reason", "")),
        source_agency=str(reference.get("source_agency", "")),
        verdict=alert.match_verdict,
        checked_by=alert.match_checked_by,
        checked_at=alert.match_checked_at,
        entry_state=standing.state if standing else None,
        entry_ended_at=standing.ended_at if standing else None,
    )


def refuse_unconfirmed_match(alert: Alert) -> None:
    """Raise :class:`AlertMatchUnconfirmed` (409) for a hotlist hit not yet confirmed:
    no field action starts from a machine's reading of a plate alone."""
    if alert.needs_match_check:
        state = (
            f"was rejected by {alert.match_checked_by}"
            if alert.match_verdict == MATCH_REJECTED
            else "has not been confirmed"
        )
        raise AlertMatchUnconfirmed(
            f"alert {alert.id} is a hotlist hit whose plate match {state}: compare the plate "
            "crop with the listed plate and confirm the match before any field action"
        )


def refuse_ended_entry(alert: Alert) -> None:
    """Raise :class:`AlertEntryNotLive` (409) for a hotlist hit whose entry has left the
    list since the read (removed or expired): the car is no longer sought, so no field
    action starts from the hit. A hit naming no entry found (a drill) is not refused."""
    standing = entry_standing(alert)
    if standing is None or standing.state == "live":
        return
    entry_id = entry_id_of(alert)
    what = "was taken off the list" if standing.state == "removed" else "expired"
    when = f" at {format_pkt(standing.ended_at)}" if standing.ended_at else ""
    raise AlertEntryNotLive(
        f"alert {alert.id} is a hit on hotlist entry {entry_id}, which {what}{when}: the "
        "vehicle is no longer sought, so no field action starts from this alert; dismiss "
        "it, or list the plate again if it is still wanted"
    )


def refuse_checked(alert: Alert) -> None:
    """Raise :class:`AlertTransitionRefused` (409) unless ``alert`` is a hotlist hit
    still waiting for its verdict: a verdict is given once, and the second operator is
    told who gave it."""
    if alert.source != HOTLIST_SOURCE:
        raise AlertTransitionRefused(
            f"alert {alert.id} is not a hotlist hit; it has no plate match to check"
        )
    if alert.match_verdict is not None:
        raise AlertTransitionRefused(
            f"the plate match of alert {alert.id} was already {alert.match_verdict} by "
            f"{alert.match_checked_by}"
            + (f" at {format_pkt(alert.match_checked_at)}" if alert.match_checked_at else "")
        )


def set_verdict(alert: Alert, principal: Principal, verdict: str) -> tuple[MatchState, MatchState]:
    """Record ``principal``'s verdict on the match, now; the match state before and after
    (for the audit record)."""
    before = match_state(alert)
    alert.match_verdict = verdict
    alert.match_checked_by = principal.username
    alert.match_checked_at = utcnow()
    return before, match_state(alert)


def match_state(alert: Alert) -> MatchState:
    return {
        "match_verdict": alert.match_verdict,
        "match_checked_by": alert.match_checked_by,
        "match_checked_at": alert.match_checked_at.isoformat() if alert.match_checked_at else None,
    }
