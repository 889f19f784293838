"""The map page draws the province from the registry, with nothing fetched from outside."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from safecity.registry.models import Camera, District, Site
from tests.browser.support import BrowserLog, LiveServer, sign_in

pytestmark = pytest.mark.browser

# Leaflet draws every marker on one canvas (map.js: preferCanvas), so "did markers
# appear" is read from the canvas pixels: count the ones that are not transparent.
PAINTED_PIXELS = """
(canvas) => {
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted += 1;
  return painted;
}
"""
# Names of the district labels whose centre lies inside the map's box: what the person
# can actually read on the map at its current zoom.
LABELS_IN_VIEW = """
(map) => {
  const box = map.getBoundingClientRect();
  return [...map.querySelectorAll(".district-label")].filter((label) => {
    const r = label.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    return x >= box.left && x <= box.right && y >= box.top && y <= box.bottom;
  }).map((label) => label.textContent).sort();
}
"""


def _counts(live_server: LiveServer, district: str | None = None) -> tuple[int, int]:
    sites = select(func.count()).select_from(Site)
    cameras = select(func.count()).select_from(Camera)
    if district is not None:
        slug_id = select(District.id).where(District.slug == district).scalar_subquery()
        sites = sites.where(Site.district_id == slug_id)
        cameras = cameras.where(Camera.district_id == slug_id)
    return live_server.scalar(sites), live_server.scalar(cameras)


def test_map_shows_the_seeded_province(
    page: Page, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    districts = sorted(live_server.scalars(select(District.name)))
    sites, cameras = _counts(live_server)
    # Guards against a vacuous pass: the demo province really was seeded.
    assert len(districts) == 12
    assert cameras > 0

    sign_in(page, "admin", live_server.admin_password)
    expect(page).to_have_url(f"{live_server.base_url}/map")

    summary = page.locator("#map-summary")
    expect(summary).to_have_text(f"{len(districts)} districts · {sites} sites · {cameras} cameras")
    map_element = page.locator("#map")
    expect(map_element).to_have_attribute("data-camera-count", str(cameras))
    expect(map_element).to_have_attribute("data-site-count", str(sites))
    labels = page.locator(".district-label")
    expect(labels).to_have_count(len(districts))
    assert sorted(labels.all_inner_texts()) == districts
    # The first view fits the whole province: every district's label is on screen.
    assert map_element.evaluate(LABELS_IN_VIEW) == districts
    # No tile server is configured, so the markers sit on the plain background.
    expect(map_element).to_have_class(re.compile(r"\bplain\b"))
    canvas = page.locator("#map canvas.leaflet-zoom-animated")
    expect(canvas).to_have_count(1)
    assert canvas.evaluate(PAINTED_PIXELS) > 500

    peshawar_sites, peshawar_cameras = _counts(live_server, "peshawar")
    page.locator("#map-filters").get_by_label("District").select_option("peshawar")
    expect(summary).to_have_text(
        f"{len(districts)} districts · {peshawar_sites} sites · {peshawar_cameras} cameras"
    )
    expect(map_element).to_have_attribute("data-camera-count", str(peshawar_cameras))
    assert peshawar_cameras < cameras
    # The map zooms to the chosen district (the replaced labels fade out first).
    expect(labels).to_have_count(len(districts))
    assert map_element.evaluate(LABELS_IN_VIEW) == ["Peshawar"]

    page.wait_for_load_state("networkidle")
    assert any("/api/v1/map/features?district=peshawar" in url for url in browser_log.requests)
    assert browser_log.foreign_requests() == []
    # Stricter than the check every test gets: here not even a failed load is expected.
    assert browser_log.console_errors == []
    assert browser_log.page_errors == []


def test_map_page_sends_a_strict_content_security_policy(
    page: Page, live_server: LiveServer
) -> None:
    # "No CSP violations" above only means something if the policy is actually strict.
    sign_in(page, "admin", live_server.admin_password)
    response = page.goto("/map")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "style-src 'self';" in policy
    assert "unsafe" not in policy


def test_a_district_chosen_as_the_map_opens_still_zooms_to_it(
    page: Page, live_server: LiveServer
) -> None:
    # A person who picks a district the moment the map appears must get that district,
    # not a province view that silently ignored the choice.
    sign_in(page, "admin", live_server.admin_password)
    map_element = page.locator("#map")
    expect(map_element).to_have_attribute("data-camera-count", re.compile(r"^\d+$"))
    page.locator("#map-filters").get_by_label("District").select_option("peshawar")
    _, peshawar_cameras = _counts(live_server, "peshawar")
    expect(map_element).to_have_attribute("data-camera-count", str(peshawar_cameras))
    districts = live_server.scalars(select(District.name))
    expect(page.locator(".district-label")).to_have_count(len(districts))
    assert map_element.evaluate(LABELS_IN_VIEW) == ["Peshawar"]
