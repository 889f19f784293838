"""Permission-matrix expectations for recording and legal-hold pages (issue 3).

Same vocabulary as ``test_permission_matrix.py`` (see ``tests/api/matrix.py``):
one ``Expect`` per ``METHOD /path``, written by hand, never derived from the roles.
"""

from __future__ import annotations

from tests.api.matrix import HOLD_FOOTAGE, WATCH_FOOTAGE, Call, Expect, Ground, Scope, get


def _hold_form(g: Ground, scope: Scope) -> Call:
    return Call(
        "POST",
        f"/cameras/{g.camera(scope)}/holds",
        data={
            "starts_at": "2026-11-20T10:00",
            "ends_at": "2026-11-20T12:00",
            "case_reference": g.unique("FIR"),
            "reason": "matrix: footage of a robbery",
        },
    )


def _release_form(g: Ground, scope: Scope) -> Call:
    return Call("POST", f"/holds/{g.fresh_hold(scope)}/release", data={"confirm": "yes"})


ROUTES: dict[str, Expect] = {
    # Holds in scope, released ones too (a released hold on a Bannu camera must not show).
    "GET /holds": Expect(WATCH_FOOTAGE, "single", get("/holds?released=true")),
    "POST /cameras/{camera_id}/holds": Expect(HOLD_FOOTAGE, "object", _hold_form),
    "POST /holds/{hold_id}/release": Expect(HOLD_FOOTAGE, "object", _release_form),
}
