"""Permission-matrix expectations for analytics events, zones and lines (issue 4).

Same vocabulary as ``test_permission_matrix.py`` (see ``tests/api/matrix.py``):
one ``Expect`` per ``METHOD /path``, written by hand, never derived from the roles.
"""

from __future__ import annotations

from typing import Any

from safecity.registry.analytics_models import CameraAnalytics
from tests.api.matrix import (
    CONFIGURE_ANALYTICS,
    SEE_ANALYTICS,
    WATCH_FOOTAGE,
    Call,
    Expect,
    Ground,
    Scope,
)


def analytics_body(g: Ground) -> dict[str, Any]:
    """A whole configuration with a fresh zone name, so every accepted PUT is a change."""
    zone = g.unique("zone")
    return {
        "enabled": True,
        "analysed_fps": 5,
        "zones": [{"name": zone, "points": [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]}],
        "lines": [{"name": "stop", "start": [0, 0.5], "end": [1, 0.5]}],
        "rules": [
            {"kind": "zone_intrusion", "name": "entry", "zone": zone},
            {"kind": "line_crossing", "name": "count", "line": "stop"},
        ],
    }


def put_analytics(g: Ground, s: Scope) -> Call:
    """A change that names the version stored now (If-Match is required: 428 without)."""
    camera = g.camera(s)
    with g.platform.sessions() as session:
        row = session.get(CameraAnalytics, camera)
        version = row.version if row is not None else 0
    return Call(
        "PUT",
        f"/api/v1/cameras/{camera}/analytics",
        json=analytics_body(g),
        headers={"If-Match": f'"{version}"'},
    )


ROUTES: dict[str, Expect] = {
    "GET /api/v1/cameras/{camera_id}/analytics": Expect(
        SEE_ANALYTICS,
        "object",
        lambda g, s: Call("GET", f"/api/v1/cameras/{g.camera(s)}/analytics"),
    ),
    "PUT /api/v1/cameras/{camera_id}/analytics": Expect(
        CONFIGURE_ANALYTICS, "object", put_analytics
    ),
    # A picture of the camera is footage: the same people who may play recordings.
    "GET /api/v1/cameras/{camera_id}/snapshot": Expect(
        WATCH_FOOTAGE,
        "object",
        lambda g, s: Call("GET", f"/api/v1/cameras/{g.clip_camera(s)}/snapshot"),
    ),
    "GET /cameras/{camera_id}/analytics": Expect(
        SEE_ANALYTICS,
        "object",
        lambda g, s: Call("GET", f"/cameras/{g.camera(s)}/analytics"),
    ),
}
