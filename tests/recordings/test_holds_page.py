"""The legal-hold page: placed from playback in Pakistan time, listed in scope, released
only with confirmation, every change audited."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from safecity.audit.models import AuditRecord
from safecity.recordings.models import LegalHold
from safecity.web.platform import Platform
from tests.factories import PASSWORD, World, make_user


def _sign_in(client: TestClient, username: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    signed = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    return token.group(1)


def _holds(platform: Platform) -> list[LegalHold]:
    with platform.sessions() as session:
        return list(session.scalars(select(LegalHold).order_by(LegalHold.id)))


def test_place_list_and_release_a_hold_from_the_pages(
    client: TestClient, platform: Platform, world: World
) -> None:
    make_user(platform, "inv-page", ["investigator"], districts=["peshawar"])
    csrf = _sign_in(client, "inv-page")
    camera = world.cameras["PSH-TC1"]
    playback = client.get(f"/cameras/{camera}/playback")
    assert 'id="hold-form"' in playback.text

    form = {
        "starts_at": "2026-11-20T10:00",
        "ends_at": "2026-11-20T12:30",
        "case_reference": "FIR 77/2026 Saddar",
        "reason": "snatching near the bus stand",
        "csrf_token": csrf,
    }
    backwards = client.post(
        f"/cameras/{camera}/holds", data={**form, "ends_at": "2026-11-20T09:00"}
    )
    assert 'id="hold-error"' in backwards.text
    assert "after it starts" in backwards.text
    assert _holds(platform) == [], "a refused hold creates nothing"

    listed = client.post(f"/cameras/{camera}/holds", data=form)
    assert listed.status_code == 200
    assert "FIR 77/2026 Saddar" in listed.text
    (hold,) = _holds(platform)
    # 10:00 and 12:30 Pakistan time are 05:00 and 07:30 UTC.
    assert hold.starts_at.replace(tzinfo=UTC) == datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
    assert hold.ends_at.replace(tzinfo=UTC) == datetime(2026, 11, 20, 7, 30, tzinfo=UTC)
    assert hold.created_by == "inv-page"

    unconfirmed = client.post(f"/holds/{hold.id}/release", data={"csrf_token": csrf})
    assert "tick the confirmation" in unconfirmed.text
    assert _holds(platform)[0].released_at is None

    released = client.post(f"/holds/{hold.id}/release", data={"confirm": "yes", "csrf_token": csrf})
    assert released.status_code == 200
    assert "released" in released.text
    assert _holds(platform)[0].released_by == "inv-page"
    assert "FIR 77/2026 Saddar" not in client.get("/holds").text, "active holds only"

    with platform.sessions() as session:
        actions = session.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.object_type == "legal_hold")
            .order_by(AuditRecord.seq)
        ).all()
    assert actions == ["create", "update"]


def test_viewers_see_holds_in_scope_without_a_release_button(
    client: TestClient, platform: Platform, world: World
) -> None:
    make_user(platform, "inv-place", ["investigator"], districts=["peshawar", "bannu"])
    make_user(platform, "op-look", ["operator"], districts=["peshawar"])
    csrf = _sign_in(client, "inv-place")
    for code in ("PSH-TC1", "BNU-TC1"):
        placed = client.post(
            f"/cameras/{world.cameras[code]}/holds",
            data={
                "starts_at": "2026-11-20T10:00",
                "ends_at": "2026-11-20T11:00",
                "case_reference": f"FIR {code}",
                "reason": "evidence",
                "csrf_token": csrf,
            },
        )
        assert f"FIR {code}" in placed.text
    client.cookies.clear()
    csrf = _sign_in(client, "op-look")
    page = client.get("/holds")
    assert "FIR PSH-TC1" in page.text
    assert "BNU" not in page.text, "a hold outside the operator's scope is not listed"
    assert "release-hold" not in page.text
    hold = _holds(platform)[0]
    refused = client.post(f"/holds/{hold.id}/release", data={"confirm": "yes", "csrf_token": csrf})
    assert refused.status_code == 403
