"""Generic API contracts every router opts into by being served: one list shape, one
error shape, optimistic concurrency, no credentials on the way out, audited reads
with their purpose, CSRF for cookie sessions, separation of duties, security
headers, upload limits, sign-in throttling, session expiry and the second factor.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

import httpx2
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from safecity.audit.context import AuditContext
from safecity.audit.models import AuditRecord
from safecity.core.clock import utcnow
from safecity.identity.errors import SecondFactorRequired
from safecity.identity.models import ApiToken, User, UserSession
from safecity.registry.models import Camera, District
from safecity.web.platform import Platform
from tests.api.routes_command import raise_alert
from tests.api.routes_dispatch import fresh_incident, fresh_unit, unit_at_alert_incident
from tests.factories import PASSWORD, World, make_user, principal_of, record_segment, token_for

# Part of every stream URL tests/factories.py registers; it must never come back out.
STREAM_PASSWORD = "s3cret"
PURPOSE = "FIR 118/2025, Hayatabad robbery"

# GET routes under /api/v1 without path parameters that are not collections, and why.
NOT_COLLECTIONS = {
    "/api/v1/health": "a status document",
    "/api/v1/workers": "one status document of the video workers' refused groups",
    "/api/v1/me": "the caller's own account",
    "/api/v1/map/features": "one map document of districts, sites and cameras",
    "/api/v1/cameras/export": "a file (CSV or YAML)",
    "/api/v1/audit/export.csv": "a file (CSV)",
    "/api/v1/hotlists/export.csv": "a file (CSV)",
    "/api/v1/plates/export.csv": "a file (CSV)",
    "/api/v1/kpis": "one report of response times and alert figures",
    "/api/v1/kpis/export.csv": "a file (CSV)",
}
# Query parameters that keep a collection still while it is paged: every audit read is
# itself audited, so only a filter that excludes those records gives stable pages.
STABLE_QUERY = {"/api/v1/audit": "action=create", "/api/v1/plates": "purpose=paging+test"}


def seed_events(platform: Platform) -> dict[str, int]:
    """Two plate reads (with images), two rule events and two hotlist entries."""
    from tests.events.helpers import (
        list_plate,
        plate_read,
        rule_event,
        snapshot_file,
        store_event,
        store_read,
        with_images,
    )

    ids = {}
    for camera, text in (("PSH-TC1", "LEB3656"), ("BNU-TC1", "PKA123")):
        ids["read_id"] = store_read(platform, with_images(platform, plate_read(camera, text)))
        snapshot = snapshot_file(platform, camera, text)
        ids["event_id"] = store_event(
            platform, rule_event(camera, "line_crossing", snapshot=snapshot)
        )
        ids["entry_id"] = list_plate(platform, text)
    return ids


def bearer(platform: Platform, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(platform, username)}"}


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(
    client: TestClient, username: str, *, password: str = PASSWORD, otp: str = ""
) -> httpx2.Response:
    """The browser's way: fetch the form (and its CSRF cookie), then post it back."""
    form = client.get("/login")
    data = {
        "csrf_token": csrf_from(form.text),
        "username": username,
        "password": password,
        "otp": otp,
        "purpose": "Administration",
        "next": "/map",
    }
    return client.post("/login", data=data)


def error_of(response: httpx2.Response) -> dict[str, Any]:
    """The one error shape, checked in full; returns the inner object."""
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert {"code", "message", "field", "request_id"} <= set(error), error
    assert error["request_id"] == response.headers["x-request-id"], (error, response.headers)
    assert error["message"], error
    return error


def camera_count(platform: Platform) -> int:
    with platform.sessions() as session:
        return session.scalar(select(func.count()).select_from(Camera)) or 0


def audit_for(platform: Platform, request_id: str) -> list[AuditRecord]:
    with platform.sessions() as session:
        return list(
            session.scalars(select(AuditRecord).where(AuditRecord.request_id == request_id))
        )


@pytest.fixture
def chief(platform: Platform, world: World) -> dict[str, str]:
    """Province-wide administrator and auditor: sees everything, so filters are what limits."""
    make_user(platform, "chief", ["admin", "auditor"], all_districts=True)
    return bearer(platform, "chief")


# -- lists -------------------------------------------------------------------------------------


def collection_paths(api: TestClient) -> list[str]:
    paths = []
    for context in iter_route_contexts(cast(FastAPI, api.app).routes):
        route, path = context.original_route, context.path_format or ""
        if (
            isinstance(route, APIRoute)
            and "GET" in (context.methods or ())
            and path.startswith("/api/v1/")
            and "{" not in path
            and path not in NOT_COLLECTIONS
        ):
            paths.append(path)
    return paths


def test_every_list_answers_one_envelope_and_pages(
    api: TestClient, platform: Platform, world: World, chief: dict[str, str]
) -> None:
    make_user(platform, "deputy", ["operator"], all_districts=True)
    for name in ("second", "third"):
        api.post("/api/v1/tokens", json={"name": name}, headers=chief)
    # Two sites on low battery, so that the power alerts list has pages too.
    make_user(platform, "gateway", ["site_gateway"], all_districts=True)
    for site in ("PSH-T1", "BNU-T1"):
        reading = {"at": utcnow().isoformat(), "battery_soc_pct": 5}
        sent = api.post(
            f"/api/v1/sites/{site}/power", json=reading, headers=bearer(platform, "gateway")
        )
        assert sent.json()["opened"] == ["low_battery"], sent.text
    # And two legal holds, for the holds list.
    for camera in ("PSH-TC1", "BNU-TC1"):
        hold = {
            "starts_at": (utcnow() - timedelta(hours=2)).isoformat(),
            "ends_at": utcnow().isoformat(),
            "case_reference": f"FIR {camera}",
            "reason": "paging test",
        }
        placed = api.post(
            f"/api/v1/cameras/{world.cameras[camera]}/holds", json=hold, headers=chief
        )
        assert placed.status_code == 201, placed.text
    seed_events(platform)
    # And two alerts, for the alert queue.
    for camera in ("PSH-TC1", "BNU-TC1"):
        raise_alert(platform, camera)
    # And two incidents and two units, for the dispatch lists.
    for district in ("peshawar", "bannu"):
        fresh_incident(platform, district)
        fresh_unit(platform, f"PAGE-{district}", district)
    paths = collection_paths(api)
    assert "/api/v1/cameras" in paths, paths
    assert "/api/v1/users" in paths, paths
    for path in paths:
        query = STABLE_QUERY.get(path, "")
        whole = api.get(f"{path}?{query}", headers=chief)
        assert whole.status_code == 200, (path, whole.text)
        body = whole.json()
        assert isinstance(body, dict), (path, body)
        assert set(body) == {"items", "total", "limit", "offset"}, (path, body)
        assert body["total"] >= 2, f"{path}: too few items to test paging"
        first = api.get(f"{path}?{query}&limit=1&offset=0", headers=chief).json()
        second = api.get(f"{path}?{query}&limit=1&offset=1", headers=chief).json()
        assert (first["limit"], first["offset"]) == (1, 0), (path, first)
        assert (second["limit"], second["offset"]) == (1, 1), (path, second)
        assert len(first["items"]) == len(second["items"]) == 1, (path, first, second)
        assert first["items"] != second["items"], path
        assert first["total"] == second["total"] == body["total"], path
        assert first["items"][0] == body["items"][0]
        assert second["items"][0] == body["items"][1]
        refused = api.get(f"{path}?limit=0", headers=chief)
        assert refused.status_code == 422, (path, refused.text)
        assert error_of(refused)["field"] == "limit"


def test_cameras_filtered_by_district_are_exactly_that_districts(
    api: TestClient, platform: Platform, world: World, chief: dict[str, str]
) -> None:
    response = api.get("/api/v1/cameras?district=peshawar&limit=1000", headers=chief)
    assert response.status_code == 200
    listed = {item["code"] for item in response.json()["items"]}
    with platform.sessions() as session:
        stored = set(
            session.scalars(
                select(Camera.code)
                .join(District, Camera.district_id == District.id)
                .where(District.slug == "peshawar")
            )
        )
    assert listed == stored
    assert {"PSH-TC1", "PSH-TC2"} <= listed
    assert "BNU-TC1" not in listed
    assert response.json()["total"] == len(stored)


# -- errors ------------------------------------------------------------------------------------


def test_errors_have_one_shape_with_the_request_id(
    api: TestClient, platform: Platform, world: World, chief: dict[str, str]
) -> None:
    make_user(platform, "watcher", ["operator"], districts=["peshawar"])
    watcher = bearer(platform, "watcher")
    camera = world.cameras["PSH-TC1"]
    cases: list[tuple[int, str, httpx2.Response]] = [
        (401, "not_authenticated", api.get("/api/v1/cameras")),
        (401, "not_authenticated", api.get("/api/v1/me", headers={"Authorization": "Basic x"})),
        (
            403,
            "permission_denied",
            api.post(
                "/api/v1/cameras",
                json={"code": "PSH-W1", "site": "PSH-T1", "name": "Not mine to add"},
                headers=watcher,
            ),
        ),
        (404, "not_found", api.get("/api/v1/cameras/999999", headers=chief)),
        (404, "not_found", api.get("/api/v1/no-such-thing", headers=chief)),
        (405, "method_not_allowed", api.put("/api/v1/me", headers=chief)),
        (422, "invalid_input", api.get("/api/v1/cameras?limit=-1", headers=chief)),
        (
            409,
            "conflict",
            api.post(
                "/api/v1/cameras",
                json={"code": "PSH-TC1", "site": "PSH-T1", "name": "Twin"},
                headers=chief,
            ),
        ),
        (
            412,
            "precondition_failed",
            api.patch(
                f"/api/v1/cameras/{camera}",
                json={"name": "Stale"},
                headers={**chief, "If-Match": '"999"'},
            ),
        ),
        (
            413,
            "too_large",
            api.post(
                "/api/v1/cameras/import",
                files={"file": ("c.csv", b"x" * (platform.settings.max_upload_bytes + 1))},
                headers=chief,
            ),
        ),
    ]
    for status, code, response in cases:
        assert response.status_code == status, (status, response.text)
        assert response.headers["content-type"].startswith("application/json"), status
        assert error_of(response)["code"] == code, (status, response.text)


def test_invalid_bodies_name_the_field(
    api: TestClient, world: World, chief: dict[str, str]
) -> None:
    camera = world.cameras["PSH-TC1"]
    cases = [
        ("POST", "/api/v1/cameras", {"code": "PSH-X1", "site": "PSH-T1"}, "name"),
        (
            "POST",
            "/api/v1/cameras",
            {"code": "PSH-X1", "site": "PSH-T1", "name": "x", "fps": 0},
            "fps",
        ),
        ("POST", "/api/v1/cameras", {"code": "bad code!", "site": "PSH-T1", "name": "x"}, "code"),
        ("PATCH", f"/api/v1/cameras/{camera}", {"latitude": 200, "longitude": 71}, "latitude"),
        ("PATCH", f"/api/v1/cameras/{camera}", {"colour": "red"}, "colour"),
        ("PATCH", f"/api/v1/cameras/{camera}", {"main_stream_url": "ftp://x/"}, "main_stream_url"),
        ("POST", "/api/v1/users", {"username": "Not Valid", "password": "x"}, "username"),
    ]
    for method, url, body, field in cases:
        response = api.request(method, url, json=body, headers=chief)
        assert response.status_code == 422, (body, response.text)
        error = error_of(response)
        assert error["field"] == field, (body, error)
        assert field in error["message"], error


# -- conflicts and concurrency -----------------------------------------------------------------


def test_duplicate_camera_code_is_a_conflict(
    api: TestClient, platform: Platform, chief: dict[str, str]
) -> None:
    before = camera_count(platform)
    response = api.post(
        "/api/v1/cameras",
        json={"code": "PSH-TC1", "site": "PSH-T2", "name": "Second PSH-TC1"},
        headers=chief,
    )
    assert response.status_code == 409
    assert error_of(response)["field"] == "code"
    assert camera_count(platform) == before


def test_stale_if_match_is_refused_and_the_first_change_kept(
    api: TestClient, world: World, chief: dict[str, str]
) -> None:
    url = f"/api/v1/cameras/{world.cameras['PSH-TC1']}"
    version = api.get(url, headers=chief).json()["version"]
    first = api.patch(url, json={"name": "First"}, headers={**chief, "If-Match": f'"{version}"'})
    assert first.status_code == 200
    assert first.json()["version"] == version + 1
    second = api.patch(url, json={"name": "Second"}, headers={**chief, "If-Match": f'"{version}"'})
    assert second.status_code == 412
    assert error_of(second)["code"] == "precondition_failed"
    after = api.get(url, headers=chief).json()
    assert (after["name"], after["version"]) == ("First", version + 1)
    garbage = api.patch(url, json={"name": "Third"}, headers={**chief, "If-Match": "latest"})
    assert garbage.status_code == 422
    assert error_of(garbage)["field"] == "If-Match"


# -- stream credentials ------------------------------------------------------------------------


def get_routes(api: TestClient) -> Iterator[str]:
    for context in iter_route_contexts(cast(FastAPI, api.app).routes):
        if isinstance(context.original_route, APIRoute) and "GET" in (context.methods or ()):
            yield context.path_format or ""


def test_stream_credentials_never_leave_the_server(
    api: TestClient, platform: Platform, world: World, chief: dict[str, str]
) -> None:
    camera = world.cameras["PSH-TC1"]
    answers: list[httpx2.Response] = [
        api.patch(
            f"/api/v1/cameras/{camera}",
            json={"sub_stream_url": f"rtsp://viewer:{STREAM_PASSWORD}-new@10.0.0.2/sub"},
            headers=chief,
        ),
        api.post(
            "/api/v1/cameras",
            json={
                "code": "PSH-TC9",
                "site": "PSH-T1",
                "name": "Ninth",
                "main_stream_url": f"rtsp://admin:{STREAM_PASSWORD}-9@10.0.0.9/main",
            },
            headers=chief,
        ),
        api.post(
            "/api/v1/cameras/import",
            files={
                "file": (
                    "c.csv",
                    "code,name,site,main_stream_url\n"
                    f"PSH-TC8,Eighth,PSH-T1,rtsp://u:{STREAM_PASSWORD}-8@10.0.0.8/m\n"
                    f"PSH-TC7,Seventh,NOWHERE,rtsp://u:{STREAM_PASSWORD}-7@10.0.0.7/m\n".encode(),
                    "text/csv",
                )
            },
            headers=chief,
        ),
        api.get("/api/v1/cameras/export?format=yaml", headers=chief),
    ]
    assert [r.status_code for r in answers] == [200, 201, 200, 200], [r.text for r in answers]
    params = {
        "camera_id": camera,
        "site_id": world.sites["PSH-T1"],
        "user_id": principal_of(platform, "chief").user_id,
        "segment_id": record_segment(platform, "PSH-TC1"),
        **seed_events(platform),
        "alert_id": raise_alert(platform, "PSH-TC1"),
        "incident_id": fresh_incident(platform),
        "unit_id": unit_at_alert_incident(platform, "PSH-CRED"),
    }
    since = (utcnow() - timedelta(hours=2)).isoformat()
    recent = {"since": since, "until": utcnow().isoformat()}
    query = {
        "/api/v1/cameras/{camera_id}/recordings": recent,
        "/api/v1/cameras/{camera_id}/clip": recent,
        "/api/v1/plates": {"purpose": PURPOSE},
        "/api/v1/plates/export.csv": {"purpose": PURPOSE},
        "/api/v1/plates/{read_id}": {"purpose": PURPOSE},
        "/api/v1/plates/{read_id}/crop": {"purpose": PURPOSE},
        "/api/v1/plates/{read_id}/vehicle": {"purpose": PURPOSE},
    }
    for path in get_routes(api):
        if path.startswith(("/api/docs", "/docs", "/login")):
            continue
        names = re.findall(r"{(\w+)}", path)
        assert set(names) <= params.keys(), f"{path}: add its path parameters to this test"
        answers.append(api.get(path.format(**params), params=query.get(path, {}), headers=chief))
    for response in answers:
        assert response.status_code < 400, (response.url, response.status_code)
        assert STREAM_PASSWORD not in response.text, f"{response.url} shows a stream password"
    with platform.sessions() as session:
        records = list(session.scalars(select(AuditRecord)))
    camera_records = [r for r in records if r.object_type == "camera" and r.after]
    assert len(camera_records) >= 5, "expected audited camera creations and updates"
    for record in records:
        text = json.dumps([record.before, record.after, record.summary])
        assert STREAM_PASSWORD not in text, f"audit record {record.seq} keeps a stream password"


# -- audited reads -----------------------------------------------------------------------------


def test_reads_of_cameras_and_users_are_audited_with_purpose(
    api: TestClient, platform: Platform, world: World, chief: dict[str, str]
) -> None:
    reader = make_user(platform, "reader", ["supervisor", "investigator"], districts=["peshawar"])
    headers = {**bearer(platform, "reader"), "X-Purpose": PURPOSE}
    camera, user = world.cameras["PSH-TC1"], reader.user_id
    reads = {
        "/api/v1/cameras": "camera",
        f"/api/v1/cameras/{camera}": "camera",
        "/api/v1/cameras/export?format=csv": "camera",
        "/api/v1/map/features": "camera",
        "/api/v1/users": "user",
        f"/api/v1/users/{user}": "user",
        "/cameras": "camera",
        f"/cameras/{camera}": "camera",
        "/users": "user",
        f"/users/{user}": "user",
    }
    for url, object_type in reads.items():
        response = api.get(url, headers=headers)
        assert response.status_code == 200, (url, response.text)
        records = [
            r
            for r in audit_for(platform, response.headers["x-request-id"])
            if r.object_type == object_type
        ]
        assert records, f"{url}: no {object_type} audit record for this request"
        for record in records:
            assert (record.actor_id, record.actor_name) == (user, "reader"), url
            assert record.purpose == PURPOSE, (url, record.purpose)
            assert record.action in ("view", "search", "export"), (url, record.action)


# -- CSRF --------------------------------------------------------------------------------------


def test_cookie_sessions_need_the_csrf_token(
    api: TestClient, platform: Platform, world: World
) -> None:
    make_user(platform, "clerk", ["engineer"], districts=["peshawar"])
    forged_login = api.post("/login", data={"username": "clerk", "password": PASSWORD})
    assert forged_login.status_code == 403
    assert "safecity_session" not in api.cookies
    signed_in = sign_in(api, "clerk")
    assert signed_in.status_code == 303, signed_in.text
    assert "safecity_session" in api.cookies
    token = csrf_from(api.get("/account").text)
    body = {"code": "PSH-CSRF", "site": "PSH-T1", "name": "Made by a cookie session"}

    refused = api.post("/api/v1/cameras", json=body)
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "permission_denied"
    wrong = api.post("/api/v1/cameras", json=body, headers={"X-CSRF-Token": token[::-1]})
    assert wrong.status_code == 403
    assert api.get("/api/v1/cameras?q=PSH-CSRF").json()["total"] == 0

    accepted = api.post("/api/v1/cameras", json=body, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201, accepted.text

    def tokens() -> int:
        with platform.sessions() as session:
            owner = select(User.id).where(User.username == "clerk").scalar_subquery()
            return len(session.scalars(select(ApiToken).where(ApiToken.user_id == owner)).all())

    before = tokens()
    assert api.post("/account/tokens", data={"name": "forged"}).status_code == 403
    assert tokens() == before
    form = api.post("/account/tokens", data={"name": "mine", "csrf_token": token})
    assert form.status_code == 200
    assert tokens() == before + 1


# -- separation of duties ----------------------------------------------------------------------


def test_nobody_grants_themselves_or_beyond_their_own_permissions(
    api: TestClient, platform: Platform, world: World
) -> None:
    boss = make_user(platform, "boss", ["admin"], districts=["peshawar"])
    target = make_user(platform, "junior", ["operator"], districts=["peshawar"])
    headers = bearer(platform, "boss")
    own = f"/api/v1/users/{boss.user_id}"
    refusals = [
        api.put(f"{own}/roles", json={"roles": ["admin", "auditor"]}, headers=headers),
        api.put(f"{own}/scope", json={"all_districts": True}, headers=headers),
        api.put(f"{own}/scope", json={"districts": ["peshawar", "bannu"]}, headers=headers),
        api.patch(own, json={"is_active": False}, headers=headers),
        # auditor carries audit.export, which an administrator does not hold.
        api.put(
            f"/api/v1/users/{target.user_id}/roles", json={"roles": ["auditor"]}, headers=headers
        ),
        api.post(
            "/api/v1/users",
            json={
                "username": "made-auditor",
                "password": PASSWORD,
                "roles": ["auditor"],
                "districts": ["peshawar"],
            },
            headers=headers,
        ),
        api.post(f"/users/{boss.user_id}/roles", data={"roles": ["auditor"]}, headers=headers),
    ]
    for response in refusals:
        assert response.status_code == 403, (response.url, response.text)
    me = api.get("/api/v1/me", headers=headers).json()
    assert (me["roles"], me["districts"], me["all_districts"], me["is_active"]) == (
        ["admin"],
        ["peshawar"],
        False,
        True,
    )
    junior = api.get(f"/api/v1/users/{target.user_id}", headers=headers).json()
    assert junior["roles"] == ["operator"]
    assert api.get("/api/v1/users?q=made-auditor", headers=headers).json()["total"] == 0
    granted = api.put(
        f"/api/v1/users/{target.user_id}/roles",
        json={"roles": ["operator", "engineer"]},
        headers=headers,
    )
    assert granted.status_code == 200
    assert granted.json()["roles"] == ["engineer", "operator"]


# -- security headers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/login", 200),
        ("/map", 303),
        ("/api/v1/health", 200),
        ("/api/v1/me", 401),
        ("/api/v1/no-such-thing", 404),
        ("/static/no-such-file.css", 404),
        ("/favicon.ico", 204),  # asked for by every tab: no icon, and no error either
    ],
)
def test_security_headers_on_every_answer(api: TestClient, path: str, status: int) -> None:
    response = api.get(path)
    assert response.status_code == status
    csp = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp, csp
    assert "'unsafe-eval'" not in csp, csp
    assert "script-src 'self'" in csp, csp
    assert "frame-ancestors 'none'" in csp, csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]


def test_security_headers_on_signed_in_pages(
    api: TestClient, platform: Platform, world: World, chief: dict[str, str]
) -> None:
    for path in ("/map", "/cameras", f"/cameras/{world.cameras['PSH-TC1']}", "/api/v1/cameras"):
        response = api.get(path, headers=chief)
        assert response.status_code == 200, path
        assert "'unsafe-inline'" not in response.headers["content-security-policy"], path
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["x-content-type-options"] == "nosniff", path


# -- upload limit ------------------------------------------------------------------------------


def big_csv(limit: int) -> bytes:
    """A valid import file just over the limit: were it read, it would create cameras."""
    lines = ["code,name,site"]
    size, n = 0, 0
    while size <= limit:
        line = f"PSH-BIG{n:06d},Big camera {n},PSH-T1"
        lines.append(line)
        size += len(line) + 1
        n += 1
    return ("\n".join(lines) + "\n").encode()


def test_oversized_upload_is_refused_before_anything_is_imported(
    api: TestClient, platform: Platform, chief: dict[str, str]
) -> None:
    body = big_csv(platform.settings.max_upload_bytes)
    before = camera_count(platform)
    declared = api.post(
        "/api/v1/cameras/import", files={"file": ("big.csv", body, "text/csv")}, headers=chief
    )
    assert declared.status_code == 413, declared.text[:200]
    assert error_of(declared)["field"] == "file"

    # Without a Content-Length (chunked), the limit must hold while the body streams in.
    boundary = "safecity-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    whole = head + body + tail

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(whole), 256 * 1024):
            yield whole[start : start + 256 * 1024]

    streamed = api.post(
        "/api/v1/cameras/import",
        content=chunks(),
        headers={**chief, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert streamed.status_code == 413, streamed.text[:200]
    assert camera_count(platform) == before
    with platform.sessions() as session:
        imports = session.scalars(select(AuditRecord).where(AuditRecord.action == "import"))
        assert imports.first() is None
    small = api.post(
        "/api/v1/cameras/import",
        files={"file": ("ok.csv", body[: body.index(b"\n", 200) + 1], "text/csv")},
        headers=chief,
    )
    assert small.status_code == 200, small.text
    assert small.json()["created"] > 0, small.text


# -- sign-in throttling ------------------------------------------------------------------------


def test_repeated_failures_pause_only_that_user_from_that_address(
    api: TestClient, platform: Platform
) -> None:
    make_user(platform, "target", ["operator"], districts=["peshawar"])
    make_user(platform, "colleague", ["operator"], districts=["peshawar"])
    attempts = platform.settings.login_max_failures
    with (
        TestClient(
            api.app, base_url="http://127.0.0.1", follow_redirects=False, client=("10.9.9.9", 4000)
        ) as attacker,
        TestClient(
            api.app, base_url="http://127.0.0.1", follow_redirects=False, client=("10.1.2.3", 4000)
        ) as office,
    ):
        for _ in range(attempts):
            failed = sign_in(attacker, "target", password="wrong-guess")
            assert failed.status_code == 401, failed.text
        paused = sign_in(attacker, "target")
        assert paused.status_code == 429, paused.text
        assert 0 < int(paused.headers["retry-after"]) <= platform.settings.login_pause_seconds + 1
        assert "safecity_session" not in attacker.cookies
        assert sign_in(office, "target").status_code == 303
        assert sign_in(attacker, "colleague").status_code == 303
    with platform.sessions() as session:
        actions = list(
            session.scalars(
                select(AuditRecord.action).where(
                    AuditRecord.actor_name == "target", AuditRecord.source_ip == "10.9.9.9"
                )
            )
        )
    assert actions.count("login_failed") == attempts, actions
    assert "login_throttled" in actions, actions


# -- session expiry ----------------------------------------------------------------------------


def test_expired_session_sends_pages_to_sign_in_and_the_api_answers_401(
    api: TestClient, platform: Platform, world: World
) -> None:
    make_user(platform, "night-shift", ["operator"], districts=["peshawar"])
    assert sign_in(api, "night-shift").status_code == 303
    assert api.get("/map").status_code == 200
    assert api.get("/api/v1/me").status_code == 200
    with platform.transaction() as session:
        session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    refused = api.get("/api/v1/me")
    assert refused.status_code == 401
    assert error_of(refused)["message"] == "your session has expired; sign in again"
    page = api.get("/cameras?district=peshawar")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=/cameras")
    assert "safecity_session" not in api.cookies, "the dead session cookie is kept"
    login = api.get(page.headers["location"])
    assert login.status_code == 200
    assert "session has expired" in login.text.lower(), login.text
    again = sign_in(api, "night-shift")
    assert again.status_code == 303
    assert api.get("/api/v1/me").status_code == 200


# -- second factor -----------------------------------------------------------------------------


def test_totp_once_enabled_is_required_at_sign_in(api: TestClient, platform: Platform) -> None:
    make_user(platform, "careful", ["operator"], districts=["peshawar"])
    principal = principal_of(platform, "careful")
    with platform.transaction() as session:
        user = session.get(User, principal.user_id)
        assert user is not None
        secret = platform.identity.begin_totp(user)
        platform.identity.confirm_totp(session, principal, secret, pyotp.TOTP(secret).now())

    without = sign_in(api, "careful")
    assert without.status_code == 401
    assert "safecity_session" not in api.cookies
    assert 'name="otp"' in without.text
    assert "6-digit code" in without.text
    wrong = sign_in(api, "careful", otp="000000" if pyotp.TOTP(secret).now() != "000000" else "1")
    assert wrong.status_code == 401
    assert "safecity_session" not in api.cookies
    right = sign_in(api, "careful", otp=pyotp.TOTP(secret).now())
    assert right.status_code == 303, right.text
    assert api.get("/api/v1/me").json()["totp_enabled"] is True

    ctx = AuditContext(actor_id=None, actor_name="anonymous", source_ip="192.0.2.9")
    with platform.transaction() as session, pytest.raises(SecondFactorRequired):
        platform.identity.sign_in(
            session, ctx, username="careful", password=PASSWORD, totp_code=None
        )


# -- audit scope -------------------------------------------------------------------------------


def test_audit_trail_is_limited_to_the_readers_scope(
    api: TestClient, platform: Platform, world: World
) -> None:
    """A district auditor reads their districts' records only; records of no district
    (sign-ins, accounts) need province-wide scope."""
    make_user(platform, "local-auditor", ["auditor"], districts=["peshawar"])
    response = api.get("/api/v1/audit?limit=1000", headers=bearer(platform, "local-auditor"))
    assert response.status_code == 200
    assert response.json()["total"] > 0
    assert not re.search(r"bannu|bnu-", response.text, re.IGNORECASE)
