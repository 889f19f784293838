"""The plate match check of hotlist alerts: a hotlist hit is a machine's reading of a
plate, so an operator compares the plate crop with the listed plate and gives a verdict
(confirmed, or rejected as a false read) before any field action.

What the check needs of an alert, apart from the lifecycle that
:class:`~safecity.command.alerts_service.AlertsService` keeps: how the hit is shown
(:func:`hotlist_match`), the refusals (:func:`refuse_unconfirmed_match` before field
action, :func:`refuse_checked` before a second verdict) and the verdict itself
(:func:`set_verdict`, with the before/after the audit record carries).
"""

from __future__ import annotations

from safecity.command.alerts_errors import AlertMatchUnconfirmed, AlertTransitionRefused
from safecity.command.alerts_models import HOTLIST_SOURCE, MATCH_REJECTED, Alert
from safecity.command.alerts_schemas import HotlistMatch
from safecity.core.clock import format_pkt, utcnow
from safecity.identity.permissions import Principal

# The dismiss reason a rejected plate match closes its alert with.
MISREAD_PLATE = "misread_plate"

MatchState = dict[str, str | None]


def hotlist_match(alert: Alert) -> HotlistMatch | None:
    """The hit as the operator checks it: read and listed plate, why listed, verdict."""
    if alert.source != HOTLIST_SOURCE:
        return None
    reference = alert.reference or {}
    match = reference.get("match")
    entry = str(reference.get("hotlist_entry", ""))
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
