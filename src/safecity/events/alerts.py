"""What an operator is told: an ``AlertRaised`` for a hotlist hit or an alerting rule event.

Pure construction from stored rows; the service enqueues them in the outbox in the
same transaction as the read or event, so the alert leaves only if they are stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from safecity.contracts.alerts import AlertRaised
from safecity.events.models import PlateReadRecord, RuleEventRecord
from safecity.registry.models import Camera

CATEGORY_TITLES = {
    "stolen": "Stolen vehicle",
    "wanted": "Wanted vehicle",
    "expired_registration": "Expired registration",
}


def _place(camera: Camera) -> dict[str, object]:
    place: dict[str, object] = {"camera_id": camera.code, "district": camera.district.slug}
    if camera.latitude is not None and camera.longitude is not None:
        place.update(latitude=camera.latitude, longitude=camera.longitude)
    return place


def hotlist_alert(
    read: PlateReadRecord,
    *,
    entry_id: int,
    entry_plate: str,
    category: str,
    reason: str,
    source_agency: str,
    priority: int,
) -> AlertRaised:
    exact = entry_plate == read.text
    match = "exact" if exact else "confusable"
    title = f"{CATEGORY_TITLES.get(category, category)} {read.text} at {read.camera.code}"
    if not exact:
        title += f" (listed as {entry_plate})"
    detail = (
        f"Hotlist entry {entry_id} ({category}) from {source_agency}: {reason}. "
        f"Read {read.text} at {read.confidence:.0%} confidence, {match} match. "
        "Compare the plate crop with the entry before any field action."
    )
    return AlertRaised.model_validate(
        {
            "source": "hotlist",
            "kind": f"hotlist.{category}",
            "priority": priority,
            "title": title[:160],
            "detail": detail[:2000],
            "at": read.at,
            **_place(read.camera),
            # One alert per listing: a plate on two lists (stolen and wanted) is two
            # things to act on, each with its own reason, agency and priority, and its
            # count then counts the sightings of that plate, not sightings times lists.
            "correlation_key": f"plate:{read.text}:entry:{entry_id}",
            "plate_crop": read.plate_crop,
            "snapshot": read.vehicle_image,
            "plate_text": read.text,
            "reference": {
                "plate_read": str(read.id),
                "hotlist_entry": str(entry_id),
                "match": match,
                # What the operator compares with the plate crop before field action.
                "listed_plate": entry_plate,
                "reason": reason,
                "source_agency": source_agency,
            },
        }
    )


CORRELATION_KEY_LENGTH = 120
"""Longest correlation key an ``AlertRaised`` carries."""


def rule_correlation_key(camera: str, kind: str, rule: str) -> str:
    """One key per camera and rule: two zone rules of a camera (an intrusion rule on the
    gate, another on the perimeter fence) are two things to act on, each counting its own
    occurrences. A key too long for the field ends in a digest of the rule's name
    instead, so two long names sharing a beginning stay apart."""
    key = f"camera:{camera}:{kind}:{rule}"
    if len(key) <= CORRELATION_KEY_LENGTH:
        return key
    digest = hashlib.sha256(rule.encode()).hexdigest()[:12]
    return f"{key[: CORRELATION_KEY_LENGTH - len(digest) - 1]}~{digest}"


def rule_alert(event: RuleEventRecord, priorities: Mapping[str, int]) -> AlertRaised | None:
    """The alert a rule event raises, or None for kinds that only count."""
    priority = priorities.get(event.kind)
    if priority is None:
        return None
    what = event.kind.replace("_", " ")
    subject = f" ({event.object_class})" if event.object_class else ""
    detail = f"Rule '{event.rule}' on {event.camera.code}: {what}{subject}"
    if event.value is not None:
        detail += f", value {event.value:g}"
    return AlertRaised.model_validate(
        {
            "source": "analytics",
            "kind": f"analytics.{event.kind}",
            "priority": priority,
            "title": f"{what.capitalize()} at {event.camera.code}: {event.rule}"[:160],
            "detail": detail[:2000],
            "at": event.at,
            **_place(event.camera),
            "correlation_key": rule_correlation_key(event.camera.code, event.kind, event.rule),
            "snapshot": event.snapshot,
            "reference": {"rule_event": str(event.id)},
        }
    )
