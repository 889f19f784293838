"""The permission matrix's vocabulary: roles, who-may sets, requests, the world they act on.

Shared by ``test_permission_matrix.py`` and the per-domain route tables
(``routes_<domain>.py``), so each domain writes down its own routes' expectations
without editing one long file.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from safecity.contracts.ingest import SegmentClosed
from safecity.core.clock import utcnow
from safecity.identity.models import User, UserCamera
from safecity.identity.system import system_principal
from safecity.recordings.schemas import LegalHoldCreate
from safecity.registry.schemas import CameraCreate
from safecity.web.platform import Platform
from tests.factories import World, record_segment

Scope = Literal["in", "out"]
Kind = Literal["object", "create", "single", "public"]

ROLES = (
    "operator",
    "supervisor",
    "call_taker",
    "field_unit",
    "traffic_officer",
    "investigator",
    "engineer",
    "auditor",
    "admin",
    "camera_owner",
    "site_gateway",
)

EVERYONE = frozenset(ROLES)
# A site gateway is a device account: it reports telemetry and sees nothing.
SEE_DISTRICTS = EVERYONE - {"camera_owner", "site_gateway"}
SEE_SITES = SEE_DISTRICTS - {"field_unit"}
SEE_CAMERAS = frozenset(
    {
        "operator",
        "supervisor",
        "traffic_officer",
        "investigator",
        "engineer",
        "auditor",
        "admin",
        "camera_owner",
    }
)
CHANGE_SITES = frozenset({"engineer", "admin"})
CHANGE_CAMERAS = frozenset({"engineer", "admin", "camera_owner"})
# A camera owner edits the cameras it was given but cannot place new ones: sites are
# not in its view, and a new camera would fall outside its own scope at once.
PLACE_CAMERAS = frozenset({"engineer", "admin"})
IMPORT_CAMERAS = frozenset({"engineer", "admin"})
EXPORT_CAMERAS = frozenset({"investigator", "engineer", "admin"})
SEE_USERS = frozenset({"supervisor", "auditor", "admin"})
MANAGE_USERS = frozenset({"admin"})
SEE_AUDIT = frozenset({"auditor", "admin"})
EXPORT_AUDIT = frozenset({"auditor"})
REPORT_POWER = frozenset({"site_gateway"})
EXPORT_FOOTAGE = frozenset({"investigator", "admin"})
HOLD_FOOTAGE = frozenset({"supervisor", "investigator", "admin"})
WATCH_FOOTAGE = frozenset(
    {"operator", "supervisor", "traffic_officer", "investigator", "engineer", "admin"}
)

# Audit actions that record a change: a refused request must leave none of them.
CHANGE_ACTIONS = (
    "create",
    "update",
    "delete",
    "roles_change",
    "scope_change",
    "password_reset",
    "token_revoke",
)
# Anything naming Bannu's objects in an answer to a Peshawar user is a leak; for the
# camera owner, so is its neighbour camera PSH-TC2 (same district, not granted).
LEAK = re.compile(r"bannu|bnu-", re.IGNORECASE)
OWNER_LEAK = re.compile(r"bannu|bnu-|psh-tc2", re.IGNORECASE)
NEW_PASSWORD = "Another-Horse-43"


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    json: Any = None
    data: dict[str, Any] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    # Sent with the role's own headers (If-Match, for routes that require it).
    headers: dict[str, str] | None = None
    # The caller itself named an out-of-scope object; an error echoing that name is no leak.
    names_bannu: bool = False


@dataclass
class Ground:
    """The world plus the matrix's users, and makers of fresh objects for each request."""

    platform: Platform
    world: World
    tokens: dict[str, str]
    user_ids: dict[str, int]
    targets: dict[Scope, int]
    counter: Iterator[int] = field(default_factory=itertools.count)
    acting: str = ""  # the role the next request is sent as
    segments: dict[str, int] = field(default_factory=dict)
    clips: set[str] = field(default_factory=set)
    onvif: tuple[str, int] = ("127.0.0.1", 9)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self.counter)}"

    def unique_time(self) -> str:
        """A distinct recent sample time: the same time twice is a resend, stored once."""
        return (utcnow() - timedelta(seconds=next(self.counter))).isoformat()

    def segment(self, scope: Scope) -> int:
        """A recording of the in-scope camera, or of the camera the role must not see."""
        code = "PSH-TC1" if scope == "in" else self._camera_code("out")
        existing = self.segments.get(code)
        if existing is None:
            existing = self.segments[code] = index_fake_segment(self.platform, code)
        return existing

    def fresh_hold(self, scope: Scope) -> int:
        """A new hold on the in-scope camera, or on the one the role must not reach."""
        code = "PSH-TC1" if scope == "in" else self._camera_code("out")
        with self.platform.transaction() as session:
            hold = self.platform.recordings.place_hold(
                session,
                system_principal("matrix"),
                self.world.cameras[code],
                LegalHoldCreate.model_validate(hold_body()),
            )
            return hold.id

    def clip_camera(self, scope: Scope) -> int:
        """A camera with a real, joinable recording (the clip is remuxed, not just served)."""
        code = "PSH-TC1" if scope == "in" else self._camera_code("out")
        if code not in self.clips:
            self.clips.add(code)
            record_segment(self.platform, code, name="matrix-real")
        return self.world.cameras[code]

    def _camera_code(self, scope: Scope) -> str:
        return {v: k for k, v in self.world.cameras.items()}[self.camera(scope)]

    def camera(self, scope: Scope) -> int:
        if scope == "in":
            return self.world.cameras["PSH-TC1"]
        # The camera owner's sharpest test is the camera next to its own, not another district.
        return self.world.cameras["PSH-TC2" if self.acting == "camera_owner" else "BNU-TC1"]

    def site(self, scope: Scope) -> int:
        return self.world.sites["PSH-T1" if scope == "in" else "BNU-T1"]

    def fresh_camera(self, scope: Scope) -> int:
        """A camera to delete; in scope it is also handed to the camera owner."""
        if scope == "out":
            return self.camera("out")
        code = self.unique("PSH-DEL")
        with self.platform.transaction() as session:
            camera = self.platform.registry.create_camera(
                session,
                system_principal("tests"),
                CameraCreate(code=code, site="PSH-T1", name=f"Camera {code}"),
            )
            session.add(UserCamera(user_id=self.user_ids["camera_owner"], camera_id=camera.id))
            return camera.id

    def fresh_token(self, scope: Scope) -> int:
        """A live API token of the target user (revoking twice would not be a change)."""
        with self.platform.transaction() as session:
            user = session.get(User, self.targets[scope])
            assert user is not None
            row, _ = self.platform.identity.create_token(
                session, system_principal("tests").audit, user=user, name="target"
            )
            return row.id


Build = Callable[[Ground, Scope], Call]


@dataclass(frozen=True)
class Expect:
    """Who may use a route, and how scope applies to it.

    ``object``: the path names an object; out of scope answers ``out_of_scope`` (404).
    ``create``: the body names where the new object goes; out of scope answers
    ``out_of_scope`` and creates nothing. ``single``: scope does not pick the object
    (lists, the caller's own account); one request per role, and a successful answer
    must not mention Bannu. ``public``: anyone, signed in or not.
    """

    allowed: frozenset[str]
    kind: Kind
    build: Build
    out_of_scope: str = "404"
    # False only where a successful answer may still name Bannu, each with the reason.
    leak_checked: bool = True
    # False where an allowed change is deliberately not an audited change (measurements).
    audited_change: bool = True


def get(url: str) -> Build:
    return lambda g, s: Call("GET", url)


# Issue 4 and 5 capabilities (identity.permissions.DEFAULT_ROLES), decided here by hand.
SEE_ANALYTICS = frozenset(
    {"operator", "supervisor", "traffic_officer", "investigator", "engineer", "admin"}
)
CONFIGURE_ANALYTICS = frozenset({"engineer", "admin"})
SEARCH_PLATES = frozenset({"operator", "supervisor", "traffic_officer", "investigator", "admin"})
EXPORT_PLATES = frozenset({"investigator", "admin"})
SEE_HOTLISTS = frozenset(
    {"operator", "supervisor", "traffic_officer", "investigator", "auditor", "admin"}
)
CHANGE_HOTLISTS = frozenset({"supervisor", "investigator", "admin"})
SEE_ALERTS = frozenset({"operator", "supervisor", "investigator", "admin"})
HANDLE_ALERTS = frozenset({"operator", "supervisor", "admin"})
SEE_INCIDENTS = frozenset({"operator", "supervisor", "call_taker", "investigator", "admin"})
CREATE_INCIDENTS = frozenset({"operator", "supervisor", "call_taker", "admin"})
DISPATCH = frozenset({"operator", "supervisor", "admin"})
SEE_UNITS = frozenset({"operator", "supervisor", "call_taker", "admin"})
CHANGE_UNITS = frozenset({"supervisor", "admin"})
REPORT_UNIT = frozenset({"field_unit", "admin"})
SEE_KPIS = frozenset({"supervisor", "auditor", "admin"})


def index_fake_segment(platform: Platform, code: str) -> int:
    """An indexed recording (its bytes are served, not decoded, so a few will do)."""
    relative = f"{code}/matrix.mp4"
    path = platform.settings.media_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"matrix recording")
    start = utcnow() - timedelta(minutes=30)
    message = SegmentClosed(
        camera_id=code,
        path=relative,
        started_at=start,
        ended_at=start + timedelta(seconds=10),
        duration_seconds=10,
        size_bytes=16,
        sha256="1" * 64,
        codec="h264",
        width=640,
        height=360,
        frames=100,
        key_frames=5,
    )
    with platform.transaction() as session:
        segment = platform.recordings.index_segment(session, message)
        assert segment is not None
        return segment.id


def hold_body() -> dict[str, str]:
    now = utcnow()
    return {
        "starts_at": (now - timedelta(hours=2)).isoformat(),
        "ends_at": (now - timedelta(hours=1)).isoformat(),
        "case_reference": "FIR 1/2026",
        "reason": "matrix",
    }


def recent_window() -> str:
    now = utcnow()
    return f"since={(now - timedelta(hours=1)).isoformat()}&until={now.isoformat()}".replace(
        "+", "%2B"
    )
