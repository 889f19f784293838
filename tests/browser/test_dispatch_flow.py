"""From alert to closed incident in chromium: an alert arrives live on the console, is
acknowledged and becomes an incident; the dispatcher sends the recommended unit from
the incident page; the unit's phone (the field page, its own account) acknowledges,
drives (GPS through the API) while its marker moves on the console's map, and
arrives; the dispatcher closes the incident; the KPI page counts it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from safecity.command.alerts_models import Alert
from safecity.command.incidents_models import Incident
from safecity.command.units_models import Unit
from safecity.command.units_schemas import UnitCreate
from safecity.core.clock import utcnow
from safecity.identity.system import system_principal
from tests.browser.support import BrowserLog, LiveServer, sign_in
from tests.browser.test_console import camera_in, hit, open_console, publish, row
from tests.command.alerts_support import RunningConsole, console_server
from tests.factories import PASSWORD, make_user, token_for

pytestmark = [pytest.mark.browser, pytest.mark.nats]


@pytest.fixture(scope="module")
def console(
    live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningConsole]:
    with console_server(live_server.platform, tmp_path_factory.mktemp("dispatch")) as running:
        yield running


def a_unit_near(live_server: LiveServer, latitude: float, longitude: float) -> tuple[str, int]:
    """A Bannu police mobile 1-2 km from the scene, with its own field-unit account."""
    tag = uuid.uuid4().hex[:4].upper()
    username = f"unit-bnu-{tag.lower()}"
    make_user(live_server.platform, username, ["field_unit"], districts=["bannu"])
    with live_server.platform.transaction() as session:
        unit = live_server.platform.units.create(
            session,
            system_principal("tests"),
            UnitCreate(
                callsign=f"BNU-T{tag}", kind="police_mobile", district="bannu", username=username
            ),
        )
        unit.latitude, unit.longitude = latitude + 0.01, longitude + 0.01
        unit.position_at = utcnow() - timedelta(minutes=1)
        return username, unit.id


MARKER_AT = """([id, lat, lon]) => {
    const at = window.safecityConsole.unitAt(id);
    return at !== null && Math.abs(at[0] - lat) < 1e-9 && Math.abs(at[1] - lon) < 1e-9;
}"""


def marker_of(page: Page, unit_id: int) -> tuple[float, float] | None:
    """The unit's marker position as Leaflet holds it on the console map."""
    at = page.evaluate("id => window.safecityConsole.unitAt(id)", unit_id)
    return None if at is None else (at[0], at[1])


def test_an_alert_becomes_an_incident_a_unit_answers_and_the_kpis_count_it(
    page: Page,
    browser: Browser,
    console: RunningConsole,
    live_server: LiveServer,
    browser_log: BrowserLog,
) -> None:
    open_console(page, console, live_server)
    title = f"Snatching {uuid.uuid4().hex[:6]}"
    publish(console.bus_url, hit(live_server, camera_in(live_server, "bannu"), title))
    alert = row(page, title)
    expect(alert).to_be_visible()
    alert.get_by_role("button", name="Acknowledge").click()
    expect(alert.locator(".status")).to_have_text("acknowledged")
    # A hotlist hit: the operator confirms the plate match before field action.
    alert.get_by_role("button", name="Confirm match").click()
    expect(alert.locator(".match-verdict")).to_contain_text("Match confirmed")
    alert.get_by_label("Incident type").select_option("robbery")
    alert.get_by_role("button", name="Open incident").click()
    expect(row(page, title)).to_have_count(0)
    stored: Alert = live_server.scalar(select(Alert).where(Alert.title == title))
    assert stored.incident_id is not None
    incident: Incident = live_server.scalar(
        select(Incident).where(Incident.id == stored.incident_id)
    )
    username, unit_id = a_unit_near(live_server, incident.latitude, incident.longitude)
    callsign = live_server.scalar(select(Unit.callsign).where(Unit.id == unit_id))

    # The dispatcher sends the recommended unit from the incident page.
    page.goto(f"{console.base_url}/incidents/{incident.id}")
    expect(page.locator("#recommendations tr[data-unit]").first).to_have_attribute(
        "data-unit", str(unit_id)
    )
    page.get_by_role("button", name=f"Dispatch {callsign}").click()
    expect(page.locator("#incident-status")).to_have_text("dispatched")
    # Back to the console, whose map shows the unit where it stands.
    page.goto(f"{console.base_url}/console")
    expect(page.locator("#console")).to_have_attribute("data-feed", "live")
    start = (incident.latitude + 0.01, incident.longitude + 0.01)
    page.wait_for_function(MARKER_AT, arg=[unit_id, *start], timeout=15_000)

    # The unit's phone: its own account, its own page.
    phone_context = browser.new_context(
        base_url=console.base_url, viewport={"width": 390, "height": 800}
    )
    phone = phone_context.new_page()
    try:
        sign_in(phone, username, PASSWORD)
        phone.goto("/field")
        expect(phone.locator("#assignment")).to_contain_text(f"Incident {incident.id}")
        expect(phone.locator("#field-snapshot")).to_be_visible()
        phone.get_by_role("button", name="Acknowledge").click()
        phone.get_by_role("button", name="En route").click()
        expect(phone.locator("#unit-status")).to_have_text("en route")
        # GPS from the unit's device, over the API with the unit's token: it drives there.
        token = token_for(live_server.platform, username)
        drawn = [marker_of(page, unit_id)]
        with httpx.Client(base_url=console.base_url) as device:
            for step in range(1, 6):
                fraction = step / 5
                fix = {
                    "recorded_at": (utcnow() + timedelta(milliseconds=step)).isoformat(),
                    "latitude": incident.latitude + 0.01 * (1 - fraction),
                    "longitude": incident.longitude + 0.01 * (1 - fraction),
                }
                sent = device.post(
                    f"/api/v1/units/{unit_id}/positions",
                    json=fix,
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert sent.status_code == 200, sent.text
                assert sent.json()["current"] is True
                # The console's marker follows within seconds (its feed; the list poll is 15 s).
                target = [unit_id, fix["latitude"], fix["longitude"]]
                page.wait_for_function(MARKER_AT, arg=target, timeout=10_000)
                drawn.append(marker_of(page, unit_id))
        phone.get_by_role("button", name="On scene").click()
        expect(phone.locator("#unit-status")).to_have_text("on scene")
    finally:
        phone_context.close()
    arrived: Unit = live_server.scalar(select(Unit).where(Unit.id == unit_id))
    assert (arrived.latitude, arrived.longitude) == pytest.approx(
        (incident.latitude, incident.longitude)
    )

    # Six distinct marker positions, each nearer the scene, the last on it.
    assert drawn[0] == pytest.approx(start)
    assert len(set(drawn)) == 6
    distances = [
        abs(at[0] - incident.latitude) + abs(at[1] - incident.longitude)
        for at in drawn
        if at is not None
    ]
    assert distances == sorted(distances, reverse=True)
    assert distances[-1] == pytest.approx(0, abs=1e-9)
    expect(page.locator("#console-map")).to_have_attribute("data-units", re.compile(r"^[1-9]"))
    page.goto(f"{console.base_url}/incidents/{incident.id}")
    expect(page.locator("#incident-status")).to_have_text("on scene")
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("#incident-status")).to_have_text("cleared")
    page.get_by_label("Disposition").fill("suspect arrested, phone recovered")
    page.get_by_role("button", name="Close").click()
    expect(page.locator("#incident-status")).to_have_text("closed")
    timeline = page.locator("#timeline")
    for kind in ("dispatched", "unit acknowledged", "unit en route", "unit on scene", "closed"):
        expect(timeline).to_contain_text(kind)

    # A supervisor's dashboard counts it.
    sign_in(page, "admin", live_server.admin_password)
    page.goto(f"{console.base_url}/kpis")
    bannu = page.locator("#kpi-responses tr", has_text="bannu").first
    expect(bannu).to_be_visible()
    expect(page.locator("#kpi-districts")).to_contain_text("bannu")
    assert browser_log.console_errors == []


def test_a_call_taker_places_the_caller_by_clicking_the_map(
    page: Page, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    sign_in(page, "admin", live_server.admin_password)
    page.goto("/incidents")
    page.locator("#call-form select[name=district]").select_option("bannu")
    latitude, longitude = page.locator("#call-latitude"), page.locator("#call-longitude")
    expect(latitude).to_have_value("")
    area = page.locator("#call-map")
    area.click(position={"x": 60, "y": 60})
    expect(latitude).not_to_have_value("")
    first = (float(latitude.input_value()), float(longitude.input_value()))
    area.click(position={"x": 220, "y": 140})  # a second click moves the caller
    expect(latitude).not_to_have_value(str(first[0]))
    clicked = (float(latitude.input_value()), float(longitude.input_value()))
    # Down and to the right of the first click, both near Bannu's centre.
    assert clicked[0] < first[0]
    assert clicked[1] > first[1]
    assert clicked == pytest.approx((32.99, 70.60), abs=0.2)
    caller = f"0300-{uuid.uuid4().int % 10_000_000:07d}"
    page.get_by_label("Caller number").fill(caller)
    page.locator("#call-type").select_option("robbery")
    page.get_by_label("Landmark").fill("Near the clicked spot")
    page.get_by_role("button", name="Record incident").click()
    expect(page).to_have_url(re.compile(r"/incidents/\d+$"))
    by_caller = select(Incident).where(Incident.caller_number == caller)
    recorded: Incident = live_server.scalar(by_caller)
    assert (recorded.latitude, recorded.longitude) == pytest.approx(clicked, abs=1e-6)
    assert recorded.source == "call"
    assert browser_log.console_errors == []
