"""Auditors filter the trail in Pakistan time and export exactly what they filtered."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from fastapi.testclient import TestClient

from safecity.core.clock import PKT, utcnow
from safecity.web.platform import Platform
from tests.factories import World, make_user, token_for


def _auth(platform: Platform) -> dict[str, str]:
    make_user(platform, "aud", ["auditor"], all_districts=True)
    return {"Authorization": f"Bearer {token_for(platform, 'aud')}", "X-Purpose": "oversight"}


def test_times_without_a_zone_are_pakistan_time(
    client: TestClient, platform: Platform, world: World
) -> None:
    headers = _auth(platform)
    now_pkt = utcnow().astimezone(PKT).replace(tzinfo=None)
    # Read as UTC, "PKT now minus 10 minutes" would lie five hours in the future.
    recent = client.get(
        "/api/v1/audit",
        params={"since": (now_pkt - timedelta(minutes=10)).isoformat(), "action": "create"},
        headers=headers,
    )
    assert recent.status_code == 200
    assert recent.json()["total"] >= 6  # three sites and three cameras of the world
    later = client.get(
        "/api/v1/audit",
        params={"since": (now_pkt + timedelta(minutes=10)).isoformat()},
        headers=headers,
    )
    assert later.json()["total"] == 0
    explicit_utc = client.get(
        "/api/v1/audit",
        params={"since": (utcnow() - timedelta(minutes=10)).isoformat(), "action": "create"},
        headers=headers,
    )
    assert explicit_utc.json()["total"] == recent.json()["total"]


def test_export_holds_the_filtered_records_and_is_itself_audited(
    client: TestClient, platform: Platform, world: World
) -> None:
    headers = _auth(platform)
    response = client.get(
        "/api/v1/audit/export.csv", params={"object_type": "camera"}, headers=headers
    )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["object_type"] for row in rows} == {"camera"}
    assert {row["summary"] for row in rows} >= {f"created camera {c}" for c in world.cameras}
    exports = client.get("/api/v1/audit", params={"action": "export"}, headers=headers).json()
    assert exports["items"][0]["actor_name"] == "aud"
    assert exports["items"][0]["purpose"] == "oversight"


def test_export_writes_a_formula_purpose_as_text(
    client: TestClient, platform: Platform, world: World
) -> None:
    formula = '=HYPERLINK("http://x","y")'
    headers = _auth(platform)
    searched = client.get("/api/v1/audit", headers={**headers, "X-Purpose": formula})
    assert searched.status_code == 200
    response = client.get("/api/v1/audit/export.csv", params={"action": "search"}, headers=headers)
    assert response.status_code == 200
    purposes = {row["purpose"] for row in csv.DictReader(io.StringIO(response.text))}
    assert "'" + formula in purposes
    assert formula not in purposes, "a spreadsheet would run it"
