"""Plate reads and rule events as a worker would publish them, stored through the service."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from safecity.contracts.analytics import PlateRead, RuleEvent, RuleKind
from safecity.core.clock import utcnow
from safecity.events.hotlists import HotlistService
from safecity.events.models import HotlistEntry
from safecity.events.schemas import HotlistEntryCreate
from safecity.identity.system import system_principal
from safecity.web.platform import Platform

# A tiny valid JPEG is not needed: images are served as stored bytes.
JPEG = b"\xff\xd8\xff\xe0 plate crop \xff\xd9"


def plate_read(
    camera: str,
    text: str,
    *,
    minutes_ago: float = 1,
    crop: str | None = None,
    vehicle: str | None = None,
    confidence: float = 0.93,
) -> PlateRead:
    at = utcnow() - timedelta(minutes=minutes_ago)
    return PlateRead(
        camera_id=camera,
        at=at,
        first_seen=at - timedelta(seconds=2),
        last_seen=at + timedelta(seconds=1),
        track_id=7,
        text=text,
        confidence=confidence,
        frames=5,
        vehicle_class="car",
        plate_crop=crop,
        vehicle_image=vehicle,
    )


def with_images(platform: Platform, message: PlateRead) -> PlateRead:
    """The same read with its crop and vehicle image written into the media folder."""
    crop = f"{message.camera_id}/plates/{message.message_id}-crop.jpg"
    vehicle = f"{message.camera_id}/plates/{message.message_id}-vehicle.jpg"
    for relative in (crop, vehicle):
        path: Path = platform.settings.media_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(JPEG)
    return message.model_copy(update={"plate_crop": crop, "vehicle_image": vehicle})


def store_read(platform: Platform, message: PlateRead) -> int:
    with platform.transaction() as session:
        read = platform.events.store_plate_read(session, message)
        assert read is not None
        return read.id


def rule_event(
    camera: str,
    kind: RuleKind,
    *,
    minutes_ago: float = 1,
    snapshot: str | None = None,
    rule: str = "gate",
) -> RuleEvent:
    at = utcnow() - timedelta(minutes=minutes_ago)
    return RuleEvent(
        camera_id=camera,
        kind=kind,
        rule=rule,
        at=at,
        track_id=3,
        object_class="person",
        frame_width=640,
        frame_height=360,
        snapshot=snapshot,
        clip_start=at - timedelta(seconds=5),
        clip_end=at + timedelta(seconds=5),
    )


def snapshot_file(platform: Platform, camera: str, name: str) -> str:
    """A snapshot written into the media folder, as a worker leaves it; its relative path."""
    relative = f"{camera}/events/{name}.jpg"
    path = platform.settings.media_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(JPEG)
    return relative


def store_event(platform: Platform, message: RuleEvent) -> int:
    with platform.transaction() as session:
        event = platform.events.store_rule_event(session, message)
        assert event is not None
        return event.id


def list_plate(
    platform: Platform,
    plate: str,
    category: str = "stolen",
    *,
    priority: int = 1,
    expires_in: timedelta | None = None,
) -> int:
    data = HotlistEntryCreate.model_validate(
        {
            "plate": plate,
            "category": category,
            "reason": "taken at gunpoint, Saddar",
            "source_agency": "CTD Peshawar",
            "priority": priority,
            "expires_at": (utcnow() + expires_in).isoformat() if expires_in else None,
        }
    )
    with platform.transaction() as session:
        entry: HotlistEntry = HotlistService.create(
            platform.hotlists, session, system_principal("tests"), data
        )
        return entry.id
