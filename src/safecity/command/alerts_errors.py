"""Errors of the alert lifecycle, mapped to the one API error shape by the web layer."""

from __future__ import annotations

from safecity.core.errors import Conflict


class AlertClosed(Conflict):
    """The alert was already dismissed or turned into an incident."""

    code = "alert_closed"


class AlertTransitionRefused(Conflict):
    """The action does not apply to the alert's current state (escalating twice...)."""

    code = "alert_transition_refused"


class AlertMatchUnconfirmed(Conflict):
    """Field action asked for on a hotlist hit whose plate match nobody has confirmed."""

    code = "alert_match_unconfirmed"


class AlertEntryNotLive(Conflict):
    """Field action asked for on a hotlist hit whose entry is no longer on the list
    (taken off it, or expired) since the plate was read."""

    code = "alert_entry_not_live"
