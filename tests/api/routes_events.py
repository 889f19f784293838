"""Permission-matrix expectations for plate reads, rule events and hotlists (issues 4, 5).

Same vocabulary as ``test_permission_matrix.py`` (see ``tests/api/matrix.py``):
one ``Expect`` per ``METHOD /path``, written by hand, never derived from the roles.
Plate reads and rule events belong to the district of the camera that saw them;
hotlist entries are province-wide, so scope does not pick them ("single").
"""

from __future__ import annotations

from safecity.identity.system import system_principal
from tests.api.matrix import (
    CHANGE_HOTLISTS,
    EXPORT_PLATES,
    SEARCH_PLATES,
    SEE_ANALYTICS,
    SEE_HOTLISTS,
    Call,
    Expect,
    Ground,
    Scope,
    get,
)
from tests.events.helpers import (
    plate_read,
    rule_event,
    snapshot_file,
    store_event,
    store_read,
    with_images,
)

PURPOSE = "purpose=matrix+check"
FRESH = {"If-Match": '"1"'}  # the version of an entry just listed


def _camera_code(g: Ground, s: Scope) -> str:
    wanted = g.camera(s)
    return next(code for code, camera_id in g.world.cameras.items() if camera_id == wanted)


def _read(g: Ground, s: Scope) -> int:
    """A fresh read, with images, of the in-scope camera or of the one the role must not see."""
    return store_read(
        g.platform, with_images(g.platform, plate_read(_camera_code(g, s), "LEB3656"))
    )


def _event(g: Ground, s: Scope) -> int:
    code = _camera_code(g, s)
    snapshot = snapshot_file(g.platform, code, g.unique("snapshot"))
    return store_event(g.platform, rule_event(code, "zone_intrusion", snapshot=snapshot))


def _plate(g: Ground) -> str:
    return "MX" + g.unique("").strip("-").rjust(6, "0")


def _entry(g: Ground) -> int:
    from safecity.events.schemas import HotlistEntryCreate

    data = HotlistEntryCreate(
        plate=_plate(g), category="wanted", reason="matrix", source_agency="matrix"
    )
    with g.platform.transaction() as session:
        return g.platform.hotlists.create(session, system_principal("matrix"), data).id


def _removed_entry(g: Ground) -> int:
    """An entry taken off the list: at version 2."""
    from safecity.events.schemas import HotlistEntryRemove

    entry_id = _entry(g)
    with g.platform.transaction() as session:
        g.platform.hotlists.deactivate(
            session,
            system_principal("matrix"),
            entry_id,
            HotlistEntryRemove(reason="matrix"),
            expected_version=1,
        )
    return entry_id


def _entry_body(g: Ground) -> dict[str, object]:
    return {"plate": _plate(g), "category": "stolen", "reason": "matrix", "source_agency": "ITP"}


def _csv(g: Ground) -> dict[str, tuple[str, bytes, str]]:
    body = f"plate,category,reason,source_agency\n{_plate(g)},stolen,matrix,ITP\n".encode()
    return {"file": ("hotlist.csv", body, "text/csv")}


def _entry_form(g: Ground) -> dict[str, object]:
    return {**_entry_body(g), "priority": "2", "expires_at": "", "owner": ""}


ROUTES: dict[str, Expect] = {
    # -- JSON API: plate reads (personal data: purpose stated, every search audited) ---------
    "GET /api/v1/plates": Expect(
        SEARCH_PLATES, "single", get(f"/api/v1/plates?plate=LE*&{PURPOSE}&limit=1000")
    ),
    # Scope narrows the reads exported; a Bannu read never leaves (checked in the answer).
    "GET /api/v1/plates/export.csv": Expect(
        EXPORT_PLATES, "single", get(f"/api/v1/plates/export.csv?plate=LE*&{PURPOSE}")
    ),
    "GET /api/v1/plates/{read_id}": Expect(
        SEARCH_PLATES, "object", lambda g, s: Call("GET", f"/api/v1/plates/{_read(g, s)}")
    ),
    # The answers are the images themselves; an out-of-scope read's images are 404 above.
    "GET /api/v1/plates/{read_id}/crop": Expect(
        SEARCH_PLATES,
        "object",
        lambda g, s: Call("GET", f"/api/v1/plates/{_read(g, s)}/crop?{PURPOSE}"),
        leak_checked=False,
    ),
    "GET /api/v1/plates/{read_id}/vehicle": Expect(
        SEARCH_PLATES,
        "object",
        lambda g, s: Call("GET", f"/api/v1/plates/{_read(g, s)}/vehicle?{PURPOSE}"),
        leak_checked=False,
    ),
    # -- JSON API: rule events ----------------------------------------------------------------
    "GET /api/v1/events": Expect(SEE_ANALYTICS, "single", get("/api/v1/events?limit=1000")),
    "GET /api/v1/events/{event_id}": Expect(
        SEE_ANALYTICS, "object", lambda g, s: Call("GET", f"/api/v1/events/{_event(g, s)}")
    ),
    "GET /api/v1/events/{event_id}/snapshot": Expect(
        SEE_ANALYTICS,
        "object",
        lambda g, s: Call("GET", f"/api/v1/events/{_event(g, s)}/snapshot"),
        leak_checked=False,
    ),
    # -- JSON API: hotlists (province-wide) ---------------------------------------------------
    "GET /api/v1/hotlists/entries": Expect(
        SEE_HOTLISTS, "single", get("/api/v1/hotlists/entries?limit=1000")
    ),
    "POST /api/v1/hotlists/entries": Expect(
        CHANGE_HOTLISTS,
        "single",
        lambda g, s: Call("POST", "/api/v1/hotlists/entries", json=_entry_body(g)),
    ),
    "GET /api/v1/hotlists/entries/{entry_id}": Expect(
        SEE_HOTLISTS, "single", lambda g, s: Call("GET", f"/api/v1/hotlists/entries/{_entry(g)}")
    ),
    "PATCH /api/v1/hotlists/entries/{entry_id}": Expect(
        CHANGE_HOTLISTS,
        "single",
        lambda g, s: Call(
            "PATCH",
            f"/api/v1/hotlists/entries/{_entry(g)}",
            json={"priority": 1},
            headers=FRESH,
        ),
    ),
    "DELETE /api/v1/hotlists/entries/{entry_id}": Expect(
        CHANGE_HOTLISTS,
        "single",
        lambda g, s: Call(
            "DELETE",
            f"/api/v1/hotlists/entries/{_entry(g)}",
            json={"reason": "matrix"},
            headers=FRESH,
        ),
    ),
    "POST /api/v1/hotlists/import": Expect(
        CHANGE_HOTLISTS,
        "single",
        lambda g, s: Call("POST", "/api/v1/hotlists/import", files=_csv(g)),
    ),
    "GET /api/v1/hotlists/export.csv": Expect(
        SEE_HOTLISTS, "single", get("/api/v1/hotlists/export.csv")
    ),
    # -- pages ----------------------------------------------------------------------------------
    "GET /plates": Expect(SEARCH_PLATES, "single", get(f"/plates?plate=LEB3656&{PURPOSE}")),
    "GET /plates/{read_id}": Expect(
        SEARCH_PLATES, "object", lambda g, s: Call("GET", f"/plates/{_read(g, s)}?{PURPOSE}")
    ),
    "GET /events": Expect(SEE_ANALYTICS, "single", get("/events")),
    "GET /events/{event_id}": Expect(
        SEE_ANALYTICS, "object", lambda g, s: Call("GET", f"/events/{_event(g, s)}")
    ),
    "GET /hotlists": Expect(SEE_HOTLISTS, "single", get("/hotlists")),
    "GET /hotlists/new": Expect(CHANGE_HOTLISTS, "single", get("/hotlists/new")),
    "POST /hotlists/new": Expect(
        CHANGE_HOTLISTS, "single", lambda g, s: Call("POST", "/hotlists/new", data=_entry_form(g))
    ),
    "GET /hotlists/{entry_id}/edit": Expect(
        CHANGE_HOTLISTS, "single", lambda g, s: Call("GET", f"/hotlists/{_entry(g)}/edit")
    ),
    "POST /hotlists/{entry_id}/edit": Expect(
        CHANGE_HOTLISTS,
        "single",
        lambda g, s: Call(
            "POST", f"/hotlists/{_entry(g)}/edit", data={**_entry_form(g), "version": "1"}
        ),
    ),
    "GET /hotlists/{entry_id}/deactivate": Expect(
        CHANGE_HOTLISTS, "single", lambda g, s: Call("GET", f"/hotlists/{_entry(g)}/deactivate")
    ),
    "POST /hotlists/{entry_id}/deactivate": Expect(
        CHANGE_HOTLISTS,
        "single",
        lambda g, s: Call(
            "POST",
            f"/hotlists/{_entry(g)}/deactivate",
            data={"reason": "matrix", "confirm": "yes", "version": "1"},
        ),
    ),
    "GET /hotlists/{entry_id}/relist": Expect(
        CHANGE_HOTLISTS,
        "single",
        lambda g, s: Call("GET", f"/hotlists/{_removed_entry(g)}/relist"),
    ),
    "POST /hotlists/{entry_id}/relist": Expect(
        CHANGE_HOTLISTS,
        "single",
        lambda g, s: Call(
            "POST",
            f"/hotlists/{_removed_entry(g)}/relist",
            data={"reason": "matrix", "confirm": "yes", "version": "2"},
        ),
    ),
    "GET /hotlists/import": Expect(CHANGE_HOTLISTS, "single", get("/hotlists/import")),
    "POST /hotlists/import": Expect(
        CHANGE_HOTLISTS, "single", lambda g, s: Call("POST", "/hotlists/import", files=_csv(g))
    ),
}
