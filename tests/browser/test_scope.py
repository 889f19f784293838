"""An operator scoped to one district sees that district and nothing else."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import ScalarSelect, func, select

from safecity.registry.models import Camera, District, Site
from tests.browser.support import LiveServer, sign_in

pytestmark = pytest.mark.browser


def _in_district(slug: str) -> ScalarSelect[int]:
    return select(District.id).where(District.slug == slug).scalar_subquery()


def test_bannu_operator_sees_only_bannu(page: Page, live_server: LiveServer) -> None:
    bannu = _in_district("bannu")
    bannu_sites = live_server.scalar(
        select(func.count()).select_from(Site).where(Site.district_id == bannu)
    )
    bannu_cameras = live_server.scalar(
        select(func.count()).select_from(Camera).where(Camera.district_id == bannu)
    )
    peshawar_camera = live_server.scalar(
        select(Camera.id).where(Camera.district_id == _in_district("peshawar")).limit(1)
    )
    assert bannu_cameras > 0
    assert peshawar_camera is not None

    sign_in(page, live_server.operator, live_server.operator_password)
    expect(page).to_have_url(f"{live_server.base_url}/map")

    # The map: one district, its sites and cameras, and only its label.
    expect(page.locator("#map-summary")).to_have_text(
        f"1 district · {bannu_sites} sites · {bannu_cameras} cameras"
    )
    expect(page.locator("#map")).to_have_attribute("data-camera-count", str(bannu_cameras))
    expect(page.locator(".district-label")).to_have_text(["Bannu"])
    expect(page.locator("#district-table tbody tr")).to_have_count(1)

    # The camera list: the total is Bannu's, every row is in Bannu, Peshawar codes find nothing.
    page.goto("/cameras?limit=1000")
    expect(page.locator(".pager")).to_contain_text(f"of {bannu_cameras}")
    district_cells = page.locator("#camera-table tbody tr td:nth-child(3)")
    expect(district_cells).to_have_count(bannu_cameras)
    assert set(district_cells.all_inner_texts()) == {"bannu"}
    page.goto("/cameras?q=PSH")
    expect(page.locator("#camera-table tbody")).to_have_text("No cameras match.")

    # A Peshawar camera's own page reads as not found: scope never reveals what exists.
    response = page.goto(f"/cameras/{peshawar_camera}")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
