"""Which open alert a new occurrence joins.

Sources raise the same thing again and again: a stolen car passes three cameras in
a minute, an intrusion rule fires on every frame of a loitering figure, a camera
flaps offline. Occurrences with the same ``correlation_key`` in the same district,
no further apart than the window from the alert's last sighting, become one alert
with a count; an alert already dismissed or turned into an incident is never
reopened (a new one starts, so the operator sees it again), nor is a hotlist hit whose
entry has since been taken off the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.command.alerts_models import OPEN_STATUSES, Alert


@dataclass(frozen=True)
class CorrelationWindow:
    """How close in time two occurrences must be to count as one alert."""

    window: timedelta

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise ValueError(f"the correlation window must be positive, got {self.window}")


def open_alert_for(
    session: Session, policy: CorrelationWindow, *, key: str, district_id: int, at: datetime
) -> Alert | None:
    """The newest open alert this occurrence belongs to, if any. Occurrences may arrive
    out of order, so an earlier one also joins an alert that started after it."""
    return session.scalars(
        select(Alert)
        .where(
            Alert.correlation_key == key,
            Alert.district_id == district_id,
            Alert.status.in_(OPEN_STATUSES),
            # A hit whose hotlist entry came off the list belongs to that listing: a read
            # after the entry is listed again starts a new alert, to be judged afresh.
            Alert.entry_removed_at.is_(None),
            Alert.last_seen >= at - policy.window,
            Alert.first_seen <= at + policy.window,
        )
        .order_by(Alert.last_seen.desc())
        .limit(1)
    ).first()
