"""Editing a camera in the form, and two people editing the same camera at once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from safecity.registry.models import Camera, District
from tests.browser.support import LiveServer, sign_in

pytestmark = pytest.mark.browser


def _camera_in(live_server: LiveServer, slug: str) -> tuple[int, str]:
    district = select(District.id).where(District.slug == slug).scalar_subquery()
    camera: Camera = live_server.scalar(
        select(Camera).where(Camera.district_id == district).order_by(Camera.code).limit(1)
    )
    return camera.id, camera.code


def test_renaming_a_camera_shows_the_new_name(page: Page, live_server: LiveServer) -> None:
    # A district no other browser test edits, so the names read here are this test's own.
    camera_id, code = _camera_in(live_server, "lakki-marwat")
    sign_in(page, "admin", live_server.admin_password, purpose="Camera onboarding and maintenance")

    page.goto(f"/cameras/{camera_id}")
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Edit {code}")
    page.get_by_label("Name", exact=True).fill("Renamed in the browser")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(f"{live_server.base_url}/cameras/{camera_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{code} · Renamed in the browser")


def test_saving_a_stale_form_is_refused_and_keeps_the_first_change(
    context: BrowserContext, page: Page, live_server: LiveServer
) -> None:
    camera_id, code = _camera_in(live_server, "dera-ismail-khan")
    version = live_server.scalar(select(Camera.version).where(Camera.id == camera_id))
    sign_in(page, "admin", live_server.admin_password, purpose="Camera onboarding and maintenance")
    first = page
    second = context.new_page()  # the same person in a second tab: same session, own form
    first.goto(f"/cameras/{camera_id}/edit")
    second.goto(f"/cameras/{camera_id}/edit")

    first.get_by_label("Name", exact=True).fill("First editor's name")
    first.get_by_role("button", name="Save").click()
    expect(first.get_by_role("heading", level=1)).to_have_text(f"{code} · First editor's name")

    second.get_by_label("Name", exact=True).fill("Second editor's name")
    second.get_by_role("button", name="Save").click()
    expect(second.get_by_role("alert")).to_contain_text("changed by someone else")
    # The refused form is shown again with what the person typed, so nothing is lost.
    expect(second.get_by_label("Name", exact=True)).to_have_value("Second editor's name")

    second.goto(f"/cameras/{camera_id}")
    expect(second.get_by_role("heading", level=1)).to_have_text(f"{code} · First editor's name")
    # Exactly one change was saved: the refused one did not bump the version either.
    expect(second.locator(".facts")).to_contain_text(re.compile(rf"Version\s*{version + 1} "))
