"""Permission-matrix expectations for incidents, units, dispatch, field units and KPIs (issue 5).

Same vocabulary as ``test_permission_matrix.py`` (see ``tests/api/matrix.py``):
one ``Expect`` per ``METHOD /path``, written by hand, never derived from the roles.
In scope is Peshawar, out of scope Bannu. The matrix's field-unit account reports for
its own Peshawar unit; an administrator (``units.change`` with ``units.report``) may
report for any unit of its districts; nobody reports for a Bannu unit from Peshawar.
"""

from __future__ import annotations

from safecity.command.incidents_models import Incident
from safecity.command.incidents_schemas import IncidentCreate
from safecity.command.units_models import Dispatch, Unit
from safecity.command.units_schemas import UnitCreate
from safecity.core.clock import utcnow
from safecity.identity.system import system_principal
from safecity.web.platform import Platform
from tests.api.matrix import (
    CHANGE_UNITS,
    CREATE_INCIDENTS,
    DISPATCH,
    HANDLE_ALERTS,
    REPORT_UNIT,
    SEE_INCIDENTS,
    SEE_KPIS,
    SEE_UNITS,
    Call,
    Expect,
    Ground,
    Scope,
    get,
)
from tests.api.routes_command import confirm_alert, raise_alert

PLACES = {"in": ("peshawar", 34.00, 71.54), "out": ("bannu", 32.98, 70.60)}


def fresh_incident(platform: Platform, district: str = "peshawar", type_: str = "robbery") -> int:
    lat, lon = (34.0, 71.54) if district == "peshawar" else (32.98, 70.6)
    with platform.transaction() as session:
        incident = platform.incidents.create(
            session,
            system_principal("tests"),
            IncidentCreate(
                district=district, type=type_, latitude=lat, longitude=lon, landmark="matrix"
            ),
        )
        return incident.id


def fresh_unit(
    platform: Platform, callsign: str, district: str = "peshawar", username: str | None = None
) -> int:
    lat, lon = (34.001, 71.541) if district == "peshawar" else (32.981, 70.601)
    with platform.transaction() as session:
        unit = platform.units.create(
            session,
            system_principal("tests"),
            UnitCreate(
                callsign=callsign, kind="police_mobile", district=district, username=username
            ),
        )
        unit.latitude, unit.longitude, unit.position_at = lat, lon, utcnow()
        return unit.id


def unit_at_alert_incident(platform: Platform, callsign: str) -> int:
    """A Peshawar unit dispatched to an incident opened from an alert with a snapshot
    (what the field page's snapshot route serves)."""
    unit_id = fresh_unit(platform, callsign)
    alert = raise_alert(platform, "PSH-TC1")
    incident_id = fresh_incident(platform)
    with platform.transaction() as session:
        unit = session.get(Unit, unit_id)
        incident = session.get(Incident, incident_id)
        assert unit is not None
        assert incident is not None
        incident.alert_id = alert
        unit.incident_id, unit.status = incident_id, "dispatched"
        session.add(
            Dispatch(
                incident_id=incident_id,
                unit_id=unit_id,
                dispatched_at=utcnow(),
                dispatched_by="tests",
                followed_recommendation=True,
            )
        )
    return unit_id


def _incident(g: Ground, s: Scope) -> int:
    return fresh_incident(g.platform, PLACES[s][0])


def _unit(g: Ground, s: Scope) -> int:
    """The matrix field unit's own unit in scope; a Bannu unit out of scope (made once)."""
    key = f"unit-{s}"
    if key not in g.segments:
        if s == "in":
            g.segments[key] = fresh_unit(g.platform, "PSH-MX", username="matrix-field_unit")
        else:
            g.segments[key] = fresh_unit(g.platform, "OUT-MX", district="bannu")
    return g.segments[key]


def _free(g: Ground, s: Scope) -> int:
    """The unit, released from any incident (a status report starts from 'available')."""
    unit_id = _unit(g, s)
    with g.platform.transaction() as session:
        unit = session.get(Unit, unit_id)
        assert unit is not None
        unit.incident_id, unit.status = None, "available_mobile"
    return unit_id


def _assigned(g: Ground, s: Scope) -> int:
    """The unit, dispatched to an open incident of its district (something to acknowledge)."""
    unit_id = _free(g, s)
    incident_id = _incident(g, s)
    with g.platform.transaction() as session:
        unit = session.get(Unit, unit_id)
        assert unit is not None
        unit.incident_id, unit.status = incident_id, "dispatched"
        session.add(
            Dispatch(
                incident_id=incident_id,
                unit_id=unit_id,
                dispatched_at=utcnow(),
                dispatched_by="matrix",
                followed_recommendation=True,
            )
        )
    return unit_id


def _dispatch(g: Ground, s: Scope) -> Call:
    incident = _incident(g, s)
    unit = fresh_unit(g.platform, g.unique("PSH-D"))
    return Call("POST", f"/api/v1/incidents/{incident}/dispatch", json={"unit_id": unit})


def _create_incident(g: Ground, s: Scope) -> Call:
    district, lat, lon = PLACES[s]
    body = {"district": district, "type": "robbery", "latitude": lat, "longitude": lon}
    return Call("POST", "/api/v1/incidents", json=body, names_bannu=s == "out")


def _create_unit(g: Ground, s: Scope) -> Call:
    body = {"callsign": g.unique("PSH-NEWU"), "kind": "ambulance", "district": PLACES[s][0]}
    return Call("POST", "/api/v1/units", json=body, names_bannu=s == "out")


def _from_alert(g: Ground, s: Scope) -> Call:
    alert = raise_alert(g.platform, "PSH-TC1" if s == "in" else "BNU-TC1")
    confirm_alert(g.platform, alert)  # a hotlist hit: no field action before it
    return Call("POST", f"/api/v1/alerts/{alert}/incident", json={"type": "suspicious"})


def _assigned_from_alert(g: Ground, s: Scope) -> int:
    """The unit, dispatched to an incident opened from an alert with a snapshot."""
    unit_id = _assigned(g, s)
    alert = raise_alert(g.platform, "PSH-TC1" if s == "in" else "BNU-TC1")
    with g.platform.transaction() as session:
        unit = session.get(Unit, unit_id)
        assert unit is not None
        incident = session.get(Incident, unit.incident_id)
        assert incident is not None
        incident.alert_id = alert
    return unit_id


def _page_call(g: Ground, s: Scope) -> Call:
    district, lat, lon = PLACES[s]
    form = {
        "district": district,
        "type": "theft",
        "latitude": str(lat),
        "longitude": str(lon),
        "caller_number": "0300-7654321",
        "landmark": "",
        "narrative": "matrix call",
    }
    return Call("POST", "/incidents", data=form, names_bannu=s == "out")


def _page_dispatch(g: Ground, s: Scope) -> Call:
    incident = _incident(g, s)
    unit = fresh_unit(g.platform, g.unique("PSH-P"))
    return Call("POST", f"/incidents/{incident}/dispatch", data={"unit_id": str(unit)})


ROUTES: dict[str, Expect] = {
    # -- incidents -------------------------------------------------------------------------
    "GET /api/v1/incidents": Expect(SEE_INCIDENTS, "single", get("/api/v1/incidents?limit=1000")),
    # Out of scope: the district is refused as invalid input, as an unknown one would be.
    "POST /api/v1/incidents": Expect(
        CREATE_INCIDENTS, "create", _create_incident, out_of_scope="422"
    ),
    "GET /api/v1/incidents/{incident_id}": Expect(
        SEE_INCIDENTS, "object", lambda g, s: Call("GET", f"/api/v1/incidents/{_incident(g, s)}")
    ),
    "GET /api/v1/incidents/{incident_id}/recommendations": Expect(
        DISPATCH,
        "object",
        lambda g, s: Call("GET", f"/api/v1/incidents/{_incident(g, s)}/recommendations"),
    ),
    "POST /api/v1/incidents/{incident_id}/dispatch": Expect(DISPATCH, "object", _dispatch),
    "POST /api/v1/incidents/{incident_id}/status": Expect(
        DISPATCH,
        "object",
        lambda g, s: Call(
            "POST", f"/api/v1/incidents/{_incident(g, s)}/status", json={"status": "hoax"}
        ),
    ),
    "POST /api/v1/incidents/{incident_id}/referral": Expect(
        DISPATCH,
        "object",
        lambda g, s: Call(
            "POST",
            f"/api/v1/incidents/{_incident(g, s)}/referral",
            json={"agency": "rescue-1122", "type": "medical"},
        ),
    ),
    # Opening an incident from an alert handles the alert: both permissions are needed.
    "POST /api/v1/alerts/{alert_id}/incident": Expect(
        HANDLE_ALERTS & CREATE_INCIDENTS, "object", _from_alert
    ),
    # -- units -----------------------------------------------------------------------------
    "GET /api/v1/units": Expect(SEE_UNITS, "single", get("/api/v1/units?limit=1000")),
    "POST /api/v1/units": Expect(CHANGE_UNITS, "create", _create_unit, out_of_scope="422"),
    "GET /api/v1/units/{unit_id}": Expect(
        SEE_UNITS, "object", lambda g, s: Call("GET", f"/api/v1/units/{_unit(g, s)}")
    ),
    "PATCH /api/v1/units/{unit_id}": Expect(
        CHANGE_UNITS,
        "object",
        lambda g, s: Call(
            "PATCH",
            f"/api/v1/units/{_unit(g, s)}",
            json={"capabilities": ["patrol", g.unique("cap")]},
        ),
    ),
    "GET /api/v1/units/{unit_id}/track": Expect(
        SEE_UNITS, "object", lambda g, s: Call("GET", f"/api/v1/units/{_unit(g, s)}/track")
    ),
    # GPS fixes are measurements, like site telemetry: stored, not audited as changes.
    "POST /api/v1/units/{unit_id}/positions": Expect(
        REPORT_UNIT,
        "object",
        lambda g, s: Call(
            "POST",
            f"/api/v1/units/{_unit(g, s)}/positions",
            json={"recorded_at": g.unique_time(), "latitude": 34.002, "longitude": 71.542},
        ),
        audited_change=False,
    ),
    "POST /api/v1/units/{unit_id}/positions/batch": Expect(
        REPORT_UNIT,
        "object",
        lambda g, s: Call(
            "POST",
            f"/api/v1/units/{_unit(g, s)}/positions/batch",
            json={
                "fixes": [{"recorded_at": g.unique_time(), "latitude": 34.002, "longitude": 71.542}]
            },
        ),
        audited_change=False,
    ),
    "POST /api/v1/units/{unit_id}/status": Expect(
        REPORT_UNIT,
        "object",
        lambda g, s: Call(
            "POST", f"/api/v1/units/{_free(g, s)}/status", json={"status": "available_mobile"}
        ),
    ),
    "POST /api/v1/units/{unit_id}/acknowledge": Expect(
        REPORT_UNIT,
        "object",
        lambda g, s: Call("POST", f"/api/v1/units/{_assigned(g, s)}/acknowledge"),
    ),
    # -- KPIs ------------------------------------------------------------------------------
    "GET /api/v1/kpis": Expect(SEE_KPIS, "single", get("/api/v1/kpis")),
    "GET /api/v1/kpis/export.csv": Expect(SEE_KPIS, "single", get("/api/v1/kpis/export.csv")),
    # -- pages -----------------------------------------------------------------------------
    "GET /incidents": Expect(SEE_INCIDENTS, "single", get("/incidents")),
    # Out of scope: the call form comes back (422) saying the district is not in scope.
    "POST /incidents": Expect(CREATE_INCIDENTS, "create", _page_call, out_of_scope="422"),
    "GET /incidents/{incident_id}": Expect(
        SEE_INCIDENTS, "object", lambda g, s: Call("GET", f"/incidents/{_incident(g, s)}")
    ),
    "POST /incidents/{incident_id}/dispatch": Expect(DISPATCH, "object", _page_dispatch),
    "POST /incidents/{incident_id}/status": Expect(
        DISPATCH,
        "object",
        lambda g, s: Call("POST", f"/incidents/{_incident(g, s)}/status", data={"status": "hoax"}),
    ),
    # Every holder of units.report gets the page; it says so when no unit is linked.
    "GET /field": Expect(REPORT_UNIT, "single", get("/field")),
    "POST /field/{unit_id}/status": Expect(
        REPORT_UNIT,
        "object",
        lambda g, s: Call(
            "POST", f"/field/{_free(g, s)}/status", data={"status": "out_of_service"}
        ),
    ),
    "GET /field/{unit_id}/snapshot": Expect(
        REPORT_UNIT,
        "object",
        lambda g, s: Call("GET", f"/field/{_assigned_from_alert(g, s)}/snapshot"),
        leak_checked=False,  # the answer is the JPEG itself
    ),
    "GET /kpis": Expect(SEE_KPIS, "single", get("/kpis")),
}
