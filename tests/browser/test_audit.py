"""The audit browser: finding an import, and exporting what the filter shows."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import LiveServer, sign_in

pytestmark = pytest.mark.browser


def test_audit_log_shows_the_import_and_exports_it_as_csv(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    # This test makes its own import, so it does not depend on the import tests' order.
    upload = tmp_path / "one-camera.csv"
    upload.write_text(
        "code,name,site,district,site_name,site_type,site_latitude,site_longitude\n"
        "BRW-AUD-1,Audited import,BRW-AUD-SITE,karak,Audit junction,intersection,33.11,71.09\n",
        encoding="utf-8",
    )
    sign_in(page, "admin", live_server.admin_password, purpose="Audit and oversight")
    page.goto("/cameras/import")
    page.get_by_label("File").set_input_files(upload)
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-report .created")).to_have_text("1")

    page.get_by_role("link", name="Audit").click()
    filters = page.locator("#audit-filters")
    filters.locator("select[name=action]").select_option("import")
    filters.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/audit\?.*action=import"))

    rows = page.locator("#audit-table tbody tr")
    # Newest first: this test's import is the top row, by admin, with its outcome.
    newest = rows.first.locator("td")
    expect(newest.nth(2)).to_have_text("admin")
    expect(newest.nth(3)).to_have_text("import")
    expect(newest.nth(6)).to_contain_text("camera import: 1 created")
    expect(newest.nth(7)).to_have_text("Audit and oversight")
    assert set(rows.locator("td:nth-child(4)").all_inner_texts()) == {"import"}
    shown = rows.count()

    with page.expect_download() as pending:
        page.get_by_role("link", name="Export CSV").click()
    download = pending.value
    assert download.suggested_filename == "audit.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.startswith("seq,at_utc")
    records = list(csv.DictReader(io.StringIO(text)))
    # The export carries the page's filter: the same import records, oldest first.
    assert len(records) == shown
    assert {r["action"] for r in records} == {"import"}
    assert "camera import: 1 created" in records[-1]["summary"]
