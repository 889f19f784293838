"""Searching plates in the browser: the purpose is asked for, only reads of the
operator's district come back, each with its plate crop, in Pakistan time."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from safecity.audit.models import AuditRecord
from safecity.registry.models import Camera, District
from tests.browser.support import LiveServer, sign_in
from tests.events.helpers import plate_read, store_read

pytestmark = pytest.mark.browser
PURPOSE = "FIR 902/2026 Bannu township theft"


def _crop(live_server: LiveServer, name: str) -> str:
    """A real JPEG of a white plate with dark text, as a reader would cut it out."""
    image = np.full((40, 140, 3), 235, dtype=np.uint8)
    cv2.putText(image, "BRW 101", (6, 29), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (20, 20, 20), 2)
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    relative = f"browser/plates/{name}.jpg"
    path: Path = live_server.platform.settings.media_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encoded.tobytes())
    return relative


def _camera_of(live_server: LiveServer, district: str) -> str:
    code: str = live_server.scalar(
        select(Camera.code)
        .join(District, Camera.district_id == District.id)
        .where(District.slug == district)
        .order_by(Camera.code)
        .limit(1)
    )
    return code


def test_plate_search_shows_crops_of_the_operators_district_only(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    platform = live_server.platform
    bannu, peshawar = _camera_of(live_server, "bannu"), _camera_of(live_server, "peshawar")
    store_read(platform, plate_read(bannu, "BRW101", crop=_crop(live_server, "bannu")))
    store_read(platform, plate_read(peshawar, "BRW102", crop=_crop(live_server, "peshawar")))

    sign_in(page, live_server.operator, live_server.operator_password)
    page.goto("/plates")
    page.get_by_label("Plate").fill("BRW*")
    page.get_by_label("Purpose").fill(PURPOSE)
    page.get_by_role("button", name="Search").click()

    rows = page.locator("#plate-results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("BRW101")
    expect(rows.first).to_contain_text(bannu)
    expect(rows.first).to_contain_text("PKT")
    crop = rows.first.locator("img.plate-crop")
    expect(crop).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 140", arg=crop.element_handle()
    )
    expect(page.locator("#plate-results")).not_to_contain_text("BRW102")
    camera_id = live_server.scalar(select(Camera.id).where(Camera.code == bannu))
    expect(rows.first.get_by_role("link", name="Recording")).to_have_attribute(
        "href", re.compile(rf"^/cameras/{camera_id}/playback\?since=.+&until=.+")
    )
    purposes = live_server.scalars(
        select(AuditRecord.purpose).where(
            AuditRecord.object_type == "plate_read",
            AuditRecord.actor_name == live_server.operator,
        )
    )
    assert purposes
    assert set(purposes) == {PURPOSE}
    page.screenshot(path=str(tmp_path / "plate_search.png"), full_page=True)
