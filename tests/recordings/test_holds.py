"""Legal holds: placed for a case, keep footage from retention, released once, audited."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from safecity.audit.context import SYSTEM
from safecity.audit.models import AuditRecord
from safecity.core.clock import utcnow
from safecity.recordings.models import RecordingSegment
from safecity.recordings.retention import RetentionPolicy
from safecity.web.platform import Platform
from tests.factories import World, make_user, record_segment, token_for


def _bearer(platform: Platform, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(platform, username)}", "X-Purpose": "case"}


def test_hold_keeps_footage_until_released(
    client: TestClient, platform: Platform, world: World
) -> None:
    segment = record_segment(platform, "PSH-TC1", minutes_ago=60 * 24 * 40)  # 40 days old
    make_user(platform, "inv-hold", ["investigator"], districts=["peshawar"])
    make_user(platform, "sup-hold", ["supervisor"], districts=["peshawar"])
    make_user(platform, "op-hold", ["operator"], districts=["peshawar"])
    now = utcnow()
    body = {
        "starts_at": (now - timedelta(days=41)).isoformat(),
        "ends_at": (now - timedelta(days=39)).isoformat(),
        "case_reference": "FIR 212/2026 Gulbahar",
        "reason": "robbery at the market gate",
    }
    url = f"/api/v1/cameras/{world.cameras['PSH-TC1']}/holds"
    assert client.post(url, json=body, headers=_bearer(platform, "op-hold")).status_code == 403
    placed = client.post(url, json=body, headers=_bearer(platform, "inv-hold"))
    assert placed.status_code == 201, placed.text
    hold = placed.json()
    assert hold["created_by"] == "inv-hold"
    out_of_scope = f"/api/v1/cameras/{world.cameras['BNU-TC1']}/holds"
    assert (
        client.post(out_of_scope, json=body, headers=_bearer(platform, "inv-hold")).status_code
        == 404
    )
    backwards = {**body, "ends_at": body["starts_at"]}
    assert (
        client.post(url, json=backwards, headers=_bearer(platform, "inv-hold")).status_code == 422
    )

    with platform.transaction() as session:
        result, _ = platform.recordings.sweep(session, RetentionPolicy(), SYSTEM)
    assert segment not in result.delete, "30-day retention must not touch held footage"

    released = client.post(
        f"/api/v1/holds/{hold['id']}/release", headers=_bearer(platform, "sup-hold")
    )
    assert released.status_code == 200
    assert released.json()["released_by"] == "sup-hold"
    again = client.post(
        f"/api/v1/holds/{hold['id']}/release", headers=_bearer(platform, "sup-hold")
    )
    assert again.status_code == 409
    with platform.transaction() as session:
        result, _ = platform.recordings.sweep(session, RetentionPolicy(), SYSTEM)
    assert segment in result.delete
    with platform.sessions() as session:
        deleted = session.get(RecordingSegment, segment)
        actions = session.scalars(
            select(AuditRecord.action).where(AuditRecord.object_type == "legal_hold")
        ).all()
    assert deleted is not None
    assert deleted.deleted_at is not None
    assert list(actions) == ["create", "update"]
