"""Importing cameras from a CSV file through the import page."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from safecity.registry.models import District, Site
from tests.browser.support import LiveServer, sign_in

pytestmark = pytest.mark.browser

HEADER = [
    "code",
    "name",
    "site",
    "district",
    "site_name",
    "site_type",
    "site_latitude",
    "site_longitude",
    "ownership",
    "resolution",
    "status",
]


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_import_keeps_good_rows_and_reports_bad_ones(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    peshawar = select(District.id).where(District.slug == "peshawar").scalar_subquery()
    existing_site = live_server.scalar(
        select(Site.code).where(Site.district_id == peshawar).order_by(Site.code).limit(1)
    )
    # CSV rows count from the header (row 1), so these are rows 2, 3, 4 and 5.
    upload = _write_csv(
        tmp_path / "cameras.csv",
        [
            {"code": "BRW-IMP-1", "name": "Imported at a known site", "site": existing_site,
             "resolution": "1920x1080", "status": "installed"},
            {"code": "BRW-IMP-2", "name": "Imported with a new site", "site": "BRW-SITE-1",
             "district": "peshawar", "site_name": "Browser test junction",
             "site_type": "intersection", "site_latitude": "34.0101",
             "site_longitude": "71.5301", "ownership": "public"},
            {"code": "BRW-IMP-3", "name": "Bad resolution", "site": existing_site,
             "resolution": "huge"},
            {"code": "BRW-IMP-4", "name": "Unknown ownership", "site": existing_site,
             "ownership": "martian"},
        ],
    )  # fmt: skip

    sign_in(page, "admin", live_server.admin_password, purpose="Camera onboarding and maintenance")
    page.get_by_role("link", name="Import").click()
    expect(page).to_have_url(f"{live_server.base_url}/cameras/import")
    page.get_by_label("File").set_input_files(upload)
    page.get_by_role("button", name="Import").click()

    report = page.locator("#import-report")
    expect(report.get_by_role("heading")).to_have_text("Result for cameras.csv")
    expect(report.locator(".created")).to_have_text("2")
    expect(report.locator(".sites-created")).to_have_text("1")
    expect(report.locator(".failed")).to_have_text("2")
    problems = report.locator("#import-problems tbody tr")
    expect(problems).to_have_count(2)
    expect(problems.nth(0).locator("td").nth(0)).to_have_text("4")
    expect(problems.nth(0).locator("td").nth(1)).to_have_text("resolution")
    expect(problems.nth(0).locator("td").nth(2)).to_contain_text("1920x1080")
    expect(problems.nth(1).locator("td").nth(0)).to_have_text("5")
    expect(problems.nth(1).locator("td").nth(1)).to_have_text("ownership")
    expect(problems.nth(1).locator("td").nth(2)).not_to_be_empty()

    # The good rows are real cameras now; the bad rows left nothing behind.
    page.goto("/cameras?q=BRW-IMP")
    rows = page.locator("#camera-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.locator("td:first-child")).to_have_text(["BRW-IMP-1", "BRW-IMP-2"])
    expect(rows.nth(0)).to_contain_text("Imported at a known site")
    expect(rows.nth(0)).to_contain_text(existing_site)
    expect(rows.nth(1)).to_contain_text("Imported with a new site")
    expect(rows.nth(1)).to_contain_text("BRW-SITE-1")


def test_import_of_a_text_file_is_refused_with_a_clear_message(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    notes = tmp_path / "cameras.txt"
    notes.write_text("code,name,site\nBRW-TXT-1,Not imported,PSH-S001\n", encoding="utf-8")

    sign_in(page, "admin", live_server.admin_password)
    page.goto("/cameras/import")
    page.get_by_label("File").set_input_files(notes)
    page.get_by_role("button", name="Import").click()

    error = page.locator("#import-error")
    expect(error).to_contain_text("cameras.txt")
    expect(error).to_contain_text("use a .csv, .yaml or .yml file")
    expect(page.locator("#import-report")).to_have_count(0)
    page.goto("/cameras?q=BRW-TXT")
    expect(page.locator("#camera-table tbody")).to_have_text("No cameras match.")
