"""Permission-matrix expectations for alerts and the operator console (issue 5).

Same vocabulary as ``test_permission_matrix.py`` (see ``tests/api/matrix.py``):
one ``Expect`` per ``METHOD /path``, written by hand, never derived from the roles.
"""

from __future__ import annotations

import uuid
from typing import Any

from safecity.contracts.alerts import AlertRaised
from safecity.core.clock import utcnow
from safecity.web.platform import Platform
from tests.api.matrix import (
    HANDLE_ALERTS,
    SEE_ALERTS,
    Build,
    Call,
    Expect,
    Ground,
    Scope,
    get,
)


def snapshot_jpeg() -> bytes:
    """A small real JPEG (a grey scene with a white box), as a worker would write it."""
    import cv2
    import numpy as np

    image = np.full((90, 160, 3), 90, dtype=np.uint8)
    image[30:60, 60:100] = 255
    ok, data = cv2.imencode(".jpg", image)
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    return bytes(data.tobytes())


def alert_message(camera: str, **fields: Any) -> AlertRaised:
    """A hotlist hit at ``camera``; ``fields`` override any part of the message."""
    values: dict[str, Any] = {
        "source": "hotlist",
        "kind": "hotlist.stolen",
        "priority": 2,
        "title": f"Stolen vehicle seen at {camera}",
        "detail": "Listed stolen (FIR 77/2026)",
        "at": utcnow(),
        "camera_id": camera,
        "correlation_key": f"test:{uuid.uuid4().hex}",
        "plate_text": "LEB3656",
    }
    values.update(fields)
    return AlertRaised(**values)


def raise_alert(platform: Platform, camera: str, *, snapshot: bool = True, **fields: Any) -> int:
    """An alert stored as the bus consumer stores it (with a snapshot on disk); its id."""
    if snapshot:
        relative = f"alerts/{uuid.uuid4().hex}.jpg"
        path = platform.settings.media_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(snapshot_jpeg())
        fields.setdefault("snapshot", relative)
    with platform.transaction() as session:
        ingested = platform.alerts.ingest(session, alert_message(camera, **fields))
    if ingested is None:
        raise RuntimeError(f"the alert for {camera} was not stored")
    return ingested.alert.id


def confirm_alert(platform: Platform, alert_id: int) -> None:
    """An operator confirmed the plate match of a hotlist hit: field action may follow."""
    from safecity.identity.system import system_principal

    with platform.transaction() as session:
        platform.alerts.confirm_match(session, system_principal("tests"), alert_id)


def _camera_code(s: Scope) -> str:
    return "PSH-TC1" if s == "in" else "BNU-TC1"


def _alert(g: Ground, s: Scope) -> int:
    return raise_alert(g.platform, _camera_code(s))


def _act(action: str, body: dict[str, Any] | None = None) -> Build:
    """A fresh alert for every request: acting twice on one would be a 409, not a test."""

    def build(g: Ground, s: Scope) -> Call:
        return Call("POST", f"/api/v1/alerts/{_alert(g, s)}/{action}", json=body)

    return build


ROUTES: dict[str, Expect] = {
    "GET /api/v1/alerts": Expect(SEE_ALERTS, "single", get("/api/v1/alerts")),
    "GET /api/v1/alerts/dismiss-reasons": Expect(
        SEE_ALERTS, "single", get("/api/v1/alerts/dismiss-reasons")
    ),
    "GET /api/v1/alerts/{alert_id}": Expect(
        SEE_ALERTS, "object", lambda g, s: Call("GET", f"/api/v1/alerts/{_alert(g, s)}")
    ),
    "GET /api/v1/alerts/{alert_id}/snapshot": Expect(
        SEE_ALERTS,
        "object",
        lambda g, s: Call("GET", f"/api/v1/alerts/{_alert(g, s)}/snapshot"),
    ),
    "POST /api/v1/alerts/{alert_id}/acknowledge": Expect(
        HANDLE_ALERTS, "object", _act("acknowledge")
    ),
    "POST /api/v1/alerts/{alert_id}/escalate": Expect(
        HANDLE_ALERTS, "object", _act("escalate", {"note": "needs a supervisor"})
    ),
    "POST /api/v1/alerts/{alert_id}/dismiss": Expect(
        HANDLE_ALERTS, "object", _act("dismiss", {"reason": "false_alarm"})
    ),
    "POST /api/v1/alerts/{alert_id}/confirm-match": Expect(
        HANDLE_ALERTS, "object", _act("confirm-match")
    ),
    "POST /api/v1/alerts/{alert_id}/reject-match": Expect(
        HANDLE_ALERTS, "object", _act("reject-match", {"note": "reads LE81234"})
    ),
    "GET /console": Expect(SEE_ALERTS, "single", get("/console")),
}
