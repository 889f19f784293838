"""Alert API shapes: what an operator reads, and the body of each action."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Why an operator dismissed an alert: a fixed list, so KPIs can count false alarms.
DISMISS_REASONS: dict[str, str] = {
    "false_alarm": "False alarm (nothing happened)",
    "duplicate": "Duplicate of another alert",
    "misread_plate": "Plate misread",
    "known_activity": "Known, authorised activity",
    "test": "Test or drill",
    "resolved_on_site": "Already resolved on site",
    "equipment_fault": "Equipment fault, passed to engineering",
}
DismissReason = Literal[
    "false_alarm",
    "duplicate",
    "misread_plate",
    "known_activity",
    "test",
    "resolved_on_site",
    "equipment_fault",
]
AlertStatus = Literal["new", "acknowledged", "escalated", "dismissed", "incident"]
MatchVerdict = Literal["confirmed", "rejected"]
EntryState = Literal["live", "removed", "expired"]


class HotlistMatch(BaseModel):
    """What an operator compares before field action on a hotlist hit."""

    entry_id: int | None = Field(description="The hotlist entry the read matched")
    listed_plate: str | None = Field(description="The plate as the hotlist lists it")
    read_plate: str | None = Field(description="The plate as the camera read it")
    match: Literal["exact", "confusable"] | None = Field(
        description="'confusable': equal only once look-alike characters (B/8, O/0...) fold"
    )
    category: str = Field(description="stolen, wanted, expired_registration...")
    reason: str = Field(description="Why the plate is listed")
    source_agency: str = Field(description="Who listed it")
    verdict: MatchVerdict | None = Field(
        description="The operator's verdict on the plate crop; none yet means unchecked"
    )
    checked_by: str | None
    checked_at: datetime | None
    entry_state: EntryState | None = Field(
        description="The entry as it stands now: 'live' (still listed), 'removed' (taken "
        "off the list), 'expired'; none when the alert names no entry found (a drill). "
        "No incident is opened from a hit whose entry is removed or expired"
    )
    entry_ended_at: datetime | None = Field(
        description="When a removed or expired entry left the list (for a removed one, "
        "its last change)"
    )


class AlertPublic(BaseModel):
    """One alert as the queue and the API show it."""

    id: int
    status: AlertStatus
    priority: int = Field(description="1 is the most urgent, 5 the least")
    source: str
    kind: str
    title: str
    detail: str
    district_id: int
    district: str = Field(description="District slug")
    camera_id: int | None = Field(description="Camera id, when the camera is registered")
    camera_code: str | None
    camera_name: str | None
    site_id: int | None
    site_code: str | None
    latitude: float | None
    longitude: float | None
    correlation_key: str
    count: int = Field(description="Occurrences correlated into this alert")
    first_seen: datetime
    last_seen: datetime
    has_snapshot: bool
    has_plate_crop: bool
    plate_text: str | None
    reference: dict[str, str]
    dismiss_reason: str | None
    note: str
    handled_by: str | None
    handled_at: datetime | None
    incident_id: int | None
    hotlist: HotlistMatch | None = Field(
        description="For hotlist hits: the read, the listed entry and the operator's verdict; "
        "an incident can be opened only once the match is confirmed"
    )
    version: int = Field(description="Send it back as If-Match (or 'version') when acting")


class AlertAction(BaseModel):
    """Body of acknowledge and escalate; all optional."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        None, ge=1, description="The version the operator saw; 412 if the alert changed since"
    )
    note: str = Field("", max_length=500, description="What the operator wants others to know")


class AlertDismiss(AlertAction):
    """Body of dismiss: the reason is required and comes from a fixed list."""

    reason: DismissReason = Field(description="Why: " + ", ".join(DISMISS_REASONS))


class DismissReasonPublic(BaseModel):
    code: str = Field(description="What to send as 'reason'")
    label: str
