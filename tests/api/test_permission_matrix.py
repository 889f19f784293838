"""The permission matrix: every route of the application, every role, in and out of scope.

The routes are read from the application itself, so a new route fails this suite
until someone writes down below who may use it. Each expectation is written by
hand (not derived from the role catalogue): the table is the decision, the
catalogue and the services are what is checked against it.

Every user is scoped to Peshawar and holds exactly one role; the camera owner
holds camera PSH-TC1 only. "In scope" objects are in Peshawar, "out of scope"
objects in Bannu. Outcomes: ``ok`` (2xx, or a page redirect that is not back to
sign-in or to a form with an error), ``403`` (permission missing), ``404``
(outside the caller's scope; scope never leaks), ``422`` and, for anonymous
page requests, ``login`` (a redirect to the sign-in page).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Mount

from safecity.audit.models import AuditRecord
from safecity.core.settings import Settings
from safecity.identity.permissions import DEFAULT_ROLES
from safecity.web.app import create_app
from safecity.web.platform import Platform, build_platform
from tests.api import (
    routes_analytics,
    routes_command,
    routes_dispatch,
    routes_events,
    routes_video,
)
from tests.api.matrix import (
    CHANGE_ACTIONS,
    CHANGE_CAMERAS,
    CHANGE_SITES,
    EVERYONE,
    EXPORT_AUDIT,
    EXPORT_CAMERAS,
    EXPORT_FOOTAGE,
    HOLD_FOOTAGE,
    IMPORT_CAMERAS,
    LEAK,
    MANAGE_USERS,
    NEW_PASSWORD,
    OWNER_LEAK,
    PLACE_CAMERAS,
    REPORT_POWER,
    ROLES,
    SEE_AUDIT,
    SEE_CAMERAS,
    SEE_DISTRICTS,
    SEE_SITES,
    SEE_USERS,
    WATCH_FOOTAGE,
    Build,
    Call,
    Expect,
    Ground,
    Scope,
    get,
    hold_body,
    recent_window,
)
from tests.factories import PASSWORD, World, make_user, token_for
from tests.support.onvif_responder import OnvifResponder, ResponderConfig

# Paths outside the matrix, each for a stated reason. Everything else must be in ROUTES.
NOT_IN_MATRIX = {
    "/static": "stylesheets, scripts and icons: public, no data",
    "/metrics": "Prometheus scrape of request counters; no personal data, guarded by the network",
    "/api/v1/openapi.json": "the API's own description",
    "/api/docs": "the interactive API documentation page",
    "/docs/oauth2-redirect": "part of the interactive documentation",
    "/api/v1/health": "the load balancer's probe; must answer before anyone signs in",
    "/login": "the sign-in form itself (its throttling and CSRF have their own tests)",
    "/favicon.ico": "no icon: an empty answer (204) for every tab, no data",
    "/ws/live/{camera_id}": "live-view WebSocket: refusals are close codes 4401/4403/4404, "
    "tested in tests/test_live_stream.py",
    "/ws/console": "console feed WebSocket: refusals are close codes 4401/4403, scope and "
    "permissions per message, tested in tests/command/test_alerts_feed.py",
}


def csv_file(code: str, site: str) -> dict[str, tuple[str, bytes, str]]:
    body = f"code,name,site\n{code},Imported {code},{site}\n".encode()
    return {"file": ("cameras.csv", body, "text/csv")}


def _site_create(g: Ground, s: Scope) -> Call:
    district = "peshawar" if s == "in" else "bannu"
    body = {
        "code": g.unique("PSH-NEW" if s == "in" else "OUT-NEW"),
        "name": "New site",
        "district": district,
        "site_type": "intersection",
        "latitude": 34.0 if s == "in" else 33.0,
        "longitude": 71.5 if s == "in" else 70.6,
    }
    return Call("POST", "/api/v1/sites", json=body, names_bannu=s == "out")


def _camera_create(g: Ground, s: Scope) -> Call:
    body = {
        "code": g.unique("PSH-NEWC"),
        "site": "PSH-T1" if s == "in" else "BNU-T1",
        "name": "New camera",
    }
    return Call("POST", "/api/v1/cameras", json=body, names_bannu=s == "out")


def _camera_page_create(g: Ground, s: Scope) -> Call:
    form = {
        "code": g.unique("PSH-FORMC"),
        "site": "PSH-T1" if s == "in" else "BNU-T1",
        "name": "Form camera",
    }
    return Call("POST", "/cameras/new", data=form, names_bannu=s == "out")


def _import(url: str) -> Build:
    def build(g: Ground, s: Scope) -> Call:
        site = "PSH-T1" if s == "in" else "BNU-T1"
        return Call("POST", url, files=csv_file(g.unique("PSH-IMP"), site), names_bannu=s == "out")

    return build


def _user_create(url: str, *, form: bool) -> Build:
    def build(g: Ground, s: Scope) -> Call:
        district = "peshawar" if s == "in" else "bannu"
        username = g.unique("new-user")
        if form:
            data = {
                "username": username,
                "password": NEW_PASSWORD,
                "roles": ["operator"],
                "districts": [district],
            }
            return Call("POST", url, data=data, names_bannu=s == "out")
        body = {
            "username": username,
            "password": NEW_PASSWORD,
            "roles": ["operator"],
            "districts": [district],
        }
        return Call("POST", url, json=body, names_bannu=s == "out")

    return build


def _site_form(g: Ground, s: Scope) -> Call:
    form = {
        "name": g.unique("Renamed site"),
        "site_type": "intersection",
        "rollout_status": "live",
        "latitude": "34.01",
        "longitude": "71.52",
    }
    return Call("POST", f"/sites/{g.site(s)}/edit", data=form)


def _totp_confirm(g: Ground, s: Scope) -> Call:
    secret = pyotp.random_base32()
    return Call(
        "POST", "/account/totp/confirm", data={"secret": secret, "code": pyotp.TOTP(secret).now()}
    )


ROUTES: dict[str, Expect] = {
    # -- JSON API: registry ------------------------------------------------------------------
    "GET /api/v1/districts": Expect(SEE_DISTRICTS, "single", get("/api/v1/districts")),
    "GET /api/v1/sites": Expect(SEE_SITES, "single", get("/api/v1/sites")),
    # Telemetry samples are measurements, not changes to protected records: not audited.
    "POST /api/v1/sites/{site_code}/power": Expect(
        REPORT_POWER,
        "object",
        lambda g, s: Call(
            "POST",
            f"/api/v1/sites/{'PSH-T1' if s == 'in' else 'BNU-T1'}/power",
            json={"at": g.unique_time(), "battery_soc_pct": 70, "link_up": True},
            names_bannu=s == "out",
        ),
        audited_change=False,
    ),
    "GET /api/v1/sites/{site_id}/power": Expect(
        SEE_SITES, "object", lambda g, s: Call("GET", f"/api/v1/sites/{g.site(s)}/power")
    ),
    "GET /api/v1/power/alerts": Expect(SEE_SITES, "single", get("/api/v1/power/alerts")),
    # -- JSON API: recorded footage ----------------------------------------------------------
    "GET /api/v1/cameras/{camera_id}/recordings": Expect(
        WATCH_FOOTAGE,
        "object",
        lambda g, s: Call("GET", f"/api/v1/cameras/{g.camera(s)}/recordings?{recent_window()}"),
    ),
    "GET /api/v1/cameras/{camera_id}/clip": Expect(
        EXPORT_FOOTAGE,
        "object",
        lambda g, s: Call("GET", f"/api/v1/cameras/{g.clip_camera(s)}/clip?{recent_window()}"),
        leak_checked=False,  # the answer is the video itself
    ),
    "POST /api/v1/cameras/{camera_id}/holds": Expect(
        HOLD_FOOTAGE,
        "object",
        lambda g, s: Call("POST", f"/api/v1/cameras/{g.camera(s)}/holds", json=hold_body()),
    ),
    "GET /api/v1/holds": Expect(WATCH_FOOTAGE, "single", get("/api/v1/holds")),
    "POST /api/v1/holds/{hold_id}/release": Expect(
        HOLD_FOOTAGE,
        "object",
        lambda g, s: Call("POST", f"/api/v1/holds/{g.fresh_hold(s)}/release"),
    ),
    "GET /api/v1/recordings/{segment_id}/video": Expect(
        WATCH_FOOTAGE,
        "object",
        lambda g, s: Call("GET", f"/api/v1/recordings/{g.segment(s)}/video"),
        # The answer is the video itself; a recording of Bannu is never served (404 above).
        leak_checked=False,
    ),
    "GET /api/v1/sites/{site_id}": Expect(
        SEE_SITES, "object", lambda g, s: Call("GET", f"/api/v1/sites/{g.site(s)}")
    ),
    # Out of scope: the district is refused as invalid input, as an unknown one would be.
    "POST /api/v1/sites": Expect(CHANGE_SITES, "create", _site_create, out_of_scope="422"),
    "PATCH /api/v1/sites/{site_id}": Expect(
        CHANGE_SITES,
        "object",
        lambda g, s: Call(
            "PATCH", f"/api/v1/sites/{g.site(s)}", json={"name": g.unique("Renamed site")}
        ),
    ),
    "GET /api/v1/cameras": Expect(SEE_CAMERAS, "single", get("/api/v1/cameras?limit=1000")),
    "GET /api/v1/cameras/export": Expect(
        EXPORT_CAMERAS, "single", get("/api/v1/cameras/export?format=csv")
    ),
    # Out of scope: the import answers 200 with the row rejected in its report; nothing is made.
    "POST /api/v1/cameras/import": Expect(
        IMPORT_CAMERAS, "create", _import("/api/v1/cameras/import"), out_of_scope="ok"
    ),
    "GET /api/v1/cameras/{camera_id}": Expect(
        SEE_CAMERAS, "object", lambda g, s: Call("GET", f"/api/v1/cameras/{g.camera(s)}")
    ),
    "POST /api/v1/cameras": Expect(PLACE_CAMERAS, "create", _camera_create, out_of_scope="422"),
    "PATCH /api/v1/cameras/{camera_id}": Expect(
        CHANGE_CAMERAS,
        "object",
        lambda g, s: Call(
            "PATCH", f"/api/v1/cameras/{g.camera(s)}", json={"name": g.unique("Renamed camera")}
        ),
    ),
    "DELETE /api/v1/cameras/{camera_id}": Expect(
        CHANGE_CAMERAS,
        "object",
        lambda g, s: Call("DELETE", f"/api/v1/cameras/{g.fresh_camera(s)}"),
    ),
    # The map is everyone's home page; it shows each role what that role may see.
    "GET /api/v1/map/features": Expect(EVERYONE, "single", get("/api/v1/map/features")),
    # -- JSON API: identity ------------------------------------------------------------------
    "GET /api/v1/me": Expect(EVERYONE, "single", get("/api/v1/me")),
    "GET /api/v1/users": Expect(SEE_USERS, "single", get("/api/v1/users?limit=1000")),
    # Out of scope: granting a district outside one's own scope is itself refused (403).
    "POST /api/v1/users": Expect(
        MANAGE_USERS, "create", _user_create("/api/v1/users", form=False), out_of_scope="403"
    ),
    "GET /api/v1/users/{user_id}": Expect(
        SEE_USERS, "object", lambda g, s: Call("GET", f"/api/v1/users/{g.targets[s]}")
    ),
    "PATCH /api/v1/users/{user_id}": Expect(
        MANAGE_USERS,
        "object",
        lambda g, s: Call(
            "PATCH", f"/api/v1/users/{g.targets[s]}", json={"full_name": g.unique("Renamed")}
        ),
    ),
    "PUT /api/v1/users/{user_id}/roles": Expect(
        MANAGE_USERS,
        "object",
        lambda g, s: Call(
            "PUT", f"/api/v1/users/{g.targets[s]}/roles", json={"roles": ["operator"]}
        ),
    ),
    "PUT /api/v1/users/{user_id}/scope": Expect(
        MANAGE_USERS,
        "object",
        lambda g, s: Call(
            "PUT", f"/api/v1/users/{g.targets[s]}/scope", json={"districts": ["peshawar"]}
        ),
    ),
    "POST /api/v1/users/{user_id}/password": Expect(
        MANAGE_USERS,
        "object",
        lambda g, s: Call(
            "POST", f"/api/v1/users/{g.targets[s]}/password", json={"password": NEW_PASSWORD}
        ),
    ),
    "GET /api/v1/roles": Expect(SEE_USERS, "single", get("/api/v1/roles")),
    # Agencies are reference data (police, traffic police, 1122), not personal data.
    "GET /api/v1/agencies": Expect(EVERYONE, "single", get("/api/v1/agencies")),
    # The caller's own tokens: everyone manages their own.
    "GET /api/v1/tokens": Expect(EVERYONE, "single", get("/api/v1/tokens")),
    "POST /api/v1/tokens": Expect(
        EVERYONE, "single", lambda g, s: Call("POST", "/api/v1/tokens", json={"name": "matrix"})
    ),
    # Someone else's token: only user administrators, and only for users in their scope.
    "DELETE /api/v1/tokens/{token_id}": Expect(
        MANAGE_USERS,
        "object",
        lambda g, s: Call("DELETE", f"/api/v1/tokens/{g.fresh_token(s)}"),
    ),
    # -- JSON API: audit ---------------------------------------------------------------------
    # A district-scoped reader sees only its districts' records (see test_contracts.py).
    "GET /api/v1/audit": Expect(SEE_AUDIT, "single", get("/api/v1/audit?limit=1000")),
    "GET /api/v1/audit/export.csv": Expect(EXPORT_AUDIT, "single", get("/api/v1/audit/export.csv")),
    # Worker groups span districts: changing cameras is not enough without a province-wide
    # scope, which no user here has (tests/api/test_worker_refusals.py has the one who may).
    "GET /api/v1/workers": Expect(frozenset(), "single", get("/api/v1/workers")),
    # -- pages -------------------------------------------------------------------------------
    "GET /": Expect(EVERYONE, "public", get("/")),
    "POST /logout": Expect(EVERYONE, "single", lambda g, s: Call("POST", "/logout")),
    "GET /map": Expect(EVERYONE, "single", get("/map")),
    "GET /cameras": Expect(SEE_CAMERAS, "single", get("/cameras?limit=1000")),
    "GET /cameras/import": Expect(IMPORT_CAMERAS, "single", get("/cameras/import")),
    "POST /cameras/import": Expect(
        IMPORT_CAMERAS, "create", _import("/cameras/import"), out_of_scope="ok"
    ),
    "GET /cameras/new": Expect(CHANGE_CAMERAS, "single", get("/cameras/new")),
    # Out of scope: the form comes back (422) saying the site is not in the caller's scope.
    "POST /cameras/new": Expect(PLACE_CAMERAS, "create", _camera_page_create, out_of_scope="422"),
    "GET /cameras/{camera_id}": Expect(
        SEE_CAMERAS, "object", lambda g, s: Call("GET", f"/cameras/{g.camera(s)}")
    ),
    "GET /cameras/{camera_id}/edit": Expect(
        CHANGE_CAMERAS, "object", lambda g, s: Call("GET", f"/cameras/{g.camera(s)}/edit")
    ),
    "POST /cameras/{camera_id}/edit": Expect(
        CHANGE_CAMERAS,
        "object",
        lambda g, s: Call(
            "POST", f"/cameras/{g.camera(s)}/edit", data={"name": g.unique("Form camera")}
        ),
    ),
    "GET /sites": Expect(SEE_SITES, "single", get("/sites?limit=1000")),
    "GET /sites/{site_id}/power": Expect(
        SEE_SITES, "object", lambda g, s: Call("GET", f"/sites/{g.site(s)}/power")
    ),
    "GET /power": Expect(SEE_SITES, "single", get("/power")),
    "GET /health": Expect(SEE_CAMERAS, "single", get("/health?group=site")),
    # Probing talks to a camera, changes nothing and is audited as a probe.
    "POST /cameras/new/probe": Expect(
        CHANGE_CAMERAS,
        "single",
        lambda g, s: Call(
            "POST",
            "/cameras/new/probe",
            data={
                "host": g.onvif[0],
                "port": str(g.onvif[1]),
                "username": "admin",
                "password": ResponderConfig().password,
            },
        ),
    ),
    "GET /cameras/{camera_id}/live": Expect(
        WATCH_FOOTAGE, "object", lambda g, s: Call("GET", f"/cameras/{g.camera(s)}/live")
    ),
    "GET /wall": Expect(WATCH_FOOTAGE, "single", get("/wall")),
    "GET /cameras/{camera_id}/playback": Expect(
        WATCH_FOOTAGE, "object", lambda g, s: Call("GET", f"/cameras/{g.camera(s)}/playback")
    ),
    "GET /sites/{site_id}": Expect(
        SEE_SITES, "object", lambda g, s: Call("GET", f"/sites/{g.site(s)}")
    ),
    "POST /sites/{site_id}/edit": Expect(CHANGE_SITES, "object", _site_form),
    "GET /users": Expect(SEE_USERS, "single", get("/users?limit=1000")),
    "POST /users": Expect(
        MANAGE_USERS, "create", _user_create("/users", form=True), out_of_scope="403"
    ),
    "GET /users/{user_id}": Expect(
        SEE_USERS, "object", lambda g, s: Call("GET", f"/users/{g.targets[s]}")
    ),
    "POST /users/{user_id}/roles": Expect(
        MANAGE_USERS,
        "object",
        lambda g, s: Call("POST", f"/users/{g.targets[s]}/roles", data={"roles": ["operator"]}),
    ),
    "POST /users/{user_id}/scope": Expect(
        MANAGE_USERS,
        "object",
        lambda g, s: Call("POST", f"/users/{g.targets[s]}/scope", data={"districts": ["peshawar"]}),
    ),
    "POST /users/{user_id}/active": Expect(
        MANAGE_USERS,
        "object",
        lambda g, s: Call("POST", f"/users/{g.targets[s]}/active", data={"active": "yes"}),
    ),
    "POST /users/{user_id}/password": Expect(
        MANAGE_USERS,
        "object",
        lambda g, s: Call(
            "POST", f"/users/{g.targets[s]}/password", data={"password": NEW_PASSWORD}
        ),
    ),
    "GET /roles": Expect(SEE_USERS, "single", get("/roles")),
    "GET /audit": Expect(SEE_AUDIT, "single", get("/audit?limit=1000")),
    "GET /account": Expect(EVERYONE, "single", get("/account")),
    "POST /account/tokens": Expect(
        EVERYONE, "single", lambda g, s: Call("POST", "/account/tokens", data={"name": "mine"})
    ),
    "POST /account/tokens/{token_id}/revoke": Expect(
        MANAGE_USERS,
        "object",
        lambda g, s: Call("POST", f"/account/tokens/{g.fresh_token(s)}/revoke"),
    ),
    # Each role changes its own password once (the matrix signs in by token, which stays).
    "POST /account/password": Expect(
        EVERYONE,
        "single",
        lambda g, s: Call(
            "POST",
            "/account/password",
            data={"current_password": PASSWORD, "password": NEW_PASSWORD},
        ),
    ),
    "POST /account/totp/begin": Expect(
        EVERYONE, "single", lambda g, s: Call("POST", "/account/totp/begin")
    ),
    "POST /account/totp/confirm": Expect(EVERYONE, "single", _totp_confirm),
}


def route_keys(app: FastAPI) -> set[str]:
    """``METHOD /path`` of every route the application serves, minus NOT_IN_MATRIX."""
    keys: set[str] = set()
    for context in iter_route_contexts(app.routes):
        path = context.path_format or context.path or "?"
        if isinstance(context.original_route, Mount) and path.startswith("/static"):
            continue
        if path in NOT_IN_MATRIX:
            continue
        if not isinstance(context.original_route, APIRoute):
            # Anything else (a websocket, a mounted app) needs a decision too.
            keys.add(f"{type(context.original_route).__name__} {path}")
            continue
        keys.update(f"{method} {path}" for method in context.methods or ())
    return keys


def outcome(response: httpx2.Response) -> str:
    if response.is_redirect:
        location = response.headers["location"]
        if location.startswith("/login?"):
            return "login"
        # Admin forms report a refusal by sending the browser back with the error.
        return "form-error" if "error=" in location else "ok"
    if response.is_success:
        return "ok"
    return str(response.status_code)


def expected(expect: Expect, role: str, scope: Scope) -> str:
    if expect.kind == "public" or (role in expect.allowed and scope == "in"):
        return "ok"
    if role not in expect.allowed:
        return "403"
    return expect.out_of_scope


def send(client: TestClient, call: Call, headers: dict[str, str]) -> httpx2.Response:
    return client.request(
        call.method,
        call.url,
        json=call.json,
        data=call.data,
        files=call.files,
        headers={**headers, **(call.headers or {})},
    )


def changes_recorded(platform: Platform, request_id: str) -> list[str]:
    with platform.sessions() as session:
        return list(
            session.scalars(
                select(AuditRecord.action).where(
                    AuditRecord.request_id == request_id, AuditRecord.action.in_(CHANGE_ACTIONS)
                )
            )
        )


def scopes_for(expect: Expect) -> tuple[Scope, ...]:
    return ("in", "out") if expect.kind in ("object", "create") else ("in",)


# Each later domain keeps its table beside this one; a route claimed twice is a mistake.
for _domain in (routes_analytics, routes_events, routes_command, routes_dispatch, routes_video):
    _twice = ROUTES.keys() & _domain.ROUTES.keys()
    if _twice:
        raise RuntimeError(f"routes claimed twice in the matrix: {sorted(_twice)}")
    ROUTES.update(_domain.ROUTES)


@pytest.fixture
def ground(platform: Platform, world: World) -> Iterator[Ground]:
    user_ids: dict[str, int] = {}
    tokens: dict[str, str] = {}
    for role in ROLES:
        username = f"matrix-{role}"
        if role == "camera_owner":
            principal = make_user(platform, username, [role], cameras=[world.cameras["PSH-TC1"]])
        else:
            principal = make_user(platform, username, [role], districts=["peshawar"])
        user_ids[role] = principal.user_id
        tokens[role] = token_for(platform, username)
    targets: dict[Scope, int] = {
        "in": make_user(platform, "target-peshawar", ["operator"], districts=["peshawar"]).user_id,
        "out": make_user(platform, "target-bannu", ["operator"], districts=["bannu"]).user_id,
    }
    # A fake ONVIF camera for the onboarding probe, answering on loopback.
    with OnvifResponder() as camera:
        yield Ground(platform, world, tokens, user_ids, targets, onvif=(camera.host, camera.port))


def test_the_table_covers_every_route_and_every_role(tmp_path: Path) -> None:
    """A new route, or a new role, cannot ship without a decision on who may use it."""
    settings = Settings(data_dir=tmp_path, secret_key="matrix-secret-" * 4)
    platform = build_platform(settings)
    try:
        served = route_keys(create_app(platform))
    finally:
        platform.dispose()
    missing = sorted(served - ROUTES.keys())
    stale = sorted(ROUTES.keys() - served)
    assert not missing, f"routes with no expectation in ROUTES: {missing}"
    assert not stale, f"expectations for routes the app no longer serves: {stale}"
    assert set(DEFAULT_ROLES) == set(ROLES), "a role was added or removed: review ROUTES"
    for key, expect in ROUTES.items():
        assert expect.allowed <= EVERYONE, f"{key}: unknown role in {sorted(expect.allowed)}"


def test_permission_matrix(api: TestClient, ground: Ground) -> None:
    mismatches: list[str] = []
    requests = 0
    for key, expect in ROUTES.items():
        for role in ROLES:
            headers = {"Authorization": f"Bearer {ground.tokens[role]}", "X-Purpose": "matrix"}
            ground.acting = role
            leak_pattern = OWNER_LEAK if role == "camera_owner" else LEAK
            for scope in scopes_for(expect):
                call = expect.build(ground, scope)
                response = send(api, call, headers)
                requests += 1
                want, got = expected(expect, role, scope), outcome(response)
                where = f"{key} as {role}, {scope} of scope"
                if got != want:
                    mismatches.append(
                        f"{where}: expected {want}, got {got} "
                        f"({response.status_code} {response.text[:160]!r})"
                    )
                    continue
                leak = leak_pattern.search(response.text)
                if got == "ok" and expect.leak_checked and not call.names_bannu and leak:
                    mismatches.append(f"{where}: the answer mentions {leak.group()!r}")
                if (
                    call.method != "GET"
                    and expect.kind in ("object", "create")
                    and (expect.audited_change)
                ):
                    changed = bool(
                        changes_recorded(ground.platform, response.headers["x-request-id"])
                    )
                    if changed != (want == "ok" and scope == "in"):
                        mismatches.append(
                            f"{where}: {'a change was' if changed else 'no change'} recorded"
                        )
    assert not mismatches, f"{len(mismatches)} of {requests} requests:\n" + "\n".join(mismatches)


def csrf_header(client: TestClient) -> dict[str, str]:
    """What a browser whose session has ended still holds: the CSRF cookie and its token."""
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "the sign-in form carries no CSRF token"
    return {"X-CSRF-Token": match.group(1)}


def test_no_valid_credentials_no_service(api: TestClient, ground: Ground) -> None:
    """Anonymous and revoked-token requests: 401 from the API, sign-in for pages, no change."""
    revoked = {"Authorization": f"Bearer {ground.tokens['admin']}"}
    own = api.get("/api/v1/tokens", headers=revoked)
    assert own.status_code == 200, own.text
    for token in own.json()["items"]:
        assert api.delete(f"/api/v1/tokens/{token['id']}", headers=revoked).status_code == 204
    browser_csrf = csrf_header(api)
    mismatches: list[str] = []
    for key, expect in ROUTES.items():
        for who, credentials in (
            ("anonymous", {}),
            ("revoked token", revoked),
        ):
            call = expect.build(ground, "in")
            unsafe = call.method != "GET"
            api_route = call.url.startswith("/api/")
            headers = (
                browser_csrf if who == "anonymous" and unsafe and not api_route else credentials
            )
            response = send(api, call, headers)
            got = outcome(response)
            want = "ok" if expect.kind == "public" else ("401" if api_route else "login")
            if got != want:
                mismatches.append(
                    f"{key} as {who}: expected {want}, got {got} "
                    f"({response.status_code} {response.text[:120]!r})"
                )
            elif got == "401":
                error = response.json()["error"]
                if error["code"] != "not_authenticated" or "Bearer" not in response.headers.get(
                    "www-authenticate", ""
                ):
                    mismatches.append(f"{key} as {who}: 401 without the error shape or challenge")
            if unsafe and changes_recorded(ground.platform, response.headers["x-request-id"]):
                mismatches.append(f"{key} as {who}: a change was recorded")
    assert not mismatches, "\n".join(mismatches)
