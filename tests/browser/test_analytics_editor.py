"""The analytics editor in the browser: an engineer draws a zone and a line on the camera's
picture, adds rules that name them from the rule form, and saves one new version."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from safecity.registry.models import Camera, District
from tests.browser.support import LiveServer, sign_in

pytestmark = pytest.mark.browser


def _click(page: Page, x: float, y: float) -> None:
    """A click on the drawing at (x, y), fractions of the picture."""
    box = page.locator("#overlay").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])


def test_zones_lines_and_rules_drawn_and_saved(page: Page, live_server: LiveServer) -> None:
    # The last Peshawar camera: other browser tests use the first of a district.
    camera: Camera = live_server.scalar(
        select(Camera)
        .join(District, Camera.district_id == District.id)
        .where(District.slug == "peshawar")
        .order_by(Camera.code.desc())
        .limit(1)
    )
    sign_in(page, "admin", live_server.admin_password, purpose="Camera onboarding and maintenance")
    page.goto(f"/cameras/{camera.id}/analytics")

    page.locator("#shape-name").fill("gate")
    page.get_by_role("button", name="New polygon").click()
    for x, y in ((0.2, 0.5), (0.6, 0.5), (0.6, 0.9)):
        _click(page, x, y)
    page.get_by_role("button", name="Finish shape").click()
    page.locator("#shape-name").fill("stop")
    page.get_by_role("button", name="New line").click()
    _click(page, 0.1, 0.4)
    _click(page, 0.9, 0.4)
    expect(page.locator("#shapes")).to_contain_text("zone: gate")
    expect(page.locator("#shapes")).to_contain_text("line: stop")

    # Each kind shows the fields it takes; the zone and line lists are the drawn ones.
    page.locator("#rule-kind").select_option("loitering")
    expect(page.locator("#rule-line")).to_be_hidden()
    expect(page.locator("#rule-threshold")).to_be_hidden()
    expect(page.locator("#rule-zone option")).to_have_text(["gate"])
    page.locator("#rule-name").fill("bench-wait")
    page.locator("#rule-seconds").fill("45")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#shapes")).to_contain_text("loitering bench-wait (zone gate; 45 s)")

    page.locator("#rule-kind").select_option("wrong_way")
    expect(page.locator("#rule-seconds")).to_be_hidden()
    expect(page.locator("#rule-zone option")).to_have_text(["(the whole picture)", "gate"])
    page.locator("#rule-name").fill("against")
    page.locator("#rule-line").select_option("stop")
    page.locator("#rule-zone").select_option("")
    page.get_by_role("button", name="Add rule").click()
    page.locator("#rule-kind").select_option("crowd")
    expect(page.locator("#rule-line")).to_be_hidden()
    page.locator("#rule-name").fill("queue")
    page.locator("#rule-zone").select_option("gate")
    page.locator("#rule-threshold").fill("6")
    page.locator("#rule-hold").fill("")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#rule-hint")).to_contain_text("Held for, seconds: a number of at least 0")
    page.locator("#rule-hold").fill("2.5")
    page.get_by_role("button", name="Add rule").click()
    # A second rule of the same name is refused on the page, before any save.
    page.locator("#rule-kind").select_option("zone_intrusion")
    page.locator("#rule-name").fill("against")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#rule-hint")).to_contain_text("exists already")

    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-result")).to_contain_text("Saved as version")
    expect(page.locator("#config-version")).to_contain_text("changed just now by you")
    saved = page.request.get(f"/api/v1/cameras/{camera.id}/analytics").json()["config"]
    assert [zone["name"] for zone in saved["zones"]] == ["gate"]
    (line,) = saved["lines"]
    assert line["name"] == "stop"
    # Clicks land on whole screen pixels: within a pixel of where they were aimed.
    assert [*line["start"], *line["end"]] == pytest.approx([0.1, 0.4, 0.9, 0.4], abs=0.005)
    rules = {rule["name"]: rule for rule in saved["rules"]}
    assert set(rules) == {"bench-wait", "against", "queue"}
    assert (rules["queue"]["threshold"], rules["queue"]["hold_seconds"]) == (6, 2.5)
    assert rules["queue"]["rearm_seconds"] == 10
    assert (rules["bench-wait"]["kind"], rules["bench-wait"]["zone"]) == ("loitering", "gate")
    assert rules["bench-wait"]["seconds"] == 45
    assert (rules["against"]["kind"], rules["against"]["line"]) == ("wrong_way", "stop")
    assert rules["against"]["zone"] is None
